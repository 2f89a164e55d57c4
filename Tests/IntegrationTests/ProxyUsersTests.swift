import Foundation
import Testing

/// `users:` at the proxy: clients AUTH as the pool's users, and each request is checked against
/// its user's commands, keys and channels before it is routed. The replies are compared with a
/// real redis-server given the same users (`--user` lines), so the texts are Redis's own.
@Suite(.serialized, .enabled(if: TestEnvironment.canRun("redis-server")))
struct ProxyUsersTests {
    static let users = [
        "default on nopass ~* &* +@all",
        "app on >s3cret ~app:* +@read +@write -flushall",
        "reader on >r ~* +@read",
        "chat on >c resetchannels &news.* +@pubsub",
        "split on >p %R~ro:* %W~wo:* +@all",
        "gone off >g ~* +@all",
    ]

    static func pool(_ backend: RedisServer) -> String {
        """
        alpha:
          listen: LISTEN
          users:
        \(users.map { "    - \"\($0)\"" }.joined(separator: "\n"))
          groups:
            - name: one
              master: \(backend.address)

        """
    }

    /// A redis-server with the same users, to compare with.
    static func reference() async throws -> RedisServer {
        try await RedisServer(users.flatMap { ["--user"] + $0.split(separator: " ").map(String.init) })
    }

    /// One session per user, each command's raw reply (RESP2, then RESP3 after HELLO 3).
    static func session(port: Int) throws -> [String] {
        var replies: [String] = []
        func record(_ client: RedisTestClient, _ words: String...) throws {
            try client.sendRaw(RedisTestClient.encode(words.map { Array($0.utf8) }))
            replies.append("\(words.joined(separator: " ")) -> \(String(buffer: try client.readFrame()))")
        }
        let app = try RedisTestClient(port: port)
        try record(app, "AUTH", "app", "wrong")
        try record(app, "AUTH", "gone", "g")
        try record(app, "AUTH", "nobody", "x")
        try record(app, "ACL", "WHOAMI")
        try record(app, "AUTH", "app", "s3cret")
        try record(app, "SET", "app:1", "v")
        try record(app, "GET", "app:1")
        try record(app, "SET", "other:1", "v")
        try record(app, "GET", "other:1")
        try record(app, "MGET", "app:1", "other:1")
        try record(app, "FLUSHALL")
        try record(app, "CONFIG", "GET", "maxmemory")
        try record(app, "ACL", "WHOAMI")
        try record(app, "MULTI")
        try record(app, "CLIENT", "ID")
        try record(app, "CLIENT", "NOSUCH")
        try record(app, "ACL", "NOSUCH")
        let reader = try RedisTestClient(port: port)
        try record(reader, "AUTH", "reader", "r")
        try record(reader, "GET", "app:1")
        try record(reader, "SET", "app:1", "w")
        try record(reader, "PUBLISH", "news.1", "x")
        let split = try RedisTestClient(port: port)
        try record(split, "AUTH", "split", "p")
        try record(split, "GET", "ro:1")
        try record(split, "SET", "ro:1", "v")
        try record(split, "SET", "wo:1", "v")
        try record(split, "GET", "wo:1")
        try record(split, "COPY", "ro:1", "wo:2")
        try record(split, "ACL", "WHOAMI")
        try record(split, "CLIENT", "INFO")
        try record(split, "MULTI")
        try record(split, "SET", "wo:3", "x")
        try record(split, "SET", "ro:3", "x")
        try record(split, "EXEC")
        let chat = try RedisTestClient(port: port)
        try record(chat, "HELLO", "3", "AUTH", "chat", "wrong")
        try record(chat, "AUTH", "chat", "c")
        try record(chat, "PUBLISH", "news.1", "x")
        try record(chat, "PUBLISH", "sports", "x")
        try record(chat, "GET", "k")
        try record(chat, "SUBSCRIBE", "sports")
        try record(chat, "PSUBSCRIBE", "news.*", "n*")
        try record(chat, "SUBSCRIBE", "news.1")
        let admin = try RedisTestClient(port: port)
        try record(admin, "ACL", "LIST")
        try record(admin, "ACL", "USERS")
        try record(admin, "ACL", "GETUSER", "app")
        try record(admin, "ACL", "GETUSER", "split")
        try record(admin, "ACL", "GETUSER", "nobody")
        try record(admin, "ACL", "CAT")
        try record(admin, "ACL", "CAT", "nosuch")
        try record(admin, "ACL", "DRYRUN", "app", "SET", "other:1", "v")
        try record(admin, "ACL", "DRYRUN", "app", "GET", "app:1")
        try record(admin, "ACL", "DRYRUN", "nobody", "GET", "app:1")
        try record(admin, "CLIENT", "KILL", "USER", "nobody")
        try record(admin, "AUTH", "x")
        try record(admin, "ACL", "HELP")
        try record(admin, "ACL", "GENPASS", "0")
        try record(admin, "ACL", "GENPASS", "1", "2")
        try record(admin, "ACL", "CAT", "read", "write")
        try admin.sendRaw(RedisTestClient.encode(["ACL", "GENPASS", "100"].map { Array($0.utf8) }))
        let generated = String(buffer: try admin.readFrame())
        replies.append("ACL GENPASS 100 -> \(generated.hasPrefix("$25\r\n") && generated.utf8.count == 32 ? "25 characters" : generated)")
        // RESP3: HELLO's AUTH, then the same refusals in RESP3's framing.
        let resp3 = try RedisTestClient(port: port)
        try resp3.sendRaw(RedisTestClient.encode(["HELLO", "3", "AUTH", "app", "s3cret"].map { Array($0.utf8) }))
        let hello = String(buffer: try resp3.readFrame())
        replies.append("HELLO 3 AUTH app -> \(hello.hasPrefix("%") ? "a map" : hello)")
        try record(resp3, "SET", "other:2", "v")
        try record(resp3, "GET", "app:1")
        try record(resp3, "RESET")
        try record(resp3, "ACL", "WHOAMI")
        let admin3 = try RedisTestClient(port: port)
        try admin3.sendRaw(RedisTestClient.encode(["HELLO", "3"].map { Array($0.utf8) }))
        _ = try admin3.readFrame()
        try record(admin3, "ACL", "GETUSER", "split")
        try record(admin3, "ACL", "GETUSER", "nobody")
        return replies
    }

    /// The same sessions against the proxy and against redis-server: every reply matches, except
    /// what differs by design (CLIENT INFO's addresses; the set of commands in ACL CAT's order).
    @Test func repliesMatchRedisWithTheSameUsers() async throws {
        let backend = try await RedisServer()
        defer { backend.stop() }
        let redis = try await Self.reference()
        defer { redis.stop() }
        let proxy = try await ProxyUnderTest(yaml: Self.pool(backend), threads: 2)
        let expected = try Self.session(port: redis.port)
        let actual = try Self.session(port: proxy.port)
        await proxy.stop()
        #expect(actual.count == expected.count)
        for (mine, theirs) in zip(actual, expected) {
            if mine.hasPrefix("CLIENT INFO") {
                #expect(mine.contains(" user=split "), "\(mine)")
                #expect(theirs.contains(" user=split "), "\(theirs)")
            } else {
                #expect(mine == theirs)
            }
        }
        // What this comparison must have covered (so a reference that allows everything fails).
        let joined = actual.joined(separator: "\n")
        for text in [
            "SET other:1 v -> -NOPERM this user has no permissions to access one of the keys used as arguments\r\n",
            "FLUSHALL -> -NOPERM this user has no permissions to run the 'flushall' command\r\n",
            "SET app:1 w -> -NOPERM this user has no permissions to run the 'set' command\r\n",
            "AUTH gone g -> -WRONGPASS invalid username-password pair or user is disabled.\r\n",
            "PUBLISH sports x -> -NOPERM this user has no permissions to access one of the channels used as arguments\r\n",
            "ACL WHOAMI -> $5\r\nsplit\r\n",
            "SET ro:3 x -> -NOPERM this user has no permissions to access one of the keys used as arguments\r\n",
            "EXEC -> -EXECABORT Transaction discarded because of previous errors.\r\n",
            "SET other:2 v -> -NOPERM this user has no permissions to access one of the keys used as arguments\r\n",
        ] {
            #expect(joined.contains(text), "missing: \(text)")
        }
        // Refused requests never reached the backend.
        let direct = try backend.client()
        #expect(try direct.command("EXISTS", "other:1", "other:2", "ro:1", "wo:3") == .integer(0))
        #expect(try backend.calls("flushall") == 0)
    }

    /// ACL CAT with a category: the same commands as Redis (Redis lists them in hash order).
    @Test func categoriesListTheCommandsRedisLists() async throws {
        let backend = try await RedisServer()
        defer { backend.stop() }
        let redis = try await Self.reference()
        defer { redis.stop() }
        let proxy = try await ProxyUnderTest(yaml: Self.pool(backend), threads: 1)
        let mine = try proxy.client()
        let theirs = try redis.client()
        for category in ["read", "write", "pubsub", "dangerous", "connection"] {
            guard case .array(let ours?) = try mine.command("ACL", "CAT", category),
                case .array(let reference?) = try theirs.command("ACL", "CAT", category)
            else { throw TestFailure("ACL CAT \(category): not arrays") }
            #expect(!ours.isEmpty)
            #expect(Set(ours.compactMap(\.string)) == Set(reference.compactMap(\.string)), "\(category)")
        }
        await proxy.stop()
    }

    /// `password` with `users`: the default user's password; AUTH without a user name needs it,
    /// other users AUTH with theirs.
    @Test func passwordIsTheDefaultUsersAlongsideUsers() async throws {
        let backend = try await RedisServer()
        defer { backend.stop() }
        let proxy = try await ProxyUnderTest(yaml: """
            alpha:
              listen: LISTEN
              password: pw
              users:
                - "app on >s3cret ~app:* +@all"
              groups:
                - name: one
                  master: \(backend.address)
            """)
        let client = try proxy.client()
        #expect(try client.command("GET", "k") == .error("NOAUTH Authentication required."))
        #expect(try client.command("AUTH", "app", "s3cret") == .status("OK"))
        #expect(try client.command("GET", "k") == .error("NOPERM this user has no permissions to access one of the keys used as arguments"))
        #expect(try client.command("AUTH", "pw") == .status("OK"))
        #expect(try client.command("ACL", "WHOAMI") == .bulk("default"))
        #expect(try client.command("GET", "k") == .bulk(nil))
        #expect(try client.command("ACL", "SETUSER", "x", "on").string == nil)
        // CLIENT LIST and CLIENT KILL know the users.
        let other = try proxy.client()
        #expect(try other.command("AUTH", "app", "s3cret") == .status("OK"))
        guard case .bulk(let list?) = try client.command("CLIENT", "LIST") else { throw TestFailure("CLIENT LIST") }
        let users = String(decoding: list, as: UTF8.self).split(separator: "\n").compactMap { line in
            line.split(separator: " ").first { $0.hasPrefix("user=") }.map(String.init)
        }
        #expect(users.sorted() == ["user=app", "user=default"], "\(users)")
        #expect(try client.command("CLIENT", "KILL", "USER", "app") == .integer(1))
        #expect(other.isClosedByPeer())
        guard case .error(let refusal) = try client.command("ACL", "SETUSER", "x", "on") else { throw TestFailure("SETUSER") }
        #expect(refusal.hasPrefix("ERR shardgate: 'acl|setuser' is not supported through the proxy: the proxy's users are configured in proxy.yml"))
        await proxy.stop()
    }

    /// A reload applies new users at once: a client keeps its authentication and runs under its
    /// user's new rules (as after ACL SETUSER); a removed user's clients are closed (as after ACL
    /// DELUSER). PROXY itself needs every @admin command.
    @Test func reloadAppliesNewUsers() async throws {
        let backend = try await RedisServer()
        defer { backend.stop() }
        let directory = try TemporaryDirectory()
        let file = "\(directory.path)/proxy.yml"
        func pool(_ users: [String]) -> String {
            "alpha:\n  listen: 127.0.0.1:0\n  users:\n" + users.map { "    - \"\($0)\"\n" }.joined()
                + "  groups:\n    - name: one\n      master: \(backend.address)\n"
        }
        let proxy = try await ProxyUnderTest(
            yaml: pool(["admin on >a ~* &* +@all", "app on >s3cret ~app:* +@read +@write", "reader on >r ~* +@read"]),
            configFile: file)
        let admin = try proxy.client(), app = try proxy.client(), reader = try proxy.client()
        #expect(try admin.command("AUTH", "admin", "a") == .status("OK"))
        #expect(try app.command("AUTH", "app", "s3cret") == .status("OK"))
        #expect(try reader.command("AUTH", "reader", "r") == .status("OK"))
        #expect(try reader.command("PROXY", "HELP") == .error("NOPERM this user has no permissions to run the 'proxy' command"))
        #expect(try app.command("SET", "app:1", "v") == .status("OK"))
        try pool(["admin on >a ~* &* +@all", "app on >s3cret ~app:* +@read"]).write(toFile: file, atomically: true, encoding: .utf8)
        guard case .status(let answer) = try admin.command("PROXY", "RELOAD") else { throw TestFailure("PROXY RELOAD") }
        #expect(answer.contains("users"), "\(answer)")
        #expect(try app.command("GET", "app:1") == .bulk("v"), "still authenticated")
        #expect(try app.command("SET", "app:1", "w") == .error("NOPERM this user has no permissions to run the 'set' command"))
        #expect(reader.isClosedByPeer(), "a removed user's client is closed")
        #expect(try proxy.client().command("AUTH", "reader", "r") == .error("WRONGPASS invalid username-password pair or user is disabled."))
        // `shardgate reload --user`: as a user allowed every @admin command, and refused for another.
        let address = ["-c", file, "--address", "127.0.0.1:\(proxy.port)"]
        let asAdmin = try run(CLITests.binary, ["reload"] + address + ["--user", "admin", "--password", "a"])
        #expect(asAdmin.status == 0 && asAdmin.output.contains("OK"), "\(asAdmin.output)")
        let asApp = try run(CLITests.binary, ["reload"] + address + ["--user", "app", "--password", "s3cret"])
        #expect(asApp.status == 1 && asApp.output.contains("NOPERM this user has no permissions to run the 'proxy' command"), "\(asApp.output)")
        await proxy.stop()
    }

    /// The backends' passwords never reach a client: CONFIG GET (answered by the keyless group's
    /// master) leaves them out in RESP2 and RESP3, and refuses to run inside MULTI; INFO has none.
    @Test func backendSecretsAreNotShown() async throws {
        let backend = try await RedisServer(["--requirepass", "backend-secret", "--masterauth", "replication-secret"])
        defer { backend.stop() }
        let proxy = try await ProxyUnderTest(yaml: """
            alpha:
              listen: LISTEN
              auth: backend-secret
              users:
                - "default on >client-secret ~* &* +@all"
              groups:
                - name: one
                  master: \(backend.address)
            """)
        let client = try proxy.client()
        #expect(try client.command("AUTH", "client-secret") == .status("OK"))
        #expect(try client.command("CONFIG", "GET", "requirepass") == .array([]))
        #expect(try client.command("CONFIG", "GET", "maxmemory", "masterauth") == .array([.bulk("maxmemory"), .bulk("0")]))
        let everything = try client.rawPipeline([["CONFIG", "GET", "*"], ["INFO", "everything"]]).joined()
        #expect(everything.contains("maxmemory-policy"), "CONFIG GET * answered")
        #expect(!everything.contains("backend-secret") && !everything.contains("replication-secret") && !everything.contains("client-secret"))
        #expect(try client.command("MULTI") == .status("OK"))
        #expect(try client.command("CONFIG", "GET", "requirepass").isError)
        #expect(try client.command("EXEC") == .error("EXECABORT Transaction discarded because of previous errors."))
        for words in [["HELLO", "3"], ["CONFIG", "GET", "*pass*"]] { try client.sendRaw(RedisTestClient.encode(words.map { Array($0.utf8) })) }
        _ = try client.readFrame()
        let resp3 = String(buffer: try client.readFrame())
        #expect(resp3.hasPrefix("%") && !resp3.contains("secret"), "\(resp3)")
        await proxy.stop()
    }

    /// redis-py authenticated as `app` uses app:* keys and gets NoPermissionError on others, with
    /// Redis's text, in RESP2 and RESP3.
    @Test(.enabled(if: TestEnvironment.isCI || TestEnvironment.hasRedisPy))
    func redisPyAsARestrictedUser() async throws {
        let backend = try await RedisServer()
        defer { backend.stop() }
        let proxy = try await ProxyUnderTest(yaml: Self.pool(backend), threads: 2)
        let python = try #require(TestEnvironment.python)
        let script = """
            import redis, sys
            port, protocol = int(sys.argv[1]), int(sys.argv[2])
            r = redis.Redis(port=port, username="app", password="s3cret", protocol=protocol, decode_responses=True)
            assert r.set("app:py", "1") and r.get("app:py") == "1" and r.incr("app:n") >= 1
            for call in (lambda: r.set("other:py", "1"), lambda: r.get("other:py"), lambda: r.mget("app:py", "other:py")):
                try:
                    call()
                    raise SystemExit("not refused")
                except redis.exceptions.NoPermissionError as error:
                    assert str(error) == "this user has no permissions to access one of the keys used as arguments", str(error)
            try:
                r.flushall()
                raise SystemExit("flushall not refused")
            except redis.exceptions.NoPermissionError as error:
                assert "'flushall' command" in str(error), str(error)
            try:
                redis.Redis(port=port, username="app", password="nope", protocol=protocol).ping()
                raise SystemExit("wrong password accepted")
            except redis.exceptions.AuthenticationError:
                pass
            print("ok")
            """
        for version in ["2", "3"] {
            let result = try run(python, ["-c", script, "\(proxy.port)", version], seconds: 60)
            #expect(result.status == 0 && result.output.contains("ok"), "RESP\(version): \(result.output)")
        }
        let direct = try backend.client()
        #expect(try direct.command("EXISTS", "other:py") == .integer(0))
        await proxy.stop()
    }
}
