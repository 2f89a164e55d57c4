/// Writes the decimal form of `value` into a stack buffer and calls `body` with it (intset members
/// in replies, without a String per element).
@inline(__always)
@discardableResult
func withDecimal<T>(_ value: Int64, _ body: (UnsafeRawBufferPointer) -> T) -> T {
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
        var magnitude = value.magnitude
        var index = 20
        repeat {
            index -= 1
            buffer[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
            magnitude /= 10
        } while magnitude > 0
        if value < 0 {
            index -= 1
            buffer[index] = UInt8(ascii: "-")
        }
        return body(UnsafeRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(buffer)[index..<20]))
    }
}

// MARK: - Hash

/// A Redis hash, encoded as Redis 7.0 encodes it: a listpack of field, value, field, value… in
/// insertion order while it has at most `hash-max-listpack-entries` fields and every field and
/// value fits `hash-max-listpack-value` bytes, a hash table after that (never converted back).
final class HashObject {
    /// Field, value, field, value… while small.
    private(set) var packed = Listpack()
    /// Field → value once large.
    private(set) var table: KeyTable<[UInt8]>?

    init() {}

    /// Builds a hash from (field, value) pairs with the encoding Redis would pick for them.
    init(pairs: some Sequence<([UInt8], [UInt8])>, settings: NodeSettings) {
        for (field, value) in pairs {
            field.withUnsafeBytes { f in
                value.withUnsafeBytes { v in
                    convertIfTooLong(f.count, v.count, maxValue: settings.hashMaxListpackValue)
                    _ = set(f, v, maxEntries: settings.hashMaxListpackEntries)
                }
            }
        }
        packed.shrink()
    }

    var isPacked: Bool { table == nil }
    var encodingName: String { isPacked ? "listpack" : "hashtable" }
    var count: Int { table?.count ?? packed.count / 2 }

    func copy() -> HashObject {
        let copy = HashObject()
        copy.packed = packed
        copy.table = table
        return copy
    }

    /// Every (field, value), in the encoding's order.
    var pairs: [([UInt8], [UInt8])] {
        var result: [([UInt8], [UInt8])] = []
        result.reserveCapacity(count)
        forEach { field, value in result.append((Array(field), Array(value))) }
        return result
    }

    /// Offset of `field`'s entry in the listpack.
    private func packedFind(_ field: UnsafeRawBufferPointer) -> Int? {
        var offset = 0
        while offset < packed.endOffset {
            if packed.entry(at: offset, equals: field) { return offset }
            offset = packed.next(packed.next(offset))
        }
        return nil
    }

    func contains(_ field: UnsafeRawBufferPointer) -> Bool {
        if let table { return table.find(field) != nil }
        return packedFind(field) != nil
    }

    /// Calls `body` with the value of `field`; nil when absent.
    func withValue<T>(_ field: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> T) -> T? {
        if let table {
            guard let slot = table.find(field) else { return nil }
            return table[slot: slot].withUnsafeBytes(body)
        }
        guard let offset = packedFind(field) else { return nil }
        return packed.withEntry(at: packed.next(offset), body)
    }

    func value(_ field: UnsafeRawBufferPointer) -> [UInt8]? { withValue(field) { Array($0) } }

    /// Converts to a table when a field or value about to be written is longer than the listpack
    /// limit (`hashTypeTryConversion`).
    func convertIfTooLong(_ lengths: Int..., maxValue: Int) {
        guard isPacked else { return }
        for length in lengths where length > maxValue {
            convertToTable()
            return
        }
    }

    func convertToTable() {
        guard isPacked else { return }
        var table = KeyTable<[UInt8]>()
        var offset = 0
        while offset < packed.endOffset {
            let valueOffset = packed.next(offset)
            table.insert(packed.element(at: offset), packed.element(at: valueOffset))
            offset = packed.next(valueOffset)
        }
        self.table = table
        packed = Listpack()
    }

    /// Sets `field` to `value`; true when the field is new.
    @discardableResult
    func set(_ field: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, maxEntries: Int) -> Bool {
        if table != nil {
            let hash = KeyTable<[UInt8]>.hash(field)
            if let slot = table!.find(field, hash: hash) {
                table![slot: slot] = Array(value)
                return false
            }
            table!.insert(Array(field), Array(value), hash: hash)
            return true
        }
        if let offset = packedFind(field) {
            packed.replace(at: packed.next(offset), with: value)
            return false
        }
        packed.append(field)
        packed.append(value)
        if count > maxEntries { convertToTable() }
        return true
    }

    /// Sets with the conversion checks of `hashTypeSet` (HINCRBY*, which skip the argument check).
    @discardableResult
    func set(_ field: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, settings: NodeSettings) -> Bool {
        convertIfTooLong(field.count, value.count, maxValue: settings.hashMaxListpackValue)
        return set(field, value, maxEntries: settings.hashMaxListpackEntries)
    }

    /// Removes `field`; true when it existed.
    @discardableResult
    func remove(_ field: UnsafeRawBufferPointer) -> Bool {
        if table != nil { return table!.remove(field) != nil }
        guard let offset = packedFind(field) else { return false }
        packed.remove(at: offset, entries: 2)
        return true
    }

    /// Calls `body` for every (field, value), listpack order or table storage order.
    func forEach(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void) {
        if let table {
            for slot in table.occupied {
                table.withKey(at: slot) { field in table[slot: slot].withUnsafeBytes { body(field, $0) } }
            }
            return
        }
        var offset = 0
        while offset < packed.endOffset {
            let valueOffset = packed.next(offset)
            packed.withEntry(at: offset) { field in packed.withEntry(at: valueOffset) { body(field, $0) } }
            offset = packed.next(valueOffset)
        }
    }

    /// A uniformly random (field, value).
    func randomPair<G: RandomNumberGenerator>(using generator: inout G) -> ([UInt8], [UInt8]) {
        if let table {
            let slot = table.randomSlot(using: &generator)!
            return (table.key(at: slot), table[slot: slot])
        }
        let index = Int.random(in: 0..<count, using: &generator)
        var offset = 0
        for _ in 0..<index { offset = packed.next(packed.next(offset)) }
        return (packed.element(at: offset), packed.element(at: packed.next(offset)))
    }

    /// One HSCAN step over the table (field, value pairs); a listpack returns everything with cursor 0.
    func scan(cursor: UInt64, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void) -> UInt64 {
        guard let table else {
            forEach(body)
            return 0
        }
        return table.scan(cursor: cursor) { slot in
            table.withKey(at: slot) { field in table[slot: slot].withUnsafeBytes { body(field, $0) } }
        }
    }
}

// MARK: - Set

/// A Redis set, encoded as Redis 7.0 encodes it: a sorted array of integers ("intset") while every
/// member is the canonical text of an Int64 and there are at most `set-max-intset-entries`, a hash
/// table otherwise (never converted back).
final class SetObject {
    private(set) var integers: [Int64] = []
    private(set) var table: KeyTable<Void>?

    /// An empty set in the encoding Redis would create for a first member `first`.
    init(first: UnsafeRawBufferPointer? = nil) {
        if let first, RedisNumber.parseInteger(first) == nil { table = KeyTable() }
    }

    /// Builds a set with the encoding Redis would pick for these members.
    init(members: some Sequence<[UInt8]>, settings: NodeSettings) {
        for member in members {
            member.withUnsafeBytes { _ = add($0, maxIntset: settings.setMaxIntsetEntries) }
        }
    }

    var isIntset: Bool { table == nil }
    var encodingName: String { isIntset ? "intset" : "hashtable" }
    var count: Int { table?.count ?? integers.count }

    func copy() -> SetObject {
        let copy = SetObject()
        copy.integers = integers
        copy.table = table
        return copy
    }

    /// Every member, in the encoding's order.
    var members: [[UInt8]] {
        var result: [[UInt8]] = []
        result.reserveCapacity(count)
        forEach { result.append(Array($0)) }
        return result
    }

    private func integerIndex(_ value: Int64) -> (found: Bool, index: Int) {
        var low = 0
        var high = integers.count
        while low < high {
            let middle = (low + high) / 2
            if integers[middle] < value { low = middle + 1 } else { high = middle }
        }
        return (low < integers.count && integers[low] == value, low)
    }

    func contains(_ member: UnsafeRawBufferPointer) -> Bool {
        if let table { return table.find(member) != nil }
        guard let value = RedisNumber.parseInteger(member) else { return false }
        return integerIndex(Int64(value)).found
    }

    func convertToTable() {
        guard isIntset else { return }
        var table = KeyTable<Void>()
        for value in integers { _ = withDecimal(value) { table.insert(Array($0), ()) } }
        self.table = table
        integers = []
    }

    /// Adds `member`; true when it was not there (`setTypeAdd`).
    @discardableResult
    func add(_ member: UnsafeRawBufferPointer, maxIntset: Int) -> Bool {
        if table == nil {
            if let value = RedisNumber.parseInteger(member) {
                let (found, index) = integerIndex(Int64(value))
                if found { return false }
                integers.insert(Int64(value), at: index)
                if integers.count > min(maxIntset, 1 << 30) { convertToTable() }
                return true
            }
            convertToTable()
        }
        let hash = KeyTable<Void>.hash(member)
        if table!.find(member, hash: hash) != nil { return false }
        table!.insert(Array(member), (), hash: hash)
        return true
    }

    /// Removes `member`; true when it was there.
    @discardableResult
    func remove(_ member: UnsafeRawBufferPointer) -> Bool {
        if table != nil { return table!.remove(member) != nil }
        guard let value = RedisNumber.parseInteger(member) else { return false }
        let (found, index) = integerIndex(Int64(value))
        if found { integers.remove(at: index) }
        return found
    }

    /// Calls `body` for every member: ascending integers, or table storage order.
    func forEach(_ body: (UnsafeRawBufferPointer) -> Void) {
        if let table {
            for slot in table.occupied { table.withKey(at: slot, body) }
        } else {
            for value in integers { withDecimal(value, body) }
        }
    }

    func randomMember<G: RandomNumberGenerator>(using generator: inout G) -> [UInt8] {
        if let table { return table.key(at: table.randomSlot(using: &generator)!) }
        return withDecimal(integers.randomElement(using: &generator)!) { Array($0) }
    }

    /// One SSCAN step; an intset returns everything with cursor 0.
    func scan(cursor: UInt64, _ body: (UnsafeRawBufferPointer) -> Void) -> UInt64 {
        guard let table else {
            forEach(body)
            return 0
        }
        return table.scan(cursor: cursor) { slot in table.withKey(at: slot, body) }
    }
}

// MARK: - Sorted set

/// A Redis sorted set, encoded as Redis 7.0 encodes it: a listpack of member, score, member,
/// score… in (score, member) order while it has at most `zset-max-listpack-entries` members of at
/// most `zset-max-listpack-value` bytes, then an ordered index plus a member → score table ("skiplist").
final class SortedSetObject {
    /// Member, score (8-byte Double), … in order, while small.
    private(set) var packed = Listpack()
    private(set) var index: ScoreIndex?
    private(set) var scores: KeyTable<Double>?

    init() {}

    /// An empty sorted set in the encoding ZADD creates for a first member of `length` bytes.
    init(firstMemberLength length: Int, settings: NodeSettings) {
        if settings.zsetMaxListpackEntries == 0 || length > settings.zsetMaxListpackValue { convertToSkiplist() }
    }

    /// Builds a sorted set from (member, score) pairs (any order) with Redis's choice of encoding.
    init(entries: some Sequence<([UInt8], Double)>, settings: NodeSettings) {
        // A member given twice keeps its last score, as repeated ZADDs would.
        var latest: [[UInt8]: Double] = [:]
        for (member, score) in entries { latest[member] = score }
        var items = latest.map { ScoreIndex.Item(score: $0.value, member: $0.key) }
        let longest = items.reduce(0) { max($0, $1.member.count) }
        items.sort { a, b in
            if a.score != b.score { return a.score < b.score }
            return a.member.withUnsafeBytes { x in b.member.withUnsafeBytes { y in compareBytes(x, y) } } < 0
        }
        if items.count > settings.zsetMaxListpackEntries || longest > settings.zsetMaxListpackValue {
            var table = KeyTable<Double>()
            for item in items { table.insert(item.member, item.score) }
            scores = table
            index = ScoreIndex(sorted: items)
        } else {
            for var item in items {
                if item.score == 0 { item.score = 0 }
                packed.append(item.member)
                withUnsafeBytes(of: item.score.bitPattern) { packed.append($0) }
            }
            packed.shrink()
        }
    }

    var isPacked: Bool { index == nil }
    var encodingName: String { isPacked ? "listpack" : "skiplist" }
    var count: Int { index?.count ?? packed.count / 2 }

    func copy() -> SortedSetObject {
        let copy = SortedSetObject()
        copy.packed = packed
        copy.index = index
        copy.scores = scores
        return copy
    }

    /// Every (member, score) in order.
    var entries: [([UInt8], Double)] {
        var result: [([UInt8], Double)] = []
        result.reserveCapacity(count)
        forEach(ranks: 0..<count, reverse: false) { member, score in result.append((Array(member), score)) }
        return result
    }

    private func packedFind(_ member: UnsafeRawBufferPointer) -> (offset: Int, score: Double)? {
        var offset = 0
        while offset < packed.endOffset {
            let scoreOffset = packed.next(offset)
            if packed.entry(at: offset, equals: member) { return (offset, packed.double(at: scoreOffset)) }
            offset = packed.next(scoreOffset)
        }
        return nil
    }

    func score(_ member: UnsafeRawBufferPointer) -> Double? {
        if let scores {
            guard let slot = scores.find(member) else { return nil }
            return scores[slot: slot]
        }
        return packedFind(member)?.score
    }

    func convertToSkiplist() {
        guard isPacked else { return }
        var items: [ScoreIndex.Item] = []
        var table = KeyTable<Double>()
        var offset = 0
        while offset < packed.endOffset {
            let scoreOffset = packed.next(offset)
            let member = packed.element(at: offset)
            let score = packed.double(at: scoreOffset)
            items.append(ScoreIndex.Item(score: score, member: member))
            table.insert(member, score)
            offset = packed.next(scoreOffset)
        }
        index = ScoreIndex(sorted: items)
        scores = table
        packed = Listpack()
    }

    private func packedInsert(_ member: UnsafeRawBufferPointer, _ score: Double) {
        // A listpack keeps the score as text that reads back -0 as 0.
        let score = score == 0 ? 0 : score
        var offset = 0
        while offset < packed.endOffset {
            let scoreOffset = packed.next(offset)
            let existing = packed.double(at: scoreOffset)
            if existing > score || (existing == score && packed.withEntry(at: offset, { compareBytes($0, member) }) > 0) {
                break
            }
            offset = packed.next(scoreOffset)
        }
        var encoded: [UInt8] = []
        encoded.reserveCapacity(member.count + 11)
        Listpack.encode(member, into: &encoded)
        Listpack.encode(score, into: &encoded)
        packed.insert(encoded: encoded, entries: 2, at: offset)
    }

    /// Inserts a member known to be absent, converting to a skiplist when the listpack would
    /// outgrow its limits.
    func insert(_ member: UnsafeRawBufferPointer, score: Double, settings: NodeSettings) {
        if isPacked {
            if count + 1 > settings.zsetMaxListpackEntries || member.count > settings.zsetMaxListpackValue {
                convertToSkiplist()
            } else {
                packedInsert(member, score)
                return
            }
        }
        let bytes = Array(member)
        scores!.insert(bytes, score)
        index!.insert(score: score, member: bytes)
    }

    /// Changes the score of a present member.
    func update(_ member: UnsafeRawBufferPointer, from old: Double, to score: Double) {
        guard old != score else { return }
        if isPacked {
            if let (offset, _) = packedFind(member) { packed.remove(at: offset, entries: 2) }
            packedInsert(member, score)
            return
        }
        let slot = scores!.find(member)!
        scores![slot: slot] = score
        let bytes = scores!.key(at: slot)
        index!.remove(score: old, member: member)
        index!.insert(score: score, member: bytes)
    }

    /// Removes `member`; true when it was present.
    @discardableResult
    func remove(_ member: UnsafeRawBufferPointer) -> Bool {
        if isPacked {
            guard let (offset, _) = packedFind(member) else { return false }
            packed.remove(at: offset, entries: 2)
            return true
        }
        guard let slot = scores!.find(member) else { return false }
        let score = scores!.remove(at: slot)
        index!.remove(score: score, member: member)
        return true
    }

    /// 0-based rank of `member` in ascending order.
    func rank(_ member: UnsafeRawBufferPointer) -> Int? {
        if let scores, let index {
            guard let slot = scores.find(member) else { return nil }
            return index.rank(score: scores[slot: slot], member: member)
        }
        var offset = 0
        var rank = 0
        while offset < packed.endOffset {
            if packed.entry(at: offset, equals: member) { return rank }
            offset = packed.next(packed.next(offset))
            rank += 1
        }
        return nil
    }

    /// The number of leading members for which `isBefore(score, member)` holds (a prefix of the order).
    func lowerBound(_ isBefore: (Double, UnsafeRawBufferPointer) -> Bool) -> Int {
        if let index {
            return index.lowerBound { item in item.member.withUnsafeBytes { isBefore(item.score, $0) } }
        }
        var offset = 0
        var rank = 0
        while offset < packed.endOffset {
            let scoreOffset = packed.next(offset)
            let score = packed.double(at: scoreOffset)
            if !packed.withEntry(at: offset, { isBefore(score, $0) }) { break }
            offset = packed.next(scoreOffset)
            rank += 1
        }
        return rank
    }

    /// Calls `body` for the members with ranks in `ranks` (ascending ranks), walking forward or backward.
    func forEach(ranks: Range<Int>, reverse: Bool, _ body: (UnsafeRawBufferPointer, Double) -> Void) {
        guard !ranks.isEmpty else { return }
        if let index {
            index.forEach(ranks: ranks, reverse: reverse) { item in item.member.withUnsafeBytes { body($0, item.score) } }
            return
        }
        if reverse {
            let offsets = packed.offsets()
            for rank in ranks.reversed() {
                let offset = offsets[rank * 2]
                let score = packed.double(at: offsets[rank * 2 + 1])
                packed.withEntry(at: offset) { body($0, score) }
            }
            return
        }
        var offset = 0
        for _ in 0..<ranks.lowerBound { offset = packed.next(packed.next(offset)) }
        for _ in ranks {
            let scoreOffset = packed.next(offset)
            let score = packed.double(at: scoreOffset)
            packed.withEntry(at: offset) { body($0, score) }
            offset = packed.next(scoreOffset)
        }
    }

    /// The member and score at `rank`.
    func entry(atRank rank: Int) -> ([UInt8], Double) {
        if let index {
            let item = index.item(atRank: rank)
            return (item.member, item.score)
        }
        var offset = 0
        for _ in 0..<rank { offset = packed.next(packed.next(offset)) }
        let scoreOffset = packed.next(offset)
        return (packed.element(at: offset), packed.double(at: scoreOffset))
    }

    /// Removes the members with ranks in `ranks`; returns how many.
    @discardableResult
    func removeRanks(_ ranks: Range<Int>) -> Int {
        guard !ranks.isEmpty else { return 0 }
        if index != nil {
            let removed = index!.removeRanks(ranks)
            for item in removed { item.member.withUnsafeBytes { _ = scores!.remove($0) } }
            return removed.count
        }
        var offset = 0
        for _ in 0..<ranks.lowerBound { offset = packed.next(packed.next(offset)) }
        packed.remove(at: offset, entries: ranks.count * 2)
        return ranks.count
    }

    func randomEntry<G: RandomNumberGenerator>(using generator: inout G) -> ([UInt8], Double) {
        if let scores {
            let slot = scores.randomSlot(using: &generator)!
            return (scores.key(at: slot), scores[slot: slot])
        }
        return entry(atRank: Int.random(in: 0..<count, using: &generator))
    }

    /// One ZSCAN step (member, score); a listpack returns everything with cursor 0.
    func scan(cursor: UInt64, _ body: (UnsafeRawBufferPointer, Double) -> Void) -> UInt64 {
        guard let scores else {
            forEach(ranks: 0..<count, reverse: false, body)
            return 0
        }
        return scores.scan(cursor: cursor) { slot in scores.withKey(at: slot) { body($0, scores[slot: slot]) } }
    }
}
