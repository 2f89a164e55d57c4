import Config
import Testing

/// `users:` in a pool: Redis ACL rule lines, checked at load with Redis's reasons.
@Suite struct PoolUsersTests {
    static func pool(_ users: String, extra: String = "") -> String {
        """
        alpha:
          listen: 127.0.0.1:22121
        \(extra)  users:
        \(users)
          groups:
            - {name: a, master: "127.0.0.1:7001"}

        """
    }

    @Test func validLinesAreKeptAsWritten() throws {
        let yaml = Self.pool("""
                - "default on nopass ~* &* +@all"
                - "app on >s3cret ~app:* +@read +@write -flushall"
                - "reader on >r ~* +@read"
                - "sel on >x ~a:* +get (~b:* +set)"
            """)
        let pool = try #require(try parseOK(yaml).pools.first)
        #expect(pool.users == [
            "default on nopass ~* &* +@all", "app on >s3cret ~app:* +@read +@write -flushall", "reader on >r ~* +@read",
            "sel on >x ~a:* +get (~b:* +set)",
        ])
        #expect(PoolOptions.changedSettings(of: pool).contains { $0 == ("users", "[default, app, reader, sel]") })
    }

    /// A bad rule is refused naming the pool, the line, the user and the rule, in Redis's words.
    @Test func badRulesAreRefusedWithRedisReasons() {
        let issues = parseIssues(Self.pool("""
                - "app on >s3cret ~app:* +nosuchcommand"
                - "b on bogus"
                - "c on ~* ~x"
                - "d on <gone"
                - "e on (~x +get"
                - ""
            """))
        #expect(issues.map(\.keyPath) == (0..<6).map { "alpha.users[\($0)]" }, "\(issues)")
        #expect(issues.map(\.line) == [4, 5, 6, 7, 8, 9])
        let messages = issues.map(\.message)
        #expect(messages.first == "user 'app': Error in ACL SETUSER modifier '+nosuchcommand': Unknown command or category name in ACL")
        #expect(messages.dropFirst().first == "user 'b': Error in ACL SETUSER modifier 'bogus': Syntax error")
        #expect(messages.dropFirst(2).first?.hasPrefix("user 'c': Error in ACL SETUSER modifier '~x': Adding a pattern after the * pattern") == true)
        // The password of a `<` rule is not repeated.
        #expect(messages.dropFirst(3).first == "user 'd': Error in ACL SETUSER modifier '<…': The password you are trying to remove from the user does not exist")
        #expect(messages.dropFirst(4).first == "user 'e': Unmatched parenthesis in acl selector starting at '(~x'.")
        #expect(messages.last?.contains("an empty user line") == true)
        #expect(!issues.description.contains("s3cret") && !issues.description.contains("gone"))
    }

    @Test func aUserIsDefinedOnce() {
        let issues = parseIssues(Self.pool("""
                - "app on >a ~* +@all"
                - "app on >b"
            """))
        #expect(issues.map(\.keyPath) == ["alpha.users[1]"])
        #expect(issues.first?.message.contains("user 'app' is already defined by alpha.users[0]") == true, "\(issues)")
    }

    @Test func usersMustBeAListOfStrings() {
        let issues = parseIssues("alpha:\n  listen: 127.0.0.1:22121\n  users: \"app on\"\n  groups: [{name: a, master: \"127.0.0.1:7001\"}]\n")
        #expect(issues.map(\.keyPath) == ["alpha.users"])
        #expect(issues.first?.message.hasPrefix("expected a list of user lines") == true, "\(issues)")
    }

    /// `password` is the default user's (Redis's requirepass); a `default` line would replace it,
    /// so both together are refused. With other users, `password` still sets the default user's.
    @Test func passwordAndADefaultLineAreRefusedTogether() throws {
        let issues = parseIssues(Self.pool("        - \"default on >x ~* +@all\"", extra: "  password: secret\n"))
        #expect(issues.map(\.keyPath) == ["alpha.password"])
        #expect(issues.first?.message.contains("give the password in its line") == true, "\(issues)")
        let pool = try #require(try parseOK(Self.pool("        - \"app on >x ~* +@all\"", extra: "  password: secret\n")).pools.first)
        #expect(pool.password == "secret" && pool.users == ["app on >x ~* +@all"])
    }
}
