import Config
import RedisText
import Testing

@testable import ShardgateNode

@Suite struct NodeSettingsTests {
    @Test func readsRedisConfSyntax() throws {
        let text = """
            # a comment
            port 7001
            bind 127.0.0.1 ::1
            requirepass "p a\\"ss"
            save 900 1
            save 300 10
            maxmemory 100mb
            appendonly yes
            replicaof 10.0.0.1 6379
            hash-max-ziplist-entries 64
            """
        var settings = NodeSettings()
        try settings.apply(RedisConfFile.parse(text, file: "a.conf"))
        #expect(settings.port == 7001)
        #expect(settings.bind == ["127.0.0.1", "::1"])
        #expect(settings.requirePass == "p a\"ss")
        #expect(settings.savePoints.map(\.seconds) == [900, 300])
        #expect(settings.maxMemory == 100 * 1024 * 1024)
        #expect(settings.appendOnly)
        #expect(settings.replicaOf?.host == "10.0.0.1")
        #expect(settings.hashMaxListpackEntries == 64)
    }

    @Test func errorsNameFileAndLine() throws {
        var settings = NodeSettings()
        #expect(throws: NodeConfigError.self) { try settings.apply(RedisConfFile.parse("port 1\nfrobnicate yes\n", file: "n.conf")) }
        do {
            try settings.apply(RedisConfFile.parse("port 1\nfrobnicate yes\n", file: "n.conf"))
        } catch {
            #expect("\(error)" == "n.conf:2: unknown directive 'frobnicate'")
        }
        do {
            try settings.apply(RedisConfFile.parse("\nport 99999\n", file: "p.conf"))
            Issue.record("port 99999 accepted")
        } catch {
            #expect("\(error)".hasPrefix("p.conf:2: 'port 99999': argument must be between 0 and 65535"))
        }
        #expect(throws: RedisConfError.self) { try RedisConfFile.parse("requirepass \"open\n", file: "q.conf") }
    }

    @Test func commandLineOverridesLikeRedisServer() throws {
        let directives = try RedisConfFile.parseCommandLine(["--port", "7002", "--save", "", "--bind", "127.0.0.1"])
        var settings = NodeSettings()
        try settings.apply(directives)
        #expect(settings.port == 7002)
        #expect(settings.savePoints.isEmpty)
        #expect(throws: RedisConfError.self) { try RedisConfFile.parseCommandLine(["7002"]) }
    }

    @Test func memoryUnits() {
        #expect(NodeSettings.parseMemory("1k") == 1000)
        #expect(NodeSettings.parseMemory("1kb") == 1024)
        #expect(NodeSettings.parseMemory("2GB") == 2 << 30)
        #expect(NodeSettings.parseMemory("12") == 12)
        #expect(NodeSettings.parseMemory("-1") == nil)
    }
}

@Suite struct RedisNumberTests {
    func integer(_ text: String) -> Int? { Array(text.utf8).withUnsafeBytes { RedisNumber.parseInteger($0) } }
    func double(_ text: String) -> Double? { Array(text.utf8).withUnsafeBytes { RedisNumber.parseDouble($0) } }

    @Test func integersFollowString2ll() {
        #expect(integer("0") == 0)
        #expect(integer("-0") == nil)
        #expect(integer("007") == nil)
        #expect(integer("+1") == nil)
        #expect(integer(" 1") == nil)
        #expect(integer("9223372036854775807") == Int.max)
        #expect(integer("9223372036854775808") == nil)
        #expect(integer("-9223372036854775808") == Int.min)
        #expect(integer("") == nil)
    }

    @Test func doublesFollowStrtod() {
        #expect(double("1.5") == 1.5)
        #expect(double("inf") == .infinity)
        #expect(double("-inf") == -.infinity)
        #expect(double("nan") == nil)
        #expect(double(" 1") == nil)
        #expect(double("1 ") == nil)
        #expect(double("1e3") == 1000)
    }

    @Test func doubleReplies() {
        #expect(DoubleFormat.reply(1.1) == "1.1000000000000001")
        #expect(DoubleFormat.reply(3) == "3")
        #expect(DoubleFormat.reply(-.infinity) == "-inf")
        #expect(DoubleFormat.incrByFloat(10.5) == "10.5")
        #expect(DoubleFormat.incrByFloat(3) == "3")
    }

    @Test func globMatching() {
        func match(_ pattern: String, _ text: String, noCase: Bool = false) -> Bool {
            GlobMatch.matches(Array(pattern.utf8), Array(text.utf8), noCase: noCase)
        }
        // As Redis's stringmatchlen: an empty string matches no pattern but the empty one.
        #expect(!match("*", ""))
        #expect(match("", ""))
        #expect(match("h?llo", "hello"))
        #expect(match("h*llo", "heeeello"))
        #expect(match("h[ae]llo", "hallo"))
        #expect(!match("h[^e]llo", "hello"))
        #expect(match("h[a-b]llo", "hbllo"))
        #expect(match("h\\*", "h*"))
        #expect(!match("h\\*", "hx"))
        #expect(match("MAX*", "maxmemory", noCase: true))
        #expect(!match("a*b", "acd"))
    }
}
