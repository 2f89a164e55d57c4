import Foundation
import Testing

/// SLOWLOG at the proxy: what was slow from the client's side (backend time included), over every
/// event loop, in Redis's entry shape (which redis-py parses).
@Suite(.serialized, .enabled(if: TestEnvironment.canRun("redis-server")))
struct ProxySlowLogTests {
    static func pool(_ server: RedisServer, threshold: Int, maxLength: Int = 128) -> String {
        """
        alpha:
          listen: LISTEN
          slowlog_log_slower_than: \(threshold)
          slowlog_max_len: \(maxLength)
          groups:
            - name: one
              master: \(server.address)

        """
    }

    /// Only the request the backend took 100 ms over is logged (the threshold is 50 ms), with its
    /// arguments, the client's address and name; LEN counts it; RESET empties the log.
    @Test func logsWhatWasSlowFromTheClientsSide() async throws {
        let server = try await RedisServer(["--enable-debug-command", "yes"])
        defer { server.stop() }
        let proxy = try await ProxyUnderTest(yaml: Self.pool(server, threshold: 50_000), threads: 2)
        let client = try proxy.client()
        #expect(try client.command("CLIENT", "SETNAME", "slowpoke") == .status("OK"))
        #expect(try client.command("SET", "k", "v") == .status("OK"))
        #expect(try client.command("DEBUG", "SLEEP", "0.1") == .status("OK"))
        #expect(try client.command("GET", "k") == .bulk("v"))
        #expect(try client.command("SLOWLOG", "LEN") == .integer(1))
        guard case .array(let entries?) = try client.command("SLOWLOG", "GET") else { throw TestFailure("SLOWLOG GET: not an array") }
        #expect(entries.count == 1)
        guard case .array(let fields?) = entries.first else { throw TestFailure("entry: not an array") }
        #expect(fields.count == 6)
        guard case .integer(let time) = fields[1], case .integer(let microseconds) = fields[2] else {
            throw TestFailure("entry: \(fields)")
        }
        #expect(abs(time - Int(Date().timeIntervalSince1970)) < 10)
        #expect(microseconds >= 100_000 && microseconds < 5_000_000)
        #expect(fields[3] == .array([.bulk("DEBUG"), .bulk("SLEEP"), .bulk("0.1")]))
        #expect(fields[4].string?.hasPrefix("127.0.0.1:") == true)
        #expect(fields[5] == .bulk("slowpoke"))
        // DETAILS (the proxy's own): two more fields, where it went and the backend's part.
        guard case .array(let detailed?) = try client.command("SLOWLOG", "GET", "1", "DETAILS"),
            case .array(let more?) = detailed.first, more.count == 8, case .integer(let backend) = more[7]
        else { throw TestFailure("SLOWLOG GET 1 DETAILS") }
        #expect(Array(more[0..<6]) == fields)
        #expect(more[6] == .bulk("(group one)"))
        #expect(backend >= 100_000 && backend <= microseconds, "backend \(backend) of \(microseconds) µs")
        #expect(try client.command("SLOWLOG", "GET", "DETAILS") == .array(detailed))
        #expect(try client.command("SLOWLOG", "RESET") == .status("OK"))
        #expect(try client.command("SLOWLOG", "LEN") == .integer(0))
        client.disconnect()
        await proxy.stop()
    }

    /// A request that waits for the client's earlier replies before it runs (BLPOP needs a lease of
    /// its own) is logged with its arguments too.
    @Test func requestsBehindEarlierRepliesAreLogged() async throws {
        let server = try await RedisServer(["--enable-debug-command", "yes"])
        defer { server.stop() }
        let proxy = try await ProxyUnderTest(yaml: Self.pool(server, threshold: 50_000), threads: 1)
        let client = try proxy.client()
        let replies = try client.pipeline([["DEBUG", "SLEEP", "0.08"], ["BLPOP", "empty", "0.1"]])
        #expect(replies == [.status("OK"), .array(nil)])
        guard case .array(let entries?) = try client.command("SLOWLOG", "GET") else { throw TestFailure("not an array") }
        let commands = entries.compactMap { entry -> Reply? in
            guard case .array(let fields?) = entry else { return nil }
            return fields[3]
        }
        #expect(commands.contains(.array([.bulk("BLPOP"), .bulk("empty"), .bulk("0.1")])), "\(commands)")
        #expect(commands.contains(.array([.bulk("DEBUG"), .bulk("SLEEP"), .bulk("0.08")])), "\(commands)")
        client.disconnect()
        await proxy.stop()
    }

    /// With a threshold of 0 everything is logged; entries come newest first across clients on
    /// different event loops; GET takes a count (-1: all); long arguments and argument lists are cut
    /// as Redis cuts them; `slowlog_max_len` bounds each loop's part; the errors are Redis's.
    @Test func entriesAcrossLoopsAndTheirShape() async throws {
        let server = try await RedisServer()
        defer { server.stop() }
        let proxy = try await ProxyUnderTest(yaml: Self.pool(server, threshold: 0, maxLength: 50), threads: 2)
        let clients = try (0..<4).map { _ in try proxy.client() }
        for (index, client) in clients.enumerated() { _ = try client.command("SET", "key\(index)", "v") }
        let long = String(repeating: "x", count: 200)
        _ = try clients[0].command("SET", "long", long)
        _ = try clients[1].command((["RPUSH", "list"] + (0..<40).map { "e\($0)" }).map { Array($0.utf8) })
        #expect(try clients[2].command("SLOWLOG", "RESET") == .status("OK"))
        for (index, client) in clients.enumerated() { _ = try client.command("GET", "key\(index)") }
        _ = try clients[0].command("SET", "long", long)
        _ = try clients[1].command((["RPUSH", "list"] + (0..<40).map { "e\($0)" }).map { Array($0.utf8) })

        guard case .array(let all?) = try clients[3].command("SLOWLOG", "GET", "-1") else { throw TestFailure("not an array") }
        let ids = all.compactMap { entry -> Int? in
            guard case .array(let fields?) = entry, case .integer(let id) = fields[0] else { return nil }
            return id
        }
        #expect(ids == ids.sorted(by: >), "newest first: \(ids)")
        // RESET empties the log and is then answered, so it is the oldest entry: then 4 GETs, the
        // SET and the RPUSH.
        #expect(all.count == 7)
        guard case .array(let newest?) = all.first, case .array(let arguments?) = newest[3] else { throw TestFailure("entry") }
        #expect(arguments.count == 32)
        #expect(arguments[0] == .bulk("RPUSH"))
        #expect(arguments[31] == .bulk("... (11 more arguments)"))
        guard case .array(let second?) = all[1], case .array(let setArguments?) = second[3] else { throw TestFailure("entry") }
        #expect(setArguments[2] == .bulk(String(repeating: "x", count: 128) + "... (72 more bytes)"))
        guard case .array(let two?) = try clients[3].command("SLOWLOG", "GET", "2") else { throw TestFailure("not an array") }
        // Newest first: the GET -1 just answered, then what it returned first.
        #expect(two.count == 2)
        #expect(two.last == all.first)
        #expect(try clients[3].command("SLOWLOG", "GET", "-2") == .error("ERR count should be greater than or equal to -1"))
        #expect(try clients[3].command("SLOWLOG", "GET", "x") == .error("ERR count should be greater than or equal to -1"))
        #expect(try clients[3].command("SLOWLOG", "LEN", "x") == .error("ERR wrong number of arguments for 'slowlog|len' command"))
        #expect(try clients[3].command("SLOWLOG", "NOPE") == .error("ERR unknown subcommand 'NOPE'. Try SLOWLOG HELP."))
        guard case .array(let help?) = try clients[3].command("SLOWLOG", "HELP") else { throw TestFailure("HELP") }
        #expect(help.first == .status("SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"))
        for client in clients { client.disconnect() }
        await proxy.stop()
    }

    /// redis-py reads the proxy's entries as it reads Redis's.
    @Test(.enabled(if: TestEnvironment.isCI || TestEnvironment.hasRedisPy))
    func redisPyParsesTheEntries() async throws {
        let server = try await RedisServer()
        defer { server.stop() }
        let proxy = try await ProxyUnderTest(yaml: Self.pool(server, threshold: 0), threads: 1)
        let python = try #require(TestEnvironment.python)
        let script = """
            import redis, sys
            r = redis.Redis(port=int(sys.argv[1]))
            r.client_setname("py")
            r.set("k", "v")
            entries = r.slowlog_get(10)
            commands = [e["command"] for e in entries]
            assert b"SET k v" in commands, commands
            entry = entries[commands.index(b"SET k v")]
            assert entry["client_name"] == b"py", entry
            assert entry["client_address"].startswith(b"127.0.0.1:"), entry
            assert r.slowlog_len() == len(entries) + 1, (r.slowlog_len(), len(entries))
            print("ok")
            """
        let result = try run(python, ["-c", script, "\(proxy.port)"])
        #expect(result.status == 0 && result.output.contains("ok"), "\(result.output)")
        await proxy.stop()
    }
}
