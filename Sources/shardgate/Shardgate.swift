import ArgumentParser
import NIOCore

/// The `shardgate` command: one binary for the proxy and its tools.
@main
struct Shardgate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shardgate",
        abstract: "A Redis-protocol gateway: one address in front of sharded, replicated Redis groups.",
        subcommands: [
            ProxyCommand.self, NodeCommand.self, CheckCommand.self, OptionsCommand.self, UpCommand.self, SentinelCommand.self,
            ReloadCommand.self,
        ]
    )
}

/// How the proxy runs: logging and event loops (`proxy` and `up`).
struct RuntimeOptions: ParsableArguments {
    @Option(help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: LogLevelArgument = .init(.info)

    @Option(help: "plain (swift-log's lines) or json (one object per line: time, level, label, message, then the event's fields).")
    var logFormat: LogFormat = .plain

    /// Half the cores: the proxy shares its machine with the kernel's network work and, often, its
    /// backends. On 2 cores, 1 thread beat 2 on every `scripts/bench` row (`shardgate` against `shardgate-2t`).
    @Option(help: "Event loop threads (default: half the cores, at least one).")
    var threads: Int = max(1, System.coreCount / 2)

    @Option(help: "twemproxy's stats port: each connection gets nutcracker's JSON stats (host:port; port 0 picks a free port; `off`: none).")
    var statsListen: ListenOption = ListenOption(host: "127.0.0.1", port: 22222)

    @Option(help: "Prometheus metrics: `GET /metrics` over HTTP (host:port; port 0 picks a free port; `off`: none, and nothing is measured for it).")
    var metricsListen: ListenOption = ListenOption(off: ())
}

/// `--stats-listen` / `--metrics-listen`: `host:port` or `off`.
struct ListenOption: ExpressibleByArgument {
    var host: String
    var port: Int
    var isOff = false

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    init(off: Void) {
        self.init(host: "", port: 0)
        isOff = true
    }

    init?(argument: String) {
        if argument == "off" {
            self.init(off: ())
            return
        }
        guard let colon = argument.lastIndex(of: ":"), let port = Int(argument[argument.index(after: colon)...]),
            (0...65535).contains(port)
        else { return nil }
        var host = String(argument[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        self.init(host: host, port: port)
    }

    var defaultValueDescription: String { isOff ? "off" : "\(host):\(port)" }

    /// What `ProxyServer` takes.
    var address: (host: String, port: Int)? { isOff ? nil : (host, port) }
}

/// Options every subcommand that reads `proxy.yml` shares.
struct ConfigOptions: ParsableArguments {
    @Option(name: [.short, .long], help: "Path to proxy.yml (or a twemproxy nutcracker.yml).")
    var config: String = "proxy.yml"
}

extension LogFormat: ExpressibleByArgument {}
