#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import Commands

/// ZADD and the rest of the (non-blocking) sorted-set family, with Redis 7.0's replies and error
/// texts. The pop helpers are shared with the blocking commands.
enum SortedSetCommands {
    static var all: [(String, CommandHandler)] {[
        ("zadd", .init(zadd)), ("zincrby", .init(zincrby)), ("zrem", .init(zrem)), ("zcard", .init(zcard)), ("zscore", .init(zscore)),
        ("zmscore", .init(zmscore)), ("zrank", .init(zrank)), ("zrevrank", .init(zrevrank)), ("zcount", .init(zcount)), ("zlexcount", .init(zlexcount)),
        ("zrange", .init(zrange)), ("zrangestore", .init(zrangestore)), ("zrevrange", .init(zrevrange)), ("zrangebyscore", .init(zrangebyscore)),
        ("zrevrangebyscore", .init(zrevrangebyscore)), ("zrangebylex", .init(zrangebylex)), ("zrevrangebylex", .init(zrevrangebylex)),
        ("zremrangebyrank", .init(zremrangebyrank)), ("zremrangebyscore", .init(zremrangebyscore)),
        ("zremrangebylex", .init(zremrangebylex)), ("zpopmin", .init(zpopmin)), ("zpopmax", .init(zpopmax)),
        ("zrandmember", .init(zrandmember)), ("zunion", .init(zunion)), ("zinter", .init(zinter)), ("zdiff", .init(zdiff)),
        ("zunionstore", .init(zunionstore)), ("zinterstore", .init(zinterstore)), ("zdiffstore", .init(zdiffstore)),
        ("zintercard", .init(zintercard)), ("zmpop", .init(zmpop)), ("zscan", .init(zscan)),
    ]}

    static func read(_ call: CommandCall, _ index: Int = 1) throws(CommandError) -> SortedSetObject? {
        try call.typedValue(index, forWrite: false, \.asSortedSet)
    }

    static func write(_ call: CommandCall, _ index: Int = 1) throws(CommandError) -> SortedSetObject? {
        try call.typedValue(index, forWrite: true, \.asSortedSet)
    }

    // MARK: - Pops (shared with the blocking commands)

    /// Removes up to `count` lowest (or, `max`, highest) members of `set`, in pop order.
    static func pop(from set: SortedSetObject, max: Bool, count: Int) -> [([UInt8], Double)] {
        let taken = min(count, set.count)
        let ranks = max ? (set.count - taken)..<set.count : 0..<taken
        var popped: [([UInt8], Double)] = []
        popped.reserveCapacity(taken)
        set.forEach(ranks: ranks, reverse: max) { member, score in popped.append((Array(member), score)) }
        set.removeRanks(ranks)
        return popped
    }

    /// Pops from the sorted set at key argument `index` (deleting it when emptied, counting the
    /// changes); nil when the key is missing.
    static func pop(_ call: inout CommandCall, keyIndex index: Int, max: Bool, count: Int) throws(CommandError) -> [([UInt8], Double)]? {
        guard let set = try write(call, index) else { return nil }
        let popped = pop(from: set, max: max, count: count)
        let emptied = set.count == 0
        if emptied { removeKey(call, index) }
        call.effect.dirty += popped.count
        if !popped.isEmpty { call.notifyOrDeleted(.zset, max ? "zpopmax" : "zpopmin", index, deleted: emptied) }
        return popped
    }

    // MARK: - ZADD, ZINCRBY, ZREM

    static func zadd(_ call: inout CommandCall) throws(CommandError) { try add(&call, incr: false) }
    static func zincrby(_ call: inout CommandCall) throws(CommandError) { try add(&call, incr: true) }

    /// `zaddGenericCommand`.
    private static func add(_ call: inout CommandCall, incr initialIncr: Bool) throws(CommandError) {
        var nx = false, xx = false, gt = false, lt = false, ch = false, incr = initialIncr
        var scoreIndex = 2
        while scoreIndex < call.count {
            if call.matches(scoreIndex, "nx") { nx = true }
            else if call.matches(scoreIndex, "xx") { xx = true }
            else if call.matches(scoreIndex, "ch") { ch = true }
            else if call.matches(scoreIndex, "incr") { incr = true }
            else if call.matches(scoreIndex, "gt") { gt = true }
            else if call.matches(scoreIndex, "lt") { lt = true }
            else { break }
            scoreIndex += 1
        }
        let arguments = call.count - scoreIndex
        guard arguments > 0 && arguments % 2 == 0 else { throw .syntax }
        let elements = arguments / 2
        if nx && xx { throw CommandError("ERR XX and NX options at the same time are not compatible") }
        if (gt && nx) || (lt && nx) || (gt && lt) {
            throw CommandError("ERR GT, LT, and/or NX options at the same time are not compatible")
        }
        if incr && elements > 1 { throw CommandError("ERR INCR option supports a single increment-element pair") }
        var scores: [Double] = []
        scores.reserveCapacity(elements)
        for element in 0..<elements { scores.append(try call.double(scoreIndex + element * 2)) }

        let settings = call.node.settings
        var set = try write(call)
        if set == nil && !xx {
            let created = SortedSetObject(firstMemberLength: Int(call.spans[scoreIndex + 1].length), settings: settings)
            call.database.add(call.bytes(1), .sortedSet(created))
            set = created
        }
        var added = 0, updated = 0, processed = 0
        var lastScore = 0.0
        if let set {
            for element in 0..<elements {
                var score = scores[element]
                let outcome: Outcome = call.argument(scoreIndex + 1 + element * 2) { member in
                    guard let current = set.score(member) else {
                        if xx { return .nop }
                        set.insert(member, score: score, settings: settings)
                        return .added
                    }
                    if nx { return .nop }
                    if incr {
                        score += current
                        if score.isNaN { return .nan }
                    }
                    if (lt && score >= current) || (gt && score <= current) { return .nop }
                    if score == current { return .unchanged }
                    set.update(member, from: current, to: score)
                    return .updated
                }
                switch outcome {
                case .nan: throw CommandError("ERR resulting score is not a number (NaN)")
                case .added: added += 1; processed += 1
                case .updated: updated += 1; processed += 1
                case .unchanged: processed += 1
                case .nop: break
                }
                if outcome != .nop { lastScore = score }
            }
        }
        call.effect.dirty += added + updated
        if added + updated > 0 { call.notify(.zset, incr ? "zincr" : "zadd", 1) }
        if incr {
            if processed > 0 { call.client.double(lastScore) } else { call.client.null() }
        } else {
            call.client.integer(ch ? added + updated : added)
        }
    }

    private enum Outcome { case added, updated, unchanged, nop, nan }

    static func zrem(_ call: inout CommandCall) throws(CommandError) {
        guard let set = try write(call) else { return call.client.integer(0) }
        removeMembers(&call, event: (.zset, "zrem"), remove: set.remove, isEmpty: { set.count == 0 })
    }

    // MARK: - Reads

    static func zcard(_ call: inout CommandCall) throws(CommandError) {
        call.client.integer(try read(call)?.count ?? 0)
    }

    static func zscore(_ call: inout CommandCall) throws(CommandError) {
        guard let set = try read(call), let score = call.argument(2, { set.score($0) }) else { return call.client.null() }
        call.client.double(score)
    }

    static func zmscore(_ call: inout CommandCall) throws(CommandError) {
        let set = try read(call)
        call.client.arrayHeader(call.count - 2)
        for index in 2..<call.count {
            if let set, let score = call.argument(index, { set.score($0) }) { call.client.double(score) } else { call.client.null() }
        }
    }

    static func zrank(_ call: inout CommandCall) throws(CommandError) { try rank(call, reverse: false) }
    static func zrevrank(_ call: inout CommandCall) throws(CommandError) { try rank(call, reverse: true) }

    private static func rank(_ call: CommandCall, reverse: Bool) throws(CommandError) {
        guard let set = try read(call), let rank = call.argument(2, { set.rank($0) }) else { return call.client.null() }
        call.client.integer(reverse ? set.count - 1 - rank : rank)
    }

    static func zcount(_ call: inout CommandCall) throws(CommandError) {
        let range = try ScoreRange(call, 2, 3)
        guard let set = try read(call) else { return call.client.integer(0) }
        call.client.integer(range.ranks(in: set).count)
    }

    static func zlexcount(_ call: inout CommandCall) throws(CommandError) {
        let range = try LexRange(call, 2, 3)
        guard let set = try read(call) else { return call.client.integer(0) }
        call.client.integer(range.ranks(in: set).count)
    }

    // MARK: - ZRANGE and friends

    enum RangeKind { case auto, rank, score, lex }

    static func zrange(_ call: inout CommandCall) throws(CommandError) { try range(&call, keyIndex: 1, store: false, kind: .auto, reverse: nil) }
    static func zrangestore(_ call: inout CommandCall) throws(CommandError) { try range(&call, keyIndex: 2, store: true, kind: .auto, reverse: nil) }
    static func zrevrange(_ call: inout CommandCall) throws(CommandError) { try range(&call, keyIndex: 1, store: false, kind: .rank, reverse: true) }
    static func zrangebyscore(_ call: inout CommandCall) throws(CommandError) { try range(&call, keyIndex: 1, store: false, kind: .score, reverse: false) }
    static func zrevrangebyscore(_ call: inout CommandCall) throws(CommandError) { try range(&call, keyIndex: 1, store: false, kind: .score, reverse: true) }
    static func zrangebylex(_ call: inout CommandCall) throws(CommandError) { try range(&call, keyIndex: 1, store: false, kind: .lex, reverse: false) }
    static func zrevrangebylex(_ call: inout CommandCall) throws(CommandError) { try range(&call, keyIndex: 1, store: false, kind: .lex, reverse: true) }

    /// `zrangeGenericCommand`: option parsing, range parsing, then the selected ranks.
    private static func range(_ call: inout CommandCall, keyIndex: Int, store: Bool, kind initialKind: RangeKind, reverse initialReverse: Bool?) throws(CommandError) {
        var kind = initialKind
        var reverse = initialReverse
        var withScores = false
        var offset = 0
        var limit = -1
        var index = keyIndex + 3
        while index < call.count {
            let left = call.count - index - 1
            if !store && call.matches(index, "withscores") {
                withScores = true
            } else if call.matches(index, "limit") && left >= 2 {
                offset = try call.integer(index + 1)
                limit = try call.integer(index + 2)
                index += 2
            } else if reverse == nil && call.matches(index, "rev") {
                reverse = true
            } else if kind == .auto && call.matches(index, "bylex") {
                kind = .lex
            } else if kind == .auto && call.matches(index, "byscore") {
                kind = .score
            } else {
                throw .syntax
            }
            index += 1
        }
        let isReverse = reverse ?? false
        if kind == .auto { kind = .rank }
        if limit != -1 && kind == .rank {
            throw CommandError("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
        }
        if withScores && kind == .lex {
            throw CommandError("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
        }
        var minIndex = keyIndex + 1
        var maxIndex = keyIndex + 2
        if isReverse && kind != .rank { swap(&minIndex, &maxIndex) }
        enum Parsed { case rank(Int, Int), score(ScoreRange), lex(LexRange) }
        let parsed: Parsed
        switch kind {
        case .score: parsed = .score(try ScoreRange(call, minIndex, maxIndex))
        case .lex: parsed = .lex(try LexRange(call, minIndex, maxIndex))
        default: parsed = .rank(try call.integer(minIndex), try call.integer(maxIndex))
        }

        let set: SortedSetObject?
        if store {
            set = try read(call, keyIndex)
        } else {
            guard let found = try read(call, keyIndex) else { return call.client.arrayHeader(0) }
            set = found
        }
        var ranks = 0..<0
        if let set {
            switch parsed {
            case .rank(let start, let end):
                if let clamped = ListCommands.clamp(start: start, end: end, length: set.count) {
                    ranks = isReverse
                        ? (set.count - 1 - clamped.upperBound)..<(set.count - clamped.lowerBound)
                        : clamped.lowerBound..<(clamped.upperBound + 1)
                }
            case .score(let range):
                ranks = limited(range.ranks(in: set), offset: offset, limit: limit, reverse: isReverse, total: set.count)
            case .lex(let range) where set.isPacked:
                if offset >= 0 { ranks = range.walk(set, offset: offset, limit: limit, reverse: isReverse) }
            case .lex(let range):
                ranks = limited(range.ranks(in: set), offset: offset, limit: limit, reverse: isReverse, total: set.count)
            }
        }
        if store {
            var entries: [([UInt8], Double)] = []
            entries.reserveCapacity(ranks.count)
            set?.forEach(ranks: ranks, reverse: isReverse) { member, score in entries.append((Array(member), score)) }
            storeResult(&call, entries, at: 1)
            return
        }
        reply(call, set!, ranks: ranks, reverse: isReverse, withScores: withScores)
    }

    /// Applies LIMIT offset count to matching ranks, from the end when `reverse`.
    private static func limited(_ ranks: Range<Int>, offset: Int, limit: Int, reverse: Bool, total: Int) -> Range<Int> {
        if offset < 0 || (offset > 0 && offset >= total) || ranks.isEmpty { return 0..<0 }
        var count = max(0, ranks.count - offset)
        if limit >= 0 { count = min(count, limit) }
        return reverse ? (ranks.upperBound - offset - count)..<(ranks.upperBound - offset) : (ranks.lowerBound + offset)..<(ranks.lowerBound + offset + count)
    }

    /// Members (and scores) of `ranks` as Redis replies them: flat pairs in RESP2, [member, score]
    /// arrays in RESP3.
    private static func reply(_ call: CommandCall, _ set: SortedSetObject, ranks: Range<Int>, reverse: Bool, withScores: Bool) {
        let nested = withScores && call.client.protocolVersion == 3
        call.client.arrayHeader(withScores && !nested ? ranks.count * 2 : ranks.count)
        set.forEach(ranks: ranks, reverse: reverse) { member, score in
            if nested { call.client.arrayHeader(2) }
            call.client.bulk(member)
            if withScores { call.client.double(score) }
        }
    }

    /// Stores a computed sorted set under key argument `index` (Redis's encoding choice) and replies
    /// with its size; an empty result deletes the key.
    private static func storeResult(_ call: inout CommandCall, _ entries: [([UInt8], Double)], at index: Int) {
        if entries.isEmpty {
            if call.find(index) != nil {
                removeKey(call, index)
                call.effect.dirty += 1
                call.notify(.generic, "del", index)
            }
            return call.client.integer(0)
        }
        let set = SortedSetObject(entries: entries, settings: call.node.settings)
        call.store(index, .sortedSet(set))
        switch call.spec {
        case "zrangestore": call.notify(.zset, "zrangestore", index)
        case "zunionstore": call.notify(.zset, "zunionstore", index)
        case "zinterstore": call.notify(.zset, "zinterstore", index)
        default: call.notify(.zset, "zdiffstore", index)
        }
        call.client.integer(set.count)
    }

    // MARK: - ZREMRANGEBY*

    static func zremrangebyrank(_ call: inout CommandCall) throws(CommandError) {
        let start = try call.integer(2)
        let end = try call.integer(3)
        try removeRange(&call, "zremrangebyrank") { set in
            guard let clamped = ListCommands.clamp(start: start, end: end, length: set.count) else { return 0..<0 }
            return clamped.lowerBound..<(clamped.upperBound + 1)
        }
    }

    static func zremrangebyscore(_ call: inout CommandCall) throws(CommandError) {
        let range = try ScoreRange(call, 2, 3)
        try removeRange(&call, "zremrangebyscore") { range.ranks(in: $0) }
    }

    static func zremrangebylex(_ call: inout CommandCall) throws(CommandError) {
        let range = try LexRange(call, 2, 3)
        try removeRange(&call, "zremrangebylex") { range.ranks(in: $0) }
    }

    private static func removeRange(
        _ call: inout CommandCall, _ event: StaticString, _ ranks: (SortedSetObject) -> Range<Int>
    ) throws(CommandError) {
        guard let set = try write(call) else { return call.client.integer(0) }
        let removed = set.removeRanks(ranks(set))
        let emptied = set.count == 0
        if emptied { removeKey(call, 1) }
        call.effect.dirty += removed
        if removed > 0 { call.notifyOrDeleted(.zset, event, 1, deleted: emptied) }
        call.client.integer(removed)
    }

    // MARK: - ZPOPMIN, ZPOPMAX, ZMPOP, ZRANDMEMBER

    static func zpopmin(_ call: inout CommandCall) throws(CommandError) { try popCommand(&call, max: false) }
    static func zpopmax(_ call: inout CommandCall) throws(CommandError) { try popCommand(&call, max: true) }

    private static func popCommand(_ call: inout CommandCall, max: Bool) throws(CommandError) {
        if call.count > 3 { throw .syntax }
        let hasCount = call.count == 3
        let count = hasCount ? try call.positiveInteger(2) : 1
        let nested = call.client.protocolVersion == 3 && hasCount
        guard let set = try write(call) else { return call.client.arrayHeader(0) }
        if count == 0 { return call.client.arrayHeader(0) }
        let popped = pop(from: set, max: max, count: count)
        let emptied = set.count == 0
        if emptied { removeKey(call, 1) }
        call.effect.dirty += popped.count
        if !popped.isEmpty { call.notifyOrDeleted(.zset, max ? "zpopmax" : "zpopmin", 1, deleted: emptied) }
        call.client.arrayHeader(nested ? popped.count : popped.count * 2)
        for (member, score) in popped {
            if nested { call.client.arrayHeader(2) }
            call.client.bulk(member)
            call.client.double(score)
        }
    }

    static func zmpop(_ call: inout CommandCall) throws(CommandError) {
        let (keys, min, count) = try call.multiPopArguments(numkeysIndex: 1, first: "min", second: "max")
        if try serveMultiPop(&call, keys: keys, max: !min, count: count) == nil { call.client.nullArray() }
    }

    /// ZMPOP's work (and BZMPOP's when it can be served): pops from the first non-empty sorted set
    /// of `keys` and replies `[key, [[member, score]...]]`. Returns the served key argument and how
    /// many were popped; nil, with nothing replied, when every set is empty.
    static func serveMultiPop(
        _ call: inout CommandCall, keys: [Int], max: Bool, count: Int
    ) throws(CommandError) -> (keyIndex: Int, popped: Int)? {
        for index in keys {
            guard let popped = try pop(&call, keyIndex: index, max: max, count: count) else { continue }
            call.client.arrayHeader(2)
            call.argument(index) { call.client.bulk($0) }
            call.client.arrayHeader(popped.count)
            for (member, score) in popped {
                call.client.arrayHeader(2)
                call.client.bulk(member)
                call.client.double(score)
            }
            // Replayed as the pop it was, with the count that was popped (never a command that could
            // block, nor one naming other keys).
            let command = max ? "ZPOPMAX" : "ZPOPMIN"
            call.propagate { call in [[Array(command.utf8), call.bytes(index), Array(String(popped.count).utf8)]] }
            return (index, popped.count)
        }
        return nil
    }

    static func zrandmember(_ call: inout CommandCall) throws(CommandError) {
        var generator = SystemRandomNumberGenerator()
        guard call.count >= 3 else {
            guard let set = try read(call) else { return call.client.null() }
            return call.client.bulk(set.randomEntry(using: &generator).0)
        }
        let requested = try call.rangeInteger(2, min: -Int.max, max: Int.max)
        if call.count > 4 || (call.count == 4 && !call.matches(3, "withscores")) { throw .syntax }
        let withScores = call.count == 4
        if withScores && (requested < -Int.max / 2 || requested > Int.max / 2) {
            throw CommandError("ERR value is out of range")
        }
        guard let set = try read(call) else { return call.client.arrayHeader(0) }
        if requested == 0 { return call.client.arrayHeader(0) }
        let nested = withScores && call.client.protocolVersion == 3
        let client = call.client
        let emit = { (member: [UInt8], score: Double) in
            if nested { client.arrayHeader(2) }
            client.bulk(member)
            if withScores { client.double(score) }
        }
        if requested < 0 || requested == 1 {
            let count = Int(requested.magnitude)
            call.client.arrayHeader(withScores && !nested ? count * 2 : count)
            for index in 0..<count {
                if index & 1023 == 0 && call.replyMustStop() { return }
                let (member, score) = set.randomEntry(using: &generator)
                emit(member, score)
            }
            return
        }
        let replySize = min(requested, set.count)
        call.client.arrayHeader(withScores && !nested ? replySize * 2 : replySize)
        if requested >= set.count {
            // Redis's zset iterator walks from the highest member down.
            set.forEach(ranks: 0..<set.count, reverse: true) { member, score in emit(Array(member), score) }
            return
        }
        for (member, score) in RandomPick.distinct(requested, of: set.entries, using: &generator) { emit(member, score) }
    }

    // MARK: - ZUNION, ZINTER, ZDIFF

    enum Operation { case union, inter, diff }

    static func zunion(_ call: inout CommandCall) throws(CommandError) { try combine(&call, .union, numkeysIndex: 1, destination: nil) }
    static func zinter(_ call: inout CommandCall) throws(CommandError) { try combine(&call, .inter, numkeysIndex: 1, destination: nil) }
    static func zdiff(_ call: inout CommandCall) throws(CommandError) { try combine(&call, .diff, numkeysIndex: 1, destination: nil) }
    static func zunionstore(_ call: inout CommandCall) throws(CommandError) { try combine(&call, .union, numkeysIndex: 2, destination: 1) }
    static func zinterstore(_ call: inout CommandCall) throws(CommandError) { try combine(&call, .inter, numkeysIndex: 2, destination: 1) }
    static func zdiffstore(_ call: inout CommandCall) throws(CommandError) { try combine(&call, .diff, numkeysIndex: 2, destination: 1) }
    static func zintercard(_ call: inout CommandCall) throws(CommandError) {
        try combine(&call, .inter, numkeysIndex: 1, destination: nil, cardinalityOnly: true)
    }

    /// One input of ZUNION/ZINTER/ZDIFF: a sorted set, a plain set (scores 1) or a missing key.
    private struct Source {
        var sortedSet: SortedSetObject?
        var set: SetObject?
        var weight = 1.0
        var object: AnyObject? { sortedSet ?? set }
        var count: Int { sortedSet?.count ?? set?.count ?? 0 }

        func forEach(_ body: (UnsafeRawBufferPointer, Double) -> Void) {
            // Highest first, as Redis's `zuiNext` walks a sorted set.
            if let sortedSet { sortedSet.forEach(ranks: 0..<sortedSet.count, reverse: true, body) }
            else if let set { set.forEach { body($0, 1.0) } }
        }

        func score(_ member: UnsafeRawBufferPointer) -> Double? {
            if let sortedSet { return sortedSet.score(member) }
            if let set { return set.contains(member) ? 1.0 : nil }
            return nil
        }
    }

    enum Aggregate { case sum, min, max }

    @inline(__always)
    private static func aggregate(_ target: inout Double, _ value: Double, _ how: Aggregate) {
        switch how {
        case .sum:
            target += value
            if target.isNaN { target = 0 }
        case .min: target = Swift.min(target, value)
        case .max: target = Swift.max(target, value)
        }
    }

    /// `zunionInterDiffGenericCommand`.
    private static func combine(
        _ call: inout CommandCall, _ operation: Operation, numkeysIndex: Int, destination: Int?, cardinalityOnly: Bool = false
    ) throws(CommandError) {
        let setCount = try call.integer(numkeysIndex)
        guard setCount >= 1 else {
            throw CommandError("ERR at least 1 input key is needed for '\(call.spec.name)' command")
        }
        guard setCount <= call.count - (numkeysIndex + 1) else { throw .syntax }
        var sources: [Source] = []
        sources.reserveCapacity(setCount)
        for index in (numkeysIndex + 1)..<(numkeysIndex + 1 + setCount) {
            var source = Source()
            if let slot = call.lookupRead(index) {
                switch call.database.value(at: slot) {
                case .sortedSet(let set): source.sortedSet = set
                case .set(let set): source.set = set
                default: throw .wrongType
                }
            }
            sources.append(source)
        }
        var how = Aggregate.sum
        var withScores = false
        var limit = 0
        var index = numkeysIndex + 1 + setCount
        while index < call.count {
            let remaining = call.count - index
            if operation != .diff && !cardinalityOnly && remaining >= setCount + 1 && call.matches(index, "weights") {
                for source in 0..<setCount {
                    sources[source].weight = try call.double(index + 1 + source, error: CommandError("ERR weight value is not a float"))
                }
                index += setCount + 1
            } else if operation != .diff && !cardinalityOnly && remaining >= 2 && call.matches(index, "aggregate") {
                if call.matches(index + 1, "sum") { how = .sum }
                else if call.matches(index + 1, "min") { how = .min }
                else if call.matches(index + 1, "max") { how = .max }
                else { throw .syntax }
                index += 2
            } else if destination == nil && !cardinalityOnly && call.matches(index, "withscores") {
                withScores = true
                index += 1
            } else if cardinalityOnly && remaining >= 2 && call.matches(index, "limit") {
                limit = try call.positiveInteger(index + 1, message: "LIMIT can't be negative")
                index += 2
            } else {
                throw .syntax
            }
        }
        if operation != .diff { sources.sort { $0.count < $1.count } }

        var results: [([UInt8], Double)] = []
        var cardinality = 0
        switch operation {
        case .inter:
            let first = sources[0]
            guard first.count > 0 else { break }
            first.forEach { member, memberScore in
                if limit > 0 && cardinality >= limit { return }
                var score = first.weight * memberScore
                if score.isNaN { score = 0 }
                for other in sources.dropFirst() {
                    if other.object === first.object {
                        aggregate(&score, memberScore * other.weight, how)
                    } else if let found = other.score(member) {
                        aggregate(&score, found * other.weight, how)
                    } else {
                        return
                    }
                }
                cardinality += 1
                if !cardinalityOnly { results.append((Array(member), score)) }
            }
        case .union:
            var accumulator: [[UInt8]: Double] = [:]
            for source in sources where source.count > 0 {
                source.forEach { member, memberScore in
                    var score = source.weight * memberScore
                    if score.isNaN { score = 0 }
                    let key = Array(member)
                    if let existing = accumulator[key] {
                        var total = existing
                        aggregate(&total, score, how)
                        accumulator[key] = total
                    } else {
                        accumulator[key] = score
                    }
                }
            }
            results = accumulator.map { ($0.key, $0.value) }
        case .diff:
            let first = sources[0]
            guard first.count > 0 else { break }
            if sources.dropFirst().contains(where: { $0.object != nil && $0.object === first.object }) { break }
            first.forEach { member, score in
                for other in sources.dropFirst() where other.score(member) != nil { return }
                results.append((Array(member), score))
            }
        }
        if cardinalityOnly { return call.client.integer(cardinality) }
        if let destination { return storeResult(&call, results, at: destination) }
        results.sort { a, b in
            if a.1 != b.1 { return a.1 < b.1 }
            return a.0.withUnsafeBytes { x in b.0.withUnsafeBytes { y in compareBytes(x, y) } } < 0
        }
        let nested = withScores && call.client.protocolVersion == 3
        call.client.arrayHeader(withScores && !nested ? results.count * 2 : results.count)
        for (member, score) in results {
            if nested { call.client.arrayHeader(2) }
            call.client.bulk(member)
            if withScores { call.client.double(score) }
        }
    }

    // MARK: - ZSCAN

    static func zscan(_ call: inout CommandCall) throws(CommandError) {
        let cursor = try parseCursor(call, 2)
        guard let set = try read(call) else { return emptyScan(call) }
        try scanCollection(call, from: cursor, perEntry: 2, stepsPerCount: 20) { cursor, emit in
            set.scan(cursor: cursor) { member, score in emit(member, { Array(DoubleFormat.storage(score).utf8) }) }
        }
    }
}

// MARK: - Ranges

/// A ZRANGEBYSCORE-style interval: `(` makes a bound exclusive; parsed with `strtod` as Redis does.
struct ScoreRange {
    var min: Double
    var max: Double
    var minExclusive = false
    var maxExclusive = false

    init(_ call: borrowing CommandCall, _ minIndex: Int, _ maxIndex: Int) throws(CommandError) {
        guard let (min, minExclusive) = call.argument(minIndex, { Self.parse($0) }),
            let (max, maxExclusive) = call.argument(maxIndex, { Self.parse($0) })
        else { throw CommandError("ERR min or max is not a float") }
        (self.min, self.minExclusive, self.max, self.maxExclusive) = (min, minExclusive, max, maxExclusive)
    }

    /// `zslParseRange` for one bound.
    static func parse(_ bytes: UnsafeRawBufferPointer) -> (Double, Bool)? {
        var text = bytes
        var exclusive = false
        if let first = bytes.first, first == UInt8(ascii: "(") {
            exclusive = true
            text = UnsafeRawBufferPointer(rebasing: bytes[1...])
        }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: text.count + 1) { buffer -> (Double, Bool)? in
            for i in 0..<text.count { buffer[i] = CChar(bitPattern: text[i]) }
            buffer[text.count] = 0
            var end: UnsafeMutablePointer<CChar>?
            let value = strtod(buffer.baseAddress!, &end)
            guard let end, end.pointee == 0, !value.isNaN else { return nil }
            return (value, exclusive)
        }
    }

    func aboveMin(_ score: Double) -> Bool { minExclusive ? score > min : score >= min }
    func belowMax(_ score: Double) -> Bool { maxExclusive ? score < max : score <= max }

    func ranks(in set: SortedSetObject) -> Range<Int> {
        let start = set.lowerBound { score, _ in !aboveMin(score) }
        let end = set.lowerBound { score, _ in belowMax(score) }
        return start < end ? start..<end : 0..<0
    }
}

/// A ZRANGEBYLEX-style interval: `[x` inclusive, `(x` exclusive, `-` and `+` the ends.
struct LexRange {
    enum Bound {
        case minimum, maximum
        case value([UInt8], exclusive: Bool)
    }

    var min: Bound
    var max: Bound

    init(_ call: borrowing CommandCall, _ minIndex: Int, _ maxIndex: Int) throws(CommandError) {
        guard let min = call.argument(minIndex, { Self.parse($0) }), let max = call.argument(maxIndex, { Self.parse($0) }) else {
            throw CommandError("ERR min or max not valid string range item")
        }
        self.min = min
        self.max = max
    }

    /// `zslParseLexRangeItem`.
    static func parse(_ bytes: UnsafeRawBufferPointer) -> Bound? {
        guard let first = bytes.first else { return nil }
        switch first {
        case UInt8(ascii: "+"): return bytes.count == 1 ? .maximum : nil
        case UInt8(ascii: "-"): return bytes.count == 1 ? .minimum : nil
        case UInt8(ascii: "("): return .value(Array(bytes[1...]), exclusive: true)
        case UInt8(ascii: "["): return .value(Array(bytes[1...]), exclusive: false)
        default: return nil
        }
    }

    func aboveMin(_ member: UnsafeRawBufferPointer) -> Bool {
        switch min {
        case .minimum: return true
        case .maximum: return false
        case .value(let bound, let exclusive):
            let order = bound.withUnsafeBytes { compareBytes(member, $0) }
            return exclusive ? order > 0 : order >= 0
        }
    }

    func belowMax(_ member: UnsafeRawBufferPointer) -> Bool {
        switch max {
        case .minimum: return false
        case .maximum: return true
        case .value(let bound, let exclusive):
            let order = bound.withUnsafeBytes { compareBytes(member, $0) }
            return exclusive ? order < 0 : order <= 0
        }
    }

    /// Whether no member at all can lie between the bounds (`zslIsInLexRange`'s first check).
    var isEmpty: Bool {
        switch (min, max) {
        case (.maximum, _), (_, .minimum): return true
        case (.minimum, _), (_, .maximum): return false
        case (.value(let low, let lowExclusive), .value(let high, let highExclusive)):
            let order = low.withUnsafeBytes { low in high.withUnsafeBytes { compareBytes(low, $0) } }
            return order > 0 || (order == 0 && (lowExclusive || highExclusive))
        }
    }

    /// The ranks ZLEXCOUNT and ZREMRANGEBYLEX cover (ZRANGE's without LIMIT).
    func ranks(in set: SortedSetObject) -> Range<Int> {
        if set.isPacked { return walk(set, offset: 0, limit: -1, reverse: false) }
        let start = set.lowerBound { _, member in !aboveMin(member) }
        let end = set.lowerBound { _, member in belowMax(member) }
        return start < end ? start..<end : 0..<0
    }

    /// The ranks a lex range covers in a listpack, found as Redis finds them there: scores that
    /// differ can leave members out of lexical order (Redis calls the result unspecified), and Redis
    /// answers with what a walk from one end gives: from the lowest rank (the highest when
    /// `reverse`), the first member past the near bound starts the run if it is within the far one;
    /// `offset` members are then skipped, and the run goes on while members stay within the far
    /// bound, at most `limit` of them (negative: no limit). In lexical order this is the same as
    /// a search by halves.
    func walk(_ set: SortedSetObject, offset: Int, limit: Int, reverse: Bool) -> Range<Int> {
        guard set.count > 0, !isEmpty else { return 0..<0 }
        var members: [[UInt8]] = []
        members.reserveCapacity(set.count)
        set.forEach(ranks: 0..<set.count, reverse: false) { member, _ in members.append(Array(member)) }
        func above(_ rank: Int) -> Bool { members[rank].withUnsafeBytes { aboveMin($0) } }
        func below(_ rank: Int) -> Bool { members[rank].withUnsafeBytes { belowMax($0) } }
        // Nothing in range unless the last member reaches the minimum and the first the maximum.
        guard above(members.count - 1), below(0) else { return 0..<0 }
        var taken = 0
        if reverse {
            guard let last = members.indices.last(where: below), above(last), last - offset >= 0 else { return 0..<0 }
            var rank = last - offset
            let top = rank
            while rank >= 0 && taken != limit && above(rank) {
                rank -= 1
                taken += 1
            }
            return (top + 1 - taken)..<(top + 1)
        }
        guard let first = members.indices.first(where: above), below(first), first + offset < members.count else { return 0..<0 }
        var rank = first + offset
        let bottom = rank
        while rank < members.count && taken != limit && below(rank) {
            rank += 1
            taken += 1
        }
        return bottom..<(bottom + taken)
    }
}
