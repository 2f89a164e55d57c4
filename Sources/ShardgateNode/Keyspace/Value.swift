import DequeModule

/// One key's value. Strings are stored inline; the collection types are reference objects so a
/// command mutates them in place, without copying the collection out of the table and back.
enum Value {
    case string([UInt8])
    case list(ListObject)
    case hash(HashObject)
    case set(SetObject)
    case sortedSet(SortedSetObject)
    case stream(StreamObject)

    /// The name TYPE reports.
    var typeName: String {
        switch self {
        case .string: "string"
        case .list: "list"
        case .hash: "hash"
        case .set: "set"
        case .sortedSet: "zset"
        case .stream: "stream"
        }
    }
}

/// A key's slot in a database: its value and, when it has one, its expiry as Unix milliseconds.
struct Entry {
    var value: Value
    /// 0 when the key does not expire.
    var expireAt: Int64
    /// Redis's `robj.lru`, for eviction: the access clock stamp (LRU) or the decaying access
    /// frequency (LFU) the database keeps (see `Database.touch`). Costs 8 bytes of slot stride per key.
    var access: UInt32 = 0
}

/// A Redis list: a double-ended queue of elements.
final class ListObject {
    var elements: Deque<[UInt8]>
    init(_ elements: Deque<[UInt8]> = []) { self.elements = elements }
}
