import Commands

/// Blocking list and sorted-set pops: BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP BZPOPMIN BZPOPMAX BZMPOP,
/// and CLIENT UNBLOCK.
///
/// Each handler first tries to serve at once, exactly as the non-blocking form; with nothing to pop
/// it blocks the client (`Node.block`). When a key becomes ready the same handler runs again with
/// that key first (`BlockedClients.order`).
enum BlockingCommands {
    static var all: [(String, CommandHandler)] {[
        ("blpop", blpop), ("brpop", brpop), ("blmove", blmove), ("brpoplpush", brpoplpush), ("blmpop", blmpop),
        ("bzpopmin", bzpopmin), ("bzpopmax", bzpopmax), ("bzmpop", bzmpop), ("client|unblock", clientUnblock),
    ]}

    // MARK: - Arguments

    /// A timeout in seconds as Redis reads it (`getTimeoutFromObjectOrReply`): a long double times
    /// 1000, rounded up to whole milliseconds; 0 blocks forever. Returns the deadline in Unix ms (0 = none).
    static func deadline(_ call: CommandCall, _ index: Int) throws(CommandError) -> Int64 {
        let now = call.now
        return try call.withArgument(index) { (bytes) throws(CommandError) in try deadline(bytes, now: now) }
    }

    static func deadline(_ bytes: UnsafeRawBufferPointer, now: Int64) throws(CommandError) -> Int64 {
        guard let seconds = RedisNumber.parseLongDouble(bytes) else {
            throw CommandError("ERR timeout is not a float or out of range")
        }
        let milliseconds = (seconds * 1000).rounded(.up)
        // C's conversion of an out-of-range value yields INT64_MIN on x86: "negative".
        let truncated: Int64 = milliseconds < 0x1p63 && milliseconds >= -0x1p63 ? Int64(milliseconds) : .min
        guard truncated >= 0 else { throw CommandError("ERR timeout is negative") }
        if truncated == 0 { return 0 }
        let (sum, overflow) = truncated.addingReportingOverflow(now)
        return overflow ? .max : sum
    }

    private static func isLeft(_ call: CommandCall, _ index: Int) throws(CommandError) -> Bool {
        if call.matches(index, "left") { return true }
        if call.matches(index, "right") { return false }
        throw .syntax
    }

    /// BLMPOP/BZMPOP's `numkeys key... where [COUNT n]`: key indices, where-argument index, count.
    private static func multiPopArguments(_ call: CommandCall, numkeysIndex: Int) throws(CommandError) -> (keys: [Int], whereIndex: Int, count: Int) {
        let numkeysError = CommandError("ERR numkeys should be greater than 0")
        let numkeys = try call.integer(numkeysIndex, error: numkeysError)
        guard numkeys >= 1 else { throw numkeysError }
        guard numkeys < call.count - numkeysIndex else { throw .syntax }
        let whereIndex = numkeysIndex + numkeys + 1
        guard whereIndex < call.count else { throw .syntax }
        var count = -1
        var index = whereIndex + 1
        while index < call.count {
            if count == -1 && call.matches(index, "count") && index + 1 < call.count {
                let countError = CommandError("ERR count should be greater than 0")
                count = try call.integer(index + 1, error: countError)
                guard count >= 1 else { throw countError }
                index += 2
            } else {
                throw .syntax
            }
        }
        return (Array(numkeysIndex + 1..<whereIndex), whereIndex, count == -1 ? 1 : count)
    }

    // MARK: - Lists

    static func blpop(_ call: CommandCall) throws(CommandError) { try blockingPop(call, left: true) }
    static func brpop(_ call: CommandCall) throws(CommandError) { try blockingPop(call, left: false) }

    private static func blockingPop(_ call: CommandCall, left: Bool) throws(CommandError) {
        let deadline = try deadline(call, call.count - 1)
        let keys = Array(1..<call.count - 1)
        for index in call.node.blocking.order(call, keys) {
            guard let popped = try popList(call, index, left: left, count: 1) else { continue }
            // Replicas and the AOF get the pop that happened, never a command that could block.
            call.propagate(as: [[Array((left ? "LPOP" : "RPOP").utf8), call.bytes(index)]])
            call.client.arrayHeader(2)
            call.argument(index) { call.client.bulk($0) }
            call.client.bulk(popped[0])
            return
        }
        call.node.block(call, keys: keys, kind: .list, deadline: deadline) { call.client.nullArray() }
    }

    /// Pops up to `count` elements from the list at key argument `index`; nil when the key is missing.
    private static func popList(_ call: CommandCall, _ index: Int, left: Bool, count: Int) throws(CommandError) -> [[UInt8]]? {
        guard let slot = call.find(index) else { return nil }
        guard case .list(let list) = call.database.value(at: slot) else { throw .wrongType }
        var popped: [[UInt8]] = []
        popped.reserveCapacity(min(count, list.elements.count))
        while popped.count < count, let element = left ? list.elements.popFirst() : list.elements.popLast() {
            popped.append(element)
        }
        if list.elements.isEmpty { call.database.remove(slot: slot) }
        call.node.dirty += popped.count
        return popped
    }

    static func blmove(_ call: CommandCall) throws(CommandError) {
        let fromLeft = try isLeft(call, 3)
        let toLeft = try isLeft(call, 4)
        try blockingMove(call, fromLeft: fromLeft, toLeft: toLeft, timeoutIndex: 5)
    }

    static func brpoplpush(_ call: CommandCall) throws(CommandError) {
        try blockingMove(call, fromLeft: false, toLeft: true, timeoutIndex: 3)
    }

    private static func blockingMove(_ call: CommandCall, fromLeft: Bool, toLeft: Bool, timeoutIndex: Int) throws(CommandError) {
        let deadline = try deadline(call, timeoutIndex)
        let database = call.database
        if let sourceSlot = call.find(1) {
            guard case .list(let source) = database.value(at: sourceSlot) else { throw .wrongType }
            var target: ListObject?
            if let targetSlot = call.find(2) {
                guard case .list(let list) = database.value(at: targetSlot) else { throw .wrongType }
                target = list
            }
            let element = (fromLeft ? source.elements.popFirst() : source.elements.popLast())!
            if let target {
                if toLeft { target.elements.prepend(element) } else { target.elements.append(element) }
            } else {
                database.add(call.bytes(2), .list(ListObject([element])))
            }
            // The source may be the destination: delete it only if it is still empty.
            if source.elements.isEmpty, let slot = call.find(1) { database.remove(slot: slot) }
            call.node.dirty += 1
            call.propagate(as: [[
                Array("LMOVE".utf8), call.bytes(1), call.bytes(2), Array((fromLeft ? "LEFT" : "RIGHT").utf8),
                Array((toLeft ? "LEFT" : "RIGHT").utf8),
            ]])
            return call.client.bulk(element)
        }
        call.node.block(call, keys: [1], kind: .list, deadline: deadline) { call.client.null() }
    }

    static func blmpop(_ call: CommandCall) throws(CommandError) {
        let (keys, whereIndex, count) = try multiPopArguments(call, numkeysIndex: 2)
        let left = try isLeft(call, whereIndex)
        let deadline = try deadline(call, 1)
        for index in call.node.blocking.order(call, keys) {
            guard let popped = try popList(call, index, left: left, count: count) else { continue }
            call.propagate(as: [[Array((left ? "LPOP" : "RPOP").utf8), call.bytes(index), Array(String(popped.count).utf8)]])
            call.client.arrayHeader(2)
            call.argument(index) { call.client.bulk($0) }
            call.client.arrayHeader(popped.count)
            for element in popped { call.client.bulk(element) }
            return
        }
        call.node.block(call, keys: keys, kind: .list, deadline: deadline) { call.client.nullArray() }
    }

    // MARK: - Sorted sets

    static func bzpopmin(_ call: CommandCall) throws(CommandError) { try blockingZPop(call, max: false) }
    static func bzpopmax(_ call: CommandCall) throws(CommandError) { try blockingZPop(call, max: true) }

    private static func blockingZPop(_ call: CommandCall, max: Bool) throws(CommandError) {
        let deadline = try deadline(call, call.count - 1)
        let keys = Array(1..<call.count - 1)
        for index in call.node.blocking.order(call, keys) {
            guard let popped = try popSortedSet(call, index, max: max, count: 1) else { continue }
            call.propagate(as: [[Array((max ? "ZPOPMAX" : "ZPOPMIN").utf8), call.bytes(index)]])
            call.client.arrayHeader(3)
            call.argument(index) { call.client.bulk($0) }
            call.client.bulk(popped[0].0)
            call.client.double(popped[0].1)
            return
        }
        call.node.block(call, keys: keys, kind: .sortedSet, deadline: deadline) { call.client.nullArray() }
    }

    /// Pops up to `count` lowest (or highest) members of the sorted set at key argument `index`.
    private static func popSortedSet(_ call: CommandCall, _ index: Int, max: Bool, count: Int) throws(CommandError) -> [([UInt8], Double)]? {
        guard let slot = call.find(index) else { return nil }
        guard case .sortedSet(let set) = call.database.value(at: slot) else { throw .wrongType }
        let taken = min(count, set.count)
        let ranks = max ? set.count - taken..<set.count : 0..<taken
        var popped: [([UInt8], Double)] = []
        popped.reserveCapacity(taken)
        set.forEach(ranks: ranks, reverse: max) { member, score in popped.append((Array(member), score)) }
        set.removeRanks(ranks)
        if set.count == 0 { call.database.remove(slot: slot) }
        call.node.dirty += popped.count
        return popped
    }

    static func bzmpop(_ call: CommandCall) throws(CommandError) {
        let (keys, whereIndex, count) = try multiPopArguments(call, numkeysIndex: 2)
        let max: Bool
        if call.matches(whereIndex, "min") { max = false } else if call.matches(whereIndex, "max") { max = true } else { throw .syntax }
        let deadline = try deadline(call, 1)
        for index in call.node.blocking.order(call, keys) {
            guard let popped = try popSortedSet(call, index, max: max, count: count) else { continue }
            call.propagate(as: [[Array((max ? "ZPOPMAX" : "ZPOPMIN").utf8), call.bytes(index), Array(String(popped.count).utf8)]])
            call.client.arrayHeader(2)
            call.argument(index) { call.client.bulk($0) }
            call.client.arrayHeader(popped.count)
            for (member, score) in popped {
                call.client.arrayHeader(2)
                call.client.bulk(member)
                call.client.double(score)
            }
            return
        }
        call.node.block(call, keys: keys, kind: .sortedSet, deadline: deadline) { call.client.nullArray() }
    }

    // MARK: - CLIENT UNBLOCK

    static func clientUnblock(_ call: CommandCall) throws(CommandError) {
        guard call.count == 3 || call.count == 4 else { throw .syntax }
        var withError = false
        if call.count == 4 {
            if call.matches(3, "error") {
                withError = true
            } else if !call.matches(3, "timeout") {
                throw CommandError("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
            }
        }
        let id = try call.integer(2)
        guard let target = call.node.clients[id] else { return call.client.integer(0) }
        let unblocked = call.node.unblock(target) { client in
            if withError { client.error("UNBLOCKED client unblocked via CLIENT UNBLOCK") } else { client.nullArray() }
        }
        call.client.integer(unblocked ? 1 : 0)
    }
}
