/// The vocabulary shared by configuration and the proxy for placing keys on shard groups.
///
/// Keys are raw bytes everywhere: every function here takes an `UnsafeRawBufferPointer` so the proxy
/// can hash the bytes straight out of a NIO `ByteBuffer` without copying them.

/// How keys are spread over the groups of a pool.
public enum Distribution: String, CaseIterable, Sendable {
    /// Consistent hashing, placement identical to twemproxy's ketama.
    case ketama
    /// `hash(key) % total weight`, identical to twemproxy's modula.
    case modula
    /// Any group, chosen at random per request (pure cache pools only).
    case random
    /// Redis Cluster's CRC16 slots (0...16383) assigned to groups by range.
    case slots
    /// Lexicographic key ranges assigned to groups.
    case range
}

/// A hash tag such as `{}`: only the part of a key between the two bytes is hashed.
public struct HashTag: Sendable, Hashable {
    public let open: UInt8
    public let close: UInt8
    public init(open: UInt8, close: UInt8) {
        self.open = open
        self.close = close
    }
    /// The Redis Cluster tag, `{...}`.
    public static let braces = HashTag(open: UInt8(ascii: "{"), close: UInt8(ascii: "}"))
}

/// An inclusive range of Redis Cluster slots, e.g. `0-5460`.
public struct SlotRange: Sendable, Hashable {
    public static let slotCount = 16384
    public let lower: Int
    public let upper: Int
    public init(lower: Int, upper: Int) {
        self.lower = lower
        self.upper = upper
    }
}

/// A half-open range of keys in byte order: `from` inclusive, `to` exclusive; `nil` means open.
public struct KeyRange: Sendable, Hashable {
    public let from: [UInt8]?
    public let to: [UInt8]?
    public init(from: [UInt8]?, to: [UInt8]?) {
        self.from = from
        self.to = to
    }
}

/// One member of a hashed pool as consistent hashing sees it: its name bytes and weight.
public struct HashedNode: Sendable, Hashable {
    public let name: [UInt8]
    public let weight: Int
    public init(name: [UInt8], weight: Int) {
        self.name = name
        self.weight = weight
    }
}

/// twemproxy 0.5.0's key hash functions, by their `proxy.yml` / `nutcracker.yml` names.
/// The implementations (in `HashFunctions.swift`) are bit-exact with twemproxy, quirks included.
public enum HashFunction: String, CaseIterable, Sendable {
    case oneAtATime = "one_at_a_time"
    case md5
    case crc16
    case crc32
    case crc32a
    case fnv1_64
    case fnv1a_64
    case fnv1_32
    case fnv1a_32
    case hsieh
    case murmur
    case jenkins
}
