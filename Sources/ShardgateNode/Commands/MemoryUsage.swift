import RDB

/// MEMORY USAGE key [SAMPLES count]: what the key and its value would take in Redis 7.0, in bytes.
///
/// The node's own layout differs from Redis's (values in slots of one table, small collections in
/// a length-prefixed pack, lists in one deque), and its allocator is not jemalloc, so the figure is
/// computed from Redis's layout instead: the structures Redis would allocate for this value in its
/// encoding (object header, sds strings with their headers, dict entries and bucket arrays,
/// listpacks with Redis's entry sizes, quicklist nodes, skiplist nodes), each rounded up to a
/// jemalloc size class. It is an estimate in the same sense as Redis's: aggregate types are measured
/// on their first `count` elements (5 by default, 0 for all) and extrapolated. Sizes then compare
/// with redis-server's for the same data, and grow as the value grows.
enum MemoryUsage {
    static let defaultSamples = 5

    static func command(_ call: inout CommandCall) throws(CommandError) {
        var samples = defaultSamples
        var index = 3
        while index < call.count {
            guard call.matches(index, "samples"), index + 1 < call.count else { throw .syntax }
            let count = try call.integer(index + 1)
            guard count >= 0 else { throw .syntax }
            samples = count == 0 ? Int.max : count
            index += 2
        }
        // Like Redis, a key whose TTL passed but that is still stored is measured.
        guard let slot = call.argument(2, { call.database.storedSlot($0) }) else { return call.client.null() }
        let database = call.database
        let value = database.value(at: slot)
        let size = estimate(value, samples: samples, listFill: call.node.settings.listMaxListpackSize)
            + sdsAllocation(database.withKey(slot: slot) { $0.count }) + dictEntry
        call.client.integer(size)
    }

    // MARK: Redis's structure sizes (64-bit)

    static let objectHeader = 16
    static let dictEntry = 24
    static let dict = 56
    static let quicklist = 40
    static let quicklistNode = 32
    static let skiplistSet = 16
    static let skiplist = 32
    /// A skiplist node is 24 bytes plus 16 per level; levels are 1 with probability 3/4, so an
    /// average node costs about this much once rounded to its size class.
    static let averageSkiplistNode = 52
    /// The skiplist's header node, with all 32 levels.
    static let skiplistHeader = allocation(24 + 32 * 16)
    /// A listpack's header (total bytes, entry count) and end marker.
    static let listpackOverhead = 7

    /// The jemalloc size class `bytes` is served from: 8, then multiples of 16 up to 128, then four
    /// classes per doubling.
    static func allocation(_ bytes: Int) -> Int {
        if bytes <= 8 { return 8 }
        if bytes <= 128 { return (bytes + 15) & ~15 }
        let power = Int.bitWidth - (bytes - 1).leadingZeroBitCount  // 2^power >= bytes > 2^(power-1)
        let step = 1 << (power - 3)
        return (bytes + step - 1) / step * step
    }

    /// An sds string of `length` bytes: the smallest header that holds its length, the bytes, the
    /// terminating zero.
    static func sdsAllocation(_ length: Int) -> Int {
        let header: Int
        switch length {
        case ..<32: header = 1
        case ..<256: header = 3
        case ..<65_536: header = 5
        case ..<(1 << 32): header = 9
        default: header = 17
        }
        return allocation(header + length + 1)
    }

    /// A dict's bucket array: Redis grows it to the next power of two (at least 4) once it is full.
    static func dictBuckets(_ count: Int) -> Int {
        var size = 4
        while size < count { size <<= 1 }
        return size * 8
    }

    /// The value's bytes in Redis's encoding for it (the key and its dict entry not included).
    static func estimate(_ value: Value, samples: Int, listFill: Int) -> Int {
        switch value {
        case .string(let bytes):
            return stringSize(bytes)
        case .list(let list):
            return listSize(list, samples: samples, fill: listFill)
        case .set(let set):
            if set.isIntset {
                let width = set.integers.reduce(2) { width, value in
                    Int16(exactly: value) != nil ? width : Int32(exactly: value) != nil ? max(width, 4) : 8
                }
                return objectHeader + allocation(8 + set.integers.count * width)
            }
            var sampled = 0, bytes = 0
            if let table = set.table {
                for slot in table.occupied.prefix(samples) {
                    bytes += dictEntry + table.withKey(at: slot) { sdsAllocation($0.count) }
                    sampled += 1
                }
            }
            return objectHeader + dict + dictBuckets(set.count) + extrapolate(bytes, sampled, to: set.count)
        case .hash(let hash):
            guard let table = hash.table else {
                var bytes = listpackOverhead
                hash.forEach { field, value in
                    bytes += RDBListpack.entrySize(field) + RDBListpack.entrySize(value)
                }
                return objectHeader + allocation(bytes)
            }
            var sampled = 0, bytes = 0
            for slot in table.occupied.prefix(samples) {
                bytes += dictEntry + table.withKey(at: slot) { sdsAllocation($0.count) } + sdsAllocation(table[slot: slot].count)
                sampled += 1
            }
            return objectHeader + dict + dictBuckets(hash.count) + extrapolate(bytes, sampled, to: hash.count)
        case .sortedSet(let sortedSet):
            guard let scores = sortedSet.scores else {
                var bytes = listpackOverhead
                sortedSet.forEach(ranks: 0..<sortedSet.count, reverse: false) { member, score in
                    bytes += RDBListpack.entrySize(member)
                    bytes += Array(DoubleFormat.storage(score).utf8).withUnsafeBytes { RDBListpack.entrySize($0) }
                }
                return objectHeader + allocation(bytes)
            }
            var sampled = 0, bytes = 0
            for slot in scores.occupied.prefix(samples) {
                bytes += scores.withKey(at: slot) { sdsAllocation($0.count) } + dictEntry + averageSkiplistNode
                sampled += 1
            }
            return objectHeader + skiplistSet + skiplist + dict + dictBuckets(sortedSet.count) + skiplistHeader
                + extrapolate(bytes, sampled, to: sortedSet.count)
        case .stream(let stream):
            // Redis: the stream header, its radix trees (16 bytes per key and 244 per node, as
            // Redis's `streamRadixTreeMemoryUsage` counts them), the listpacks (full ones trimmed to
            // their size, the tail one preallocated to 4 KB), the groups, NACKs and consumers.
            func radixTree(_ ids: [StreamID]) -> Int { ids.count * 16 + StreamObject.radixTreeNodes(ids) * 244 }
            var size = objectHeader + 80 + radixTree(stream.nodes.map(\.master))
            for (index, node) in stream.nodes.enumerated() {
                let bytes = node.listpackBytes
                size += allocation(index == stream.nodes.count - 1 ? max(bytes, 4096) : bytes)
            }
            for group in stream.groups.values {
                size += 40 + radixTree(group.pending.ids) + group.pending.count * 24
                for consumer in group.consumers.values {
                    size += 24 + consumer.name.count + radixTree(consumer.pending.ids)
                }
            }
            return size
        }
    }

    private static func extrapolate(_ bytes: Int, _ sampled: Int, to count: Int) -> Int {
        sampled == 0 ? 0 : Int(Double(bytes) / Double(sampled) * Double(count))
    }

    /// Redis's string encodings: an integer inside the object header, an "embstr" (header and
    /// bytes in one allocation) up to 44 bytes, else an object pointing at an sds.
    static func stringSize(_ bytes: [UInt8]) -> Int {
        if bytes.count <= 20 && bytes.withUnsafeBytes({ RedisNumber.isCanonicalInteger($0) }) { return objectHeader }
        if bytes.count <= 44 { return allocation(objectHeader + 3 + bytes.count + 1) }
        return objectHeader + sdsAllocation(bytes.count)
    }

    /// How Redis 7.0 would split a list into quicklist nodes, as `list-max-listpack-size` (`fill`)
    /// says: a negative fill is a byte limit per node of 4, 8, 16, 32 or 64 KB, a positive one an
    /// element count with an 8 KB safety limit. Measures the first `maxNodes` nodes only.
    struct QuicklistShape {
        /// Nodes measured.
        var nodes = 0
        /// Elements in those nodes.
        var elements = 0
        /// Their listpacks' bytes.
        var listpackBytes = 0
        /// Their allocations: node structures and listpacks, rounded to size classes.
        var allocated = 0
    }

    static func quicklistShape(_ list: ListObject, fill: Int, maxNodes: Int = Int.max) -> QuicklistShape {
        let byteLimit = fill < 0 ? 4096 << min(-fill - 1, 4) : 8192
        let countLimit = fill > 0 ? fill : Int.max
        var shape = QuicklistShape()
        var nodeBytes = 0, nodeCount = 0
        func closeNode() {
            shape.nodes += 1
            shape.elements += nodeCount
            shape.listpackBytes += nodeBytes
            shape.allocated += quicklistNode + allocation(nodeBytes)
            nodeBytes = 0
            nodeCount = 0
        }
        for element in list.elements {
            let entry = element.withUnsafeBytes { RDBListpack.entrySize($0) }
            if nodeCount > 0 && (nodeCount >= countLimit || nodeBytes + entry > byteLimit) {
                closeNode()
                if shape.nodes >= maxNodes { return shape }
            }
            if nodeCount == 0 { nodeBytes = listpackOverhead }
            nodeBytes += entry
            nodeCount += 1
        }
        if nodeCount > 0 { closeNode() }
        return shape
    }

    /// A quicklist: its first `samples` nodes measured, the rest extrapolated per element.
    static func listSize(_ list: ListObject, samples: Int, fill: Int) -> Int {
        let shape = quicklistShape(list, fill: fill, maxNodes: samples)
        guard shape.elements > 0 else { return objectHeader + quicklist }
        let remaining = list.elements.count - shape.elements
        let perElement = Double(shape.allocated) / Double(shape.elements)
        return objectHeader + quicklist + shape.allocated + Int(perElement * Double(remaining))
    }
}
