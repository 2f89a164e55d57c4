import Foundation
import Testing

/// INFO commandstats and errorstats at the proxy, compared with what redis-server reports for the
/// same requests.
@Suite(.serialized, .enabled(if: TestEnvironment.canRun("redis-server")))
struct ProxyInfoStatsTests {
    /// The requests both the proxy and redis-server get: successes, a WRONGTYPE error, a syntax
    /// error and an unknown command.
    static let workload: [[String]] = [
        ["SET", "a", "1"], ["SET", "b", "2"], ["SET", "a", "3"], ["GET", "a"], ["GET", "missing"],
        ["LPUSH", "a", "x"], ["SET", "a", "1", "BOGUS"], ["NOSUCHCOMMAND", "x"], ["INCR", "b"],
    ]

    /// `name:value` lines of one INFO section, as a dictionary.
    static func section(_ client: RedisTestClient, _ name: String) throws -> [String: String] {
        guard case .bulk(let bytes?) = try client.command("INFO", name) else { throw TestFailure("INFO \(name)") }
        var fields: [String: String] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\r\n") where !line.hasPrefix("#") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = String(line[line.index(after: colon)...])
        }
        return fields
    }

    /// One field (`calls=3`) of a `k=v,k=v` value.
    static func field(_ value: String?, _ name: String) -> String? {
        value?.split(separator: ",").first { $0.hasPrefix(name + "=") }.map { String($0.dropFirst(name.count + 1)) }
    }

    @Test func statsMatchRedisServers() async throws {
        let redis = try await RedisServer()
        let backend = try await RedisServer()
        defer { redis.stop(); backend.stop() }
        let proxy = try await ProxyUnderTest(
            yaml: "alpha:\n  listen: LISTEN\n  groups:\n    - name: g0\n      master: \(backend.address)\n", threads: 2, metrics: true)
        defer { Task { await proxy.stop() } }
        let direct = try RedisTestClient(port: redis.port)
        let through = try proxy.client()
        _ = try direct.command("CONFIG", "RESETSTAT")
        for command in Self.workload {
            let expected = try direct.command(command.map { Array($0.utf8) })
            let got = try through.command(command.map { Array($0.utf8) })
            if case .error = expected { guard case .error = got else { throw TestFailure("\(command): \(got)") } }
        }
        let redisCommands = try Self.section(direct, "commandstats")
        let proxyCommands = try Self.section(through, "commandstats")
        for name in ["set", "get", "lpush", "incr"] {
            let key = "cmdstat_\(name)"
            #expect(Self.field(proxyCommands[key], "calls") == Self.field(redisCommands[key], "calls"), "\(key)")
            // Redis counts SET's syntax error as rejected before it runs; the proxy only sees the reply.
            let redisFailed = (Int(Self.field(redisCommands[key], "failed_calls") ?? "0") ?? 0)
                + (Int(Self.field(redisCommands[key], "rejected_calls") ?? "0") ?? 0)
            #expect(Self.field(proxyCommands[key], "failed_calls") == "\(redisFailed)", "\(key): \(proxyCommands[key] ?? "")")
            #expect(Self.field(proxyCommands[key], "usec").flatMap(Int.init).map { $0 > 0 } == true, "\(key) is timed")
        }
        #expect(proxyCommands.keys.filter { $0.hasPrefix("cmdstat_") }.contains("cmdstat_info"), "INFO itself counts, as in Redis")
        let redisErrors = try Self.section(direct, "errorstats")
        let proxyErrors = try Self.section(through, "errorstats")
        #expect(proxyErrors == redisErrors, "errorstats: \(proxyErrors) vs \(redisErrors)")
        #expect(proxyErrors["errorstat_WRONGTYPE"] == "count=1")
    }

    /// INFO clients counts a client waiting in BLPOP as blocked, as redis-server does, until its
    /// reply comes.
    @Test func blockedClientsAreCounted() async throws {
        let backend = try await RedisServer()
        defer { backend.stop() }
        let proxy = try await ProxyUnderTest(yaml: "alpha:\n  listen: LISTEN\n  groups:\n    - name: g0\n      master: \(backend.address)\n")
        defer { Task { await proxy.stop() } }
        let (waiter, other) = (try proxy.client(), try proxy.client())
        #expect(try Self.section(other, "clients")["blocked_clients"] == "0")
        try waiter.sendRaw(RedisTestClient.encode([Array("BLPOP".utf8), Array("queue".utf8), Array("0".utf8)]))
        try await waitUntil("the backend blocks it") {
            try Self.section(RedisTestClient(port: backend.port), "clients")["blocked_clients"] == "1"
        }
        #expect(try Self.section(other, "clients")["blocked_clients"] == "1")
        #expect(try other.command("LPUSH", "queue", "job") == .integer(1))
        #expect(try waiter.readReply() == .array([.bulk("queue"), .bulk("job")]))
        #expect(try Self.section(other, "clients")["blocked_clients"] == "0")
    }

    /// Without `/metrics` the proxy times nothing: commandstats still counts calls.
    @Test func callsAreCountedWithoutMetrics() async throws {
        let backend = try await RedisServer()
        defer { backend.stop() }
        let proxy = try await ProxyUnderTest(yaml: "alpha:\n  listen: LISTEN\n  groups:\n    - name: g0\n      master: \(backend.address)\n")
        defer { Task { await proxy.stop() } }
        let client = try proxy.client()
        for _ in 0..<3 { _ = try client.command("SET", "k", "v") }
        let commands = try Self.section(client, "commandstats")
        #expect(commands["cmdstat_set"] == "calls=3")
        #expect(try Self.section(client, "default")["cmdstat_set"] == nil, "commandstats is not a default section")
    }
}
