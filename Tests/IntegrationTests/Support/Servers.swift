import Config
import Foundation
import Logging
import NIOCore
import NIOPosix
import ShardgateProxy

/// Which program serves as a data server: real redis-server, or the package's own `shardgate node`
/// (started with the same redis-server style arguments).
enum DataServerKind: Sendable {
    case redis
    case shardgateNode

    /// The command line before the `--directive value` arguments.
    func command() throws -> [String] {
        switch self {
        case .redis:
            guard let binary = TestEnvironment.redisServer else { throw TestFailure("redis-server is not installed") }
            return [binary]
        case .shardgateNode:
            return [CLITests.binary, "node"]
        }
    }
}

/// A real redis-server (or a shardgate node) on a free loopback port, without persistence, killed
/// by PID when released.
final class RedisServer: @unchecked Sendable {
    let port: Int
    let process: ManagedProcess
    let directory: TemporaryDirectory
    let kind: DataServerKind

    /// `directory` (its `dir`) may be shared with an earlier server, to restart on the same files.
    /// `configFile` comes first on the command line, as redis-server wants it.
    init(
        _ extra: [String] = [], kind: DataServerKind = .redis, directory: TemporaryDirectory? = nil, configFile: String? = nil
    ) async throws {
        let command = try kind.command()
        self.kind = kind
        let directory = try directory ?? TemporaryDirectory()
        self.directory = directory
        let password = extra.firstIndex(of: "--requirepass").map { extra[$0 + 1] }
        (port, process) = try await startOnFreePort(
            { port in
                try ManagedProcess(
                    command[0],
                    command.dropFirst() + (configFile.map { [$0] } ?? []) + [
                        "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                        "--dir", directory.path, "--repl-diskless-sync-delay", "0",
                    ] + extra,
                    name: "redis-\(port)", directory: directory.path)
            },
            isOurs: { client, process in
                if let password { _ = try? client.command("AUTH", password) }
                guard case .bulk(let bytes?)? = try? client.command("INFO", "server") else { return false }
                return String(decoding: bytes, as: UTF8.self).contains("process_id:\(process.pid)\r\n")
            })
    }

    var address: String { "127.0.0.1:\(port)" }

    func client() throws -> RedisTestClient { try RedisTestClient(port: port) }

    /// `INFO commandstats` calls of `command` (lowercase), 0 when never called.
    func calls(_ command: String) throws -> Int {
        guard case .bulk(let bytes?) = try client().command("INFO", "commandstats") else { return 0 }
        let text = String(decoding: bytes, as: UTF8.self)
        for line in text.split(separator: "\r\n") where line.hasPrefix("cmdstat_\(command):calls=") {
            let value = line.dropFirst("cmdstat_\(command):calls=".count).prefix { $0.isNumber }
            return Int(value) ?? 0
        }
        return 0
    }

    /// Makes this server a replica of `master` and waits (bounded) until the link is up.
    func replicate(from master: RedisServer) async throws {
        _ = try client().command("REPLICAOF", "127.0.0.1", "\(master.port)")
        try await waitUntil("replica \(port) linked to \(master.port)", seconds: 10) {
            guard case .bulk(let bytes?) = try self.client().command("INFO", "replication") else { return false }
            return String(decoding: bytes, as: UTF8.self).contains("master_link_status:up")
        }
    }

    /// `master_repl_offset` from INFO replication (on a replica: how far it has processed).
    func replicationOffset() throws -> Int {
        guard case .bulk(let bytes?) = try client().command("INFO", "replication") else { return -1 }
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\r\n")
        where line.hasPrefix("master_repl_offset:") {
            return Int(line.dropFirst("master_repl_offset:".count)) ?? -1
        }
        return -1
    }

    /// Every key the server holds (test data sets are small).
    func keys() throws -> Set<[UInt8]> {
        guard case .array(let items?) = try client().command("KEYS", "*") else { return [] }
        return Set(items.compactMap { if case .bulk(let bytes?) = $0 { return bytes } else { return nil } })
    }

    func stop() { process.stop() }
}

/// A real twemproxy (nutcracker) serving `yaml` (with `LISTEN` replaced by a free port).
final class Nutcracker: @unchecked Sendable {
    let port: Int
    let process: ManagedProcess
    let directory: TemporaryDirectory
    /// Its stats port, aggregated every 100 ms (nutcracker's default is 30 s).
    let statsPort: Int

    init(poolYAML: (Int) -> String) async throws {
        guard let binary = TestEnvironment.nutcracker else { throw TestFailure("nutcracker is not installed") }
        let directory = try TemporaryDirectory()
        self.directory = directory
        let statsPort = try freePort()
        self.statsPort = statsPort
        (port, process) = try await startOnFreePort(
            { port in
                let configPath = "\(directory.path)/nutcracker-\(port).yml"
                try poolYAML(port).write(toFile: configPath, atomically: true, encoding: .utf8)
                return try ManagedProcess(
                    binary, ["-c", configPath, "-s", "\(statsPort)", "-a", "127.0.0.1", "-i", "100"],
                    name: "nutcracker-\(port)", directory: directory.path)
            },
            isOurs: { client, process in
                // nutcracker answers PING but not INFO (a Redis server would answer both).
                guard (try? client.command("PING")) == .status("PONG") else { return false }
                return (try? client.command("INFO")).map { if case .bulk = $0 { false } else { true } } ?? true
                    && process.isRunning
            })
    }

    func stop() { process.stop() }
}

/// A Shardgate proxy running in the test process on a free port, from `proxy.yml` text.
final class ProxyUnderTest: @unchecked Sendable {
    let server: ProxyServer
    let group: MultiThreadedEventLoopGroup
    let ports: [Int]

    /// `yaml` may contain `LISTEN` (and `LISTEN2`, ...) where the listen addresses go. With
    /// `stats`, twemproxy's stats port listens on a free port (`statsPort`); with `metrics`,
    /// `/metrics` does (`metricsPort`). With `configFile`, the text is written there first and the
    /// proxy runs from that file (what a reload re-reads).
    init(
        yaml: String, threads: Int = 2, stats: Bool = false, metrics: Bool = false, configFile: String? = nil
    ) async throws {
        let text = yaml.replacingOccurrences(of: "LISTEN", with: "127.0.0.1:0")
        if let configFile { try text.write(toFile: configFile, atomically: true, encoding: .utf8) }
        let config = try ProxyConfigLoader.parse(text, file: configFile ?? "test.yml")
        group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        var logger = Logger(label: "shardgate-test")
        logger.logLevel = .error
        server = ProxyServer(
            config: config, group: group, logger: logger, configPath: configFile, statsListen: stats ? ("127.0.0.1", 0) : nil,
            metricsListen: metrics ? ("127.0.0.1", 0) : nil)
        ports = try await server.start().map { $0.port! }
    }

    var statsPort: Int? { server.statsAddress.withLockedValue { $0?.port } }

    var metricsPort: Int? { server.metricsAddress.withLockedValue { $0?.port } }

    var port: Int { ports[0] }

    func client() throws -> RedisTestClient { try RedisTestClient(port: port) }

    func stop() async {
        await server.stop()
        try? await group.shutdownGracefully()
    }
}
