import ACL
import Commands
import Testing

/// SHA-256 against the FIPS 180-4 vectors, and ACL rules applied to users without a server.
@Suite struct ACLUnitTests {
    @Test func sha256Vectors() {
        #expect(SHA256.hex(Array("".utf8)) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        // Two blocks of padding (55, 56 and 64 bytes sit on the edges).
        #expect(SHA256.hex([UInt8](repeating: 0x61, count: 1_000_000)) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        #expect(SHA256.hex([UInt8](repeating: 0x61, count: 56)).count == 64)
    }

    @Test func newUserIsOffAndAllowsNothing() throws {
        let user = ACLUser(name: "u")
        #expect(user.description == "off resetchannels -@all")
        #expect(!user.unrestricted)
        #expect(!user.accepts(password: Array("x".utf8)))
        let get = try #require(CommandTable.redis.lookup("get"))
        #expect(user.check(get, ACLArguments([Array("get".utf8), Array("k".utf8)]))?.kind == .command)
    }

    @Test func keyPatternsDistinguishReadAndWrite() throws {
        let user = ACLUser(name: "u")
        for rule in ["on", ">pw", "+@all", "%R~r*", "%W~w*", "~both*"] { try user.apply(rule) }
        #expect(user.accepts(password: Array("pw".utf8)))
        #expect(!user.accepts(password: Array("other".utf8)))
        func denial(_ words: String...) -> ACLDenial.Kind? {
            let arguments = ACLArguments(words.map { Array($0.utf8) })
            let spec = CommandTable.redis.resolve(argumentCount: arguments.count) { index, body in
                arguments.values[index].withUnsafeBytes { body($0) }
            }!.spec
            return user.check(spec, arguments)?.kind
        }
        #expect(denial("get", "r1") == nil)
        #expect(denial("set", "r1", "v") == .key)
        #expect(denial("set", "w1", "v") == nil)
        #expect(denial("get", "w1") == .key)
        #expect(denial("append", "both1", "v") == nil)
        #expect(denial("copy", "r1", "w2") == nil)
        #expect(denial("copy", "w1", "w2") == .key)
        #expect(denial("publish", "ch", "m") == .channel)
        try user.apply("&ch*")
        #expect(denial("publish", "ch1", "m") == nil)
        #expect(denial("psubscribe", "ch*") == nil)
        #expect(denial("psubscribe", "ch1*") == .channel, "a pattern subscription must name an allowed pattern as it is")
    }

    @Test func rulesAndTheirErrors() throws {
        let user = ACLUser(name: "u")
        #expect(throws: ACLRuleError.self) { try user.apply("+nosuchcommand") }
        #expect(throws: ACLRuleError.self) { try user.apply("#abc") }
        #expect(throws: ACLRuleError.self) { try user.apply("<missing") }
        #expect(throws: ACLRuleError.self) { try user.apply("+client|id|x") }
        try user.apply("allkeys")
        #expect(throws: ACLRuleError.self) { try user.apply("~k") }
        try user.apply("-@all")
        try user.apply("+select|0")
        #expect(user.root.commandRules == "-@all +select|0")
        try user.apply("+@hash")
        try user.apply("-hdel")
        #expect(user.root.commandRules == "-@all +@hash -hdel +select|0")
        try user.apply("(+get ~x*)")
        #expect(user.description == "off ~* resetchannels -@all +@hash -hdel +select|0 (~x* resetchannels -@all +get)")
        try user.apply("reset")
        #expect(user.description == "off sanitize-payload resetchannels -@all")
    }
}
