#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import ACL
import DequeModule

/// SORT and SORT_RO as Redis 7.0 runs them (`sort.c`): the elements of a list, set or sorted set,
/// weighted by themselves or by the keys a BY pattern names, sorted numerically or as text,
/// windowed by LIMIT, replaced by GET patterns, answered or stored as a list.
///
/// Equal elements come out in Redis's order: a full sort is glibc's `qsort` (a stable merge sort),
/// a BY sort with LIMIT is Redis's `pqsort`, both reproduced step for step over the same initial
/// order (list order; a set's or a sorted set's own iteration order, which for hash tables differs
/// from Redis's, so only ALPHA BY ties on those can come out differently).
enum SortCommand {
    static var all: [(String, CommandHandler)] {[("sort", .init(sort)), ("sort_ro", .init(sortReadOnly))]}

    static func sort(_ call: inout CommandCall) throws(CommandError) { try run(&call, readOnly: false) }
    static func sortReadOnly(_ call: inout CommandCall) throws(CommandError) { try run(&call, readOnly: true) }

    /// Whether the user may read every key, which BY and GET patterns need: the keys they name
    /// are only known while sorting (Redis's check). A user allowed everything answers at once.
    private static func readsEveryKey(_ call: CommandCall) -> Bool {
        guard let user = call.node.keyPermissionUser(of: call.client), !user.unrestricted else { return true }
        return user.readsEveryKey(running: call.spec, ACLArguments(call.request))
    }

    /// One element to sort: itself, and its weight (a number, or the text ALPHA BY compares).
    private struct Item {
        var element: [UInt8]
        var score = 0.0
        var weight: [UInt8]?
    }

    private static func run(_ call: inout CommandCall, readOnly: Bool) throws(CommandError) {
        var descending = false
        var alpha = false
        var limitStart = 0
        var limitCount = -1
        var byPattern: [UInt8]?
        var dontSort = false
        var storeIndex: Int?
        var getPatterns: [[UInt8]] = []
        var index = 2
        while index < call.count {
            let remaining = call.count - index - 1
            if call.matches(index, "asc") {
                descending = false
            } else if call.matches(index, "desc") {
                descending = true
            } else if call.matches(index, "alpha") {
                alpha = true
            } else if call.matches(index, "limit"), remaining >= 2 {
                limitStart = try call.integer(index + 1)
                limitCount = try call.integer(index + 2)
                index += 2
            } else if !readOnly, call.matches(index, "store"), remaining >= 1 {
                storeIndex = index + 1
                index += 1
            } else if call.matches(index, "by"), remaining >= 1 {
                let pattern = call.bytes(index + 1)
                // A pattern without `*` (as C sees the text) names no per-element key: no sorting.
                if !cText(pattern).contains(UInt8(ascii: "*")) {
                    dontSort = true
                } else if !Self.readsEveryKey(call) {
                    throw CommandError("ERR BY option of SORT denied due to insufficient ACL permissions.")
                }
                byPattern = pattern
                index += 1
            } else if call.matches(index, "get"), remaining >= 1 {
                guard Self.readsEveryKey(call) else {
                    throw CommandError("ERR GET option of SORT denied due to insufficient ACL permissions.")
                }
                getPatterns.append(call.bytes(index + 1))
                index += 1
            } else {
                throw .syntax
            }
            index += 1
        }

        enum Source {
            case none
            case list(ListObject)
            case set(SetObject)
            case sortedSet(SortedSetObject)
        }
        var source = Source.none
        if let slot = call.lookupRead(1) {
            switch call.database.value(at: slot) {
            case .list(let list): source = .list(list)
            case .set(let set): source = .set(set)
            case .sortedSet(let sortedSet): source = .sortedSet(sortedSet)
            default: throw .wrongType
            }
        }
        // Stored output, and a script's (which must replicate the same), must not depend on a set's
        // iteration order: sorted as text instead.
        if dontSort, case .set = source, storeIndex != nil || call.client.flags.isScript {
            dontSort = false
            alpha = true
            byPattern = nil
        }

        let length: Int
        switch source {
        case .none: length = 0
        case .list(let list): length = list.elements.count
        case .set(let set): length = set.count
        case .sortedSet(let sortedSet): length = sortedSet.count
        }
        var start = min(max(limitStart, 0), length)
        let cappedCount = min(max(limitCount, -1), length)
        var end = cappedCount < 0 ? length - 1 : start + cappedCount - 1
        if start >= length {
            start = length - 1
            end = length - 2
        }
        if end >= length { end = length - 1 }

        // Without sorting, a list or sorted set is read in its own order (reversed for DESC), only
        // the LIMIT window of it.
        var items: [Item] = []
        let windowOnly = dontSort && (start != 0 || end != length - 1)
        let windowLength = windowOnly ? end - start + 1 : length
        switch source {
        case .none:
            break
        case .list(let list):
            if dontSort {
                if end >= start {
                    let elements = list.elements
                    let first = descending ? length - start - 1 : start
                    for offset in 0..<windowLength {
                        items.append(Item(element: elements[descending ? first - offset : first + offset]))
                    }
                    end -= start
                    start = 0
                }
            } else {
                items = list.elements.map { Item(element: $0) }
            }
        case .set(let set):
            set.forEach { items.append(Item(element: Array($0))) }
        case .sortedSet(let sortedSet):
            if dontSort {
                let ranks = descending ? (length - start - windowLength)..<(length - start) : start..<(start + windowLength)
                sortedSet.forEach(ranks: ranks, reverse: descending) { member, _ in items.append(Item(element: Array(member))) }
                end -= start
                start = 0
            } else {
                sortedSet.forEach(ranks: 0..<length, reverse: false) { member, _ in items.append(Item(element: Array(member))) }
            }
        }

        var conversionFailed = false
        if !dontSort {
            for position in items.indices {
                let weight: [UInt8]
                if let byPattern {
                    guard let found = lookup(byPattern, for: items[position].element, call) else { continue }
                    weight = found
                } else {
                    weight = items[position].element
                }
                if alpha {
                    if byPattern != nil { items[position].weight = weight }
                } else if let score = parseWeight(weight) {
                    items[position].score = score
                } else {
                    conversionFailed = true
                }
            }
            if !conversionFailed {
                let order = Comparator(descending: descending, alpha: alpha, byPattern: byPattern != nil, binary: storeIndex != nil)
                let compare = { (a: Int, b: Int) -> Int in order.compare(items[a], items[b]) }
                let permutation: [Int]
                if byPattern != nil && (start != 0 || end != items.count - 1) {
                    permutation = RedisSorting.partialSort(count: items.count, low: start, high: end, compare)
                } else {
                    permutation = RedisSorting.mergeSort(count: items.count, compare)
                }
                items = permutation.map { items[$0] }
            }
        }
        if conversionFailed { throw CommandError("ERR One or more scores can't be converted into double") }

        let window = end >= start ? start...end : nil
        let outputLength = (getPatterns.isEmpty ? 1 : getPatterns.count) * (end - start + 1)
        guard let storeIndex else {
            let client = call.client
            client.arrayHeader(outputLength)
            guard let window else { return }
            for position in window {
                let element = items[position].element
                if getPatterns.isEmpty { client.bulk(element) }
                for pattern in getPatterns {
                    if let value = lookup(pattern, for: element, call) { client.bulk(value) } else { client.null() }
                }
                if call.replyMustStop() { return }
            }
            return
        }
        var stored = Deque<[UInt8]>()
        if let window {
            for position in window {
                let element = items[position].element
                if getPatterns.isEmpty { stored.append(element) }
                for pattern in getPatterns { stored.append(lookup(pattern, for: element, call) ?? []) }
            }
        }
        let changedBefore = call.effect.dirty
        if outputLength > 0 {
            call.store(storeIndex, .list(ListObject(stored)))
            // Redis counts one change per stored element.
            call.effect.dirty += outputLength - 1
            call.notify(.list, "sortstore", storeIndex)
        } else if call.delete(storeIndex) {
            call.notify(.generic, "del", storeIndex)
        }
        if call.effect.dirty > changedBefore {
            // The destination is no key spec position SORT's table entry names.
            call.effect.modified(database: call.client.database, key: call.bytes(storeIndex))
        }
        call.client.integer(outputLength)
    }

    /// Redis's `sortCompare`.
    private struct Comparator {
        let descending: Bool
        let alpha: Bool
        let byPattern: Bool
        /// STORE compares bytes (`compareStringObjects`); a reply collates (`strcoll`, C strings).
        let binary: Bool

        func compare(_ a: Item, _ b: Item) -> Int {
            var result: Int
            if !alpha {
                if a.score > b.score {
                    result = 1
                } else if a.score < b.score {
                    result = -1
                } else {
                    // Equal weights: the elements' bytes decide, so the order is deterministic.
                    result = compareBinary(a.element, b.element)
                }
            } else if byPattern {
                switch (a.weight, b.weight) {
                case (nil, nil): result = 0
                case (nil, _): result = -1
                case (_, nil): result = 1
                case (let x?, let y?): result = binary ? compareBinary(x, y) : collate(x, y)
                }
            } else {
                result = binary ? compareBinary(a.element, b.element) : collate(a.element, b.element)
            }
            return descending ? -result : result
        }

        /// memcmp over the shorter length, then the lengths.
        func compareBinary(_ a: [UInt8], _ b: [UInt8]) -> Int {
            for (x, y) in zip(a, b) where x != y { return x < y ? -1 : 1 }
            return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
        }

        /// `strcoll` in the C/C.UTF-8 locale: bytes up to the first NUL.
        func collate(_ a: [UInt8], _ b: [UInt8]) -> Int {
            compareBinary(Array(cText(a)), Array(cText(b)))
        }
    }

    /// The part of `bytes` C functions see: up to the first NUL.
    private static func cText(_ bytes: [UInt8]) -> ArraySlice<UInt8> {
        bytes[..<(bytes.firstIndex(of: 0) ?? bytes.count)]
    }

    /// A numeric weight as Redis reads it with `strtod`: leading spaces, hex and `inf` accepted, the
    /// whole C string consumed, no overflow, not NaN. (An empty weight is 0.)
    private static func parseWeight(_ bytes: [UInt8]) -> Double? {
        var text = Array(cText(bytes))
        text.append(0)
        return text.withUnsafeBufferPointer { buffer -> Double? in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { start in
                var end: UnsafeMutablePointer<CChar>?
                errno = 0
                let value = strtod(start, &end)
                guard let end, end.pointee == 0, errno != ERANGE, !value.isNaN else { return nil }
                return value
            }
        }
    }

    /// Redis's `lookupKeyByPattern`: `#` is the element itself; otherwise the first `*` is replaced
    /// by the element and the key read (a string), or with `->field` after the `*`, that field of
    /// the hash the key names. Nil when the pattern has no `*` or the key is missing or of another
    /// type. Reads count as keyspace hits and misses.
    private static func lookup(_ pattern: [UInt8], for element: [UInt8], _ call: CommandCall) -> [UInt8]? {
        if pattern.first == UInt8(ascii: "#") && (pattern.count == 1 || pattern[1] == 0) { return element }
        let text = cText(pattern)
        guard let star = text.firstIndex(of: UInt8(ascii: "*")) else { return nil }
        var field: [UInt8]?
        var keyEnd = pattern.count
        var arrow = star + 1
        while arrow + 1 < text.count {
            if text[arrow] == UInt8(ascii: "-") && text[arrow + 1] == UInt8(ascii: ">") {
                if arrow + 2 < text.count {
                    field = Array(pattern[(arrow + 2)...])
                    keyEnd = arrow
                }
                break
            }
            arrow += 1
        }
        let key = Array(pattern[..<star]) + element + Array(pattern[(star + 1)..<keyEnd])
        let database = call.database
        guard let slot = database.find(key, now: call.now) else {
            call.node.stats.keyspaceMisses += 1
            call.notify(.keyMiss, "keymiss", key: key)
            return nil
        }
        call.node.stats.keyspaceHits += 1
        switch database.value(at: slot) {
        case .string(let bytes): return field == nil ? bytes : nil
        case .hash(let hash):
            guard let field else { return nil }
            return field.withUnsafeBytes { hash.value($0) }
        default: return nil
        }
    }
}

/// The sorting algorithms Redis's results depend on when elements compare equal, over indices
/// 0..<count with a three-way comparison; each returns the resulting order as a permutation.
enum RedisSorting {
    /// glibc's `qsort` (a merge sort: the first half, the second half, then merged taking the left
    /// element while it does not compare greater): stable.
    static func mergeSort(count: Int, _ compare: (Int, Int) -> Int) -> [Int] {
        var order = Array(0..<count)
        var scratch = order
        func sort(_ start: Int, _ count: Int) {
            guard count > 1 else { return }
            let leftCount = count / 2
            sort(start, leftCount)
            sort(start + leftCount, count - leftCount)
            var left = start, right = start + leftCount, out = 0
            let leftEnd = start + leftCount, rightEnd = start + count
            while left < leftEnd && right < rightEnd {
                if compare(order[left], order[right]) <= 0 {
                    scratch[out] = order[left]
                    left += 1
                } else {
                    scratch[out] = order[right]
                    right += 1
                }
                out += 1
            }
            while left < leftEnd {
                scratch[out] = order[left]
                left += 1
                out += 1
            }
            for position in 0..<out { order[start + position] = scratch[position] }
        }
        sort(0, count)
        return order
    }

    /// Redis's `pqsort`: Bentley & McIlroy's quicksort that only recurses into the partitions
    /// overlapping positions `low...high` (which end up sorted; the rest only partitioned).
    static func partialSort(count: Int, low: Int, high: Int, _ compare: (Int, Int) -> Int) -> [Int] {
        var order = Array(0..<count)
        func cmp(_ i: Int, _ j: Int) -> Int { compare(order[i], order[j]) }
        func median(_ a: Int, _ b: Int, _ c: Int) -> Int {
            cmp(a, b) < 0
                ? (cmp(b, c) < 0 ? b : (cmp(a, c) < 0 ? c : a))
                : (cmp(b, c) > 0 ? b : (cmp(a, c) < 0 ? a : c))
        }
        func swapBlocks(_ a: Int, _ b: Int, _ count: Int) {
            for offset in 0..<max(count, 0) { order.swapAt(a + offset, b + offset) }
        }
        // Redis compares the range's byte addresses with the partition's first and last byte.
        func wanted(_ start: Int, _ count: Int) -> Bool {
            let last = start + count - 1
            return !((low < start && high < start) || (low > last && high > last))
        }
        func sort(_ initialStart: Int, _ initialCount: Int) {
            var start = initialStart, count = initialCount
            while true {
                if count < 7 {
                    for m in (start + 1)..<max(start + count, start + 1) {
                        var l = m
                        while l > start && cmp(l - 1, l) > 0 {
                            order.swapAt(l, l - 1)
                            l -= 1
                        }
                    }
                    return
                }
                var pivot = start + count / 2
                if count > 7 {
                    var first = start, last = start + count - 1
                    if count > 40 {
                        let d = count / 8
                        first = median(first, first + d, first + 2 * d)
                        pivot = median(pivot - d, pivot, pivot + d)
                        last = median(last - 2 * d, last - d, last)
                    }
                    pivot = median(first, pivot, last)
                }
                order.swapAt(start, pivot)
                var a = start + 1, b = start + 1
                var c = start + count - 1, d = start + count - 1
                while true {
                    while b <= c {
                        let result = cmp(b, start)
                        if result > 0 { break }
                        if result == 0 {
                            order.swapAt(a, b)
                            a += 1
                        }
                        b += 1
                    }
                    while b <= c {
                        let result = cmp(c, start)
                        if result < 0 { break }
                        if result == 0 {
                            order.swapAt(c, d)
                            d -= 1
                        }
                        c -= 1
                    }
                    if b > c { break }
                    order.swapAt(b, c)
                    b += 1
                    c -= 1
                }
                let end = start + count
                var r = min(a - start, b - a)
                swapBlocks(start, b - r, r)
                r = min(d - c, end - d - 1)
                swapBlocks(b, end - r, r)
                r = b - a
                if r > 1 && wanted(start, r) { sort(start, r) }
                r = d - c
                guard r > 1 else { return }
                start = end - r
                count = r
                guard wanted(start, count) else { return }
            }
        }
        if count > 0 { sort(0, count) }
        return order
    }
}
