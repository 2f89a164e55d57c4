import Commands
import DequeModule

/// LPUSH and the rest of the (non-blocking) list family, with Redis 7.0's replies and error texts.
/// The pop and push helpers are shared with the blocking commands.
enum ListCommands {
    static var all: [(String, CommandHandler)] {[
        ("lpush", .init(lpush)), ("rpush", .init(rpush)), ("lpushx", .init(lpushx)), ("rpushx", .init(rpushx)), ("lpop", .init(lpop)), ("rpop", .init(rpop)),
        ("llen", .init(llen)), ("lrange", .init(lrange)), ("lindex", .init(lindex)), ("lset", .init(lset)), ("linsert", .init(linsert)),
        ("lrem", .init(lrem)), ("ltrim", .init(ltrim)), ("lpos", .init(lpos)), ("lmove", .init(lmove)), ("rpoplpush", .init(rpoplpush)),
        ("lmpop", .init(lmpop)),
    ]}

    static func read(_ call: CommandCall, _ index: Int = 1) throws(CommandError) -> ListObject? {
        try call.typedValue(index, forWrite: false, \.asList)
    }

    static func write(_ call: CommandCall, _ index: Int = 1) throws(CommandError) -> ListObject? {
        try call.typedValue(index, forWrite: true, \.asList)
    }

    // MARK: - Shared helpers (also used by the blocking commands)

    /// Pushes `element` at the head (`left`) or tail of the list at key argument `index`, creating
    /// the list when missing. Counts one change.
    static func push(_ call: inout CommandCall, keyIndex index: Int, _ element: [UInt8], left: Bool) throws(CommandError) {
        if let list = try write(call, index) {
            if left { list.elements.prepend(element) } else { list.elements.append(element) }
        } else {
            call.database.add(call.bytes(index), .list(ListObject([element])))
        }
        call.effect.dirty += 1
    }

    /// Removes up to `count` elements from the head (`left`) or tail of `list`, in pop order.
    static func pop(from list: ListObject, left: Bool, count: Int) -> [[UInt8]] {
        let taken = min(count, list.elements.count)
        var popped: [[UInt8]] = []
        popped.reserveCapacity(taken)
        for _ in 0..<taken { popped.append(left ? list.elements.removeFirst() : list.elements.removeLast()) }
        return popped
    }

    /// Pops up to `count` elements from the list at key argument `index` (deleting it when emptied,
    /// counting the changes); nil when the key is missing.
    static func pop(_ call: inout CommandCall, keyIndex index: Int, left: Bool, count: Int) throws(CommandError) -> [[UInt8]]? {
        guard let list = try write(call, index) else { return nil }
        let popped = pop(from: list, left: left, count: count)
        let emptied = list.elements.isEmpty
        if emptied { removeKey(call, index) }
        call.effect.dirty += popped.count
        call.notifyOrDeleted(.list, left ? "lpop" : "rpop", index, deleted: emptied)
        return popped
    }

    /// Parses LEFT/RIGHT: true for left.
    static func isLeft(_ call: CommandCall, _ index: Int) throws(CommandError) -> Bool {
        if call.matches(index, "left") { return true }
        if call.matches(index, "right") { return false }
        throw .syntax
    }

    // MARK: - Commands

    static func lpush(_ call: inout CommandCall) throws(CommandError) { try pushCommand(&call, left: true, onlyExisting: false) }
    static func rpush(_ call: inout CommandCall) throws(CommandError) { try pushCommand(&call, left: false, onlyExisting: false) }
    static func lpushx(_ call: inout CommandCall) throws(CommandError) { try pushCommand(&call, left: true, onlyExisting: true) }
    static func rpushx(_ call: inout CommandCall) throws(CommandError) { try pushCommand(&call, left: false, onlyExisting: true) }

    private static func pushCommand(_ call: inout CommandCall, left: Bool, onlyExisting: Bool) throws(CommandError) {
        let list: ListObject
        if let existing = try write(call) {
            list = existing
        } else {
            if onlyExisting { return call.client.integer(0) }
            list = ListObject()
            call.database.add(call.bytes(1), .list(list))
        }
        for index in 2..<call.count {
            let element = call.bytes(index)
            if left { list.elements.prepend(element) } else { list.elements.append(element) }
        }
        call.effect.dirty += call.count - 2
        call.notify(.list, left ? "lpush" : "rpush", 1)
        call.client.integer(list.elements.count)
    }

    static func lpop(_ call: inout CommandCall) throws(CommandError) { try popCommand(&call, left: true) }
    static func rpop(_ call: inout CommandCall) throws(CommandError) { try popCommand(&call, left: false) }

    private static func popCommand(_ call: inout CommandCall, left: Bool) throws(CommandError) {
        if call.count > 3 { throw CommandError(RedisErrors.wrongArity(left ? "lpop" : "rpop")) }
        let hasCount = call.count == 3
        let count = hasCount ? try call.positiveInteger(2) : 1
        guard let list = try write(call) else { return hasCount ? call.client.nullArray() : call.client.null() }
        if hasCount && count == 0 { return call.client.arrayHeader(0) }
        let popped = pop(from: list, left: left, count: count)
        let emptied = list.elements.isEmpty
        if emptied { removeKey(call, 1) }
        call.effect.dirty += popped.count
        call.notifyOrDeleted(.list, left ? "lpop" : "rpop", 1, deleted: emptied)
        if hasCount {
            call.client.arrayHeader(popped.count)
            for element in popped { call.client.bulk(element) }
        } else {
            call.client.bulk(popped[0])
        }
    }

    static func llen(_ call: inout CommandCall) throws(CommandError) {
        call.client.integer(try read(call)?.elements.count ?? 0)
    }

    /// The clamped index range `start...end` as LRANGE/LTRIM compute it; nil when empty.
    static func clamp(start: Int, end: Int, length: Int) -> ClosedRange<Int>? {
        var start = start < 0 ? length &+ start : start
        var end = end < 0 ? length &+ end : end
        if start < 0 { start = 0 }
        if start > end || start >= length { return nil }
        if end >= length { end = length - 1 }
        return start...end
    }

    static func lrange(_ call: inout CommandCall) throws(CommandError) {
        let start = try call.integer(2)
        let end = try call.integer(3)
        guard let list = try read(call),
            let range = clamp(start: start, end: end, length: list.elements.count)
        else { return call.client.arrayHeader(0) }
        call.client.arrayHeader(range.count)
        for index in range { call.client.bulk(list.elements[index]) }
    }

    static func lindex(_ call: inout CommandCall) throws(CommandError) {
        guard let list = try read(call) else { return call.client.null() }
        var index = try call.integer(2)
        if index < 0 { index = list.elements.count &+ index }
        guard index >= 0 && index < list.elements.count else { return call.client.null() }
        call.client.bulk(list.elements[index])
    }

    static func lset(_ call: inout CommandCall) throws(CommandError) {
        guard let list = try write(call) else { throw .noSuchKey }
        var index = try call.integer(2)
        if index < 0 { index = list.elements.count &+ index }
        guard index >= 0 && index < list.elements.count else { throw CommandError("ERR index out of range") }
        list.elements[index] = call.bytes(3)
        call.effect.dirty += 1
        call.notify(.list, "lset", 1)
        call.client.ok()
    }

    static func linsert(_ call: inout CommandCall) throws(CommandError) {
        let after: Bool
        if call.matches(2, "after") { after = true } else if call.matches(2, "before") { after = false } else { throw .syntax }
        guard let list = try write(call) else { return call.client.integer(0) }
        let position = call.argument(3) { pivot in
            list.elements.firstIndex { element in element.withUnsafeBytes { $0.elementsEqual(pivot) } }
        }
        guard let position else { return call.client.integer(-1) }
        list.elements.insert(call.bytes(4), at: after ? position + 1 : position)
        call.effect.dirty += 1
        call.notify(.list, "linsert", 1)
        call.client.integer(list.elements.count)
    }

    static func lrem(_ call: inout CommandCall) throws(CommandError) {
        let requested = try call.integer(2)
        guard let list = try write(call) else { return call.client.integer(0) }
        let target = call.bytes(3)
        let limit = requested == Int.min ? Int.max : abs(requested)
        var removed = 0
        if requested < 0 {
            var index = list.elements.count - 1
            while index >= 0 {
                if list.elements[index] == target {
                    list.elements.remove(at: index)
                    removed += 1
                    if limit != 0 && removed == limit { break }
                }
                index -= 1
            }
        } else {
            var kept = Deque<[UInt8]>()
            kept.reserveCapacity(list.elements.count)
            for element in list.elements {
                if element == target && (limit == 0 || removed < limit) {
                    removed += 1
                } else {
                    kept.append(element)
                }
            }
            if removed > 0 { list.elements = kept }
        }
        call.effect.dirty += removed
        let emptied = list.elements.isEmpty
        if emptied { removeKey(call, 1) }
        if removed > 0 { call.notifyOrDeleted(.list, "lrem", 1, deleted: emptied) }
        call.client.integer(removed)
    }

    static func ltrim(_ call: inout CommandCall) throws(CommandError) {
        let start = try call.integer(2)
        let end = try call.integer(3)
        guard let list = try write(call) else { return call.client.ok() }
        let length = list.elements.count
        let removed: Int
        if let range = clamp(start: start, end: end, length: length) {
            removed = length - range.count
            list.elements.removeLast(length - 1 - range.upperBound)
            list.elements.removeFirst(range.lowerBound)
        } else {
            removed = length
            list.elements.removeAll()
        }
        let emptied = list.elements.isEmpty
        if emptied { removeKey(call, 1) }
        call.effect.dirty += removed
        call.notifyOrDeleted(.list, "ltrim", 1, deleted: emptied)
        call.client.ok()
    }

    static func lpos(_ call: inout CommandCall) throws(CommandError) {
        var rank = 1
        var count = -1
        var maxlen = 0
        var index = 3
        while index < call.count {
            let more = index + 1 < call.count
            if more && call.matches(index, "rank") {
                rank = try call.integer(index + 1)
                if rank == 0 {
                    throw CommandError(
                        "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
                }
            } else if more && call.matches(index, "count") {
                count = try call.positiveInteger(index + 1, message: "COUNT can't be negative")
            } else if more && call.matches(index, "maxlen") {
                maxlen = try call.positiveInteger(index + 1, message: "MAXLEN can't be negative")
            } else {
                throw .syntax
            }
            index += 2
        }
        let reverse = rank < 0
        // Redis negates a negative RANK in C: RANK -2^63 stays negative (wrapping), so every
        // match qualifies and the COUNT test below wraps as well. Same arithmetic, without traps.
        let skip = reverse ? 0 &- rank : rank
        guard let list = try read(call) else { return count != -1 ? call.client.arrayHeader(0) : call.client.null() }
        let target = call.bytes(2)
        let length = list.elements.count
        var matches = 0
        var found: [Int] = []
        var scanned = 0
        while scanned < length && (maxlen == 0 || scanned < maxlen) {
            let position = reverse ? length - 1 - scanned : scanned
            if list.elements[position] == target {
                matches += 1
                if matches >= skip {
                    found.append(position)
                    if count == -1 || (count != 0 && matches &- skip &+ 1 >= count) { break }
                }
            }
            scanned += 1
        }
        if count != -1 {
            call.client.arrayHeader(found.count)
            for position in found { call.client.integer(position) }
        } else if let position = found.first {
            call.client.integer(position)
        } else {
            call.client.null()
        }
    }

    static func lmove(_ call: inout CommandCall) throws(CommandError) {
        let fromLeft = try isLeft(call, 3)
        let toLeft = try isLeft(call, 4)
        try move(&call, fromLeft: fromLeft, toLeft: toLeft)
    }

    static func rpoplpush(_ call: inout CommandCall) throws(CommandError) {
        try move(&call, fromLeft: false, toLeft: true)
    }

    /// LMOVE's work on keys 1 → 2 (`lmoveGenericCommand`); replies with the moved element or null.
    static func move(_ call: inout CommandCall, fromLeft: Bool, toLeft: Bool) throws(CommandError) {
        guard let source = try write(call, 1) else { return call.client.null() }
        let target = try write(call, 2)
        let element = fromLeft ? source.elements.removeFirst() : source.elements.removeLast()
        if let target {
            if toLeft { target.elements.prepend(element) } else { target.elements.append(element) }
        } else {
            call.database.add(call.bytes(2), .list(ListObject([element])))
        }
        call.notify(.list, toLeft ? "lpush" : "rpush", 2)
        let emptied = source.elements.isEmpty
        if emptied { removeKey(call, 1) }
        call.effect.dirty += 1
        call.notifyOrDeleted(.list, fromLeft ? "lpop" : "rpop", 1, deleted: emptied)
        call.client.bulk(element)
    }

    static func lmpop(_ call: inout CommandCall) throws(CommandError) {
        let (keys, left, count) = try call.multiPopArguments(numkeysIndex: 1, first: "left", second: "right")
        if try serveMultiPop(&call, keys: keys, left: left, count: count) == nil { call.client.nullArray() }
    }

    /// LMPOP's work (and BLMPOP's when it can be served): pops from the first non-empty list of
    /// `keys` and replies `[key, [elements]]`. Returns the served key argument and how many were
    /// popped; nil, with nothing replied, when every list is empty.
    static func serveMultiPop(
        _ call: inout CommandCall, keys: [Int], left: Bool, count: Int
    ) throws(CommandError) -> (keyIndex: Int, popped: Int)? {
        for index in keys {
            guard let popped = try pop(&call, keyIndex: index, left: left, count: count) else { continue }
            call.client.arrayHeader(2)
            call.argument(index) { call.client.bulk($0) }
            call.client.arrayHeader(popped.count)
            for element in popped { call.client.bulk(element) }
            // Replayed as the pop it was, with the count that was popped (never a command that could
            // block, nor one naming other keys).
            let command = left ? "LPOP" : "RPOP"
            call.propagate { call in [[Array(command.utf8), call.bytes(index), Array(String(popped.count).utf8)]] }
            return (index, popped.count)
        }
        return nil
    }
}
