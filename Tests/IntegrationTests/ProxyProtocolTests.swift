import Foundation
import Testing

/// What the proxy answers itself, compared byte for byte with a real redis-server where Redis has an
/// answer: protocol errors, unknown commands, arity, PING/ECHO/HELLO/COMMAND, AUTH.
@Suite(.serialized, .enabled(if: TestEnvironment.canRun("redis-server")))
struct ProxyProtocolTests {
    /// Sends `input` raw and collects replies until the peer closes or `replies` arrived.
    static func exchange(_ input: String, port: Int, replies: Int) throws -> (replies: [Reply], closed: Bool) {
        let client = try RedisTestClient(port: port, timeoutSeconds: 2)
        try client.sendRaw(Array(input.utf8))
        var received: [Reply] = []
        for _ in 0..<replies { received.append(try client.readReply()) }
        return (received, client.isClosedByPeer())
    }

    static let malformed: [(input: String, replies: Int)] = [
        ("*x\r\n", 1),
        ("*1\r\n$x\r\n", 1),
        ("*1\r\n$-5\r\n", 1),
        ("*2\r\n$3\r\nGET\r\nx\r\n", 1),
        ("SET k \"unbalanced\r\n", 1),
        ("PING\r\n*1\r\n$4\r\nPING\r\n*z\r\n", 3),
        // More valid requests than one parsing batch of the node (32) before the bad one.
        (String(repeating: "*2\r\n$4\r\nECHO\r\n$2\r\nok\r\n", count: 40) + "*2\r\n$3\r\nGET\r\n$-9\r\n", 41),
        ("POST / HTTP/1.1\r\n", 0),
        ("Host: example.com\r\n", 0),
    ]

    @Test(arguments: 0..<malformed.count)
    func malformedInputMatchesRedis(case index: Int) async throws {
        let (input, count) = Self.malformed[index]
        let redis = try await RedisServer()
        defer { redis.stop() }
        let proxy = try await ProxyUnderTest(yaml: "pool:\n  listen: LISTEN\n  groups:\n    - name: a\n      master: \(redis.address)\n")
        let expected = try Self.exchange(input, port: redis.port, replies: count)
        let actual = try Self.exchange(input, port: proxy.port, replies: count)
        #expect(actual.replies == expected.replies)
        #expect(expected.closed && actual.closed, "both close the connection")
        await proxy.stop()
    }

    @Test func repliesMatchRedisForCommonCommands() async throws {
        let redis = try await RedisServer()
        defer { redis.stop() }
        let proxy = try await ProxyUnderTest(yaml: "pool:\n  listen: LISTEN\n  groups:\n    - name: a\n      master: \(redis.address)\n")
        let commands: [[String]] = [
            ["PING"], ["PING", "hello"], ["ECHO", "x y"], ["PING", "a", "b"], ["GET"], ["SET", "k"],
            ["NOSUCHCOMMAND", "a", "b"], ["nosuch"], ["nosuch", String(repeating: "x", count: 100), String(repeating: "y", count: 100), "z"], ["OBJECT", "NOPE", "k"], ["SELECT", "0"], ["SELECT", "x"],
            ["COMMAND", "COUNT"], ["COMMAND", "INFO", "get", "mset", "nosuch"], ["COMMAND", "DOCS", "get"],
            ["COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"], ["COMMAND", "GETKEYS", "EVAL", "s", "2", "k1", "k2", "x"],
            ["COMMAND", "GETKEYSANDFLAGS", "MSET", "a", "1", "b", "2"], ["COMMAND", "GETKEYSANDFLAGS", "LMOVE", "a", "b", "LEFT", "RIGHT"],
            ["COMMAND", "GETKEYSANDFLAGS", "GET", "k"], ["COMMAND", "GETKEYSANDFLAGS", "ZUNIONSTORE", "d", "2", "a", "b"],
            ["COMMAND", "GETKEYSANDFLAGS", "PING"],
            ["CLIENT", "GETNAME"], ["CLIENT", "SETNAME", "bad name"], ["CLIENT", "SETNAME", "worker-1"],
            ["CLIENT", "GETNAME"], ["HELLO", "2", "SETNAME", "w2"], ["CLIENT", "GETNAME"], ["HELLO", "4"], ["HELLO", "x"],
            ["AUTH", "pw"], ["AUTH", "default", "anything"], ["AUTH", "nobody", "pw"],
            ["SET", "k", "v"], ["GET", "k"], ["INCR", "k"], ["LPUSH", "k", "x"], ["QUIT"],
        ]
        let expected = try redis.client().pipeline(commands)
        let actual = try proxy.client().pipeline(commands)
        for index in commands.indices {
            var wanted = expected[index]
            // HELLO's id and version are the proxy's own; compare the shape.
            if commands[index].first == "HELLO", case .array(let items?) = wanted, case .array(let got?) = actual[index],
                items.count == got.count
            {
                wanted = actual[index]
            }
            #expect(actual[index] == wanted, "\(commands[index]): proxy \(actual[index]) vs redis \(expected[index])")
        }
        await proxy.stop()
    }

    /// After HELLO 3 every reply must be the RESP3 Redis sends: maps, sets, doubles, `_` nulls.
    @Test func resp3RepliesAreByteIdenticalToRedis() async throws {
        let redis = try await RedisServer()
        defer { redis.stop() }
        let proxy = try await ProxyUnderTest(yaml: "pool:\n  listen: LISTEN\n  groups:\n    - name: a\n      master: \(redis.address)\n")
        let commands: [[String]] = [
            ["HSET", "h", "f", "v", "g", "w"], ["HGETALL", "h"], ["GET", "missing"], ["SADD", "s", "x"], ["SMEMBERS", "s"],
            ["ZADD", "z", "2.5", "m"], ["ZSCORE", "z", "m"], ["ZRANGE", "z", "0", "-1", "WITHSCORES"], ["MGET", "h", "missing"],
            ["CLIENT", "GETNAME"], ["HELLO", "2"], ["HGETALL", "h"], ["GET", "missing"],
        ]
        let viaRedis = try redis.client()
        let viaProxy = try proxy.client()
        _ = try viaRedis.rawPipeline([["HELLO", "3"]])
        _ = try viaProxy.rawPipeline([["HELLO", "3"]])
        let expected = try viaRedis.rawPipeline(commands)
        _ = try redis.client().command("FLUSHALL")
        let actual = try viaProxy.rawPipeline(commands)
        for index in commands.indices where commands[index][0] != "HELLO" {
            #expect(actual[index] == expected[index], "\(commands[index])")
        }
        await proxy.stop()
    }

    @Test func unsupportedCommandsGetAClearErrorAndKeepTheConnection() async throws {
        let redis = try await RedisServer()
        defer { redis.stop() }
        let proxy = try await ProxyUnderTest(yaml: "pool:\n  listen: LISTEN\n  groups:\n    - name: a\n      master: \(redis.address)\n")
        let client = try proxy.client()
        let refused: [[String]] = [
            ["PSYNC", "?", "-1"], ["READONLY"], ["CLIENT", "PAUSE", "10"], ["ACL", "SETUSER", "x", "on"], ["SHUTDOWN"],
        ]
        for command in refused {
            let reply = try client.command(command.map { Array($0.utf8) })
            guard case .error(let text) = reply else {
                Issue.record("\(command) was not refused: \(reply)")
                continue
            }
            let name = command.count > 1 && ["CLIENT", "ACL"].contains(command[0])
                ? "\(command[0])|\(command[1])".lowercased() : command[0].lowercased()
            #expect(text.hasPrefix("ERR shardgate: '\(name)' is not supported through the proxy: "), "\(text)")
        }
        #expect(try client.command("PING") == .status("PONG"), "connection still usable")
        #expect(try redis.calls("monitor") + redis.calls("shutdown") + redis.calls("psync") + redis.calls("client|pause") == 0)
        await proxy.stop()
    }

    @Test func clientAndBackendAuthentication() async throws {
        let redis = try await RedisServer(["--requirepass", "backend-secret"])
        defer { redis.stop() }
        let proxy = try await ProxyUnderTest(yaml: """
            pool:
              listen: LISTEN
              password: client-secret
              auth: backend-secret
              groups:
                - name: a
                  master: \(redis.address)
            """)
        let client = try proxy.client()
        #expect(try client.command("GET", "k") == .error("NOAUTH Authentication required."))
        #expect(try client.command("NOSUCH") == .error("ERR unknown command 'NOSUCH', with args beginning with: "))
        #expect(try client.command("AUTH", "wrong") == .error("WRONGPASS invalid username-password pair or user is disabled."))
        #expect(try client.command("AUTH", "client-secret") == .status("OK"))
        #expect(try client.command("SET", "k", "v") == .status("OK"))
        #expect(try client.command("GET", "k") == .bulk("v"))
        let hello = try proxy.client()
        #expect(try hello.command("HELLO", "2", "AUTH", "default", "client-secret").isError == false)
        #expect(try hello.command("GET", "k") == .bulk("v"))
        // Before AUTH, Redis's smaller request limits apply.
        let unauthenticated = try proxy.client()
        let big = String(repeating: "x", count: 20_000)
        #expect(try unauthenticated.command("AUTH", big) == .error("ERR Protocol error: unauthenticated bulk length"))
        await proxy.stop()

        // `database: 3`: every backend connection authenticates, then SELECTs 3, and keys land there.
        let selecting = try await ProxyUnderTest(yaml: """
            pool:
              listen: LISTEN
              auth: backend-secret
              database: 3
              groups:
                - name: a
                  master: \(redis.address)
            """)
        #expect(try selecting.client().command("SET", "in-db-3", "yes") == .status("OK"))
        let direct = try redis.client()
        _ = try direct.command("AUTH", "backend-secret")
        #expect(try direct.command("EXISTS", "in-db-3") == .integer(0), "not in database 0")
        _ = try direct.command("SELECT", "3")
        #expect(try direct.command("GET", "in-db-3") == .bulk("yes"))
        await selecting.stop()

        // A wrong backend password: the error names the group and says the handshake was refused.
        let wrong = try await ProxyUnderTest(yaml: """
            pool:
              listen: LISTEN
              auth: not-the-password
              groups:
                - name: secured
                  master: \(redis.address)
            """)
        guard case .error(let text) = try wrong.client().command("GET", "k") else {
            Issue.record("expected an error")
            return
        }
        #expect(text.hasPrefix("ERR shardgate: group 'secured' master \(redis.address): handshake refused"), "\(text)")
        await wrong.stop()
    }
}
