import Foundation
import Testing

/// twemproxy's stats port: Shardgate and a real nutcracker serve the same nutcracker.yml pool over
/// the same two redis-servers, get the same requests, and their stats documents are compared key by
/// key (and value by value where both proxies send the same bytes).
@Suite(.serialized, .enabled(if: TestEnvironment.canRun("redis-server", "nutcracker")))
struct TwemproxyStatsTests {
    /// Reads one stats document: the server writes it and closes.
    static func fetch(_ port: Int) throws -> [String: Any] {
        let bytes = try RedisTestClient(port: port, timeoutSeconds: 5).readToEnd()
        guard let document = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw TestFailure("not a JSON object: \(String(decoding: bytes, as: UTF8.self))")
        }
        return document
    }

    /// Pipelines `commands` on a new connection, reads `replies` replies, closes it (a client EOF).
    static func session(_ port: Int, _ commands: [[String]]) throws -> [Reply] {
        let client = try RedisTestClient(port: port)
        defer { client.disconnect() }
        return try client.pipeline(commands)
    }

    static func pool(_ document: [String: Any]) throws -> [String: Any] {
        guard let pool = document["alpha"] as? [String: Any] else { throw TestFailure("no pool 'alpha' in \(document)") }
        return pool
    }

    @Test func statsDocumentMatchesNutcrackerKeyByKey() async throws {
        let servers = try await ShardGroups(groups: 2).masters
        defer { servers.forEach { $0.stop() } }
        func yaml(listen: String) -> String {
            """
            alpha:
              listen: \(listen)
              hash: fnv1a_64
              distribution: ketama
              redis: true
              servers:
                - \(servers[0].address):1 one
                - \(servers[1].address):1 two

            """
        }
        let nutcracker = try await Nutcracker { port in yaml(listen: "127.0.0.1:\(port)") }
        defer { nutcracker.stop() }
        let proxy = try await ProxyUnderTest(yaml: yaml(listen: "LISTEN"), threads: 1, stats: true)
        let statsPort = try #require(proxy.statsPort)

        // The test harness's readiness probe (PING, then INFO, which nutcracker refuses by closing)
        // already counted on nutcracker: client counters are compared as differences from here.
        // (nutcracker publishes every 100 ms here: read until two readings agree.)
        var before = try Self.pool(try Self.fetch(nutcracker.statsPort))
        for _ in 0..<20 {
            try await Task.sleep(for: .milliseconds(250))
            let again = try Self.pool(try Self.fetch(nutcracker.statsPort))
            if again["client_eof"] as? Int == before["client_eof"] as? Int, again["client_err"] as? Int == before["client_err"] as? Int {
                break
            }
            before = again
        }
        func clientCounter(_ pool: [String: Any], _ key: String, nutcracker: Bool) -> Int {
            (pool[key] as? Int ?? 0) - (nutcracker ? before[key] as? Int ?? 0 : 0)
        }

        // Single-key commands only: both proxies forward them byte for byte, so bytes must agree.
        let commands = (0..<40).map { ["SET", "key:\($0)", "value-\($0)"] } + (0..<40).map { ["GET", "key:\($0)"] }
            + [["INCR", "counter"], ["GET", "missing"]]
        for port in [nutcracker.port, proxy.port] {
            let replies = try Self.session(port, commands)
            #expect(replies.count == commands.count)
            // A protocol error: the proxy closes the client (client_err).
            let bad = try RedisTestClient(port: port, timeoutSeconds: 2)
            try bad.sendRaw(Array("*1\r\n$x\r\n".utf8))
            _ = try? bad.readToEnd()
        }
        // A dead server: requests for it fail (forward_error) after one failed connect (server_err).
        servers[1].stop()
        let probes = (0..<20).map { ["GET", "probe:\($0)"] }
        var failures: [Int] = []
        for port in [nutcracker.port, proxy.port] {
            failures.append(try Self.session(port, probes).filter(\.isError).count)
        }
        #expect(failures[0] == failures[1] && failures[0] > 0, "failed GETs: nutcracker \(failures[0]), shardgate \(failures[1])")

        // nutcracker publishes what it aggregated at its last interval: wait until it is settled.
        var theirs = try Self.fetch(nutcracker.statsPort)
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            let pool = try Self.pool(theirs)
            if clientCounter(pool, "client_eof", nutcracker: true) == 2, clientCounter(pool, "client_err", nutcracker: true) == 1 { break }
            try await Task.sleep(for: .milliseconds(100))
            theirs = try Self.fetch(nutcracker.statsPort)
        }
        let ours = try Self.fetch(statsPort)
        await proxy.stop()

        #expect(Set(ours.keys) == Set(theirs.keys))
        #expect(ours["service"] as? String == "shardgate")
        for key in ["uptime", "timestamp", "total_connections", "curr_connections"] {
            #expect(ours[key] is Int, "\(key)")
        }
        let ourPool = try Self.pool(ours)
        let theirPool = try Self.pool(theirs)
        #expect(Set(ourPool.keys) == Set(theirPool.keys), "pool keys: \(ourPool.keys.sorted()) vs \(theirPool.keys.sorted())")
        for key in ["client_eof", "client_err"] {
            let (ourCount, theirCount) = (clientCounter(ourPool, key, nutcracker: false), clientCounter(theirPool, key, nutcracker: true))
            #expect(ourCount == theirCount, "\(key): shardgate \(ourCount), nutcracker \(theirCount)")
        }
        #expect(clientCounter(ourPool, "client_eof", nutcracker: false) == 2)
        for key in ["client_connections", "server_ejects", "forward_error", "fragments"] {
            #expect(ourPool[key] as? Int == theirPool[key] as? Int, "\(key): \(ourPool[key] ?? "-") vs \(theirPool[key] ?? "-")")
        }
        for name in ["one", "two"] {
            let ourServer = try #require(ourPool[name] as? [String: Int], "server \(name)")
            let theirServer = try #require(theirPool[name] as? [String: Int], "server \(name)")
            #expect(Set(ourServer.keys) == Set(theirServer.keys))
            for (key, value) in theirServer {
                #expect(ourServer[key] == value, "\(name).\(key): shardgate \(ourServer[key] ?? -1), nutcracker \(value)")
            }
        }
        #expect((ourPool["one"] as? [String: Int])?["requests"] ?? 0 > 0, "server one served requests")
    }
}
