/// One key's value as the RDB file holds it, independent of the compact encoding it was stored in
/// (a listpack hash and a hashtable hash both decode to `.hash`).
///
/// Members and fields are raw bytes: Redis keys and values are binary. Pairs are tuples so callers
/// can destructure them (`for (field, value) in pairs`); `==` is written out because tuples do not
/// conform to `Equatable`.
public enum RDBValue: Sendable, Equatable {
    case string([UInt8])
    /// Elements in list order.
    case list([[UInt8]])
    /// Members in file order (no meaning).
    case set([[UInt8]])
    /// Fields in file order (no meaning).
    case hash([(field: [UInt8], value: [UInt8])])
    /// Members in file order: sorted by score for listpack encodings, any order otherwise.
    case sortedSet([(member: [UInt8], score: Double)])
    case stream(RDBStream)

    public static func == (lhs: RDBValue, rhs: RDBValue) -> Bool {
        switch (lhs, rhs) {
        case (.string(let a), .string(let b)): return a == b
        case (.list(let a), .list(let b)): return a == b
        case (.set(let a), .set(let b)): return a == b
        case (.hash(let a), .hash(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.field == $1.field && $0.value == $1.value }
        case (.sortedSet(let a), .sortedSet(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.member == $1.member && $0.score == $1.score }
        case (.stream(let a), .stream(let b)): return a == b
        default: return false
        }
    }

    /// The Redis type name (`TYPE` command).
    public var typeName: String {
        switch self {
        case .string: return "string"
        case .list: return "list"
        case .set: return "set"
        case .hash: return "hash"
        case .sortedSet: return "zset"
        case .stream: return "stream"
        }
    }
}

/// A key with its database, absolute expiry and value: what the reader hands out per key, and what
/// `RDBWriter.write(_:)` takes.
///
/// Expiry is absolute Unix time in milliseconds, as in the file; the reader reports keys whose time
/// has already passed too (Redis drops those when loading as a master, keeps them as a replica).
public struct RDBEntry: Sendable, Equatable {
    public var database: Int
    public var key: [UInt8]
    public var expireAtMilliseconds: Int64?
    public var value: RDBValue

    public init(database: Int, key: [UInt8], expireAtMilliseconds: Int64? = nil, value: RDBValue) {
        self.database = database
        self.key = key
        self.expireAtMilliseconds = expireAtMilliseconds
        self.value = value
    }
}

/// An `AUX` field: file metadata such as `redis-ver`, `ctime`, `repl-id`, `repl-offset`.
///
/// Bytes rather than `String` because the format allows any bytes; `text` decodes as UTF-8.
public struct RDBAuxField: Sendable, Equatable {
    public var name: [UInt8]
    public var value: [UInt8]

    public init(name: [UInt8], value: [UInt8]) {
        self.name = name
        self.value = value
    }

    public var nameText: String { String(decoding: name, as: UTF8.self) }
    public var valueText: String { String(decoding: value, as: UTF8.self) }
}
