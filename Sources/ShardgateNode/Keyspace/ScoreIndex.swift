#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Byte-string order as Redis's `sdscmp`: memcmp over the common prefix, then the shorter first.
@inline(__always)
func compareBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
    let common = min(a.count, b.count)
    if common > 0 {
        let result = memcmp(a.baseAddress!, b.baseAddress!, common)
        if result != 0 { return Int(result) }
    }
    return a.count - b.count
}

/// The ordered half of a large sorted set (where Redis uses a skiplist): (score, member) pairs in
/// score-then-member order, with rank lookups in O(log n).
///
/// Items live in sorted chunks of at most `chunkLimit`; a Fenwick tree over the chunk sizes turns
/// a chunk index into a rank and back. Compared with a skiplist this costs 16 bytes per item (the
/// member's bytes are shared with the member table) instead of a node with a level array, and
/// range walks read contiguous memory.
struct ScoreIndex {
    struct Item {
        var score: Double
        var member: [UInt8]
    }

    static let chunkLimit = 128

    private(set) var chunks: [[Item]] = []
    /// Fenwick tree over chunk sizes, 1-based (`tree[0]` unused).
    private var tree: [Int] = [0]
    private(set) var count = 0

    init() {}

    init(sorted items: [Item]) {
        var start = 0
        while start < items.count {
            let end = min(items.count, start + Self.chunkLimit / 2 + Self.chunkLimit / 4)
            chunks.append(Array(items[start..<end]))
            start = end
        }
        count = items.count
        rebuildTree()
    }

    // MARK: Fenwick tree

    private mutating func rebuildTree() {
        tree = [Int](repeating: 0, count: chunks.count + 1)
        for index in chunks.indices {
            var node = index + 1
            let size = chunks[index].count
            while node < tree.count {
                tree[node] += size
                node += node & -node
            }
        }
    }

    private mutating func adjust(chunk: Int, by delta: Int) {
        var node = chunk + 1
        while node < tree.count {
            tree[node] += delta
            node += node & -node
        }
    }

    /// Number of items in the chunks before `chunk`.
    private func prefix(_ chunk: Int) -> Int {
        var sum = 0
        var node = chunk
        while node > 0 {
            sum += tree[node]
            node -= node & -node
        }
        return sum
    }

    /// The (chunk, offset) of the item with 0-based `rank` (< count).
    func position(ofRank rank: Int) -> (chunk: Int, offset: Int) {
        var node = 0
        var remaining = rank
        var step = 1
        while step * 2 < tree.count { step *= 2 }
        while step > 0 {
            let next = node + step
            if next < tree.count && tree[next] <= remaining {
                node = next
                remaining -= tree[next]
            }
            step /= 2
        }
        return (node, remaining)
    }

    // MARK: Queries

    static func less(_ score: Double, _ member: UnsafeRawBufferPointer, than item: Item) -> Bool {
        if score != item.score { return score < item.score }
        return item.member.withUnsafeBytes { compareBytes(member, $0) } < 0
    }

    /// The number of leading items for which `isBefore` holds (it must be true for a prefix of
    /// the order and false after it).
    func lowerBound(_ isBefore: (Item) -> Bool) -> Int {
        guard let chunk = firstChunk(where: { !isBefore($0) }) else { return count }
        var low = 0
        var high = chunks[chunk].count
        while low < high {
            let middle = (low + high) / 2
            if isBefore(chunks[chunk][middle]) { low = middle + 1 } else { high = middle }
        }
        return prefix(chunk) + low
    }

    /// The first chunk whose last item satisfies `condition` (monotone over chunks).
    private func firstChunk(where condition: (Item) -> Bool) -> Int? {
        var low = 0
        var high = chunks.count
        while low < high {
            let middle = (low + high) / 2
            if condition(chunks[middle][chunks[middle].count - 1]) { high = middle } else { low = middle + 1 }
        }
        return low < chunks.count ? low : nil
    }

    /// The 0-based rank of (score, member), which must be present.
    func rank(score: Double, member: UnsafeRawBufferPointer) -> Int {
        lowerBound { item in
            if item.score != score { return item.score < score }
            return item.member.withUnsafeBytes { compareBytes($0, member) } < 0
        }
    }

    func item(atRank rank: Int) -> Item {
        let (chunk, offset) = position(ofRank: rank)
        return chunks[chunk][offset]
    }

    /// Calls `body` for the items with ranks in `ranks`, ascending or (`reverse`) descending.
    func forEach(ranks: Range<Int>, reverse: Bool, _ body: (Item) -> Void) {
        guard !ranks.isEmpty else { return }
        var remaining = ranks.count
        if reverse {
            var (chunk, offset) = position(ofRank: ranks.upperBound - 1)
            while remaining > 0 {
                body(chunks[chunk][offset])
                remaining -= 1
                if offset == 0 {
                    chunk -= 1
                    if chunk >= 0 { offset = chunks[chunk].count - 1 }
                } else {
                    offset -= 1
                }
            }
        } else {
            var (chunk, offset) = position(ofRank: ranks.lowerBound)
            while remaining > 0 {
                body(chunks[chunk][offset])
                remaining -= 1
                offset += 1
                if offset == chunks[chunk].count {
                    chunk += 1
                    offset = 0
                }
            }
        }
    }

    // MARK: Changes

    mutating func insert(score: Double, member: [UInt8]) {
        let item = Item(score: score, member: member)
        count += 1
        guard !chunks.isEmpty else {
            chunks = [[item]]
            rebuildTree()
            return
        }
        let isBefore: (Item) -> Bool = { existing in
            if existing.score != score { return existing.score < score }
            return existing.member.withUnsafeBytes { a in member.withUnsafeBytes { b in compareBytes(a, b) } } < 0
        }
        let chunk = firstChunk(where: { !isBefore($0) }) ?? (chunks.count - 1)
        var low = 0
        var high = chunks[chunk].count
        while low < high {
            let middle = (low + high) / 2
            if isBefore(chunks[chunk][middle]) { low = middle + 1 } else { high = middle }
        }
        chunks[chunk].insert(item, at: low)
        if chunks[chunk].count > Self.chunkLimit {
            let half = chunks[chunk].count / 2
            let upper = Array(chunks[chunk][half...])
            chunks[chunk].removeSubrange(half...)
            chunks.insert(upper, at: chunk + 1)
            rebuildTree()
        } else {
            adjust(chunk: chunk, by: 1)
        }
    }

    /// Removes (score, member), which must be present.
    mutating func remove(score: Double, member: UnsafeRawBufferPointer) {
        let (chunk, offset) = position(ofRank: rank(score: score, member: member))
        chunks[chunk].remove(at: offset)
        count -= 1
        if chunks[chunk].isEmpty {
            chunks.remove(at: chunk)
            rebuildTree()
        } else if chunks[chunk].count < Self.chunkLimit / 4, chunk + 1 < chunks.count,
            chunks[chunk].count + chunks[chunk + 1].count <= Self.chunkLimit / 2
        {
            let next = chunks.remove(at: chunk + 1)
            chunks[chunk].append(contentsOf: next)
            rebuildTree()
        } else {
            adjust(chunk: chunk, by: -1)
        }
    }

    /// Removes the items with ranks in `ranks`, returning them in order.
    mutating func removeRanks(_ ranks: Range<Int>) -> [Item] {
        guard !ranks.isEmpty else { return [] }
        var removed: [Item] = []
        removed.reserveCapacity(ranks.count)
        var (chunk, offset) = position(ofRank: ranks.lowerBound)
        var remaining = ranks.count
        while remaining > 0 {
            let take = min(remaining, chunks[chunk].count - offset)
            removed.append(contentsOf: chunks[chunk][offset..<(offset + take)])
            chunks[chunk].removeSubrange(offset..<(offset + take))
            remaining -= take
            if chunks[chunk].isEmpty { chunks.remove(at: chunk) } else { chunk += 1 }
            offset = 0
        }
        count -= removed.count
        rebuildTree()
        return removed
    }
}
