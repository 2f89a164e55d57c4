import Testing
@testable import Commands

private let table = CommandTable.redis

private func spec(_ arguments: String...) -> CommandSpec {
    guard let spec = resolve(arguments) else { fatalError("unknown \(arguments)") }
    return spec
}

@Suite("Command specs")
struct CommandSpecTests {
    @Test("arity", arguments: [
        // command, arity, accepted counts, rejected counts
        ("get", 2, [2], [0, 1, 3]),
        ("set", -3, [3, 4, 10], [1, 2]),
        ("mget", -2, [2, 3, 100], [0, 1]),
        ("ping", -1, [1, 2], [0]),
        ("eval", -3, [3, 4], [2]),
        ("dbsize", 1, [1], [0, 2]),
        ("object", -2, [2, 3], [1]),
    ])
    func arity(name: String, arity: Int, accepted: [Int], rejected: [Int]) throws {
        let spec = try #require(table.lookup(name))
        #expect(spec.arity == arity)
        for n in accepted { #expect(spec.acceptsArgumentCount(n), "\(name) \(n)") }
        for n in rejected { #expect(!spec.acceptsArgumentCount(n), "\(name) \(n)") }
    }

    @Test("subcommand arity counts container and subcommand names")
    func subcommandArity() {
        #expect(spec("OBJECT", "ENCODING").arity == 3)
        #expect(spec("CONFIG", "GET").arity == -3)
        #expect(spec("CONFIG", "GET").acceptsArgumentCount(3))
        #expect(!spec("CONFIG", "GET").acceptsArgumentCount(2))
        #expect(spec("CLIENT", "SETNAME").arity == 3)
    }

    @Test("flags")
    func flags() {
        #expect(spec("GET").flags == [.readonly, .fast])
        #expect(spec("GET").isReadOnly && !spec("GET").isWrite && spec("GET").isFast)
        #expect(spec("SET").isWrite && spec("SET").isDenyOOM && !spec("SET").isReadOnly)
        #expect(spec("BLPOP").isBlocking && spec("BLPOP").isWrite)
        #expect(spec("XREAD").isBlocking && spec("XREAD").isReadOnly && spec("XREAD").hasMovableKeys)
        #expect(spec("EVAL").flags.isSuperset(of: [.noScript, .movableKeys, .noMandatoryKeys, .skipMonitor, .stale]))
        #expect(spec("SUBSCRIBE").isPubSub)
        #expect(spec("FLUSHALL").isWrite)
        #expect(spec("CONFIG", "SET").isAdmin)
        #expect(spec("AUTH").flags.contains(.noAuth))
        #expect(spec("MULTI").flags.contains(.allowBusy))
        #expect(spec("SAVE").isNoMulti && !spec("WATCH").isNoMulti)
        #expect(spec("PING").flags == [.fast])
        #expect(spec("GET").flags.description == "[readonly, fast]")
        // Hidden by COMMAND INFO in Redis 7.0, so never set from the table.
        #expect(!table.commands.contains { $0.flags.contains(.mayReplicate) || $0.flags.contains(.protected) })
    }

    @Test("legacy key range")
    func legacyRange() {
        let mset = spec("MSET")
        #expect((mset.firstKey, mset.lastKey, mset.step) == (1, -1, 2))
        let ping = spec("PING")
        #expect((ping.firstKey, ping.lastKey, ping.step) == (0, 0, 0))
    }

    @Test("key specs are the server's")
    func keySpecs() {
        #expect(Array(spec("GET").keySpecs) == [
            KeySpec(flags: [.readOnly, .access], beginSearch: .index(1), findKeys: .range(lastKey: 0, keyStep: 1, limit: 0)),
        ])
        #expect(Array(spec("GEORADIUS").keySpecs) == [
            KeySpec(flags: [.readOnly, .access], beginSearch: .index(1), findKeys: .range(lastKey: 0, keyStep: 1, limit: 0)),
            KeySpec(flags: [.overwrite, .update], beginSearch: .keyword("STORE", startFrom: 6), findKeys: .range(lastKey: 0, keyStep: 1, limit: 0)),
            KeySpec(flags: [.overwrite, .update], beginSearch: .keyword("STOREDIST", startFrom: 6), findKeys: .range(lastKey: 0, keyStep: 1, limit: 0)),
        ])
        #expect(Array(spec("EVAL").keySpecs) == [
            KeySpec(flags: [.readWrite, .access, .update], beginSearch: .index(2), findKeys: .keyNum(keyNumIndex: 0, firstKey: 1, keyStep: 1)),
        ])
        #expect(Array(spec("XREAD").keySpecs) == [
            KeySpec(flags: [.readOnly, .access], beginSearch: .keyword("STREAMS", startFrom: 1), findKeys: .range(lastKey: -1, keyStep: 1, limit: 2)),
        ])
        #expect(spec("SET").keySpecs.first?.flags.contains(.variableFlags) == true)
        #expect(spec("SPUBLISH").keySpecs.first?.flags == [.notKey])
        #expect(spec("SORT").hasIncompleteKeySpecs && spec("MIGRATE").hasIncompleteKeySpecs)
        #expect(!spec("GET").hasIncompleteKeySpecs && !spec("GEORADIUS").hasIncompleteKeySpecs)
        let incomplete = table.commands.filter(\.hasIncompleteKeySpecs).map(\.name)
        #expect(incomplete == ["migrate", "sort", "sort_ro"])
        #expect(spec("GET").hasKeys && !spec("PING").hasKeys && !spec("SPUBLISH").hasKeys)
    }

    @Test("singleKeyIndex", arguments: [
        (["GET"], 1), (["SET"], 1), (["INCR"], 1), (["HGET"], 1), (["HSET"], 1), (["LPUSH"], 1),
        (["XADD"], 1), (["EXPIRE"], 1), (["BITFIELD"], 1), (["TYPE"], 1), (["DUMP"], 1),
        (["OBJECT", "ENCODING"], 2), (["MEMORY", "USAGE"], 2), (["XINFO", "STREAM"], 2), (["XGROUP", "CREATE"], 2),
    ])
    func singleKeyIndex(command: [String], index: Int) {
        #expect(resolve(command)?.singleKeyIndex == index)
    }

    @Test("no singleKeyIndex for multi-key, movable-key or keyless commands", arguments: [
        ["MGET"], ["MSET"], ["DEL"], ["EXISTS"], ["EVAL"], ["ZUNIONSTORE"], ["XREAD"], ["LMOVE"], ["RENAME"],
        ["BLPOP"], ["SORT"], ["MIGRATE"], ["GEORADIUS"], ["PING"], ["OBJECT"], ["CONFIG", "GET"], ["SPUBLISH"],
        ["PUBLISH"], ["KEYS"], ["SINTERCARD"],
    ])
    func noSingleKeyIndex(command: [String]) {
        #expect(resolve(command)?.singleKeyIndex == nil)
    }

    @Test("singleKeyIndex matches keyIndices for every command at every valid argument count")
    func singleKeyIndexConsistency() throws {
        var checked = 0
        for id in 0..<table.count {
            let spec = table[id]
            guard let index = spec.singleKeyIndex else { continue }
            let minimum = spec.arity >= 0 ? spec.arity : -spec.arity
            let counts = spec.arity >= 0 ? [minimum] : [minimum, minimum + 1, minimum + 4]
            for count in counts {
                var arguments = spec.name.split(separator: "|").map(String.init)
                while arguments.count < count { arguments.append("a\(arguments.count)") }
                let keys = try keyIndices(spec, arguments)
                #expect(keys == [index], "\(arguments)")
                checked += 1
            }
        }
        #expect(checked > 150)
    }
}
