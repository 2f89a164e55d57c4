import Commands

/// GET, SET and the rest of the string family, with Redis 7.0's replies and error texts.
enum StringCommands {
    static var all: [(String, CommandHandler)] {[
        ("get", .init(get)), ("set", .init(set)), ("setnx", .init(setnx)), ("setex", .init(setex)), ("psetex", .init(psetex)),
        ("getset", .init(getset)), ("getdel", .init(getdel)), ("getex", .init(getex)), ("mget", .init(mget)), ("mset", .init(mset)),
        ("msetnx", .init(msetnx)), ("incr", .init(incr)), ("decr", .init(decr)), ("incrby", .init(incrby)), ("decrby", .init(decrby)),
        ("incrbyfloat", .init(incrbyfloat)), ("append", .init(append)), ("strlen", .init(strlen)), ("getrange", .init(getrange)),
        ("substr", .init(getrange)), ("setrange", .init(setrange)),
    ]}

    static let maxStringLength = 512 * 1024 * 1024

    static func get(_ call: inout CommandCall) throws(CommandError) {
        guard let slot = call.lookupRead(1) else { return call.client.null() }
        let client = call.client
        guard call.database.withStringBytes(slot: slot, { client.bulk($0) }) != nil else { throw .wrongType }
    }

    /// The expiry options SET and GETEX share.
    enum Expiry {
        case none, keepTTL, persist
        case at(Int64)
    }

    /// Parses `EX|PX|EXAT|PXAT n` at `index`; returns the absolute deadline in ms.
    static func parseExpiry(_ call: CommandCall, at index: Int, command: String) throws(CommandError) -> Int64? {
        let units: [(StaticString, Int64, Bool)] = [("ex", 1000, false), ("px", 1, false), ("exat", 1000, true), ("pxat", 1, true)]
        for (name, scale, absolute) in units where call.matches(index, name) {
            guard index + 1 < call.count else { throw .syntax }
            let amount = try call.integer(index + 1)
            let invalid = CommandError("ERR invalid expire time in '\(command)' command")
            guard amount > 0, scale == 1 || amount <= Int.max / 1000 else { throw invalid }
            let milliseconds = Int64(amount) * scale
            if absolute { return milliseconds }
            let (deadline, overflow) = milliseconds.addingReportingOverflow(call.now)
            guard !overflow else { throw invalid }
            return deadline
        }
        return nil
    }

    /// SET's and GETEX's options as Redis's `parseExtendedStringArgumentsOrReply` reads them: an
    /// option may repeat (the last time wins), only conflicting ones are a syntax error. The time's
    /// value is only located here (`timeIndex`: the EX/PX/EXAT/PXAT argument); each command checks
    /// it at its own moment.
    struct StringOptions {
        var nx = false, xx = false, get = false, keepTTL = false, persist = false
        var timeIndex: Int?
        private var timeKind: Int?

        init(_ call: borrowing CommandCall, from start: Int, forGet: Bool) throws(CommandError) {
            var index = start
            while index < call.count {
                let hasNext = index + 1 < call.count
                if !forGet && call.matches(index, "nx") && !xx {
                    nx = true
                } else if !forGet && call.matches(index, "xx") && !nx {
                    xx = true
                } else if !forGet && call.matches(index, "get") {
                    get = true
                } else if !forGet && call.matches(index, "keepttl") && !persist && timeIndex == nil {
                    keepTTL = true
                } else if forGet && call.matches(index, "persist") && timeIndex == nil && !keepTTL {
                    persist = true
                } else if let kind = Self.timeKind(call, index), hasNext, !keepTTL, !persist, timeKind == nil || timeKind == kind {
                    timeKind = kind
                    timeIndex = index
                    index += 1
                } else {
                    throw .syntax
                }
                index += 1
            }
        }

        private static func timeKind(_ call: CommandCall, _ index: Int) -> Int? {
            if call.matches(index, "ex") { return 0 }
            if call.matches(index, "px") { return 1 }
            if call.matches(index, "exat") { return 2 }
            if call.matches(index, "pxat") { return 3 }
            return nil
        }
    }

    static func set(_ call: inout CommandCall) throws(CommandError) {
        let options = try StringOptions(call, from: 3, forGet: false)
        let (nx, xx, returnOld) = (options.nx, options.xx, options.get)
        var expiry = options.keepTTL ? Expiry.keepTTL : Expiry.none
        // The time is checked before anything else happens (before GET's type check), as in Redis.
        if let timeIndex = options.timeIndex, let deadline = try parseExpiry(call, at: timeIndex, command: "set") {
            expiry = .at(deadline)
        }
        let database = call.database
        // With GET the key is read as GET reads it (keyspace hits and misses, keymiss events).
        let slot = returnOld ? call.lookupRead(1) : call.find(1)
        if returnOld {
            if let slot {
                guard case .string(let old) = database.value(at: slot) else { throw .wrongType }
                call.client.bulk(old)
            } else {
                call.client.null()
            }
        }
        if (nx && slot != nil) || (xx && slot == nil) {
            if !returnOld { call.client.null() }
            return
        }
        let value = Value.string(call.bytes(2))
        let target: Int
        if let slot {
            if case .keepTTL = expiry {
                database.replace(slot: slot, with: value, keepTTL: true)
            } else {
                database.replace(slot: slot, with: value)
            }
            target = slot
        } else {
            target = call.argument(1) { database.add($0, value) }
        }
        call.effect.dirty += 1
        if case .at(let deadline) = expiry {
            database.setExpiry(slot: target, deadline)
            // A relative time would not mean the same when replayed: the deadline goes instead.
            call.propagate { call in [absoluteSet(call, key: 1, value: 2, deadline: deadline)] }
            call.notify(.string, "set", 1)
            call.notify(.generic, "expire", 1)
        } else if returnOld {
            // GET only changes the reply: replicas and the AOF get the SET without it.
            call.propagate { call in [(0..<call.count).filter { $0 < 3 || !call.matches($0, "get") }.map { call.bytes($0) }] }
        }
        if case .at = expiry {} else { call.notify(.string, "set", 1) }
        if !returnOld { call.client.ok() }
    }

    /// `SET key value PXAT deadline`, how SET with a time, SETEX and PSETEX propagate.
    private static func absoluteSet(_ call: CommandCall, key: Int, value: Int, deadline: Int64) -> [[UInt8]] {
        [Array("SET".utf8), call.bytes(key), call.bytes(value), Array("PXAT".utf8), Array(String(deadline).utf8)]
    }

    static func setnx(_ call: inout CommandCall) throws(CommandError) {
        guard call.find(1) == nil else { return call.client.integer(0) }
        call.store(1, .string(call.bytes(2)))
        call.notify(.string, "set", 1)
        call.client.integer(1)
    }

    static func setex(_ call: inout CommandCall) throws(CommandError) { try setWithTTL(&call, scale: 1000, name: "setex") }
    static func psetex(_ call: inout CommandCall) throws(CommandError) { try setWithTTL(&call, scale: 1, name: "psetex") }

    private static func setWithTTL(_ call: inout CommandCall, scale: Int64, name: String) throws(CommandError) {
        let amount = try call.integer(2)
        let invalid = CommandError("ERR invalid expire time in '\(name)' command")
        guard amount > 0, scale == 1 || amount <= Int.max / 1000 else { throw invalid }
        let (deadline, overflow) = (Int64(amount) * scale).addingReportingOverflow(call.now)
        guard !overflow else { throw invalid }
        call.store(1, .string(call.bytes(3)))
        if let slot = call.find(1) { call.database.setExpiry(slot: slot, deadline) }
        call.propagate { call in [absoluteSet(call, key: 1, value: 3, deadline: deadline)] }
        call.notify(.string, "set", 1)
        call.notify(.generic, "expire", 1)
        call.client.ok()
    }

    static func getset(_ call: inout CommandCall) throws(CommandError) {
        let old = try call.readString(1)
        call.store(1, .string(call.bytes(2)))
        call.notify(.string, "set", 1)
        call.propagate { call in [[Array("SET".utf8), call.bytes(1), call.bytes(2)]] }
        if let old { call.client.bulk(old) } else { call.client.null() }
    }

    static func getdel(_ call: inout CommandCall) throws(CommandError) {
        guard let value = try call.readString(1) else { return call.client.null() }
        call.delete(1)
        call.notify(.generic, "del", 1)
        // Replayed as the deletion it was (Redis: DEL, or UNLINK under lazyfree-lazy-user-del, which
        // the node does not have).
        call.propagate { call in [[Array("DEL".utf8), call.bytes(1)]] }
        call.client.bulk(value)
    }

    static func getex(_ call: inout CommandCall) throws(CommandError) {
        let options = try StringOptions(call, from: 2, forGet: true)
        var expiry = options.persist ? Expiry.persist : Expiry.none
        let timeOption = options.timeIndex
        guard let value = try call.readString(1) else { return call.client.null() }
        if let timeOption, let deadline = try parseExpiry(call, at: timeOption, command: "getex") {
            expiry = .at(deadline)
        }
        if let slot = call.find(1) {
            switch expiry {
            case .at(let deadline):
                if deadline <= call.now {
                    call.delete(1)
                    call.propagate { call in [[Array("DEL".utf8), call.bytes(1)]] }
                    call.notify(.generic, "del", 1)
                } else {
                    call.database.setExpiry(slot: slot, deadline)
                    call.effect.dirty += 1
                    call.propagate { call in [[Array("PEXPIREAT".utf8), call.bytes(1), Array(String(deadline).utf8)]] }
                    call.notify(.generic, "expire", 1)
                }
            case .persist:
                if call.database.expireAt(slot: slot) != 0 {
                    call.database.setExpiry(slot: slot, 0)
                    call.effect.dirty += 1
                    call.propagate { call in [[Array("PERSIST".utf8), call.bytes(1)]] }
                    call.notify(.generic, "persist", 1)
                }
            case .none, .keepTTL:
                break
            }
        }
        call.client.bulk(value)
    }

    static func mget(_ call: inout CommandCall) throws(CommandError) {
        call.client.arrayHeader(call.count - 1)
        for index in 1..<call.count {
            if let slot = call.lookupRead(index), case .string(let value) = call.database.value(at: slot) {
                call.client.bulk(value)
            } else {
                call.client.null()
            }
        }
    }

    static func mset(_ call: inout CommandCall) throws(CommandError) {
        guard call.count % 2 == 1 else { throw CommandError(RedisErrors.wrongArity("mset")) }
        for index in stride(from: 1, to: call.count, by: 2) {
            call.store(index, .string(call.bytes(index + 1)))
            call.notify(.string, "set", index)
        }
        call.client.ok()
    }

    static func msetnx(_ call: inout CommandCall) throws(CommandError) {
        guard call.count % 2 == 1 else { throw CommandError(RedisErrors.wrongArity("msetnx")) }
        for index in stride(from: 1, to: call.count, by: 2) where call.find(index) != nil {
            return call.client.integer(0)
        }
        for index in stride(from: 1, to: call.count, by: 2) {
            call.store(index, .string(call.bytes(index + 1)))
            call.notify(.string, "set", index)
        }
        call.client.integer(1)
    }

    static func incr(_ call: inout CommandCall) throws(CommandError) { try incrementBy(&call, 1) }
    static func decr(_ call: inout CommandCall) throws(CommandError) { try incrementBy(&call, -1) }
    static func incrby(_ call: inout CommandCall) throws(CommandError) { try incrementBy(&call, call.integer(2)) }
    static func decrby(_ call: inout CommandCall) throws(CommandError) {
        let amount = try call.integer(2)
        guard amount != Int.min else { throw CommandError("ERR decrement would overflow") }
        try incrementBy(&call, -amount)
    }

    /// The new number is written over the old one's bytes when the key exists (its TTL kept), as
    /// Redis updates an integer value in place: one lookup, no allocation.
    private static func incrementBy(_ call: inout CommandCall, _ amount: Int) throws(CommandError) {
        let result: Int
        if let slot = call.find(1) {
            result = try call.database.modify(slot: slot) { (value) throws(CommandError) -> Int in
                guard case .string(var bytes) = value else { throw .wrongType }
                guard let current = bytes.withUnsafeBytes({ RedisNumber.parseInteger($0) }) else { throw .notInteger }
                let (result, overflow) = current.addingReportingOverflow(amount)
                guard !overflow else { throw CommandError("ERR increment or decrement would overflow") }
                value = .string([])  // (so that `bytes` holds the only reference and changes in place)
                bytes.removeAll(keepingCapacity: true)
                withDecimal(Int64(result)) { bytes.append(contentsOf: $0) }
                value = .string(bytes)
                return result
            }
            call.effect.dirty += 1
        } else {
            result = amount
            call.store(1, .string(withDecimal(Int64(result)) { Array($0) }))
        }
        call.notify(.string, "incrby", 1)
        call.client.integer(result)
    }

    static func incrbyfloat(_ call: inout CommandCall) throws(CommandError) {
        var current: RedisNumber.LongDouble = 0
        if let bytes = try call.typedValue(1, forWrite: true, \.asString) {
            guard let value = bytes.withUnsafeBytes({ RedisNumber.parseLongDouble($0) }) else {
                throw .notFloat
            }
            current = value
        }
        guard let increment = call.argument(2, { RedisNumber.parseLongDouble($0) }) else { throw .notFloat }
        let result = current + increment
        guard result.isFinite else { throw CommandError("ERR increment would produce NaN or Infinity") }
        let text = DoubleFormat.incrByFloat(result)
        let value = Array(text.utf8)
        call.store(1, .string(value), keepTTL: true)
        call.notify(.string, "incrbyfloat", 1)
        // The sum as text, so that replicas and the AOF never add floats themselves.
        call.propagate { call in [[Array("SET".utf8), call.bytes(1), value, Array("KEEPTTL".utf8)]] }
        call.client.bulk(text)
    }

    static func append(_ call: inout CommandCall) throws(CommandError) {
        let database = call.database
        guard let slot = call.find(1) else {
            let value = call.bytes(2)
            database.add(call.bytes(1), .string(value))
            call.effect.dirty += 1
            call.notify(.string, "append", 1)
            return call.client.integer(value.count)
        }
        guard case .string = database.value(at: slot) else { throw .wrongType }
        // The argument may be a big one kept apart from the request (`CommandCall.big`).
        let big = call.big.flatMap { $0.index == 2 ? $0.bytes : nil }
        let extra = big?.count ?? Int(call.spans[2].length)
        var length = 0
        try database.modify(slot: slot) { (value) throws(CommandError) in
            guard case .string(var bytes) = value else { return }
            guard bytes.count + extra <= maxStringLength else {
                throw CommandError("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
            }
            value = .string([])
            if let big { bytes.append(contentsOf: big) } else { call.argument(2) { bytes.append(contentsOf: $0) } }
            length = bytes.count
            value = .string(bytes)
        }
        call.effect.dirty += 1
        call.notify(.string, "append", 1)
        call.client.integer(length)
    }

    static func strlen(_ call: inout CommandCall) throws(CommandError) {
        call.client.integer(try call.readString(1)?.count ?? 0)
    }

    static func getrange(_ call: inout CommandCall) throws(CommandError) {
        var start = try call.integer(2)
        var end = try call.integer(3)
        guard let value = try call.readString(1) else { return call.client.bulk("") }
        let length = value.count
        if start < 0 && end < 0 && start > end { return call.client.bulk("") }
        if start < 0 { start = max(0, length + start) }
        if end < 0 { end = max(0, length + end) }
        end = min(end, length - 1)
        guard length > 0, start <= end else { return call.client.bulk("") }
        value.withUnsafeBytes { call.client.bulk(UnsafeRawBufferPointer(rebasing: $0[start...end])) }
    }

    static func setrange(_ call: inout CommandCall) throws(CommandError) {
        let offset = try call.integer(2)
        guard offset >= 0 else { throw CommandError("ERR offset is out of range") }
        let patchLength = Int(call.spans[3].length)
        let existing = try call.typedValue(1, forWrite: true, \.asString)
        if existing == nil && patchLength == 0 { return call.client.integer(0) }
        // `offset + patchLength` could overflow: compare with what is left instead.
        if patchLength > 0 && offset > maxStringLength - patchLength {
            throw CommandError("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
        }
        var bytes = existing ?? []
        if patchLength == 0 { return call.client.integer(bytes.count) }
        if bytes.count < offset + patchLength {
            bytes.append(contentsOf: repeatElement(0, count: offset + patchLength - bytes.count))
        }
        call.argument(3) { patch in
            bytes.withUnsafeMutableBytes { target in
                target.baseAddress!.advanced(by: offset).copyMemory(from: patch.baseAddress!, byteCount: patch.count)
            }
        }
        call.store(1, .string(bytes), keepTTL: true)
        call.notify(.string, "setrange", 1)
        call.client.integer(bytes.count)
    }
}
