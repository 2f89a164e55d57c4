import Foundation
import Testing

/// MONITOR through the proxy: every client's requests on every event loop, in Redis's line format
/// with the groups they went to, read by a raw client and by redis-py's parser.
@Suite(.serialized, .enabled(if: TestEnvironment.canRun("redis-server")))
struct ProxyMonitorTests {
    static func pool(_ servers: [RedisServer]) -> String {
        """
        alpha:
          listen: LISTEN
          groups:
            - name: g0
              master: \(servers[0].address)
            - name: g1
              master: \(servers[1].address)

        """
    }

    /// Lines of the monitor until one contains `last`, without the timestamp and client port
    /// (checked by pattern first).
    static func lines(of monitor: RedisTestClient, until last: String) throws -> [String] {
        var lines: [String] = []
        let shape = try Regex(#"^\d{10}\.\d{6} \[0 127\.0\.0\.1:\d+\] (.*)$"#)
        while lines.last?.contains(last) != true {
            guard case .status(let line) = try monitor.readReply() else { throw TestFailure("not a status line") }
            guard let match = line.wholeMatch(of: shape), let rest = match.output[1].substring else {
                throw TestFailure("not a MONITOR line: \(line)")
            }
            lines.append(String(rest))
        }
        return lines
    }

    @Test func monitorShowsEveryLoopsRequestsWithTheirGroups() async throws {
        let servers = try await ShardGroups(groups: 2).masters
        defer { servers.forEach { $0.stop() } }
        let proxy = try await ProxyUnderTest(yaml: Self.pool(servers), threads: 2)
        defer { Task { await proxy.stop() } }
        // Two keys of each group, found by where the proxy puts them.
        let setup = try proxy.client()
        var keys: [String: [String]] = ["g0": [], "g1": []]
        for candidate in (0..<100).map({ "key:\($0)" }) where keys.values.contains(where: { $0.count < 2 }) {
            _ = try setup.command("SET", candidate, "x")
            let group = try RedisTestClient(port: servers[0].port).command("EXISTS", candidate) == .integer(1) ? "g0" : "g1"
            if keys[group]!.count < 2 { keys[group]!.append(candidate) }
        }
        let chosen = [(keys["g0"]![0], "g0"), (keys["g1"]![0], "g1"), (keys["g0"]![1], "g0"), (keys["g1"]![1], "g1")]
        let monitor = try proxy.client()
        #expect(try monitor.command("MONITOR") == .status("OK"))
        // Four clients: the loops take new connections in turn, so both loops have some.
        let clients = try (0..<4).map { _ in try proxy.client() }
        var expected: [String] = []
        for (index, client) in clients.enumerated() {
            let (key, group) = chosen[index]
            #expect(try client.command("SET", key, "v\n\(index)") == .status("OK"))
            expected.append("\"SET\" \"\(key)\" \"v\\n\(index)\" (group \(group))")
        }
        _ = try clients[1].command("MGET", chosen[0].0, chosen[1].0, chosen[2].0)
        expected.append("\"MGET\" \"\(chosen[0].0)\" \"\(chosen[1].0)\" \"\(chosen[2].0)\" (groups g0, g1)")
        _ = try clients[2].command("CONFIG", "GET", "maxmemory")  // admin: not shown, as in Redis
        #expect(try clients[2].command("GET") == .error("ERR wrong number of arguments for 'get' command"))  // refused: not shown
        _ = try clients[3].command("AUTH", "secret")
        expected.append("\"AUTH\" \"(redacted)\" (proxy)")
        _ = try clients[0].command("ECHO", "done")
        expected.append("\"ECHO\" \"done\" (proxy)")
        #expect(try Self.lines(of: monitor, until: "\"ECHO\" \"done\"") == expected)

        // A monitoring client is a replica to Redis: no keyspace commands, others answered.
        #expect(try monitor.command("GET", "key:0") == .error("ERR Replica can't interact with the keyspace"))
        #expect(try monitor.command("PING") == .status("PONG"), "the reply, then the line")
        #expect(try Self.lines(of: monitor, until: "\"PING\"") == ["\"PING\" (proxy)"])
        // RESET ends the feed.
        #expect(try monitor.command("RESET") == .status("RESET"))
        _ = try clients[0].command("SET", "after", "1")
        #expect(try monitor.command("PING") == .status("PONG"))
    }

    /// redis-py's `monitor()` parses the proxy's lines: time, db, client address and the command.
    @Test(.enabled(if: TestEnvironment.hasRedisPy || TestEnvironment.isCI))
    func redisPyParsesTheLines() async throws {
        let servers = try await ShardGroups(groups: 2).masters
        defer { servers.forEach { $0.stop() } }
        let proxy = try await ProxyUnderTest(yaml: Self.pool(servers), threads: 2)
        defer { Task { await proxy.stop() } }
        let python = try #require(TestEnvironment.python)
        let script = """
            import sys, json, redis
            port = int(sys.argv[1])
            with redis.Redis(port=port).monitor() as m:
                other = redis.Redis(port=port)
                other.set("py:k", "two words")
                other.get("py:k")
                seen = []
                while len(seen) < 2:
                    c = m.next_command()
                    if c["command"].startswith(("SET", "GET")):
                        seen.append({"db": c["db"], "type": c["client_type"], "address": c["client_address"],
                                     "command": c["command"], "port_is_number": c["client_port"].isdigit()})
            print(json.dumps(seen))
            """
        let result = try run(python, ["-c", script, "\(proxy.port)"], seconds: 60)
        #expect(result.status == 0, "\(result.output)")
        let parsed = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [[String: Any]]
        #expect(parsed?.count == 2, "\(result.output)")
        #expect(parsed?.first?["command"] as? String == "SET py:k two words", "\(result.output)")
        #expect(parsed?.last?["command"] as? String == "GET py:k", "\(result.output)")
        #expect(parsed?.allSatisfy { $0["address"] as? String == "127.0.0.1" && $0["port_is_number"] as? Bool == true } == true)
    }
}
