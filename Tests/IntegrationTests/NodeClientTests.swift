import Foundation
import Testing

/// Real clients against `shardgate node`: redis-py (compared with the same script against redis-server),
/// redis-cli, and redis-benchmark's whole default suite.
@Suite(.serialized)
struct NodeClientTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Clients/redis_py_node.py").path

    @Test(arguments: ["2", "3"])
    func redisPyGetsWhatRedisGives(protocol version: String) async throws {
        guard TestEnvironment.isCI || (TestEnvironment.hasRedisPy && TestEnvironment.redisServer != nil) else { return }
        guard let python = TestEnvironment.python else { throw TestFailure("python3 not found") }
        let servers = try await RedisAndNode()
        defer { servers.stop() }
        let (redis, node) = (servers.redis, servers.node)
        let expected = try run(python, [Self.script, "\(redis.port)", version])
        let actual = try run(python, [Self.script, "\(node.port)", version])
        #expect(expected.status == 0, "\(expected.output)")
        #expect(actual.status == 0, "\(actual.output)")
        #expect(actual.output == expected.output)
    }

    @Test func redisCliCommandsAndPipe() async throws {
        guard TestEnvironment.canRun("redis-cli"), let cli = TestEnvironment.redisCli else { return }
        let node = try await startNode()
        defer { node.stop() }
        func cliRun(_ arguments: String...) throws -> String {
            let result = try run(cli, ["-p", "\(node.port)"] + arguments)
            #expect(result.status == 0)
            return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(try cliRun("PING") == "PONG")
        #expect(try cliRun("SET", "greeting", "hello world") == "OK")
        #expect(try cliRun("GET", "greeting") == "hello world")
        #expect(try cliRun("--no-raw", "GET", "missing") == "(nil)")
        var input = ""
        for index in 0..<1000 { input += "SET pipe:\(index) \(index)\r\n" }
        let piped = try run(cli, ["-p", "\(node.port)", "--pipe"], input: Data(input.utf8))
        #expect(piped.status == 0)
        #expect(piped.output.contains("errors: 0, replies: 1000"), "\(piped.output)")
        #expect(try cliRun("DBSIZE") == "1001")
        #expect(try cliRun("GET", "pipe:999") == "999")
    }

    @Test func redisBenchmarkDefaultSuiteRunsWithoutErrors() async throws {
        guard TestEnvironment.canRun("redis-benchmark"), let benchmark = TestEnvironment.binary("redis-benchmark") else { return }
        let node = try await startNode()
        defer { node.stop() }
        let result = try run(
            benchmark, ["-p", "\(node.port)", "-n", "2000", "-c", "10", "-P", "4", "-r", "1000", "--csv"], seconds: 120)
        #expect(result.status == 0, "\(result.output)")
        #expect(!result.output.lowercased().contains("error"), "\(result.output)")
        // Every test of the default suite reported a rate (lines are "name","rps",...).
        for test in ["PING_INLINE", "SET", "GET", "INCR", "LPUSH", "RPUSH", "LPOP", "RPOP", "SADD", "HSET", "SPOP", "ZADD",
                     "ZPOPMIN", "LRANGE_100", "LRANGE_600", "MSET"] {
            #expect(result.output.contains("\"\(test)"), "no result for \(test): \(result.output)")
        }
        let client = try node.client()
        #expect(try client.command("PING") == .status("PONG"))
    }

    /// Malformed RESP after valid pipelined requests: the node, as redis-server, answers the valid
    /// ones, then the protocol error, then closes (the proxy's cases, `ProxyProtocolTests.malformed`).
    @Test(arguments: 0..<ProxyProtocolTests.malformed.count)
    func malformedInputMatchesRedis(case index: Int) async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        let (input, count) = ProxyProtocolTests.malformed[index]
        let servers = try await RedisAndNode()
        defer { servers.stop() }
        let (redis, node) = (servers.redis, servers.node)
        let expected = try ProxyProtocolTests.exchange(input, port: redis.port, replies: count)
        let actual = try ProxyProtocolTests.exchange(input, port: node.port, replies: count)
        #expect(actual.replies == expected.replies)
        #expect(expected.closed && actual.closed, "both close the connection")
    }

    /// CLIENT LIST flags as Redis shows them: O for a MONITOR client, P for a subscriber, N otherwise.
    @Test func clientListFlagsMatchRedis() async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        let servers = try await RedisAndNode()
        defer { servers.stop() }
        let (redis, node) = (servers.redis, servers.node)
        for server in [redis, node] {
            let monitor = try server.client()
            #expect(try monitor.command("MONITOR") == .status("OK"))
            let subscriber = try server.client()
            _ = try subscriber.command("SUBSCRIBE", "news")
            guard case .bulk(let bytes?) = try server.client().command("CLIENT", "LIST") else {
                Issue.record("CLIENT LIST did not answer a bulk string")
                continue
            }
            let flags = String(decoding: bytes, as: UTF8.self).split(separator: "\n").compactMap { line in
                line.split(separator: " ").first { $0.hasPrefix("flags=") }.map(String.init)
            }.sorted()
            #expect(flags == ["flags=N", "flags=O", "flags=P"], "\(server.kind)")
        }
    }
}
