import NIOCore
import RESP
import Testing

@testable import ShardgateNode

/// The scripting pieces that need no server: script names, shebangs, library metadata, and a Lua
/// state run in-process (conversions, the sandbox, what a script propagates).
@Suite struct ScriptingUnitTests {
    typealias Harness = CommandEffectTests.Harness

    @Test func sha1HexOfKnownTexts() {
        #expect(SHA1.hex([]) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(SHA1.hex(Array("abc".utf8)) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(SHA1.hex(Array("Pizza & Mandolino".utf8)) == "74822d82031af7493c20eefa13bd07ec4fada82f")
        #expect(SHA1.hex(Array(repeating: UInt8(ascii: "a"), count: 1000)) == "291e9a6c66994949b57ba5e650361e98fc36b1ba")
    }

    @Test func shebangFlags() throws {
        #expect(try ScriptFlags.parseShebang(Array("#!lua\nreturn 1".utf8)).get() == [])
        #expect(try ScriptFlags.parseShebang(Array("#!lua flags=no-writes,allow-oom\n".utf8)).get() == [.noWrites, .allowOOM])
        #expect(throws: CommandError.self) { try ScriptFlags.parseShebang(Array("#!lua flags=bogus\n".utf8)).get() }
        #expect(throws: CommandError.self) { try ScriptFlags.parseShebang(Array("#!python\n".utf8)).get() }
        #expect(throws: CommandError.self) { try ScriptFlags.parseShebang(Array("#!lua name=x\n".utf8)).get() }
    }

    @Test func libraryMetadata() {
        func name(_ code: String) -> String {
            switch ScriptEngine.libraryName(of: Array(code.utf8)) {
            case .success(let name): return name
            case .failure(let error): return error.message
            }
        }
        #expect(name("#!lua name=mylib\n") == "mylib")
        #expect(name("#!LUA name=\"quoted\"\n") == "quoted")
        #expect(name("return 1") == "ERR Missing library metadata")
        #expect(name("#!lua name=x") == "ERR Invalid library metadata")
        #expect(name("#! name=x\n") == "ERR Engine '' not found")
        #expect(name("#!lua name=a name=b\n") == "ERR Invalid metadata value, name argument was given multiple times")
        #expect(name("#!lua foo=bar\n") == "ERR Invalid metadata value given: foo=bar")
        #expect(name("#!lua\n") == "ERR Library name was not given")
        #expect(name("#!lua name=a-b\n").hasPrefix("ERR Library names can only contain"))
    }

    @Test func shebangWordsSplitLikeRedis() {
        #expect(InlineArguments.split(" a  \"b c\" 'd e'") == ["a", "b c", "d e"])
        #expect(InlineArguments.split("\"x\\ny\"") == ["x\ny"])
        #expect(InlineArguments.split("\"open") == nil)
        #expect(InlineArguments.split("\"a\"b") == nil)
    }

    /// The reply a request gets, as text.
    private static func reply(_ harness: Harness, _ arguments: String...) -> String {
        harness.client.reply.clear()
        harness.node.execute(RESPRequest(arguments: arguments.map { Array($0.utf8) }), from: harness.client)
        let text = String(decoding: harness.client.reply.readableBytesView, as: UTF8.self)
        harness.client.reply.clear()
        return text
    }

    @Test func luaValuesBecomeRedisReplies() {
        let harness = Harness()
        #expect(Self.reply(harness, "EVAL", "return {1, 'two', 3.99, true, false, {err='E x'}, {ok='fine'}, nil, 9}", "0")
            == "*7\r\n:1\r\n$3\r\ntwo\r\n:3\r\n:1\r\n$-1\r\n-E x\r\n+fine\r\n")
        #expect(Self.reply(harness, "EVAL", "return redis.call('set', KEYS[1], ARGV[1])", "1", "k", "v") == "+OK\r\n")
        #expect(Self.reply(harness, "EVAL", "local v = redis.call('get', 'k'); local n = redis.call('get', 'none'); return {v, type(n)}", "0")
            == "*2\r\n$1\r\nv\r\n$7\r\nboolean\r\n")
        #expect(Self.reply(harness, "EVAL", "return x", "0").hasPrefix(
            "-ERR user_script:1: Script attempted to access nonexistent global variable 'x' script: "))
        #expect(Self.reply(harness, "EVAL", "string.x = 1", "0").contains("Attempt to modify a readonly table"))
        #expect(Self.reply(harness, "EVAL", "return redis.pcall('lpush', 'k', 'x')['err']", "0")
            == "$65\r\nWRONGTYPE Operation against a key holding the wrong kind of value\r\n")
    }

    /// A script's writes propagate as the commands it ran, two or more inside MULTI/EXEC; its reads
    /// propagate nothing.
    /// The scripting state's allocator (free lists by size class, `allocator.c`) under blocks of
    /// every size: strings of each length up to past the largest pooled class, and tables whose
    /// parts grow across classes and out of the pool, then are freed and reused by the next
    /// round. Every byte must come back as written.
    @Test func luaBlocksOfEverySizeKeepTheirContents() {
        let harness = Harness()
        let script = """
            local rounds = {}
            for round = 1, 3 do
              local strings, tables = {}, {}
              for n = 1, 300 do
                strings[n] = string.rep(string.char(65 + (n + round) % 26), n)
                local t = {}
                for i = 1, n do t[i] = i * round end
                tables[n] = t
              end
              for n = 1, 300 do
                local s = strings[n]
                if #s ~= n or s ~= string.rep(string.char(65 + (n + round) % 26), n) then return 'string ' .. n end
                local t = tables[n]
                for i = 1, n do if t[i] ~= i * round then return 'table ' .. n .. ' at ' .. i end end
              end
              strings, tables = nil, nil
              collectgarbage('collect')
              rounds[round] = 'ok'
            end
            return table.concat(rounds, ',')
            """
        #expect(Self.reply(harness, "EVAL", script, "0") == "$8\r\nok,ok,ok\r\n")
        // A new state (SCRIPT FLUSH closes the old one and its free lists) still runs scripts.
        #expect(Self.reply(harness, "SCRIPT", "FLUSH") == "+OK\r\n")
        #expect(Self.reply(harness, "EVAL", "return #string.rep('x', 1000)", "0") == ":1000\r\n")
    }

    @Test func scriptWritesPropagateAsOneTransaction() {
        let harness = Harness()
        _ = harness.propagated()
        _ = Self.reply(harness, "EVAL", "redis.call('set', 'a', 1); redis.call('incr', 'a'); return redis.call('get', 'a')", "0")
        #expect(harness.propagated().filter { $0.first != "SELECT" } == [["MULTI"], ["set", "a", "1"], ["incr", "a"], ["EXEC"]])
        _ = Self.reply(harness, "EVAL", "return redis.call('get', 'a')", "0")
        #expect(harness.propagated().isEmpty)
        _ = Self.reply(harness, "EVAL", "redis.call('del', 'a')", "0")
        #expect(harness.propagated().filter { $0.first != "SELECT" } == [["del", "a"]])
    }

    /// cmsgpack packs as lua-cmsgpack does: the smallest encodings, float32 when exact.
    @Test func cmsgpackEncodings() {
        let harness = Harness()
        let hex = "local h = '' for i = 1, #e do h = h .. string.format('%02x', string.byte(e, i)) end return h"
        func packed(_ value: String) -> String {
            Self.reply(harness, "EVAL", "local e = cmsgpack.pack(\(value)); \(hex)", "0")
        }
        #expect(packed("0.1") == "$18\r\ncb3fb999999999999a\r\n")
        #expect(packed("1.5") == "$10\r\nca3fc00000\r\n")
        #expect(packed("-1099511627776") == "$18\r\nd3ffffff0000000000\r\n")
        #expect(packed("{1, 2}") == "$6\r\n920102\r\n")
        #expect(packed("'ab'") == "$6\r\na26162\r\n")
    }
}
