import RedisText

/// A stream as RDB files hold it (`RDB_TYPE_STREAM_LISTPACKS` and `_2`): nodes of entries, each node
/// one listpack whose first entry (the "master entry") names the fields most entries share, then
/// the stream's counters and its consumer groups with their pending entries.
public struct RDBStream: Sendable, Equatable {
    public struct ID: Sendable, Equatable, Hashable, Comparable {
        public var ms: UInt64
        public var seq: UInt64
        public init(ms: UInt64, seq: UInt64) {
            self.ms = ms
            self.seq = seq
        }
        public static func < (a: ID, b: ID) -> Bool { a.ms != b.ms ? a.ms < b.ms : a.seq < b.seq }
        public static let zero = ID(ms: 0, seq: 0)
    }

    public struct Entry: Sendable, Equatable {
        public var id: ID
        public var deleted: Bool
        /// Field, value, field, value...
        public var pairs: [[UInt8]]
        public init(id: ID, deleted: Bool, pairs: [[UInt8]]) {
            self.id = id
            self.deleted = deleted
            self.pairs = pairs
        }
    }

    public struct Node: Sendable, Equatable {
        /// The node's key: the ID of the first entry added to it.
        public var master: ID
        public var masterFields: [[UInt8]]
        /// Live and deleted entries, in ID order.
        public var entries: [Entry]
        public init(master: ID, masterFields: [[UInt8]], entries: [Entry]) {
            self.master = master
            self.masterFields = masterFields
            self.entries = entries
        }
    }

    public struct PendingEntry: Sendable, Equatable {
        public var id: ID
        public var deliveryTime: Int64
        public var deliveryCount: UInt64
        public init(id: ID, deliveryTime: Int64, deliveryCount: UInt64) {
            self.id = id
            self.deliveryTime = deliveryTime
            self.deliveryCount = deliveryCount
        }
    }

    public struct Consumer: Sendable, Equatable {
        public var name: [UInt8]
        public var seenTime: Int64
        public var pending: [ID]
        public init(name: [UInt8], seenTime: Int64, pending: [ID]) {
            self.name = name
            self.seenTime = seenTime
            self.pending = pending
        }
    }

    public struct Group: Sendable, Equatable {
        public var name: [UInt8]
        public var lastID: ID
        /// nil in files older than Redis 7 (the loader estimates it).
        public var entriesRead: Int64?
        public var pending: [PendingEntry]
        public var consumers: [Consumer]
        public init(name: [UInt8], lastID: ID, entriesRead: Int64?, pending: [PendingEntry], consumers: [Consumer]) {
            self.name = name
            self.lastID = lastID
            self.entriesRead = entriesRead
            self.pending = pending
            self.consumers = consumers
        }
    }

    public var nodes: [Node]
    public var length: UInt64
    public var lastID: ID
    /// nil in files older than Redis 7.
    public var firstID: ID?
    public var maxDeletedID: ID?
    public var entriesAdded: UInt64?
    public var groups: [Group]

    public init(
        nodes: [Node], length: UInt64, lastID: ID, firstID: ID?, maxDeletedID: ID?, entriesAdded: UInt64?, groups: [Group]
    ) {
        self.nodes = nodes
        self.length = length
        self.lastID = lastID
        self.firstID = firstID
        self.maxDeletedID = maxDeletedID
        self.entriesAdded = entriesAdded
        self.groups = groups
    }

    /// The 128-bit big-endian form of an ID.
    static func raw(_ id: ID) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 16)
        for index in 0..<8 {
            out[index] = UInt8(truncatingIfNeeded: id.ms >> (56 - 8 * UInt64(index)))
            out[8 + index] = UInt8(truncatingIfNeeded: id.seq >> (56 - 8 * UInt64(index)))
        }
        return out
    }

    static func id(raw: UnsafeRawBufferPointer) -> ID {
        var ms: UInt64 = 0, seq: UInt64 = 0
        for index in 0..<8 {
            ms = ms << 8 | UInt64(raw[index])
            seq = seq << 8 | UInt64(raw[8 + index])
        }
        return ID(ms: ms, seq: seq)
    }

    /// A node as Redis's listpack: master entry (count, deleted, field count, fields, 0), then per
    /// entry flags, ms delta, seq delta, [field count, fields and values | values], piece count.
    package static func listpack(_ node: Node, into listpack: inout [UInt8]) {
        func integer(_ value: Int64) {
            let text = Array(String(value).utf8)
            text.withUnsafeBytes { RDBListpack.append($0, to: &listpack) }
        }
        func string(_ bytes: [UInt8]) { bytes.withUnsafeBytes { RDBListpack.append($0, to: &listpack) } }
        RDBListpack.begin(&listpack)
        let deleted = node.entries.filter(\.deleted).count
        integer(Int64(node.entries.count - deleted))
        integer(Int64(deleted))
        integer(Int64(node.masterFields.count))
        for field in node.masterFields { string(field) }
        integer(0)
        var count = 4 + node.masterFields.count
        for entry in node.entries {
            let pairCount = entry.pairs.count / 2
            var same = pairCount == node.masterFields.count
            if same {
                for index in 0..<pairCount where entry.pairs[index * 2] != node.masterFields[index] {
                    same = false
                    break
                }
            }
            integer(Int64((entry.deleted ? 1 : 0) | (same ? 2 : 0)))
            integer(Int64(bitPattern: entry.id.ms &- node.master.ms))
            integer(Int64(bitPattern: entry.id.seq &- node.master.seq))
            if !same { integer(Int64(pairCount)) }
            for (index, element) in entry.pairs.enumerated() where !same || index % 2 == 1 {
                string(element)
            }
            let pieces = 3 + (same ? pairCount : 1 + 2 * pairCount)
            integer(Int64(pieces))
            count += pieces + 1
        }
        RDBListpack.finish(&listpack, count: count)
    }

    /// The entries of one node's listpack, checked as Redis's deep validation does.
    package static func node(master: ID, listpack: UnsafeRawBufferPointer) throws(RDBPackedError) -> Node {
        let elements = try RDBListpack.entries(listpack)
        var position = 0
        func next() throws(RDBPackedError) -> [UInt8] {
            guard position < elements.count else { throw RDBPackedError("stream listpack ends inside an entry") }
            defer { position += 1 }
            return elements[position]
        }
        func integer() throws(RDBPackedError) -> Int64 {
            let bytes = try next()
            guard let value = bytes.withUnsafeBytes({ RedisInteger.parse($0) }) else {
                throw RDBPackedError("stream listpack holds a non-integer where a number belongs")
            }
            return value
        }
        guard !elements.isEmpty else { throw RDBPackedError("empty stream listpack") }
        let live = try integer()
        let deleted = try integer()
        let fieldCount = try integer()
        guard live >= 0, deleted >= 0, fieldCount >= 0, Int(fieldCount) <= elements.count else {
            throw RDBPackedError("bad stream master entry")
        }
        var fields: [[UInt8]] = []
        for _ in 0..<fieldCount { fields.append(try next()) }
        guard try integer() == 0 else { throw RDBPackedError("bad stream master entry terminator") }
        var entries: [Entry] = []
        var previous: ID?
        while position < elements.count {
            let flags = try integer()
            let ms = master.ms &+ UInt64(bitPattern: try integer())
            let seq = master.seq &+ UInt64(bitPattern: try integer())
            let id = ID(ms: ms, seq: seq)
            if let previous, !(previous < id) { throw RDBPackedError("stream entry IDs are not in order") }
            guard id.ms >= master.ms, !(id < master) else { throw RDBPackedError("stream entry ID below its node's master ID") }
            previous = id
            var pairs: [[UInt8]] = []
            let same = flags & 2 != 0
            if same {
                for field in fields {
                    pairs.append(field)
                    pairs.append(try next())
                }
            } else {
                let count = try integer()
                guard count >= 0, Int(count) <= elements.count else { throw RDBPackedError("bad stream entry field count") }
                for _ in 0..<(count * 2) { pairs.append(try next()) }
            }
            let pieces = try integer()
            guard pieces == Int64(3 + (same ? fields.count : 1 + pairs.count)) else {
                throw RDBPackedError("stream entry piece count does not match")
            }
            entries.append(Entry(id: id, deleted: flags & 1 != 0, pairs: pairs))
        }
        let deletedFound = entries.filter(\.deleted).count
        guard Int64(deletedFound) == deleted, Int64(entries.count - deletedFound) == live else {
            throw RDBPackedError("stream listpack counts do not match its entries")
        }
        return Node(master: master, masterFields: fields, entries: entries)
    }
}
