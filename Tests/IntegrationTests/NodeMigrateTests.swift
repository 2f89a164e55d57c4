import Foundation
import Testing

/// MIGRATE from the node and from redis-server to the same real redis-server target: the same
/// replies (NOKEY, errors from the target, IOERR), the same keys and TTLs arriving, the same keys
/// left behind, and the same AOF (MIGRATE propagates as DEL of the keys the target took).
@Suite(.serialized, .enabled(if: TestEnvironment.canRun("redis-server")))
struct NodeMigrateTests {
    /// Runs the script with `source` migrating to `target` (flushed first); returns the replies, then
    /// what the target and the source hold afterwards.
    static func scenario(source: RedisTestClient, target: RedisServer, closedPort: Int) throws -> [String] {
        let targetClient = try target.client()
        _ = try targetClient.command("FLUSHALL")
        let host = "127.0.0.1", port = "\(target.port)"
        func migrate(_ arguments: String...) -> [String] { ["MIGRATE", host, port] + arguments }
        let commands: [[String]] = [
            ["SET", "k1", "v1"], ["SET", "k2", "v2", "PX", "100000"], ["RPUSH", "list", "a", "b", "c"],
            ["HSET", "hash", "f", "v", "g", "w"], ["ZADD", "zset", "1", "a", "2", "b"], ["SADD", "set", "1", "2", "x"],
            ["SET", "k3", "three"], ["SET", "k4", "four"], ["XADD", "stream", "1-1", "f", "v"],
            migrate("missing", "0", "5000"),
            migrate("k1", "0", "5000"),
            ["EXISTS", "k1"],
            migrate("", "0", "5000", "KEYS", "k2", "list", "missing", "hash", "zset", "set", "stream"),
            ["EXISTS", "k2", "list", "hash", "zset", "set", "stream"],
            migrate("k3", "0", "5000", "KEYS", "k4"),
            migrate("k3", "0", "5000", "COPY"),
            ["GET", "k3"],
            migrate("k3", "0", "5000"),
            migrate("k3", "0", "5000", "COPY", "REPLACE"),
            migrate("k3", "1", "5000"),
            ["EXISTS", "k3"],
            migrate("k4", "0", "5000", "AUTH", "secret"),
            migrate("k4", "0", "5000", "AUTH2", "user", "secret"),
            migrate("k4", "0", "5000", "AUTH"),
            migrate("k4", "0", "5000", "AUTH2", "user"),
            migrate("k4", "0", "5000", "BOGUS"),
            migrate("k4", "zero", "5000"),
            migrate("k4", "0", "soon"),
            migrate("k4", "99", "5000"),
            ["MIGRATE", host, String(closedPort), "k4", "0", "1000"],
            ["MIGRATE", host, port, "k4"],
            migrate("k4", "0", "0", "REPLACE"),
            ["EXISTS", "k4"],
        ]
        var results = try source.rawPipeline(commands)
        // What arrived, TTLs included (rounded: the two runs take different times).
        results += try targetClient.rawPipeline([
            ["GET", "k1"], ["GET", "k2"], ["LRANGE", "list", "0", "-1"], ["HGETALL", "hash"], ["ZRANGE", "zset", "0", "-1", "WITHSCORES"],
            ["SORT", "set", "ALPHA"], ["XRANGE", "stream", "-", "+"], ["GET", "k3"], ["GET", "k4"], ["TTL", "k1"], ["OBJECT", "ENCODING", "set"],
            ["SELECT", "1"], ["GET", "k3"], ["SELECT", "0"],
        ])
        guard case .integer(let ttl) = try targetClient.command("PTTL", "k2") else { throw TestFailure("no PTTL reply") }
        results.append(ttl > 90_000 && ttl <= 100_000 ? "k2 keeps its TTL" : "k2 PTTL \(ttl)")
        return results
    }

    @Test func migrateMatchesRedisBetweenRealServers() async throws {
        let servers = try await NodeBitmapTests.servers()
        defer { servers.stop() }
        let target = try await RedisServer()
        defer { target.stop() }
        let closedPort = try freePort()
        let fromRedis = try Self.scenario(source: servers.redis.client(), target: target, closedPort: closedPort)
        let fromNode = try Self.scenario(source: servers.node.client(), target: target, closedPort: closedPort)
        #expect(fromNode.count == fromRedis.count)
        for (index, (node, redis)) in zip(fromNode, fromRedis).enumerated() {
            #expect(node == redis, "reply #\(index)")
        }
        // The cached connection shows in INFO, as Redis's.
        let info = try servers.node.client().command("INFO", "stats").string ?? ""
        #expect(info.contains("migrate_cached_sockets:1"))
        // The AOFs: each MIGRATE that moved keys became a DEL of those keys; COPY left nothing.
        try await NodePropagationTests.expectSameAOF(servers, context: "MIGRATE")
    }

    /// A target that accepts the connection but never answers: MIGRATE gives up after its timeout
    /// with Redis's error, the key stays, and the node serves other clients afterwards.
    @Test func migrateTimesOutOnATargetThatDoesNotAnswer() async throws {
        let outcome = try await both { port in
            let target = try await RedisServer()
            defer { target.stop() }
            let client = try RedisTestClient(port: port)
            _ = try client.command("SET", "key", "value")
            target.process.signal(SIGSTOP)
            defer { target.process.signal(SIGCONT) }
            let started = Date()
            let reply = try client.rawPipeline([["MIGRATE", "127.0.0.1", "\(target.port)", "key", "0", "300"]])
            let waited = Date().timeIntervalSince(started)
            return reply + (try client.rawPipeline([["GET", "key"]])) + [waited >= 0.25 && waited < 5 ? "waited the timeout" : "waited \(waited) s"]
        }
        guard let results = outcome else { return }
        #expect(results.node == results.redis)
        #expect(results.redis.first?.hasPrefix("-IOERR error or timeout reading to target instance") == true)
    }
}
