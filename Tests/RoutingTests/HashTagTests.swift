import Routing
import Testing

/// twemproxy's `hash_tag` rule (`server_pool_idx`) and Redis Cluster's `{}` rule: first open, first
/// close after it, non-empty in between; otherwise the whole key.
@Suite("hash tag extraction")
struct HashTagTests {
    static let dollar = HashTag(open: UInt8(ascii: "$"), close: UInt8(ascii: "$"))
    static let angle = HashTag(open: UInt8(ascii: "<"), close: UInt8(ascii: ">"))

    @Test(
        "hashed part of a key",
        arguments: [
            // (key, tag, expected hashed part)
            ("{user1000}.following", HashTag.braces, "user1000"),
            ("foo{bar}{zap}", .braces, "bar"),
            ("foo{{bar}}zap", .braces, "{bar"),
            ("foo{}{bar}", .braces, "foo{}{bar}"),  // empty first tag: whole key, not the second tag
            ("{}foo", .braces, "{}foo"),
            ("foo{bar", .braces, "foo{bar"),  // unclosed
            ("bar}", .braces, "bar}"),
            ("}foo{bar}", .braces, "bar"),  // a close before the open is ignored
            ("a{b}c", .braces, "b"),
            ("{", .braces, "{"),
            ("", .braces, ""),
            ("plain", .braces, "plain"),
            ("x<y>z", angle, "y"),
            ("x{y}z", angle, "x{y}z"),
            ("$ab$cd", dollar, "ab"),  // open == close: the close is searched after the open
            ("zz$$zz", dollar, "zz$$zz"),
            ("$$", dollar, "$$"),
            ("a$b", dollar, "a$b"),
        ] as [(String, HashTag, String)]
    )
    func hashedParts(key: String, tag: HashTag, expected: String) {
        let twemproxy = withKey(key) { Array(hashedPart(of: $0, tag: tag)) }
        let cluster = withKey(key) { Array(clusterHashedPart(of: $0, tag: tag)) }
        #expect(twemproxy == Array(expected.utf8))
        #expect(cluster == Array(expected.utf8))
    }

    @Test("no hash tag hashes the whole key", arguments: ["{user1000}.following", "", "a{b}c"])
    func noTag(key: String) {
        #expect(withKey(key) { Array(hashedPart(of: $0, tag: nil)) } == Array(key.utf8))
    }

    @Test("binary keys: tag bytes are matched as raw bytes")
    func binary() {
        let key: [UInt8] = [0x00, 0x7b, 0x80, 0xff, 0x00, 0x7d, 0xfe]
        #expect(withKey(key) { Array(hashedPart(of: $0, tag: .braces)) } == [0x80, 0xff, 0x00])
        let highTag = HashTag(open: 0xff, close: 0xfe)
        #expect(withKey(key) { Array(hashedPart(of: $0, tag: highTag)) } == [0x00, 0x7d])
    }

    @Test("the result points into the key's own memory")
    func noCopy() {
        let key = Array("ab{cd}ef".utf8)
        key.withUnsafeBytes { buffer in
            let part = hashedPart(of: buffer, tag: .braces)
            #expect(part.baseAddress == buffer.baseAddress! + 3)
            #expect(part.count == 2)
        }
    }
}
