import DequeModule
import RDB
import RESP

/// A stream entry ID: milliseconds and a sequence number, ordered as one 128-bit number.
struct StreamID: Comparable, Hashable {
    var ms: UInt64
    var seq: UInt64

    static let zero = StreamID(ms: 0, seq: 0)
    static let max = StreamID(ms: .max, seq: .max)

    static func < (a: StreamID, b: StreamID) -> Bool { a.ms != b.ms ? a.ms < b.ms : a.seq < b.seq }

    var isZero: Bool { ms == 0 && seq == 0 }

    /// The next ID; nil after the last possible one.
    var incremented: StreamID? {
        if seq != .max { return StreamID(ms: ms, seq: seq + 1) }
        if ms != .max { return StreamID(ms: ms + 1, seq: 0) }
        return nil
    }

    /// The previous ID; nil before 0-0.
    var decremented: StreamID? {
        if seq != 0 { return StreamID(ms: ms, seq: seq - 1) }
        if ms != 0 { return StreamID(ms: ms - 1, seq: .max) }
        return nil
    }

    var text: String { "\(ms)-\(seq)" }

    /// `ms-seq` as bytes formatted on the stack, for replies that write IDs by the thousand.
    func withText<T>(_ body: (UnsafeRawBufferPointer) -> T) -> T {
        withUnsafeTemporaryAllocation(byteCount: 41, alignment: 1) { buffer in
            var end = DecimalText.write(ms, into: buffer, at: 0)
            buffer[end] = UInt8(ascii: "-")
            end = DecimalText.write(seq, into: buffer, at: end + 1)
            return body(UnsafeRawBufferPointer(rebasing: buffer[0..<end]))
        }
    }
    var bytes: [UInt8] { Array(text.utf8) }

    /// The 128-bit big-endian form RDB files and Redis's radix tree use.
    var raw: [UInt8] {
        var out = [UInt8](repeating: 0, count: 16)
        for index in 0..<8 {
            out[index] = UInt8(truncatingIfNeeded: ms >> (56 - 8 * UInt64(index)))
            out[8 + index] = UInt8(truncatingIfNeeded: seq >> (56 - 8 * UInt64(index)))
        }
        return out
    }

    init(ms: UInt64, seq: UInt64) {
        self.ms = ms
        self.seq = seq
    }

    init?(raw: [UInt8]) {
        guard raw.count == 16 else { return nil }
        var ms: UInt64 = 0, seq: UInt64 = 0
        for index in 0..<8 {
            ms = ms << 8 | UInt64(raw[index])
            seq = seq << 8 | UInt64(raw[8 + index])
        }
        self.init(ms: ms, seq: seq)
    }
}

/// Little helpers for the packed bytes of a stream node: LEB128 numbers and length-prefixed strings.
enum StreamPacking {
    @inline(__always)
    static func appendNumber(_ value: UInt64, to buffer: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            buffer.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        buffer.append(UInt8(value))
    }

    @inline(__always)
    static func readNumber(_ bytes: UnsafeRawBufferPointer, _ position: inout Int) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = bytes[position]
            position += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
    }

    @inline(__always)
    static func appendString(_ string: UnsafeRawBufferPointer, to buffer: inout [UInt8]) {
        appendNumber(UInt64(string.count), to: &buffer)
        buffer.append(contentsOf: string)
    }

    /// The string at `position` as (start, length); moves past it.
    @inline(__always)
    static func readString(_ bytes: UnsafeRawBufferPointer, _ position: inout Int) -> Range<Int> {
        let length = Int(readNumber(bytes, &position))
        let start = position
        position += length
        return start..<(start + length)
    }

    /// Bytes a decimal integer takes as a listpack entry (for Redis's node size accounting).
    @inline(__always)
    static func listpackIntegerSize(_ value: Int64) -> Int {
        let length = RDBListpack.integerEncodingSize(value)
        return length + RDBListpack.backlenSize(length)
    }
}

/// One node of a stream: up to `stream-node-max-entries` entries in one packed buffer, IDs as
/// deltas from the node's master ID, values only when an entry has the master entry's fields
/// (Redis's listpack node, in a format of our own). Deleted entries stay, flagged, until the node
/// empties, as in Redis, so node boundaries and `~` trimming match Redis's.
final class StreamNode {
    static let deletedFlag: UInt8 = 1
    static let sameFieldsFlag: UInt8 = 2

    /// The ID of the first entry ever added to this node (the radix-tree key in Redis).
    let master: StreamID
    /// The master entry's fields, length-prefixed.
    var masterFields: [UInt8] = []
    var masterFieldCount = 0
    /// Entries: flags, ms delta, zig-zag seq delta, then (field count and pairs) or values.
    var data: [UInt8] = []
    var live = 0
    var deleted = 0
    /// The ID of the last entry in the node, deleted or not.
    var last: StreamID
    /// What the node's entries take in Redis's listpack encoding (for `stream-node-max-bytes`).
    var entriesListpackBytes = 0
    var masterFieldsListpackBytes = 0

    init(master: StreamID) {
        self.master = master
        self.last = master
    }

    /// The size of the Redis listpack this node stands for.
    var listpackBytes: Int {
        RDBListpack.headerSize + 1 + StreamPacking.listpackIntegerSize(Int64(live))
            + StreamPacking.listpackIntegerSize(Int64(deleted))
            + StreamPacking.listpackIntegerSize(Int64(masterFieldCount)) + masterFieldsListpackBytes
            + StreamPacking.listpackIntegerSize(0) + entriesListpackBytes
    }

    func copy() -> StreamNode {
        let node = StreamNode(master: master)
        node.masterFields = masterFields
        node.masterFieldCount = masterFieldCount
        node.data = data
        node.live = live
        node.deleted = deleted
        node.last = last
        node.entriesListpackBytes = entriesListpackBytes
        node.masterFieldsListpackBytes = masterFieldsListpackBytes
        return node
    }

    /// One decoded entry header.
    struct Entry {
        var offset: Int
        var flags: UInt8
        var id: StreamID
        /// Where the values (same fields) or the field count start.
        var body: Int
        var next: Int
        var isDeleted: Bool { flags & StreamNode.deletedFlag != 0 }
        var hasMasterFields: Bool { flags & StreamNode.sameFieldsFlag != 0 }
    }

    @inline(__always)
    func entry(at offset: Int) -> Entry {
        data.withUnsafeBytes { bytes in
            var position = offset
            let flags = bytes[position]
            position += 1
            let msDelta = StreamPacking.readNumber(bytes, &position)
            let zigzag = StreamPacking.readNumber(bytes, &position)
            let seqDelta = (zigzag >> 1) ^ (0 &- (zigzag & 1))
            let id = StreamID(ms: master.ms &+ msDelta, seq: master.seq &+ seqDelta)
            let body = position
            var strings: Int
            if flags & StreamNode.sameFieldsFlag != 0 {
                strings = masterFieldCount
            } else {
                strings = Int(StreamPacking.readNumber(bytes, &position)) * 2
            }
            while strings > 0 {
                _ = StreamPacking.readString(bytes, &position)
                strings -= 1
            }
            return Entry(offset: offset, flags: flags, id: id, body: body, next: position)
        }
    }

    /// Offsets of every entry (for walking backwards).
    func offsets() -> [Int] {
        var result: [Int] = []
        result.reserveCapacity(live + deleted)
        var offset = 0
        while offset < data.count {
            result.append(offset)
            offset = entry(at: offset).next
        }
        return result
    }

    /// The number of field-value pairs of an entry.
    func pairCount(_ entry: Entry) -> Int {
        if entry.hasMasterFields { return masterFieldCount }
        return data.withUnsafeBytes { bytes in
            var position = entry.body
            return Int(StreamPacking.readNumber(bytes, &position))
        }
    }

    /// Calls `body` with each field and value of an entry, in order.
    func forEachPair(_ entry: Entry, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void) {
        data.withUnsafeBytes { bytes in
            var position = entry.body
            if entry.hasMasterFields {
                masterFields.withUnsafeBytes { fields in
                    var fieldPosition = 0
                    for _ in 0..<masterFieldCount {
                        let field = StreamPacking.readString(fields, &fieldPosition)
                        let value = StreamPacking.readString(bytes, &position)
                        body(UnsafeRawBufferPointer(rebasing: fields[field]), UnsafeRawBufferPointer(rebasing: bytes[value]))
                    }
                }
            } else {
                let count = Int(StreamPacking.readNumber(bytes, &position))
                for _ in 0..<count {
                    let field = StreamPacking.readString(bytes, &position)
                    let value = StreamPacking.readString(bytes, &position)
                    body(UnsafeRawBufferPointer(rebasing: bytes[field]), UnsafeRawBufferPointer(rebasing: bytes[value]))
                }
            }
        }
    }

    /// Whether `pairs` (field, value, ...) has exactly the master entry's fields.
    func hasMasterFields(_ pairs: [[UInt8]]) -> Bool {
        guard pairs.count / 2 == masterFieldCount else { return false }
        return masterFields.withUnsafeBytes { fields in
            var position = 0
            for index in stride(from: 0, to: pairs.count, by: 2) {
                let range = StreamPacking.readString(fields, &position)
                if !pairs[index].withUnsafeBytes({ $0.elementsEqual(UnsafeRawBufferPointer(rebasing: fields[range])) }) {
                    return false
                }
            }
            return true
        }
    }

    /// Appends an entry (the node's first entry sets the master fields).
    func append(_ id: StreamID, pairs: [[UInt8]], flags extra: UInt8 = 0) {
        let numberOfPairs = pairs.count / 2
        if masterFields.isEmpty && data.isEmpty {
            masterFieldCount = numberOfPairs
            for index in stride(from: 0, to: pairs.count, by: 2) {
                pairs[index].withUnsafeBytes {
                    StreamPacking.appendString($0, to: &masterFields)
                    masterFieldsListpackBytes += RDBListpack.entrySize($0)
                }
            }
        }
        let same = hasMasterFields(pairs)
        let flags = (same ? StreamNode.sameFieldsFlag : 0) | extra
        data.append(flags)
        let msDelta = id.ms &- master.ms
        let seqDelta = Int64(bitPattern: id.seq &- master.seq)
        StreamPacking.appendNumber(msDelta, to: &data)
        StreamPacking.appendNumber(UInt64(bitPattern: (seqDelta << 1) ^ (seqDelta >> 63)), to: &data)
        var listpack = StreamPacking.listpackIntegerSize(Int64(flags))
            + StreamPacking.listpackIntegerSize(Int64(bitPattern: msDelta))
            + StreamPacking.listpackIntegerSize(seqDelta)
        if !same {
            StreamPacking.appendNumber(UInt64(numberOfPairs), to: &data)
            listpack += StreamPacking.listpackIntegerSize(Int64(numberOfPairs))
        }
        for (index, element) in pairs.enumerated() where same ? index % 2 == 1 : true {
            element.withUnsafeBytes {
                StreamPacking.appendString($0, to: &data)
                listpack += RDBListpack.entrySize($0)
            }
        }
        let pieces = 3 + (same ? numberOfPairs : 1 + 2 * numberOfPairs)
        listpack += StreamPacking.listpackIntegerSize(Int64(pieces))
        entriesListpackBytes += listpack
        if extra & StreamNode.deletedFlag != 0 { deleted += 1 } else { live += 1 }
        last = id
    }

    /// Trims the buffers to their contents (a node that takes no more entries).
    func shrink() {
        if data.capacity > data.count { data = data.withUnsafeBufferPointer { Array($0) } }
        if masterFields.capacity > masterFields.count { masterFields = masterFields.withUnsafeBufferPointer { Array($0) } }
    }

    /// Flags the entry at `offset` deleted.
    func markDeleted(at offset: Int) {
        data[offset] |= StreamNode.deletedFlag
        live -= 1
        deleted += 1
    }

    /// The fields and values of an entry as a flat array.
    func pairs(_ entry: Entry) -> [[UInt8]] {
        var result: [[UInt8]] = []
        forEachPair(entry) { field, value in
            result.append(Array(field))
            result.append(Array(value))
        }
        return result
    }
}

/// A pending entry of a consumer group: delivered, not acknowledged yet.
final class StreamNACK {
    var deliveryTime: Int64
    var deliveryCount: Int
    unowned var consumer: StreamConsumer

    init(deliveryTime: Int64, deliveryCount: Int, consumer: StreamConsumer) {
        self.deliveryTime = deliveryTime
        self.deliveryCount = deliveryCount
        self.consumer = consumer
    }
}

/// IDs in order with a value each (a group's or a consumer's pending entries list): sorted chunks
/// of at most 256 IDs, so finding, adding and removing an ID costs a binary search plus a move
/// within one chunk (and acknowledging the oldest entries one by one stays cheap).
struct StreamIDMap<V> {
    private struct Chunk {
        var ids: [StreamID]
        var values: [V]
    }

    private static var maxChunk: Int { 256 }
    private var chunks: [Chunk] = []
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }
    var first: StreamID? { chunks.first?.ids.first }
    var last: StreamID? { chunks.last?.ids.last }

    /// Every ID, in order (O(n): persistence, copies, MEMORY USAGE).
    var ids: [StreamID] { chunks.flatMap(\.ids) }
    var values: [V] { chunks.flatMap(\.values) }

    /// The chunk that holds, or would hold, `id`: the last one starting at or before it.
    private func chunkIndex(_ id: StreamID) -> Int {
        var low = 0, high = chunks.count
        while low < high {
            let middle = (low + high) / 2
            if chunks[middle].ids[0] <= id { low = middle + 1 } else { high = middle }
        }
        return Swift.max(0, low - 1)
    }

    /// The position of the first ID >= `id` in `ids`.
    private static func lowerBound(_ ids: [StreamID], _ id: StreamID) -> Int {
        if let last = ids.last, last < id { return ids.count }
        var low = 0, high = ids.count
        while low < high {
            let middle = (low + high) / 2
            if ids[middle] < id { low = middle + 1 } else { high = middle }
        }
        return low
    }

    subscript(id: StreamID) -> V? {
        guard !chunks.isEmpty else { return nil }
        let chunk = chunkIndex(id)
        let position = Self.lowerBound(chunks[chunk].ids, id)
        guard position < chunks[chunk].ids.count, chunks[chunk].ids[position] == id else { return nil }
        return chunks[chunk].values[position]
    }

    mutating func insert(_ id: StreamID, _ value: V) {
        guard !chunks.isEmpty else {
            chunks = [Chunk(ids: [id], values: [value])]
            count = 1
            return
        }
        let chunk = chunkIndex(id)
        let position = Self.lowerBound(chunks[chunk].ids, id)
        if position < chunks[chunk].ids.count && chunks[chunk].ids[position] == id {
            chunks[chunk].values[position] = value
            return
        }
        chunks[chunk].ids.insert(id, at: position)
        chunks[chunk].values.insert(value, at: position)
        count += 1
        if chunks[chunk].ids.count > Self.maxChunk {
            let half = chunks[chunk].ids.count / 2
            let upper = Chunk(ids: Array(chunks[chunk].ids[half...]), values: Array(chunks[chunk].values[half...]))
            chunks[chunk].ids.removeSubrange(half...)
            chunks[chunk].values.removeSubrange(half...)
            chunks.insert(upper, at: chunk + 1)
        }
    }

    @discardableResult
    mutating func remove(_ id: StreamID) -> V? {
        guard !chunks.isEmpty else { return nil }
        let chunk = chunkIndex(id)
        let position = Self.lowerBound(chunks[chunk].ids, id)
        guard position < chunks[chunk].ids.count, chunks[chunk].ids[position] == id else { return nil }
        chunks[chunk].ids.remove(at: position)
        let value = chunks[chunk].values.remove(at: position)
        count -= 1
        if chunks[chunk].ids.isEmpty { chunks.remove(at: chunk) }
        return value
    }

    /// Calls `body` with each ID >= `start` and its value, in order, until it returns false.
    func forEach(from start: StreamID = .zero, _ body: (StreamID, V) -> Bool) {
        guard !chunks.isEmpty else { return }
        var chunk = chunkIndex(start)
        var position = Self.lowerBound(chunks[chunk].ids, start)
        while chunk < chunks.count {
            let current = chunks[chunk]
            while position < current.ids.count {
                if !body(current.ids[position], current.values[position]) { return }
                position += 1
            }
            chunk += 1
            position = 0
        }
    }

    /// Up to `limit` (0: all) entries from `start`, in order.
    func entries(from start: StreamID = .zero, limit: Int = 0) -> [(StreamID, V)] {
        var result: [(StreamID, V)] = []
        forEach(from: start) { id, value in
            result.append((id, value))
            return limit == 0 || result.count < limit
        }
        return result
    }
}

final class StreamConsumer {
    let name: [UInt8]
    var seenTime: Int64
    var pending = StreamIDMap<StreamNACK>()

    init(name: [UInt8], seenTime: Int64) {
        self.name = name
        self.seenTime = seenTime
    }
}

final class StreamGroup {
    /// entries-read when unknown (Redis's `SCG_INVALID_ENTRIES_READ`).
    static let invalidEntriesRead: Int64 = -1

    var lastID: StreamID
    var entriesRead: Int64
    var pending = StreamIDMap<StreamNACK>()
    var consumers: [[UInt8]: StreamConsumer] = [:]

    init(lastID: StreamID, entriesRead: Int64) {
        self.lastID = lastID
        self.entriesRead = entriesRead
    }

    /// Consumers in name order (Redis keeps them in a radix tree).
    var sortedConsumers: [StreamConsumer] {
        consumers.values.sorted { $0.name.lexicographicallyPrecedes($1.name) }
    }

    func consumer(_ name: [UInt8]) -> StreamConsumer? { consumers[name] }

    @discardableResult
    func createConsumer(_ name: [UInt8], now: Int64) -> StreamConsumer {
        let consumer = StreamConsumer(name: name, seenTime: now)
        consumers[name] = consumer
        return consumer
    }
}

/// A Redis stream: entries ordered by ID in nodes, plus consumer groups.
final class StreamObject {
    /// In ID order; a deque, so trimming from the front costs nothing per remaining node.
    var nodes = Deque<StreamNode>()
    /// Live entries.
    var length = 0
    var lastID = StreamID.zero
    var firstID = StreamID.zero
    var maxDeletedID = StreamID.zero
    var entriesAdded: UInt64 = 0
    var groups: [[UInt8]: StreamGroup] = [:]

    init() {}

    var sortedGroups: [([UInt8], StreamGroup)] {
        groups.map { ($0.key, $0.value) }.sorted { $0.0.lexicographicallyPrecedes($1.0) }
    }

    func copy() -> StreamObject {
        let stream = StreamObject()
        stream.nodes = Deque(nodes.map { $0.copy() })
        stream.length = length
        stream.lastID = lastID
        stream.firstID = firstID
        stream.maxDeletedID = maxDeletedID
        stream.entriesAdded = entriesAdded
        for (name, group) in groups {
            let copy = StreamGroup(lastID: group.lastID, entriesRead: group.entriesRead)
            for consumer in group.consumers.values {
                let newConsumer = copy.createConsumer(consumer.name, now: consumer.seenTime)
                for (id, nack) in consumer.pending.entries() {
                    let newNACK = StreamNACK(
                        deliveryTime: nack.deliveryTime, deliveryCount: nack.deliveryCount, consumer: newConsumer)
                    newConsumer.pending.insert(id, newNACK)
                    copy.pending.insert(id, newNACK)
                }
            }
            stream.groups[name] = copy
        }
        return stream
    }

    // MARK: - Adding

    /// Appends an entry with an ID greater than `lastID` (the caller checked).
    func append(_ id: StreamID, pairs: [[UInt8]], maxEntries: Int, maxBytes: Int) {
        var node = nodes.last
        if let tail = node {
            var limit = maxBytes
            if limit <= 0 || limit > 1 << 30 { limit = 1 << 30 }
            let total = pairs.reduce(0) { $0 + $1.count }
            if tail.listpackBytes + total >= limit {
                node = nil
            } else if maxEntries > 0 && tail.live + tail.deleted >= maxEntries {
                node = nil
            }
        }
        if node == nil {
            // The full tail gives back the spare capacity its buffer grew with.
            nodes.last?.shrink()
            let created = StreamNode(master: id)
            nodes.append(created)
            node = created
        }
        node!.append(id, pairs: pairs)
        length += 1
        entriesAdded += 1
        lastID = id
        if length == 1 { firstID = id }
    }

    // MARK: - Seeking

    /// The index of the last node whose master ID is <= `id`, or nil.
    func nodeIndex(atOrBefore id: StreamID) -> Int? {
        var low = 0, high = nodes.count
        while low < high {
            let middle = (low + high) / 2
            if nodes[middle].master <= id { low = middle + 1 } else { high = middle }
        }
        return low == 0 ? nil : low - 1
    }

    /// Calls `body` for each live entry with `start <= id <= end`, in ID order, until it returns false.
    func forward(from start: StreamID, to end: StreamID, _ body: (StreamNode, StreamNode.Entry) -> Bool) {
        guard start <= end else { return }
        var index = nodeIndex(atOrBefore: start) ?? 0
        while index < nodes.count {
            let node = nodes[index]
            if node.master > end { return }
            if node.last >= start {
                var offset = 0
                while offset < node.data.count {
                    let entry = node.entry(at: offset)
                    offset = entry.next
                    if entry.isDeleted || entry.id < start { continue }
                    if entry.id > end { return }
                    if !body(node, entry) { return }
                }
            }
            index += 1
        }
    }

    /// Like `forward`, from `end` down to `start`.
    func backward(from end: StreamID, to start: StreamID, _ body: (StreamNode, StreamNode.Entry) -> Bool) {
        guard start <= end, var index = nodeIndex(atOrBefore: end) else { return }
        while index >= 0 {
            let node = nodes[index]
            if node.last < start { return }
            for offset in node.offsets().reversed() {
                let entry = node.entry(at: offset)
                if entry.isDeleted || entry.id > end { continue }
                if entry.id < start { return }
                if !body(node, entry) { return }
            }
            index -= 1
        }
    }

    /// The live entry with this ID.
    func lookup(_ id: StreamID) -> (StreamNode, StreamNode.Entry)? {
        var found: (StreamNode, StreamNode.Entry)?
        forward(from: id, to: id) { node, entry in
            found = (node, entry)
            return false
        }
        return found
    }

    /// The first or last live entry's ID.
    func edgeID(first: Bool) -> StreamID? {
        var found: StreamID?
        if first {
            forward(from: .zero, to: .max) { _, entry in found = entry.id; return false }
        } else {
            backward(from: .max, to: .zero) { _, entry in found = entry.id; return false }
        }
        return found
    }

    // MARK: - Removing

    /// Deletes the live entry with this ID; false when there is none.
    func delete(_ id: StreamID) -> Bool {
        guard let index = nodeIndex(atOrBefore: id) else { return false }
        let node = nodes[index]
        guard node.last >= id else { return false }
        var offset = 0
        while offset < node.data.count {
            let entry = node.entry(at: offset)
            if entry.id == id {
                if entry.isDeleted { return false }
                node.markDeleted(at: offset)
                length -= 1
                if node.live == 0 { nodes.remove(at: index) }
                return true
            }
            if entry.id > id { return false }
            offset = entry.next
        }
        return false
    }

    enum TrimStrategy {
        case maxLength(Int)
        case minID(StreamID)
    }

    /// Trims from the front (Redis's `streamTrim`): whole nodes first; with `approximate`, only whole
    /// nodes; `limit` (0: none) caps how many entries are removed. Returns how many were.
    func trim(_ strategy: TrimStrategy, approximate: Bool, limit: Int) -> Int {
        var removed = 0
        while let node = nodes.first {
            if case .maxLength(let max) = strategy, length <= max { break }
            let entries = node.live
            if limit > 0 && removed + entries > limit { break }
            let removeNode: Bool
            switch strategy {
            case .maxLength(let max): removeNode = length - entries >= max
            case .minID(let id): removeNode = node.last < id
            }
            if removeNode {
                nodes.removeFirst()
                length -= entries
                removed += entries
                continue
            }
            if approximate { break }
            var offset = 0
            while offset < node.data.count {
                let entry = node.entry(at: offset)
                switch strategy {
                case .maxLength(let max): if length <= max { offset = node.data.count; continue }
                case .minID(let id): if entry.id >= id { offset = node.data.count; continue }
                }
                if !entry.isDeleted {
                    node.markDeleted(at: offset)
                    length -= 1
                    removed += 1
                }
                offset = entry.next
            }
            if node.live == 0 { nodes.removeFirst() }
            break
        }
        firstID = length == 0 ? .zero : (edgeID(first: true) ?? .zero)
        return removed
    }

    // MARK: - Groups' counters

    /// Whether a deleted entry may lie between `start` and `end` (nil: unbounded).
    func rangeHasTombstones(from start: StreamID?, to end: StreamID? = nil) -> Bool {
        if length == 0 || maxDeletedID.isZero { return false }
        if firstID > maxDeletedID { return false }
        return (start ?? .zero) <= maxDeletedID && maxDeletedID <= (end ?? .max)
    }

    /// The logical position of `id` among every entry ever added, when it can be told.
    func estimatedEntriesRead(upTo id: StreamID) -> Int64 {
        if entriesAdded == 0 { return 0 }
        if length == 0 && id <= lastID { return Int64(entriesAdded) }
        if id == lastID { return Int64(entriesAdded) }
        if id > lastID { return StreamGroup.invalidEntriesRead }
        if maxDeletedID.isZero || maxDeletedID < firstID {
            if id < firstID { return Int64(entriesAdded) - Int64(length) }
            if id == firstID { return Int64(entriesAdded) - Int64(length) + 1 }
        }
        return StreamGroup.invalidEntriesRead
    }

    /// A group's lag, nil when it cannot be told.
    func lag(of group: StreamGroup) -> Int64? {
        if entriesAdded == 0 { return 0 }
        if group.entriesRead != StreamGroup.invalidEntriesRead && !rangeHasTombstones(from: group.lastID) {
            return Int64(entriesAdded) - group.entriesRead
        }
        let read = estimatedEntriesRead(upTo: group.lastID)
        return read == StreamGroup.invalidEntriesRead ? nil : Int64(entriesAdded) - read
    }

    /// The number of nodes of Redis's radix tree over the nodes' 16-byte keys: a compressed trie
    /// (one node per run of bytes shared by every key below it, one per branching point, one empty
    /// node per key end), which is the shape Redis's rax keeps for same-length keys.
    var radixTreeNodes: Int { Self.radixTreeNodes(nodes.map(\.master)) }

    /// The node count of Redis's radix tree over these IDs (in order) as 16-byte keys.
    static func radixTreeNodes(_ ids: [StreamID]) -> Int {
        if ids.isEmpty { return 1 }
        let keys = ids.map(\.raw)
        func count(_ range: Range<Int>, _ depth: Int) -> Int {
            if depth == 16 { return 1 }
            let first = keys[range.lowerBound], last = keys[range.upperBound - 1]
            var shared = 0
            while depth + shared < 16 && first[depth + shared] == last[depth + shared] { shared += 1 }
            if shared > 0 { return 1 + count(range, depth + shared) }
            var total = 1
            var start = range.lowerBound
            while start < range.upperBound {
                var end = start + 1
                while end < range.upperBound && keys[end][depth] == keys[start][depth] { end += 1 }
                total += count(start..<end, depth + 1)
                start = end
            }
            return total
        }
        return count(0..<keys.count, 0)
    }

    /// Bytes the nodes take, as Redis's listpacks would.
    var listpackBytes: Int { nodes.reduce(0) { $0 + $1.listpackBytes } }
}
