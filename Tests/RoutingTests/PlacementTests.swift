import Testing

@testable import Routing

/// Ketama and modula placement vectors produced by compiling twemproxy 0.5.0's `nc_ketama.c`,
/// `nc_modula.c` and hashkit (release commit ca45646) and dispatching each key with the same steps
/// as `server_pool_idx` (hash tag, single-server shortcut, empty key hashes to 0). Servers were put
/// through twemproxy's config-time sort by name (`conf_server_name_cmp`) first, exactly as
/// nutcracker does, and the owner reported back as the index in config order.
/// `owners` has one digit per key of `keys` (a weight of 0 marks an auto-ejected server).
struct PlacementVector: Sendable, CustomTestStringConvertible {
    enum Kind: Sendable { case ketama, modula }
    let label: String
    let kind: Kind
    let hash: HashFunction
    let tag: String?
    let nodes: [(String, Int)]
    let owners: String
    init(_ label: String, _ kind: Kind, _ hash: HashFunction, tag: String?, nodes: [(String, Int)], owners: String) {
        self.label = label
        self.kind = kind
        self.hash = hash
        self.tag = tag
        self.nodes = nodes
        self.owners = owners
    }
    var testDescription: String { label }

    /// `""`, `key:0`...`key:99`, then `hex(i * 2654435761 mod 2^32)` for i in 100..<200.
    static let plainKeys: [String] =
        [""]
        + (0..<200).map { i in
            i < 100 ? "key:\(i)" : String(UInt32(truncatingIfNeeded: i &* 2_654_435_761), radix: 16)
        }
    /// Keys exercising hash tags (`{}` and a tag whose open and close are both `$`).
    static let taggedKeys: [String] = [
        "{user1000}.following", "{user1000}.followers", "{user1001}.following", "foo{}bar", "foo{bar",
        "}foo{bar}", "a{b}{c}", "{}", "{", "x{y", "{{a}}", "$ab$cd", "$ab$ef", "zz$$zz", "$$", "abc", "{abc}",
    ]

    var keys: [String] { tag == nil ? Self.plainKeys : Self.taggedKeys }

    var map: ShardMap {
        let hashedNodes = nodes.map { HashedNode(name: Array($0.0.utf8), weight: $0.1) }
        let hashTag = tag.map { tag in
            let bytes = Array(tag.utf8)
            return HashTag(open: bytes[0], close: bytes[1])
        }
        switch kind {
        case .ketama: return .ketama(nodes: hashedNodes, hash: hash, hashTag: hashTag)
        case .modula: return .modula(nodes: hashedNodes, hash: hash, hashTag: hashTag)
        }
    }

    static let all: [PlacementVector] = [
        PlacementVector(
            "3 named, weights 1,2,1, fnv1a_64", .ketama, .fnv1a_64, tag: nil,
            nodes: [("server1", 1), ("server2", 2), ("server3", 1)],
            owners: "211111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111112012112212221111201001102111022011011001100011201001202111112020101212111111102110220221111100001"),
        PlacementVector(
            "3 named, weights 1,2,1, md5", .ketama, .md5, tag: nil,
            nodes: [("server1", 1), ("server2", 2), ("server3", 1)],
            owners: "222001210111211212220211111212202002122022110100011122221110122222112201111112120121121111120111120211222110211000222102011112111202121022201111001210010212110111211112111102221220111111010220210002000"),
        PlacementVector(
            "3 host:port, murmur", .ketama, .murmur, tag: nil,
            nodes: [("127.0.0.1:7001", 1), ("127.0.0.1:7002", 1), ("127.0.0.1:7003", 1)],
            owners: "221220201221111221010111210001211122110012212221101012212022111121201222221021001211201202010012020002220201121001012001011021111102222211002022021102120102221122210121210101011210122112112220121221201"),
        PlacementVector(
            "3 host:port, one_at_a_time", .ketama, .oneAtATime, tag: nil,
            nodes: [("127.0.0.1:7001", 1), ("127.0.0.1:7002", 1), ("127.0.0.1:7003", 1)],
            owners: "222120210022202222122022200212122101021210120021010111020110222100220100020200211121012120101222202100112020021201211202122220122212011120112021212201211210122221022102120111010012012022212212221122000"),
        PlacementVector(
            "5 weights 1..5, crc32a", .ketama, .crc32a, tag: nil,
            nodes: [("10.0.0.1:6379", 1), ("10.0.0.2:6379", 2), ("10.0.0.3:6379", 3), ("10.0.0.4:6379", 4), ("10.0.0.5:6379", 5)],
            owners: "411014244444424220414234243224234433404331432131344143132143133243434113111444434434423233330344312234243040442334402444142244231444232143232304304433243044341422202143341444411343414243324420334430244"),
        PlacementVector(
            "5 with one ejected, hsieh", .ketama, .hsieh, tag: nil,
            nodes: [("a", 1), ("b", 1), ("c", 0), ("d", 1), ("e", 1)],
            owners: "034034043313441100411114411344113043003030430410430001411303410414301131004033411341100104043114413000104333411000030443444411430434334341004003410113104431030430003033140131003143003441004034100104141"),
        PlacementVector(
            "skewed weights, jenkins", .ketama, .jenkins, tag: nil,
            nodes: [("big", 100), ("small", 1), ("tiny", 1), ("medium", 7)],
            owners: "000000030003000000000000000000003000000000000000000000300033300000003000030000000030000000000000300030000000003003000003000000000000000000003301000000000000000000000000000000000000000000000000330030000"),
        PlacementVector(
            "single server", .ketama, .fnv1a_64, tag: nil,
            nodes: [("only", 3)],
            owners: "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"),
        PlacementVector(
            "ketama braces tag", .ketama, .fnv1a_64, tag: "{}",
            nodes: [("server1", 1), ("server2", 2), ("server3", 1)],
            owners: "11110122202111211"),
        PlacementVector(
            "ketama dollar tag", .ketama, .fnv1a_64, tag: "$$",
            nodes: [("server1", 1), ("server2", 2), ("server3", 1)],
            owners: "12110112200221210"),
        PlacementVector(
            "modula unsorted names, fnv1a_64", .modula, .fnv1a_64, tag: nil,
            nodes: [("zeta", 1), ("alpha", 2), ("mid", 1), ("b", 3)],
            owners: "313012033333323103131333201133310233331112033331101332302113301133332203331102333331120331333231031333333311033332031103133001333103303333310133310331333312311233332332312313131103133323310231333331303"),
        PlacementVector(
            "modula 3 named, crc16", .modula, .crc16, tag: nil,
            nodes: [("server1", 1), ("server2", 2), ("server3", 1)],
            owners: "001120112010112011201211021102112011201121021102110011201120121102110211201120112011201120110211021100201121212121001211220000001021110102012101020011112212210120121101010110111021120102122012001011111"),
        PlacementVector(
            "modula 5 with one ejected, md5", .modula, .md5, tag: nil,
            nodes: [("a", 1), ("b", 1), ("c", 0), ("d", 1), ("e", 1)],
            owners: "043340330310043113410111300303030314134113313003444433143314410314044431030140103404004034030044314431041340041441333030031131413144133104141133443300001331301030301340313304331131431011040301443340431"),
        PlacementVector(
            "modula braces tag, murmur", .modula, .murmur, tag: "{}",
            nodes: [("zeta", 1), ("alpha", 2), ("mid", 1), ("b", 3)],
            owners: "33330330313312111"),
    ]
}

@Suite("ketama and modula placement")
struct PlacementTests {
    @Test("matches twemproxy's C continuum", arguments: PlacementVector.all)
    func matchesTwemproxy(vector: PlacementVector) {
        let map = vector.map
        let expected = vector.owners.map { Int(String($0))! }
        #expect(expected.count == vector.keys.count)
        #expect(map.groupCount == vector.nodes.count)
        var mismatches: [String] = []
        for (key, owner) in zip(vector.keys, expected) {
            let actual = withKey(key) { map.group(forKey: $0) }
            if actual != owner {
                mismatches.append("\(key.debugDescription): \(String(describing: actual)) != \(owner)")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")
    }

    /// twemproxy's float arithmetic: 160 points per server on average, rounded down to a multiple of 4.
    @Test(
        "points per server follow twemproxy's float formula",
        arguments: [
            ([1, 1, 1], [160, 160, 160]),
            ([1, 2, 1], [120, 240, 120]),
            ([1, 2, 3, 4, 5], [52, 104, 160, 212, 264]),
            ([100, 1, 1, 7], [584, 4, 4, 40]),
            ([1, 1, 0, 1, 1], [160, 160, 0, 160, 160]),
            ([3], [160]),
            ([1, 1000], [0, 316]),
        ]
    )
    func pointCounts(weights: [Int], points: [Int]) {
        let nodes = weights.enumerated().map { HashedNode(name: Array("n\($0.offset)".utf8), weight: $0.element) }
        let continuum = KetamaContinuum(nodes: nodes)
        var perNode = [Int](repeating: 0, count: nodes.count)
        for owner in continuum.owners { perNode[Int(owner)] += 1 }
        #expect(perNode == points)
        #expect(continuum.values == continuum.values.sorted())
    }

    @Test("no live node means no group")
    func noLiveNodes() {
        let nodes = [HashedNode(name: Array("a".utf8), weight: 0), HashedNode(name: Array("b".utf8), weight: 0)]
        let maps = [ShardMap.ketama(nodes: nodes, hash: .md5, hashTag: nil), .modula(nodes: nodes, hash: .md5, hashTag: nil)]
        for map in maps {
            #expect(withKey("foo") { map.group(forKey: $0) } == nil)
            #expect(map.groupCount == 2)
        }
        let single = [HashedNode(name: Array("a".utf8), weight: 0)]
        #expect(withKey("foo") { ShardMap.ketama(nodes: single, hash: .md5, hashTag: nil).group(forKey: $0) } == nil)
        #expect(withKey("foo") { ShardMap.ketama(nodes: [], hash: .md5, hashTag: nil).group(forKey: $0) } == nil)
    }

    /// Ejecting a node (weight 0) only moves the keys that node owned under ketama.
    @Test("ketama ejection only moves the ejected node's keys")
    func ejectionIsMinimal() {
        let names = ["10.0.0.1:6379", "10.0.0.2:6379", "10.0.0.3:6379", "10.0.0.4:6379"]
        let all = ShardMap.ketama(
            nodes: names.map { HashedNode(name: Array($0.utf8), weight: 1) }, hash: .md5, hashTag: nil)
        let ejected = ShardMap.ketama(
            nodes: names.enumerated().map { HashedNode(name: Array($0.element.utf8), weight: $0.offset == 2 ? 0 : 1) },
            hash: .md5, hashTag: nil)
        var moved = 0
        for key in PlacementVector.plainKeys.dropFirst() {
            let before = withKey(key) { all.group(forKey: $0) }!
            let after = withKey(key) { ejected.group(forKey: $0) }!
            #expect(after != 2)
            if before != 2 {
                // Equal weights keep 160 points each after the rescale, so the survivors' points are
                // unchanged and so is the owner of every key they held.
                #expect(after == before, "\(key)")
            } else {
                moved += 1
            }
        }
        #expect(moved > 0)
    }

    /// `server_pool_hash` returns 0 for an empty key without calling the hash function.
    @Test("an empty key hashes to 0, not to hash(\"\")", arguments: [HashFunction.md5, .jenkins, .fnv1a_64])
    func emptyKey(hash: HashFunction) {
        let nodes = (1...3).map { HashedNode(name: Array("s\($0)".utf8), weight: 1) }
        let continuum = KetamaContinuum(nodes: nodes)
        let map = ShardMap.ketama(nodes: nodes, hash: hash, hashTag: nil)
        #expect(withKey("") { map.group(forKey: $0) } == continuum.owner(forHash: 0))
    }

    /// twemproxy sorts a pool's servers by name (length first, then bytes) before building modula.
    @Test("modula slots follow twemproxy's name order, not config order")
    func modulaNameOrder() {
        let nodes = [("bb", 1), ("a", 2), ("ccc", 1), ("ab", 1)].map { HashedNode(name: Array($0.0.utf8), weight: $0.1) }
        #expect(ModulaTable(nodes: nodes).owners == [1, 1, 3, 0, 2])
    }

    /// Host strings longer than twemproxy's 273-byte buffer are cut to 272 bytes before hashing.
    @Test("very long names are truncated like snprintf into 273 bytes")
    func longNamesTruncate() {
        let long = [UInt8](repeating: UInt8(ascii: "h"), count: 300)
        let continuum = KetamaContinuum(nodes: [HashedNode(name: long, weight: 1)])
        let truncated = Array(long.prefix(272))
        let expected = truncated.withUnsafeBytes { md5Words($0) }
        #expect(continuum.values.contains(expected.0))
        #expect(Set(continuum.values).count == 4)  // every "<name>-<i>" collapses to the same 272 bytes
    }
}
