import ArgumentParser
import Config

/// `shardgate reload`: asks a running proxy to re-read its proxy.yml (`PROXY RELOAD`), after
/// checking the file here first, and prints what the proxy answered. SIGHUP does the same
/// without the answer (the proxy logs it).
struct ReloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Make a running proxy re-read proxy.yml without closing client connections.",
        discussion: """
            The file is checked here first; the proxy checks it again, applies it to every pool or \
            to none, and answers what changed or why it refused. A change of where keys live \
            (distribution, hash, weights, slots, ranges, routes) is refused unless --force.
            """
    )

    @OptionGroup var options: ConfigOptions

    @Option(help: "The proxy to ask (host:port); default: the first pool's listen address in the file.")
    var address: String?

    @Option(help: "AUTH with this password; default: the first pool's password in the file.")
    var password: String?

    @Option(help: "AUTH as this user of the pool's `users:` (one allowed every @admin command); default: the default user.")
    var user: String?

    @Flag(help: "Apply a change of key placement too (the data already stored is not moved).")
    var force = false

    func run() throws {
        let config = try loadConfigOrExit(options.config)
        guard let pool = config.pools.first else { throw ValidationError("no pools in \(options.config)") }
        var host = pool.listen.host
        var port = pool.listen.port
        if let address {
            guard let colon = address.lastIndex(of: ":"), let parsed = Int(address[address.index(after: colon)...]) else {
                throw ValidationError("--address: expected host:port")
            }
            (host, port) = (String(address[..<colon]), parsed)
        }
        if host == "0.0.0.0" { host = "127.0.0.1" }
        do {
            var link = try RESPExchange(host: host, port: port, timeoutSeconds: 30)
            defer { link.close() }
            if let secret = password ?? pool.password {
                if case .error(let message) = try link.call(["AUTH"] + (user.map { [$0] } ?? []) + [secret]) { return fail(message) }
            }
            switch try link.call(force ? ["PROXY", "RELOAD", "FORCE"] : ["PROXY", "RELOAD"]) {
            case .status(let text): print(text)
            case .error(let message): return fail(message)
            default: return fail("unexpected reply")
            }
        } catch {
            fail("\(host):\(port): \(error)")
        }
    }

    private func fail(_ message: String) {
        printError(message)
        Shardgate.exit(withError: ExitCode.failure)
    }
}
