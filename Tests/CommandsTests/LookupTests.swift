import Testing
@testable import Commands

private let table = CommandTable.redis

private func mixedCase(_ s: String, upperFirst: Bool) -> String {
    String(s.enumerated().map { ($0.offset % 2 == 0) == upperFirst ? Character($0.element.uppercased()) : $0.element })
}

private func caseVariants(_ s: String) -> [String] {
    [s.lowercased(), s.uppercased(), mixedCase(s, upperFirst: true), mixedCase(s, upperFirst: false)]
}

@Suite("Command lookup")
struct LookupTests {
    @Test("generated table has COMMAND COUNT top-level commands")
    func commandCount() {
        #expect(table.commands.count == CommandTable.generatedCommandCount)
        #expect(table.recordedCommandCount == CommandTable.generatedCommandCount)
        #expect(table.commands.count == 240)
        #expect(table.serverVersion == "7.0.15")
        #expect(table.count == 366)
    }

    @Test("commands are sorted, unique, lowercase, and ids index the table")
    func ordering() {
        let names = table.commands.map(\.name)
        #expect(names == names.sorted())
        #expect(Set(names).count == names.count)
        for id in 0..<table.count {
            #expect(table[id].id == id)
            #expect(table[id].name == table[id].name.lowercased())
        }
        #expect(table.commands.allSatisfy { !$0.isSubcommand && !$0.name.contains("|") })
    }

    @Test("every top-level command is found in any letter case")
    func everyCommandAnyCase() {
        for spec in table.commands {
            for variant in caseVariants(spec.name) {
                #expect(table.lookup(variant)?.id == spec.id, "\(variant)")
                #expect(table.lookup(fullName: variant)?.id == spec.id, "\(variant)")
            }
        }
    }

    @Test("every subcommand is found under its container in any letter case")
    func everySubcommandAnyCase() {
        var seen = 0
        for container in table.commands where container.hasSubcommands {
            for sub in container.subcommands {
                seen += 1
                #expect(sub.parentID == container.id)
                #expect(sub.name.hasPrefix(container.name + "|"))
                let subName = String(sub.name.dropFirst(container.name.count + 1))
                for variant in caseVariants(subName) {
                    #expect(table.subcommand(of: container, named: variant)?.id == sub.id, "\(sub.name) \(variant)")
                }
                for variant in caseVariants(sub.name) {
                    #expect(table.lookup(fullName: variant)?.id == sub.id, "\(variant)")
                    // Like Redis, a subcommand is not a command name of its own.
                    #expect(table.lookup(variant) == nil, "\(variant)")
                }
            }
        }
        #expect(seen == table.count - table.commands.count)
    }

    @Test("known commands and subcommands", arguments: [
        ("get", "string"), ("SET", "string"), ("hget", "hash"), ("Del", "generic"), ("eval", "scripting"),
        ("xread", "stream"), ("zunionstore", "sorted-set"), ("config", "server"), ("object", "generic"),
        ("client", "connection"), ("pfadd", "hyperloglog"), ("geoadd", "geo"), ("bitop", "bitmap"),
        ("multi", "transactions"), ("publish", "pubsub"), ("lpush", "list"), ("sadd", "set"),
    ])
    func groups(name: String, group: String) {
        #expect(table.lookup(name)?.group == group)
    }

    @Test("subcommands by name", arguments: [
        ("OBJECT", "ENCODING", "object|encoding"), ("config", "get", "config|get"),
        ("CLIENT", "SetName", "client|setname"), ("xinfo", "STREAM", "xinfo|stream"),
        ("memory", "usage", "memory|usage"), ("command", "getkeys", "command|getkeys"),
    ])
    func subcommands(container: String, sub: String, full: String) throws {
        let parent = try #require(table.lookup(container))
        #expect(parent.hasSubcommands)
        let spec = try #require(table.subcommand(of: parent, named: sub))
        #expect(spec.name == full)
        #expect(spec.isSubcommand)
        #expect(table.lookup(fullName: full.uppercased())?.id == spec.id)
    }

    @Test("unknown names are not found", arguments: [
        "", "g", "ge", "gett", "get ", " get", "get\0", "g\0t", "gét", "GET\r\n", "getx",
        "config|get", "CONFIG|GET", "get|x", "|", "nosuchcommand", "zunionstorex",
        "config\\get", "@et", "`et", String(repeating: "a", count: 10_000),
    ])
    func unknownNames(name: String) {
        #expect(table.lookup(name) == nil)
    }

    @Test("unknown subcommands are not found")
    func unknownSubcommands() throws {
        let config = try #require(table.lookup("config"))
        let get = try #require(table.lookup("get"))
        for name in ["", "nosuch", "config|get", "get ", "ge", "getx", "GET\0", "encoding", String(repeating: "x", count: 500)] {
            #expect(table.subcommand(of: config, named: name) == nil, "\(name)")
        }
        // A subcommand name of another container, and a command without subcommands.
        #expect(table.subcommand(of: get, named: "get") == nil)
        #expect(table.subcommand(of: config, named: "setname") == nil)
        // A subcommand is not a container.
        let configGet = try #require(table.subcommand(of: config, named: "get"))
        #expect(table.subcommand(of: configGet, named: "get") == nil)
        for name in ["config|nosuch", "config|get|x", "nosuch|get", "config|", "|get", "config\\get", "config||get"] {
            #expect(table.lookup(fullName: name) == nil, "\(name)")
        }
    }

    @Test("lookup reads only the given bytes (no terminator needed)")
    func lookupInsideLargerBuffer() {
        let bytes = Array("xxGETSETyy".utf8)
        bytes.withUnsafeBytes { raw in
            #expect(table.lookup(UnsafeRawBufferPointer(rebasing: raw[2..<5]))?.name == "get")
            #expect(table.lookup(UnsafeRawBufferPointer(rebasing: raw[5..<8]))?.name == "set")
            #expect(table.lookup(UnsafeRawBufferPointer(rebasing: raw[2..<8]))?.name == "getset")
            #expect(table.lookup(UnsafeRawBufferPointer(rebasing: raw[2..<2])) == nil)
        }
    }

    @Test("lookupID and subscript agree with lookup")
    func ids() throws {
        let name = Array("hGetAll".utf8)
        let id = try #require(name.withUnsafeBytes { table.lookupID($0) })
        #expect(table[id].name == "hgetall")
        let client = try #require(table.lookup("client"))
        let sub = Array("KILL".utf8)
        let subID = try #require(sub.withUnsafeBytes { table.subcommandID(of: client, named: $0) })
        #expect(table[subID].name == "client|kill")
    }

    @Test("ASCII folding only folds letters")
    func asciiLower() {
        for byte in UInt8.min...UInt8.max {
            let expected = (65...90).contains(byte) ? byte + 32 : byte
            #expect(ASCII.lower(byte) == expected)
        }
    }
}
