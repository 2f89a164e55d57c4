import Foundation
import Testing

/// ACL users of `shardgate node` against a real redis-server running the same commands: rules and
/// their descriptions, AUTH and HELLO as a user, NOPERM refusals and the ACL log.
@Suite(.serialized)
struct NodeACLTests {
    /// Replies to ACL administration, rule errors included. (ACL LIST spells a user's single
    /// commands in Redis's hash-table order, so the users here differ by at most one command
    /// from what their categories give.)
    static let administration: [[String]] = [
        ["ACL", "LIST"], ["ACL", "USERS"], ["ACL", "WHOAMI"], ["ACL", "GETUSER", "default"], ["ACL", "GETUSER", "nobody"],
        ["ACL", "SETUSER", "alice"], ["ACL", "LIST"],
        ["ACL", "SETUSER", "alice", "on", ">p1", ">p2", "<p1", "~a*", "%R~r*", "%W~w*", "&ch*", "+@hash", "-hdel"],
        ["ACL", "GETUSER", "alice"], ["ACL", "LIST"],
        ["ACL", "SETUSER", "alice", "(+get ~x*)", "(", "+set", "~y*", ")"], ["ACL", "GETUSER", "alice"],
        ["ACL", "SETUSER", "carl", "+select|0", "+select|1"], ["ACL", "GETUSER", "carl"], ["ACL", "DELUSER", "carl"],
        ["ACL", "SETUSER", "alice", "clearselectors", "nopass"], ["ACL", "LIST"],
        ["ACL", "SETUSER", "alice", "#0000000000000000000000000000000000000000000000000000000000000000", "resetkeys", "allchannels"],
        ["ACL", "LIST"],
        ["ACL", "SETUSER", "alice", "!0000000000000000000000000000000000000000000000000000000000000000"],
        ["ACL", "SETUSER", "alice", "!0000000000000000000000000000000000000000000000000000000000000000"],
        ["ACL", "SETUSER", "alice", "+nosuch"], ["ACL", "SETUSER", "alice", "+@nosuch"], ["ACL", "SETUSER", "alice", "bogus"],
        ["ACL", "SETUSER", "alice", "#abc"], ["ACL", "SETUSER", "alice", "<never"], ["ACL", "SETUSER", "alice", "+client|id|x"],
        ["ACL", "SETUSER", "alice", "allkeys", "~k"], ["ACL", "SETUSER", "alice", "&x"], ["ACL", "SETUSER", "alice", "(+get"],
        ["ACL", "SETUSER", "alice", "+@all", "-@write"], ["ACL", "GETUSER", "alice"],
        ["ACL", "SETUSER", "alice", "+@all", "-@dangerous"], ["ACL", "LIST"], ["ACL", "SETUSER", "alice", "+@all", "-@fast"],
        ["ACL", "LIST"], ["ACL", "SETUSER", "alice", "-@all", "+@hash", "+@string", "-hset"], ["ACL", "LIST"],
        ["ACL", "SETUSER", "alice", "+get|x|y"], ["ACL", "SETUSER", "alice", "+select|"], ["ACL", "CAT", "a", "b"],
        ["ACL", "SETUSER", "alice", "-@all", "+@read", "-get"], ["ACL", "LIST"],
        ["ACL", "SETUSER", "alice", "reset", "+get", "-get", "+@hash", "-hset", "+hset", "+client|id", "-client", "+config|get"],
        ["ACL", "LIST"],
        ["ACL", "SETUSER", "bob", "reset", "on", "nopass", "+@read"], ["ACL", "LIST"], ["ACL", "SETUSER", "a b"],
        ["ACL", "SETUSER", ""], ["ACL", "GETUSER", ""], ["ACL", "DELUSER", ""],
        ["ACL", "SETUSER", "bob", "skip-sanitize-payload"], ["ACL", "GETUSER", "bob"],
        ["ACL", "DRYRUN", "alice", "get", "k"], ["ACL", "DRYRUN", "alice", "flushall"], ["ACL", "DRYRUN", "alice", "nocmd"],
        ["ACL", "DRYRUN", "nobody", "get", "k"], ["ACL", "DRYRUN", "alice", "get"],
        ["ACL", "DRYRUN", "bob", "set", "k", "v"],
        ["ACL", "CAT", "nosuch"], ["ACL", "GENPASS", "0"], ["ACL", "GENPASS", "5000"], ["ACL", "LOG", "x"],
        ["ACL", "DELUSER", "default"], ["ACL", "DELUSER", "alice", "nobody", "bob"], ["ACL", "USERS"], ["ACL", "LOAD"],
        ["ACL", "SAVE"], ["ACL", "HELP"], ["AUTH", "x"], ["AUTH", "default", "x"],
    ]

    @Test func administrationRepliesAsRedis() async throws {
        guard let (redis, node) = try await both([], { port in
            let client = try RedisTestClient(port: port)
            var replies = Self.administration.map { "\($0.joined(separator: " ")) -> \((try? client.command($0.map { Array($0.utf8) })).map(\.description) ?? "?")" }
            // Categories: compared as sets (Redis lists commands in hash order).
            for category in ["", "hash", "dangerous", "connection", "scripting", "keyspace"] {
                let reply = try client.command(category.isEmpty ? ["ACL", "CAT"].map { Array($0.utf8) } : ["ACL", "CAT", category].map { Array($0.utf8) })
                guard case .array(let items?) = reply else { replies.append("CAT \(category): \(reply)"); continue }
                replies.append("CAT \(category): \(items.map(\.description).sorted())")
            }
            for bits in ["1", "8", "9", "256"] {
                guard case .bulk(let bytes?) = try client.command("ACL", "GENPASS", bits) else { replies.append("GENPASS \(bits)?"); continue }
                replies.append("GENPASS \(bits): \(bytes.count) hex \(bytes.allSatisfy { "0123456789abcdef".utf8.contains($0) })")
            }
            // GETUSER's shape in RESP3, byte for byte: a map, the flags a set.
            _ = try client.rawPipeline([["HELLO", "3"]])
            replies += try client.rawPipeline([["ACL", "GETUSER", "default"]]).map { "RESP3 GETUSER: \($0)" }
            return replies
        }) else { return }
        #expect(node.count == redis.count)
        for (expected, actual) in zip(redis, node) { #expect(actual == expected) }
    }

    /// A user's refusals: NOPERM texts, inside MULTI, from a script, the ACL log's entries.
    @Test func refusalsAndLogAsRedis() async throws {
        guard let (redis, node) = try await both([], { port in
            let admin = try RedisTestClient(port: port)
            let user = try RedisTestClient(port: port)
            var replies: [String] = []
            func record(_ client: RedisTestClient, _ words: String...) {
                replies.append("\(words.joined(separator: " ")) -> \((try? client.command(words.map { Array($0.utf8) })).map(\.description) ?? "?")")
            }
            record(admin, "ACL", "SETUSER", "worker", "on", ">secret", "~app:*", "%R~ro:*", "&news.*", "+@read", "+@write",
                   "+@connection", "+@scripting", "+@transaction", "+publish", "+subscribe", "+psubscribe", "-del")
            record(admin, "SET", "ro:1", "v")
            record(user, "AUTH", "worker", "wrong")
            record(user, "AUTH", "nobody", "secret")
            record(user, "AUTH", "worker", "secret")
            record(user, "ACL", "WHOAMI")
            record(user, "SET", "app:1", "v")
            record(user, "SET", "app:1", "get")
            record(user, "SET", "ro:1", "v", "GET")
            record(user, "GET", "app:1")
            record(user, "SET", "other", "v")
            record(user, "GET", "ro:1")
            record(user, "SET", "ro:1", "w")
            record(user, "COPY", "ro:1", "app:2")
            record(user, "DEL", "app:1")
            record(user, "FLUSHALL")
            record(user, "CLIENT", "KILL", "ID", "999")
            record(user, "PUBLISH", "news.today", "m")
            record(user, "PUBLISH", "sport", "m")
            record(user, "MULTI")
            record(user, "GET", "secret:1")
            record(user, "INCR", "app:n")
            record(user, "EXEC")
            // Rules changed between queueing and EXEC.
            record(user, "MULTI")
            record(user, "GET", "app:1")
            record(user, "SET", "app:1", "w")
            record(admin, "ACL", "SETUSER", "worker", "-get", "resetkeys", "~app:1")
            record(user, "EXEC")
            record(admin, "ACL", "SETUSER", "worker", "+get", "resetkeys", "~app:*", "%R~ro:*")
            record(user, "EVAL", "return redis.call('get', 'other')", "0")
            record(user, "EVAL", "return redis.call('flushall')", "0")
            record(user, "EVAL", "return redis.pcall('set', 'ro:1', 'x')", "0")
            record(user, "EVAL", "return {redis.acl_check_cmd('get', 'app:1'), redis.acl_check_cmd('get', 'zz')}", "0")
            record(user, "SUBSCRIBE", "sport")
            record(user, "PSUBSCRIBE", "news.*")
            record(user, "PUNSUBSCRIBE")
            record(admin, "ACL", "SETUSER", "worker", "off")
            record(user, "GET", "app:1")
            record(admin, "ACL", "DRYRUN", "worker", "get", "other")
            record(admin, "ACL", "DRYRUN", "worker", "publish", "sport", "m")
            // The log without the parts that differ by nature (ages, client ids and addresses).
            if case .array(let entries?) = try admin.command("ACL", "LOG") {
                for entry in entries {
                    guard case .array(let fields?) = entry else { continue }
                    var kept: [String] = []
                    for index in stride(from: 0, to: fields.count - 1, by: 2) {
                        let name = fields[index].string ?? "?"
                        if name == "age-seconds" { continue }
                        if name == "client-info" {
                            let info = (fields[index + 1].string ?? "").split(separator: " ")
                            kept.append(info.filter { $0.hasPrefix("cmd=") || $0.hasPrefix("user=") || $0.hasPrefix("db=") }.joined(separator: " "))
                            continue
                        }
                        kept.append("\(name)=\(fields[index + 1])")
                    }
                    replies.append(kept.joined(separator: " "))
                }
            }
            record(admin, "ACL", "LOG", "RESET")
            record(admin, "ACL", "LOG")
            // Revoking a subscriber's channel disconnects it.
            record(admin, "ACL", "SETUSER", "worker", "on")
            let subscriber = try RedisTestClient(port: port)
            record(subscriber, "AUTH", "worker", "secret")
            record(subscriber, "SUBSCRIBE", "news.a")
            record(admin, "ACL", "SETUSER", "worker", "resetchannels", "&news.b")
            replies.append("subscriber after revoke: \((try? subscriber.command("PING"))?.description ?? "closed")")
            // Deleting the user disconnects its clients.
            record(admin, "ACL", "SETUSER", "worker", "on")
            let second = try RedisTestClient(port: port)
            record(second, "AUTH", "worker", "secret")
            record(admin, "ACL", "DELUSER", "worker")
            replies.append("after DELUSER: \((try? second.command("PING"))?.description ?? "closed")")
            return replies
        }) else { return }
        #expect(node.count == redis.count)
        for (expected, actual) in zip(redis, node) { #expect(actual == expected) }
    }

    /// Keys a command names only while it runs (SORT's BY and GET patterns) need read access to
    /// every key; MIGRATE's keys are argument 3 or those after KEYS.
    @Test func keysFoundInsideCommandsAsRedis() async throws {
        guard let (redis, node) = try await both([], { port in
            let admin = try RedisTestClient(port: port)
            let user = try RedisTestClient(port: port)
            var replies: [String] = []
            func record(_ client: RedisTestClient, _ words: [String]) {
                replies.append("\(words.joined(separator: " ")) -> \((try? client.command(words.map { Array($0.utf8) })).map(\.description) ?? "?")")
            }
            func record(_ client: RedisTestClient, _ words: String...) { record(client, words) }
            record(admin, "SET", "w1", "2")
            record(admin, "RPUSH", "list", "1", "2")
            record(admin, "ACL", "SETUSER", "sorter", "on", "nopass", "(+sort +eval ~list)")
            record(user, "AUTH", "sorter", "x")
            for keys in ["~w*", "%W~*", "%R~*", "allkeys"] {
                record(admin, "ACL", "SETUSER", "sorter", "reset", "on", "nopass", "(+sort +eval ~list \(keys))")
                record(user, "SORT", "list", "BY", "w*")
                record(user, "SORT", "list", "BY", "nosort")
                record(user, "SORT", "list", "GET", "#")
                record(user, "SORT", "list", "GET", "w*")
                record(user, "EVAL", "return redis.pcall('sort', KEYS[1], 'by', 'w*')", "1", "list")
            }
            record(admin, "ACL", "SETUSER", "mover", "on", "nopass", "+@all", "%R~read*", "%W~write*", "%RW~rw*")
            for tail in [["rw", "0", "500"], ["read", "0", "500"], ["", "0", "500", "KEYS", "rw"], ["", "0", "500", "KEYS", "rw", "read"],
                         ["", "0", "500", "AUTH", "KEYS", "KEYS", "write"], ["", "0", "500", "AUTH2", "KEYS", "p", "KEYS", "rw"],
                         ["rw", "0", "500", "KEYS", "read"], ["", "0", "500", "COPY", "REPLACE", "KEYS", "write"]] {
                record(admin, ["ACL", "DRYRUN", "mover", "MIGRATE", "h", "1"] + tail)
            }
            return replies
        }) else { return }
        #expect(node.count == redis.count)
        for (expected, actual) in zip(redis, node) { #expect(actual == expected) }
    }

    /// `requirepass` is the default user's password; HELLO AUTH and CLIENT LIST's `user=`.
    @Test func requirepassAndHelloAsRedis() async throws {
        guard let (redis, node) = try await both(["--requirepass", "topsecret"], { port in
            let client = try RedisTestClient(port: port)
            var replies: [String] = []
            func record(_ words: String...) {
                replies.append("\(words.joined(separator: " ")) -> \((try? client.command(words.map { Array($0.utf8) })).map(\.description) ?? "?")")
            }
            record("GET", "k")
            record("AUTH", "nope")
            record("AUTH", "topsecret")
            record("ACL", "LIST")
            record("ACL", "SETUSER", "carol", "on", ">pw", "+@all", "~*")
            record("HELLO", "2", "AUTH", "carol", "bad")
            record("HELLO", "2", "AUTH", "carol", "pw")
            record("ACL", "WHOAMI")
            if case .bulk(let line?) = try client.command("CLIENT", "INFO") {
                replies.append(String(decoding: line, as: UTF8.self).split(separator: " ").filter { $0.hasPrefix("user=") }.joined())
            }
            record("CLIENT", "KILL", "USER", "nobody")
            record("RESET")
            record("ACL", "WHOAMI")
            record("CONFIG", "SET", "requirepass", "")
            record("ACL", "LIST")
            return replies
        }) else { return }
        #expect(node.count == redis.count)
        for (expected, actual) in zip(redis, node) { #expect(actual == expected) }
    }

    /// redis-py connected as a user whose key pattern it must respect.
    @Test func redisPyAsRestrictedUser() async throws {
        guard TestEnvironment.isCI || (TestEnvironment.hasRedisPy && TestEnvironment.redisServer != nil) else { return }
        let python = try #require(TestEnvironment.python)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Clients/redis_py_acl.py").path
        let servers = try await RedisAndNode()
        defer { servers.stop() }
        for version in ["2", "3"] {
            let expected = try run(python, [script, "\(servers.redis.port)", version], seconds: 60)
            let actual = try run(python, [script, "\(servers.node.port)", version], seconds: 60)
            #expect(expected.status == 0, "\(expected.output)")
            #expect(actual.status == 0, "\(actual.output)")
            #expect(actual.output == expected.output)
            #expect(actual.output.contains("\"denied_set\": \"NoPermissionError: this user has no permissions to access one of the keys"))
        }
    }

    /// `aclfile`: users loaded at startup, ACL LOAD (with its errors) and ACL SAVE, against a
    /// redis-server given a file of the same content.
    @Test func aclFileAsRedis() async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        let initial = "user default on nopass ~* &* +@all\nuser x on >p ~k* +get\n"
        func session(kind: DataServerKind) async throws -> [String] {
            let directory = try TemporaryDirectory()
            let file = directory.path + "/users.acl"
            try initial.write(toFile: file, atomically: true, encoding: .utf8)
            let server = try await RedisServer(["--aclfile", file], kind: kind, directory: directory)
            defer { server.stop() }
            let client = try RedisTestClient(port: server.port)
            let user = try RedisTestClient(port: server.port)
            var replies: [String] = []
            func record(_ client: RedisTestClient, _ words: String...) {
                replies.append("\(words.joined(separator: " ")) -> \((try? client.command(words.map { Array($0.utf8) })).map(\.description) ?? "?")")
            }
            record(client, "ACL", "LIST")
            record(user, "AUTH", "x", "p")
            record(user, "GET", "k1")
            record(client, "ACL", "SETUSER", "y", "on", "+@read")
            record(client, "ACL", "SAVE")
            replies.append((try? String(contentsOfFile: file, encoding: .utf8)) ?? "no file")
            try "user x on bogus\n".write(toFile: file, atomically: true, encoding: .utf8)
            record(client, "ACL", "LOAD")
            try "junk\n".write(toFile: file, atomically: true, encoding: .utf8)
            record(client, "ACL", "LOAD")
            try "user z on nopass +ping\n".write(toFile: file, atomically: true, encoding: .utf8)
            record(client, "ACL", "LOAD")
            record(client, "ACL", "LIST")
            replies.append("x's client after LOAD: \((try? user.command("PING"))?.description ?? "closed")")
            try FileManager.default.removeItem(atPath: file)
            record(client, "ACL", "LOAD")
            return replies.map { $0.replacingOccurrences(of: directory.path, with: "DIR") }
        }
        let expected = try await session(kind: .redis)
        let actual = try await session(kind: .shardgateNode)
        #expect(actual.count == expected.count)
        for (want, got) in zip(expected, actual) { #expect(got == want) }
    }

    /// `user` lines of the configuration (here on the command line): the default user is reset
    /// before its line applies, other users start new; a bad rule stops the node.
    @Test func configUserLinesAsRedis() async throws {
        let lines = ["--user", "bob", "on", ">pw", "~b*", "+get", "--user", "default", "on", "nopass", "+@all", "~*", "&*", "-flushall"]
        guard let (redis, node) = try await both(lines, { port in
            let client = try RedisTestClient(port: port)
            let bob = try RedisTestClient(port: port)
            return [
                try client.command("ACL", "LIST").description, try client.command("FLUSHALL").description,
                try bob.command("AUTH", "bob", "pw").description, try bob.command("GET", "b1").description,
                try bob.command("GET", "a1").description,
            ]
        }) else { return }
        #expect(node == redis)
        await #expect(throws: (any Error).self) { _ = try await startNode(["--user", "bob", "on", "bogus"]).stop() }
    }

    /// `acl-pubsub-default`: the channels of a new user, of `reset` and of a new selector follow it,
    /// from the config file's `user` lines on and after CONFIG SET; the default user keeps `&*`.
    @Test func aclPubsubDefaultAsRedis() async throws {
        let startup = ["--acl-pubsub-default", "allchannels", "--user", "carol", "on", "nopass", "+@all"]
        guard let (redis, node) = try await both(startup, { port in
            let client = try RedisTestClient(port: port)
            return try client.rawPipeline([
                ["CONFIG", "GET", "acl-pubsub-default"], ["ACL", "LIST"],
                ["ACL", "SETUSER", "dan", "on"], ["ACL", "SETUSER", "erin", "on", "(+get ~x*)"], ["ACL", "LIST"],
                ["ACL", "SETUSER", "erin", "reset"], ["ACL", "GETUSER", "erin"],
                ["CONFIG", "SET", "acl-pubsub-default", "RESETCHANNELS"], ["CONFIG", "GET", "acl-pubsub-default"],
                ["ACL", "SETUSER", "frank", "on", "(+set ~y*)"], ["ACL", "SETUSER", "dan", "reset"], ["ACL", "LIST"],
                ["CONFIG", "SET", "acl-pubsub-default", "bogus"],
            ])
        }) else { return }
        #expect(node == redis)
    }
}
