import Routing
import Testing

/// The `range` distribution: half-open byte ranges, compared like `memcmp` then shorter-first.
@Suite("key range distribution")
struct RangeTests {
    /// Four groups, deliberately listed out of key order: [nil,"g") ["g","p") ["p","\xff") ["\xff",nil).
    static let ranges = [
        KeyRange(from: Array("p".utf8), to: [0xff]),
        KeyRange(from: nil, to: Array("g".utf8)),
        KeyRange(from: [0xff], to: nil),
        KeyRange(from: Array("g".utf8), to: Array("p".utf8)),
    ]

    @Test(
        "keys go to the range containing them",
        arguments: [
            ([], 1),  // the empty key is the smallest key
            ([0x00], 1),
            (Array("a".utf8), 1),
            (Array("fzzzz".utf8), 1),
            (Array("g".utf8), 3),  // `from` is inclusive
            (Array("g\u{0}".utf8), 3),
            (Array("gamma".utf8), 3),
            (Array("ozzz".utf8), 3),
            (Array("p".utf8), 0),  // `to` is exclusive
            (Array("zebra".utf8), 0),
            ([0x7f], 0),
            ([0x80], 0),  // high bytes are large (unsigned), not negative
            ([0xfe, 0xff, 0xff], 0),
            ([0xff], 2),
            ([0xff, 0x00], 2),
            ([0xff, 0xff, 0xff, 0xff], 2),
        ] as [([UInt8], Int)]
    )
    func lookup(key: [UInt8], group: Int) {
        let map = ShardMap.range(ranges: Self.ranges, hashTag: nil)
        #expect(map.groupCount == 4)
        #expect(withKey(key) { map.group(forKey: $0) } == group)
    }

    @Test("a shorter key sorts before its extensions")
    func prefixOrder() {
        let map = ShardMap.range(
            ranges: [
                KeyRange(from: nil, to: Array("user".utf8)),
                KeyRange(from: Array("user".utf8), to: Array("user:5".utf8)),
                KeyRange(from: Array("user:5".utf8), to: nil),
            ],
            hashTag: nil
        )
        let cases: [(String, Int)] = [
            ("use", 0), ("usea", 0), ("user", 1), ("user:", 1), ("user:4999", 1), ("user:5", 2), ("user:50", 2),
            ("user;", 2), ("v", 2),
        ]
        for (key, group) in cases {
            #expect(withKey(key) { map.group(forKey: $0) } == group, "\(key)")
        }
    }

    @Test("with a hash tag only the tagged part is compared")
    func hashTag() {
        let map = ShardMap.range(
            ranges: [KeyRange(from: nil, to: Array("m".utf8)), KeyRange(from: Array("m".utf8), to: nil)],
            hashTag: .braces
        )
        #expect(withKey("zzz{apple}") { map.group(forKey: $0) } == 0)
        #expect(withKey("aaa{zebra}") { map.group(forKey: $0) } == 1)
        #expect(withKey("aaa{}zzz") { map.group(forKey: $0) } == 0)  // empty tag: whole key
    }

    @Test("keys in a gap or outside every range belong to no group")
    func gaps() {
        let map = ShardMap.range(
            ranges: [
                KeyRange(from: Array("b".utf8), to: Array("d".utf8)),
                KeyRange(from: Array("f".utf8), to: Array("h".utf8)),
            ],
            hashTag: nil
        )
        let cases: [(String, Int?)] = [
            ("a", nil), ("b", 0), ("c", 0), ("d", nil), ("e", nil), ("f", 1), ("gz", 1), ("h", nil), ("", nil),
        ]
        for (key, group) in cases {
            #expect(withKey(key) { map.group(forKey: $0) } == group, "\(key)")
        }
    }

    @Test("a single open range owns everything")
    func singleRange() {
        let map = ShardMap.range(ranges: [KeyRange(from: nil, to: nil)], hashTag: nil)
        for key in ["", "a", "\u{7f}"] {
            #expect(withKey(key) { map.group(forKey: $0) } == 0)
        }
        #expect(withKey([0xff, 0xff]) { map.group(forKey: $0) } == 0)
        #expect(withKey("x") { ShardMap.range(ranges: [], hashTag: nil).group(forKey: $0) } == nil)
    }
}

@Suite("random distribution")
struct RandomTests {
    @Test("stays within the group count and reaches every group")
    func inRange() {
        let map = ShardMap.random(groupCount: 3)
        var seen = Set<Int>()
        for _ in 0..<300 {
            let group = withKey("k") { map.group(forKey: $0) }
            #expect(group.map { (0..<3).contains($0) } == true)
            if let group { seen.insert(group) }
        }
        #expect(seen == [0, 1, 2])
        #expect(withKey("k") { ShardMap.random(groupCount: 0).group(forKey: $0) } == nil)
    }
}
