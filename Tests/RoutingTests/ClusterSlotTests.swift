import Routing
import Testing

/// Every byte value 0x00...0xff, in order, as hex (contains `{` 0x7b and `}` 0x7d, so the hashed
/// part is the single byte 0x7c).
let allBytesHex = (0..<256).map { byte in
    let digits = String(byte, radix: 16)
    return byte < 16 ? "0" + digits : digits
}.joined()

/// Slots reported by a real `redis-server --cluster-enabled yes` (`CLUSTER KEYSLOT <key>`, keys sent
/// as raw RESP bulk strings so binary bytes survive).
struct ClusterSlotVector: Sendable, CustomTestStringConvertible {
    let key: TestKey
    let slot: Int
    init(_ key: TestKey, _ slot: Int) {
        self.key = key
        self.slot = slot
    }
    var testDescription: String { "\(key) -> \(slot)" }

    static let all: [ClusterSlotVector] = [
        ClusterSlotVector(.ascii(""), 0),
        ClusterSlotVector(.ascii("a"), 15495),
        ClusterSlotVector(.ascii("foo"), 12182),
        ClusterSlotVector(.ascii("bar"), 5061),
        ClusterSlotVector(.ascii("hello"), 866),
        ClusterSlotVector(.ascii("123456789"), 12739),
        ClusterSlotVector(.ascii("user:1000"), 1649),
        ClusterSlotVector(.ascii("{user1000}.following"), 3443),
        ClusterSlotVector(.ascii("{user1000}.followers"), 3443),
        ClusterSlotVector(.ascii("foo{}{bar}"), 8363),
        ClusterSlotVector(.ascii("foo{{bar}}zap"), 4015),
        ClusterSlotVector(.ascii("foo{bar}{zap}"), 5061),
        ClusterSlotVector(.ascii("{}foo"), 9500),
        ClusterSlotVector(.ascii("{bar"), 4015),
        ClusterSlotVector(.ascii("bar}"), 6624),
        ClusterSlotVector(.ascii("}{bar}"), 5061),
        ClusterSlotVector(.ascii("{{}}"), 4092),
        ClusterSlotVector(.ascii("a{b}c"), 3300),
        ClusterSlotVector(.ascii("{a}{b}"), 15495),
        ClusterSlotVector(.ascii("key:0"), 2592),
        ClusterSlotVector(.ascii("key:1"), 6657),
        ClusterSlotVector(.ascii("key:99999"), 2036),
        ClusterSlotVector(.ascii("somekey"), 11058),
        ClusterSlotVector(.ascii("Hello, World!"), 4054),
        ClusterSlotVector(.hex("00"), 0),
        ClusterSlotVector(.hex("ff"), 7920),
        ClusterSlotVector(.hex("808182"), 8761),
        ClusterSlotVector(.hex("00ff00ff"), 4499),
        ClusterSlotVector(.hex("7b80ff7d7461696c"), 1384),
        ClusterSlotVector(.hex("636166c3a9"), 5735),
        ClusterSlotVector(.repeated("x", 300), 11216),
        ClusterSlotVector(.ascii("{}"), 15257),
        ClusterSlotVector(.ascii("{"), 4092),
        ClusterSlotVector(.ascii("}"), 12090),
        ClusterSlotVector(.ascii("{{"), 7007),
        ClusterSlotVector(.hex("666f6f7b007d626172"), 0),
        ClusterSlotVector(.hex(allBytesHex), 16155),  // bytes 0x00...0xff
    ]
}

@Suite("Redis Cluster slots")
struct ClusterSlotTests {
    @Test("matches CLUSTER KEYSLOT from a real redis-server", arguments: ClusterSlotVector.all)
    func matchesRedis(vector: ClusterSlotVector) {
        #expect(withKey(vector.key.bytes) { clusterSlot(of: $0) } == vector.slot)
    }

    @Test("slots map keys to groups through a flat table")
    func slotsShardMap() {
        let map = ShardMap.slots(
            assignments: [
                [SlotRange(lower: 0, upper: 5460)],
                [SlotRange(lower: 5461, upper: 10922)],
                [SlotRange(lower: 10923, upper: 16383)],
            ],
            hashTag: .braces
        )
        #expect(map.groupCount == 3)
        for vector in ClusterSlotVector.all {
            let expected = vector.slot <= 5460 ? 0 : (vector.slot <= 10922 ? 1 : 2)
            #expect(withKey(vector.key.bytes) { map.group(forKey: $0) } == expected, "\(vector.key)")
        }
    }

    /// Finds, for each boundary slot, some key hashing there, then checks the group.
    @Test("exact boundary slots land in the right group")
    func boundaries() {
        let map = ShardMap.slots(
            assignments: [
                [SlotRange(lower: 0, upper: 99), SlotRange(lower: 200, upper: 299)],
                [SlotRange(lower: 100, upper: 199)],
            ],
            hashTag: .braces
        )
        let wanted: [Int: Int?] = [0: 0, 99: 0, 100: 1, 199: 1, 200: 0, 299: 0, 300: nil, 16383: nil]
        var found: [Int: String] = [:]
        var i = 0
        while found.count < wanted.count {
            let key = "k\(i)"
            let slot = withKey(key) { clusterSlot(of: $0) }
            if wanted[slot] != nil, found[slot] == nil { found[slot] = key }
            i += 1
        }
        for (slot, key) in found {
            #expect(withKey(key) { map.group(forKey: $0) } == wanted[slot]!, "slot \(slot) via \(key)")
            // A hash tag pins any key to the tag's slot.
            #expect(withKey("prefix{\(key)}suffix") { map.group(forKey: $0) } == wanted[slot]!)
        }
    }

    @Test("a custom tag for the slots distribution")
    func customTag() {
        let map = ShardMap.slots(
            assignments: [[SlotRange(lower: 0, upper: 8191)], [SlotRange(lower: 8192, upper: 16383)]],
            hashTag: HashTag(open: UInt8(ascii: "<"), close: UInt8(ascii: ">"))
        )
        let direct = withKey("user1000") { clusterSlot(of: $0) } < 8192 ? 0 : 1
        #expect(withKey("a<user1000>b") { map.group(forKey: $0) } == direct)
        #expect(withKey("x<user1000>") { map.group(forKey: $0) } == direct)
    }
}
