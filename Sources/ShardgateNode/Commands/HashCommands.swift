import Commands
import RedisText

/// HSET and the rest of the hash family, with Redis 7.0's replies and error texts.
enum HashCommands {
    static var all: [(String, CommandHandler)] {[
        ("hset", .init(hset)), ("hmset", .init(hmset)), ("hsetnx", .init(hsetnx)), ("hget", .init(hget)), ("hmget", .init(hmget)), ("hdel", .init(hdel)),
        ("hlen", .init(hlen)), ("hstrlen", .init(hstrlen)), ("hexists", .init(hexists)), ("hkeys", .init(hkeys)), ("hvals", .init(hvals)),
        ("hgetall", .init(hgetall)), ("hincrby", .init(hincrby)), ("hincrbyfloat", .init(hincrbyfloat)), ("hrandfield", .init(hrandfield)),
        ("hscan", .init(hscan)),
    ]}

    /// The hash at key argument `index` for a read; nil when missing.
    static func read(_ call: CommandCall, _ index: Int = 1) throws(CommandError) -> HashObject? {
        try call.typedValue(index, forWrite: false, \.asHash)
    }

    /// The hash at key argument `index` for a write; nil when missing.
    static func write(_ call: CommandCall, _ index: Int = 1) throws(CommandError) -> HashObject? {
        try call.typedValue(index, forWrite: true, \.asHash)
    }

    /// The hash at key argument 1, created empty when missing (`hashTypeLookupWriteOrCreate`).
    static func writeOrCreate(_ call: CommandCall) throws(CommandError) -> HashObject {
        if let hash = try write(call) { return hash }
        let hash = HashObject()
        call.database.add(call.bytes(1), .hash(hash))
        return hash
    }

    static func hset(_ call: inout CommandCall) throws(CommandError) {
        guard call.count % 2 == 0 else { throw CommandError(RedisErrors.wrongArity("hset")) }
        call.client.integer(try setPairs(&call))
    }

    static func hmset(_ call: inout CommandCall) throws(CommandError) {
        guard call.count % 2 == 0 else { throw CommandError(RedisErrors.wrongArity("hmset")) }
        _ = try setPairs(&call)
        call.client.ok()
    }

    private static func setPairs(_ call: inout CommandCall) throws(CommandError) -> Int {
        let hash = try writeOrCreate(call)
        let settings = call.node.settings
        if hash.isPacked {
            for index in 2..<call.count where call.spans[index].length > settings.hashMaxListpackValue {
                hash.convertToTable()
                break
            }
        }
        var created = 0
        for index in stride(from: 2, to: call.count, by: 2) {
            call.argument(index) { field in
                call.argument(index + 1) { value in
                    if hash.set(field, value, maxEntries: settings.hashMaxListpackEntries) { created += 1 }
                }
            }
        }
        call.effect.dirty += (call.count - 2) / 2
        call.notify(.hash, "hset", 1)
        return created
    }

    static func hsetnx(_ call: inout CommandCall) throws(CommandError) {
        let hash = try writeOrCreate(call)
        if call.argument(2, { hash.contains($0) }) { return call.client.integer(0) }
        let settings = call.node.settings
        hash.convertIfTooLong(Int(call.spans[2].length), Int(call.spans[3].length), maxValue: settings.hashMaxListpackValue)
        call.argument(2) { field in
            call.argument(3) { value in _ = hash.set(field, value, maxEntries: settings.hashMaxListpackEntries) }
        }
        call.effect.dirty += 1
        call.notify(.hash, "hset", 1)
        call.client.integer(1)
    }

    static func hget(_ call: inout CommandCall) throws(CommandError) {
        guard let hash = try read(call) else { return call.client.null() }
        let found: Void? = call.argument(2) { field in hash.withValue(field) { call.client.bulk($0) } }
        if found == nil { call.client.null() }
    }

    static func hmget(_ call: inout CommandCall) throws(CommandError) {
        let hash = try read(call)
        call.client.arrayHeader(call.count - 2)
        for index in 2..<call.count {
            let found: Void? = call.argument(index) { field in hash?.withValue(field) { call.client.bulk($0) } }
            if found == nil { call.client.null() }
        }
    }

    static func hdel(_ call: inout CommandCall) throws(CommandError) {
        guard let hash = try write(call) else { return call.client.integer(0) }
        removeMembers(&call, event: (.hash, "hdel"), remove: hash.remove, isEmpty: { hash.count == 0 })
    }

    static func hlen(_ call: inout CommandCall) throws(CommandError) {
        call.client.integer(try read(call)?.count ?? 0)
    }

    static func hstrlen(_ call: inout CommandCall) throws(CommandError) {
        guard let hash = try read(call) else { return call.client.integer(0) }
        call.client.integer(call.argument(2) { field in hash.withValue(field) { $0.count } } ?? 0)
    }

    static func hexists(_ call: inout CommandCall) throws(CommandError) {
        guard let hash = try read(call) else { return call.client.integer(0) }
        call.client.integer(call.argument(2) { hash.contains($0) } ? 1 : 0)
    }

    static func hkeys(_ call: inout CommandCall) throws(CommandError) {
        guard let hash = try read(call) else { return call.client.arrayHeader(0) }
        call.client.arrayHeader(hash.count)
        hash.forEach { field, _ in call.client.bulk(field) }
    }

    static func hvals(_ call: inout CommandCall) throws(CommandError) {
        guard let hash = try read(call) else { return call.client.arrayHeader(0) }
        call.client.arrayHeader(hash.count)
        hash.forEach { _, value in call.client.bulk(value) }
    }

    static func hgetall(_ call: inout CommandCall) throws(CommandError) {
        guard let hash = try read(call) else { return call.client.mapHeader(0) }
        call.client.mapHeader(hash.count)
        hash.forEach { field, value in
            call.client.bulk(field)
            call.client.bulk(value)
        }
    }

    static func hincrby(_ call: inout CommandCall) throws(CommandError) {
        let increment = try call.integer(3)
        let hash = try writeOrCreate(call)
        var current = 0
        if let value = call.argument(2, { field in hash.withValue(field) { RedisNumber.parseInteger($0) } }) {
            guard let value else { throw CommandError("ERR hash value is not an integer") }
            current = value
        }
        let (result, overflow) = current.addingReportingOverflow(increment)
        guard !overflow else { throw CommandError("ERR increment or decrement would overflow") }
        let text = Array(String(result).utf8)
        call.argument(2) { field in text.withUnsafeBytes { _ = hash.set(field, $0, settings: call.node.settings) } }
        call.effect.dirty += 1
        call.notify(.hash, "hincrby", 1)
        call.client.integer(result)
    }

    static func hincrbyfloat(_ call: inout CommandCall) throws(CommandError) {
        guard let increment = call.argument(3, { RedisNumber.parseLongDouble($0) }) else { throw .notFloat }
        guard increment.isFinite else { throw CommandError("ERR value is NaN or Infinity") }
        let hash = try writeOrCreate(call)
        var current: RedisNumber.LongDouble = 0
        if let value = call.argument(2, { field in hash.withValue(field) { RedisNumber.parseLongDouble($0) } }) {
            guard let value else { throw CommandError("ERR hash value is not a float") }
            current = value
        }
        let result = current + increment
        guard result.isFinite else { throw CommandError("ERR increment would produce NaN or Infinity") }
        let text = DoubleFormat.incrByFloat(result)
        let bytes = Array(text.utf8)
        call.argument(2) { field in bytes.withUnsafeBytes { _ = hash.set(field, $0, settings: call.node.settings) } }
        call.effect.dirty += 1
        call.notify(.hash, "hincrbyfloat", 1)
        // The result, not the increment: float formatting must not make replicas or a reload differ.
        call.propagate { call in [[Array("HSET".utf8), call.bytes(1), call.bytes(2), bytes]] }
        call.client.bulk(bytes)
    }

    static func hrandfield(_ call: inout CommandCall) throws(CommandError) {
        var generator = SystemRandomNumberGenerator()
        guard call.count >= 3 else {
            guard let hash = try read(call) else { return call.client.null() }
            return call.client.bulk(hash.randomPair(using: &generator).0)
        }
        let requested = try call.rangeInteger(2, min: -Int.max, max: Int.max)
        var withValues = false
        if call.count > 4 || (call.count == 4 && !call.matches(3, "withvalues")) { throw .syntax }
        if call.count == 4 {
            withValues = true
            guard requested >= -Int.max / 2 && requested <= Int.max / 2 else {
                throw CommandError("ERR value is out of range")
            }
        }
        guard let hash = try read(call) else { return call.client.arrayHeader(0) }
        let resp3 = call.client.protocolVersion == 3
        let client = call.client
        let emit = { (field: [UInt8], value: [UInt8]) in
            if withValues && resp3 { client.arrayHeader(2) }
            client.bulk(field)
            if withValues { client.bulk(value) }
        }
        if requested == 0 { return call.client.arrayHeader(0) }
        if requested < 0 || requested == 1 {
            let count = requested.magnitude == 1 ? 1 : Int(requested.magnitude)
            call.client.arrayHeader(withValues && !resp3 ? count * 2 : count)
            for index in 0..<count {
                if index & 1023 == 0 && call.replyMustStop() { return }
                let (field, value) = hash.randomPair(using: &generator)
                emit(field, value)
            }
            return
        }
        let count = requested
        let size = hash.count
        let replySize = min(count, size)
        call.client.arrayHeader(withValues && !resp3 ? replySize * 2 : replySize)
        if count >= size {
            hash.forEach { field, value in emit(Array(field), Array(value)) }
            return
        }
        for (field, value) in RandomPick.distinct(count, of: hash.pairs, using: &generator) { emit(field, value) }
    }

    static func hscan(_ call: inout CommandCall) throws(CommandError) {
        let cursor = try parseCursor(call, 2)
        guard let hash = try read(call) else { return emptyScan(call) }
        try scanCollection(call, from: cursor, perEntry: 2, stepsPerCount: 20) { cursor, emit in
            hash.scan(cursor: cursor) { field, value in emit(field, { Array(value) }) }
        }
    }
}

// MARK: - Helpers shared by the collection families

extension CommandCall {
    /// `getRangeLongFromObjectOrReply`: an integer within `min...max`; `message` (without "ERR ")
    /// replaces both the parse and the range error when given.
    func rangeInteger(_ index: Int, min: Int, max: Int, message: String? = nil) throws(CommandError) -> Int {
        guard let value = argument(index, { RedisNumber.parseInteger($0) }) else {
            throw CommandError(message.map { "ERR \($0)" } ?? RedisErrors.notInteger)
        }
        guard value >= min && value <= max else {
            throw CommandError("ERR " + (message ?? "value is out of range, value must between \(min) and \(max)"))
        }
        return value
    }

    /// `getIntFromObjectOrReply`: an integer within Int32's range (`message` as `rangeInteger`).
    func intArgument(_ index: Int, message: String? = nil) throws(CommandError) -> Int {
        try rangeInteger(index, min: Int(Int32.min), max: Int(Int32.max), message: message)
    }

    /// `getPositiveLongFromObjectOrReply`.
    func positiveInteger(_ index: Int, message: String = "value is out of range, must be positive") throws(CommandError) -> Int {
        try rangeInteger(index, min: 0, max: Int.max, message: message)
    }
}

/// Deletes key argument `index` (an emptied collection) without counting a change of its own.
func removeKey(_ call: CommandCall, _ index: Int) {
    if let slot = call.find(index) { call.database.remove(slot: slot) }
}

/// HDEL, SREM and ZREM: removes the members named from argument 2 on from the collection at key
/// argument 1, deletes the key once it is empty, counts each removal as a change and replies how
/// many there were.
func removeMembers(
    _ call: inout CommandCall, event: (KeyspaceEvents, StaticString), remove: (UnsafeRawBufferPointer) -> Bool,
    isEmpty: () -> Bool
) {
    var removed = 0
    var emptied = false
    for index in 2..<call.count where call.argument(index, remove) {
        removed += 1
        if isEmpty() {
            removeKey(call, 1)
            emptied = true
            break
        }
    }
    call.effect.dirty += removed
    if removed > 0 { call.notifyOrDeleted(event.0, event.1, 1, deleted: emptied) }
    call.client.integer(removed)
}

/// `parseScanCursorOrReply`.
func parseCursor(_ call: CommandCall, _ index: Int) throws(CommandError) -> UInt64 {
    guard let cursor = call.argument(index, { ScanOptions.parseCursor($0) }) else {
        throw CommandError("ERR invalid cursor")
    }
    return cursor
}

func emptyScan(_ call: CommandCall) {
    call.client.arrayHeader(2)
    call.client.bulk("0")
    call.client.arrayHeader(0)
}

/// HSCAN, SSCAN and ZSCAN after the key was read: parses MATCH/COUNT from argument 3, steps `scan`
/// (one table bucket per step: given a cursor, it emits each entry's name and how to make its
/// extra element, made only for entries MATCH keeps, and returns the next cursor) until `COUNT` entries were found, the scan ended, or `stepsPerCount ×
/// COUNT` steps were taken, then replies.
func scanCollection(
    _ call: CommandCall, from cursor: UInt64, perEntry: Int, stepsPerCount: Int,
    _ scan: (UInt64, (UnsafeRawBufferPointer, (() -> [UInt8])?) -> Void) -> UInt64
) throws(CommandError) {
    let options = try ScanOptions(call, from: 3, allowType: false)
    var found: [[UInt8]] = []
    var next = cursor
    // COUNT may be up to Int.max: products saturate (Redis's `count*10` ends up unbounded too).
    let (product, stepsOverflow) = options.count.multipliedReportingOverflow(by: stepsPerCount)
    var steps = stepsOverflow ? Int.max : product
    let (wanted, wantedOverflow) = options.count.multipliedReportingOverflow(by: perEntry)
    let limit = wantedOverflow ? Int.max : wanted
    repeat {
        next = scan(next) { name, extra in
            if let pattern = options.pattern, !pattern.withUnsafeBytes({ GlobMatch.matches($0, name) }) { return }
            found.append(Array(name))
            if let extra { found.append(extra()) }
        }
        steps -= 1
    } while next != 0 && steps > 0 && found.count < limit
    scanReply(call, next, found)
}

func scanReply(_ call: CommandCall, _ cursor: UInt64, _ found: [[UInt8]]) {
    call.client.arrayHeader(2)
    call.client.bulk(String(cursor))
    call.client.arrayHeader(found.count)
    for element in found { call.client.bulk(element) }
}

/// Picking distinct random elements (HRANDFIELD, SRANDMEMBER, ZRANDMEMBER with a positive count).
enum RandomPick {
    /// `count` distinct elements of `elements` (count < elements.count), in random order.
    static func distinct<T, G: RandomNumberGenerator>(_ count: Int, of elements: [T], using generator: inout G) -> ArraySlice<T> {
        var elements = elements
        for index in 0..<count {
            let pick = Int.random(in: index..<elements.count, using: &generator)
            elements.swapAt(index, pick)
        }
        return elements[0..<count]
    }
}
