import Testing
@testable import Commands

private let table = CommandTable.redis

private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

@Suite("COMMAND replies")
struct ReplyTests {
    @Test("every INFO entry is one RESP2 array matching the spec")
    func infoEntries() throws {
        for id in 0..<table.count {
            let spec = table[id]
            let values = try #require(RESPValue.parseAll(table.infoReply(for: spec), count: 1), "\(spec.name)")
            let items = try #require(values[0].items)
            try #require(items.count == 10, "\(spec.name)")
            #expect(items[0].text == spec.name)
            #expect(items[1] == .integer(spec.arity))
            let flagNames = Set((items[2].items ?? []).compactMap(\.text))
            let expected = Set(CommandFlags.redisNames.filter { spec.flags.contains($0.flag) }.map(\.name))
            #expect(flagNames == expected, "\(spec.name)")
            #expect(items[3] == .integer(spec.firstKey))
            #expect(items[4] == .integer(spec.lastKey))
            #expect(items[5] == .integer(spec.step))
            #expect(items[8].items?.count == spec.keySpecs.count)
            let subNames = (items[9].items ?? []).compactMap { $0.items?.first?.text }
            #expect(subNames == spec.subcommands.map(\.name))
        }
    }

    @Test("every DOCS pair is a name and a map with the spec's group")
    func docsEntries() throws {
        for id in 0..<table.count {
            let spec = table[id]
            let values = try #require(RESPValue.parseAll(table.docsReply(for: spec), count: 2), "\(spec.name)")
            #expect(values[0].text == spec.name)
            let map = try #require(values[1].items)
            #expect(field(map, "group")?.text == spec.group)
            #expect(field(map, "summary")?.text?.isEmpty == false)
        }
    }

    @Test("subcommand entries are slices of their container's entry")
    func nested() throws {
        for container in table.commands where container.hasSubcommands {
            let info = table.infoReply(for: container)
            let docs = table.docsReply(for: container)
            for sub in container.subcommands {
                #expect(contains(info, table.infoReply(for: sub)), "\(sub.name)")
                #expect(contains(docs, table.docsReply(for: sub)), "\(sub.name)")
            }
        }
    }

    @Test("exact bytes for GET")
    func getBytes() throws {
        let get = try #require(table.lookup("get"))
        let info = "*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n"
            + "*3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n"
            + "*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n"
            + "$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n"
            + "$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n"
            + "*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n"
        #expect(table.infoReply(for: get) == bytes(info))
        let docs = "$3\r\nget\r\n*10\r\n$7\r\nsummary\r\n$22\r\nGet the value of a key\r\n"
            + "$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n"
            + "$9\r\narguments\r\n*1\r\n*6\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n"
            + "$14\r\nkey_spec_index\r\n:0\r\n"
        #expect(table.docsReply(for: get) == bytes(docs))
        table.withInfoReply(for: get) { #expect(Array($0) == bytes(info)) }
        table.withDocsReply(for: get) { #expect(Array($0) == bytes(docs)) }
    }

    @Test("COMMAND, COMMAND COUNT, COMMAND INFO, COMMAND DOCS")
    func composite() throws {
        #expect(table.commandCountReply() == bytes(":240\r\n"))
        let all = try #require(RESPValue.parseAll(table.commandReply(), count: 1)?.first?.items)
        #expect(all.count == 240)
        #expect(all.compactMap { $0.items?.first?.text } == table.commands.map(\.name))

        let get = try #require(table.lookup("get"))
        let configGet = try #require(table.lookup(fullName: "CONFIG|GET"))
        #expect(table.commandInfoReply([get, nil, configGet])
            == bytes("*3\r\n") + table.infoReply(for: get) + bytes("$-1\r\n") + table.infoReply(for: configGet))
        #expect(table.commandDocsReply([get, configGet])
            == bytes("*4\r\n") + table.docsReply(for: get) + table.docsReply(for: configGet))
        #expect(table.commandDocsReply([]) == bytes("*0\r\n"))
        let docs = try #require(RESPValue.parseAll(table.commandDocsReply(), count: 1)?.first?.items)
        #expect(docs.count == 480)
    }
}

private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, needle.count <= haystack.count else { return needle.isEmpty }
    for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
        if haystack[start..<(start + needle.count)].elementsEqual(needle) { return true }
    }
    return false
}
