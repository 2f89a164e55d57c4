import Commands

/// Blocking list and sorted-set pops: BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP BZPOPMIN BZPOPMAX BZMPOP,
/// and CLIENT UNBLOCK.
///
/// Each handler first tries to serve at once, exactly as the non-blocking form; with nothing to pop
/// it blocks the client (`Node.block`). When a key becomes ready the same handler runs again with
/// that key first (`BlockedClients.order`).
enum BlockingCommands {
    static var all: [(String, CommandHandler)] {[
        ("blpop", .init(blpop)), ("brpop", .init(brpop)), ("blmove", .init(blmove)), ("brpoplpush", .init(brpoplpush)), ("blmpop", .init(blmpop)),
        ("bzpopmin", .init(bzpopmin)), ("bzpopmax", .init(bzpopmax)), ("bzmpop", .init(bzmpop)), ("client|unblock", .init(clientUnblock)),
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

    // MARK: - Lists

    static func blpop(_ call: inout CommandCall) throws(CommandError) { try blockingPop(&call, left: true) }
    static func brpop(_ call: inout CommandCall) throws(CommandError) { try blockingPop(&call, left: false) }

    private static func blockingPop(_ call: inout CommandCall, left: Bool) throws(CommandError) {
        let deadline = try deadline(call, call.count - 1)
        let keys = Array(1..<call.count - 1)
        for index in call.node.clients.blocking.order(call, keys) {
            guard let popped = try ListCommands.pop(&call, keyIndex: index, left: left, count: 1) else { continue }
            // Replicas and the AOF get the pop that happened, never a command that could block.
            call.propagate { call in [[Array((left ? "LPOP" : "RPOP").utf8), call.bytes(index)]] }
            call.client.arrayHeader(2)
            call.argument(index) { call.client.bulk($0) }
            call.client.bulk(popped[0])
            return
        }
        call.node.block(call, keys: keys, kind: .list, deadline: deadline) { call.client.nullArray() }
    }

    static func blmove(_ call: inout CommandCall) throws(CommandError) {
        let fromLeft = try ListCommands.isLeft(call, 3)
        let toLeft = try ListCommands.isLeft(call, 4)
        try blockingMove(&call, fromLeft: fromLeft, toLeft: toLeft, timeoutIndex: 5)
    }

    static func brpoplpush(_ call: inout CommandCall) throws(CommandError) {
        try blockingMove(&call, fromLeft: false, toLeft: true, timeoutIndex: 3)
    }

    private static func blockingMove(_ call: inout CommandCall, fromLeft: Bool, toLeft: Bool, timeoutIndex: Int) throws(CommandError) {
        let deadline = try deadline(call, timeoutIndex)
        guard call.find(1) != nil else {
            return call.node.block(call, keys: [1], kind: .list, deadline: deadline) { call.client.null() }
        }
        try ListCommands.move(&call, fromLeft: fromLeft, toLeft: toLeft)
        // Replayed as the non-blocking form: BRPOPLPUSH as RPOPLPUSH; BLMOVE as LMOVE, with the
        // directions as sent when served at once, and in Redis's lower-case words when a client that
        // blocked is served (Redis builds that command itself).
        let served = call.node.clients.blocking.serving != nil
        call.propagate { call in
            guard timeoutIndex == 5 else { return [[Array("RPOPLPUSH".utf8), call.bytes(1), call.bytes(2)]] }
            let from = served ? Array((fromLeft ? "left" : "right").utf8) : call.bytes(3)
            let to = served ? Array((toLeft ? "left" : "right").utf8) : call.bytes(4)
            return [[Array("LMOVE".utf8), call.bytes(1), call.bytes(2), from, to]]
        }
    }

    static func blmpop(_ call: inout CommandCall) throws(CommandError) {
        // Redis reads numkeys, the keys, the direction and COUNT before the timeout.
        let (keys, left, count) = try call.multiPopArguments(numkeysIndex: 2, first: "left", second: "right")
        let deadline = try deadline(call, 1)
        let order = call.node.clients.blocking.order(call, keys)
        guard try ListCommands.serveMultiPop(&call, keys: order, left: left, count: count) != nil else {
            return call.node.block(call, keys: keys, kind: .list, deadline: deadline) { call.client.nullArray() }
        }
    }

    // MARK: - Sorted sets

    static func bzpopmin(_ call: inout CommandCall) throws(CommandError) { try blockingZPop(&call, max: false) }
    static func bzpopmax(_ call: inout CommandCall) throws(CommandError) { try blockingZPop(&call, max: true) }

    private static func blockingZPop(_ call: inout CommandCall, max: Bool) throws(CommandError) {
        let deadline = try deadline(call, call.count - 1)
        let keys = Array(1..<call.count - 1)
        for index in call.node.clients.blocking.order(call, keys) {
            guard let popped = try SortedSetCommands.pop(&call, keyIndex: index, max: max, count: 1) else { continue }
            call.propagate { call in [[Array((max ? "ZPOPMAX" : "ZPOPMIN").utf8), call.bytes(index)]] }
            call.client.arrayHeader(3)
            call.argument(index) { call.client.bulk($0) }
            call.client.bulk(popped[0].0)
            call.client.double(popped[0].1)
            return
        }
        call.node.block(call, keys: keys, kind: .sortedSet, deadline: deadline) { call.client.nullArray() }
    }

    static func bzmpop(_ call: inout CommandCall) throws(CommandError) {
        let (keys, min, count) = try call.multiPopArguments(numkeysIndex: 2, first: "min", second: "max")
        let deadline = try deadline(call, 1)
        let order = call.node.clients.blocking.order(call, keys)
        guard try SortedSetCommands.serveMultiPop(&call, keys: order, max: !min, count: count) != nil else {
            return call.node.block(call, keys: keys, kind: .sortedSet, deadline: deadline) { call.client.nullArray() }
        }
    }

    // MARK: - CLIENT UNBLOCK

    static func clientUnblock(_ call: inout CommandCall) throws(CommandError) {
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
        guard let target = call.node.clients.connected[id] else { return call.client.integer(0) }
        let unblocked = call.node.unblock(target) { client in
            if withError { client.error("UNBLOCKED client unblocked via CLIENT UNBLOCK") } else { client.nullArray() }
        }
        call.client.integer(unblocked ? 1 : 0)
    }
}
