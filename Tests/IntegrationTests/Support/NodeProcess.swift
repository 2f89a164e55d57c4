import Foundation

/// A `shardgate node` child process on a free loopback port, killed by PID when released.
///
/// Started from the `shardgate` executable built next to the test bundle, with persistence off unless
/// the test passes its own `--save`/`--appendonly`; `directory` is its `dir`.
final class ShardgateNodeProcess: @unchecked Sendable {
    let port: Int
    let process: ManagedProcess
    let directory: TemporaryDirectory

    /// `extra` are redis-server style `--directive value` arguments.
    init(_ extra: [String] = [], directory: TemporaryDirectory? = nil) async throws {
        let directory = try directory ?? TemporaryDirectory()
        self.directory = directory
        let password = extra.firstIndex(of: "--requirepass").map { extra[$0 + 1] }
        var defaults = ["--save", ""]
        if extra.contains("--save") { defaults = [] }
        (port, process) = try await startOnFreePort(
            { port in
                try ManagedProcess(
                    CLITests.binary,
                    ["node", "--port", "\(port)", "--bind", "127.0.0.1", "--dir", directory.path] + defaults + extra,
                    name: "node-\(port)", directory: directory.path)
            },
            isOurs: { client, process in
                if let password { _ = try? client.command("AUTH", password) }
                guard case .bulk(let bytes?)? = try? client.command("INFO", "server") else { return false }
                return String(decoding: bytes, as: UTF8.self).contains("process_id:\(process.pid)\r\n")
            })
    }

    var address: String { "127.0.0.1:\(port)" }

    func client() throws -> RedisTestClient { try RedisTestClient(port: port) }

    func stop() { process.stop() }
}
