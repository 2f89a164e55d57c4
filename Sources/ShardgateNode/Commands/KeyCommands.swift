#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import Commands
import RedisText

/// The generic key commands: existence, deletion, expiry, renaming, iteration.
enum KeyCommands {
    static var all: [(String, CommandHandler)] {[
        ("del", .init(del)), ("unlink", .init(unlink)), ("exists", .init(exists)), ("touch", .init(exists)), ("type", .init(type)),
        ("expire", .init(expire)), ("pexpire", .init(pexpire)), ("expireat", .init(expireat)), ("pexpireat", .init(pexpireat)),
        ("ttl", .init(ttl)), ("pttl", .init(pttl)), ("expiretime", .init(expiretime)), ("pexpiretime", .init(pexpiretime)),
        ("persist", .init(persist)), ("rename", .init(rename)), ("renamenx", .init(renamenx)), ("keys", .init(keys)), ("scan", .init(scan)),
        ("randomkey", .init(randomkey)), ("dbsize", .init(dbsize)), ("flushdb", .init(flushdb)), ("flushall", .init(flushall)),
        ("copy", .init(copy)), ("move", .init(move)), ("swapdb", .init(swapdb)), ("object|encoding", .init(objectEncoding)),
    ]}

    static func del(_ call: inout CommandCall) throws(CommandError) {
        var deleted = 0
        for index in 1..<call.count where call.delete(index) {
            deleted += 1
            call.notify(.generic, "del", index)
        }
        call.client.integer(deleted)
    }

    /// DEL that counts, as Redis's `lazyfreed_objects`, the values Redis would free in a background
    /// thread (those whose freeing effort passes 64 allocations); the node frees them at once.
    static func unlink(_ call: inout CommandCall) throws(CommandError) {
        var deleted = 0
        for index in 1..<call.count {
            if let slot = call.find(index), freeEffort(call.database.value(at: slot), settings: call.node.settings) > 64 {
                call.node.stats.lazyfreedObjects += 1
            }
            if call.delete(index) {
                deleted += 1
                call.notify(.generic, "del", index)
            }
        }
        call.client.integer(deleted)
    }

    /// Redis's `lazyfreeGetFreeEffort`: about how many allocations freeing the value takes.
    static func freeEffort(_ value: Value, settings: NodeSettings) -> Int {
        switch value {
        case .string: return 1
        case .list(let list): return MemoryUsage.quicklistShape(list, fill: settings.listMaxListpackSize).nodes
        case .set(let set): return set.isIntset ? 1 : set.count
        case .hash(let hash): return hash.isPacked ? 1 : hash.count
        case .sortedSet(let sortedSet): return sortedSet.scores == nil ? 1 : sortedSet.count
        case .stream(let stream):
            var effort = stream.radixTreeNodes
            if let first = stream.sortedGroups.first {
                effort += stream.groups.count * (1 + first.1.pending.count)
            }
            return effort
        }
    }

    static func exists(_ call: inout CommandCall) throws(CommandError) {
        var found = 0
        // EXISTS leaves the keys' access time alone, TOUCH records it (both count hits and misses).
        let touch = call.spec.isNamed("touch")
        for index in 1..<call.count where call.lookupRead(index, touch: touch) != nil { found += 1 }
        call.client.integer(found)
    }

    static func type(_ call: inout CommandCall) throws(CommandError) {
        guard let slot = call.lookupRead(1, touch: false) else { return call.client.simple("none") }
        call.client.simple(call.database.value(at: slot).typeName)
    }

    static func expire(_ call: inout CommandCall) throws(CommandError) { try setExpiry(&call, scale: 1000, absolute: false) }
    static func pexpire(_ call: inout CommandCall) throws(CommandError) { try setExpiry(&call, scale: 1, absolute: false) }
    static func expireat(_ call: inout CommandCall) throws(CommandError) { try setExpiry(&call, scale: 1000, absolute: true) }
    static func pexpireat(_ call: inout CommandCall) throws(CommandError) { try setExpiry(&call, scale: 1, absolute: true) }

    /// EXPIRE and friends with the NX/XX/GT/LT conditions of Redis 7.
    private static func setExpiry(_ call: inout CommandCall, scale: Int64, absolute: Bool) throws(CommandError) {
        var nx = false, xx = false, gt = false, lt = false
        for index in 3..<max(3, call.count) {
            if call.matches(index, "nx") { nx = true }
            else if call.matches(index, "xx") { xx = true }
            else if call.matches(index, "gt") { gt = true }
            else if call.matches(index, "lt") { lt = true }
            else { throw CommandError("ERR Unsupported option \(call.string(index))") }
        }
        if nx && (xx || gt || lt) {
            throw CommandError("ERR NX and XX, GT or LT options at the same time are not compatible")
        }
        if gt && lt { throw CommandError("ERR GT and LT options at the same time are not compatible") }
        // As Redis: the options are checked before the time argument.
        let amount = Int64(try call.integer(2))
        let invalid = CommandError("ERR invalid expire time in '\(call.spec.name)' command")
        let (scaled, overflow1) = amount.multipliedReportingOverflow(by: scale)
        guard !overflow1 else { throw invalid }
        var deadline = scaled
        if !absolute {
            let (sum, overflow2) = scaled.addingReportingOverflow(call.now)
            guard !overflow2 else { throw invalid }
            deadline = sum
        }
        guard let slot = call.find(1) else { return call.client.integer(0) }
        let database = call.database
        let current = database.expireAt(slot: slot)
        if nx && current != 0 { return call.client.integer(0) }
        if xx && current == 0 { return call.client.integer(0) }
        // A key without TTL counts as an infinite TTL for GT and LT.
        if gt && (current == 0 || deadline <= current) { return call.client.integer(0) }
        if lt && current != 0 && deadline >= current { return call.client.integer(0) }
        if deadline <= call.now {
            call.delete(1)
            call.propagate { call in [[Array("DEL".utf8), call.bytes(1)]] }
            call.notify(.generic, "del", 1)
        } else {
            database.setExpiry(slot: slot, deadline)
            call.effect.dirty += 1
            // Replicas and the AOF get the absolute time, which means the same whenever replayed, and
            // the conditions as sent; a PEXPIREAT already says it and goes as sent.
            if !(absolute && scale == 1) {
                call.propagate { call in
                    [[Array("PEXPIREAT".utf8), call.bytes(1), Array(String(deadline).utf8)] + (3..<call.count).map { call.bytes($0) }]
                }
            }
            call.notify(.generic, "expire", 1)
        }
        call.client.integer(1)
    }

    static func ttl(_ call: inout CommandCall) throws(CommandError) { try remaining(call, scale: 1000) }
    static func pttl(_ call: inout CommandCall) throws(CommandError) { try remaining(call, scale: 1) }

    private static func remaining(_ call: CommandCall, scale: Int64) throws(CommandError) {
        guard let slot = call.lookupRead(1, touch: false) else { return call.client.integer(-2) }
        let deadline = call.database.expireAt(slot: slot)
        guard deadline != 0 else { return call.client.integer(-1) }
        let left = max(0, deadline - call.now)
        call.client.integer(Int((left + scale / 2) / scale))
    }

    static func expiretime(_ call: inout CommandCall) throws(CommandError) { try deadline(call, scale: 1000) }
    static func pexpiretime(_ call: inout CommandCall) throws(CommandError) { try deadline(call, scale: 1) }

    private static func deadline(_ call: CommandCall, scale: Int64) throws(CommandError) {
        guard let slot = call.lookupRead(1, touch: false) else { return call.client.integer(-2) }
        let deadline = call.database.expireAt(slot: slot)
        call.client.integer(deadline == 0 ? -1 : Int(deadline / scale))
    }

    static func persist(_ call: inout CommandCall) throws(CommandError) {
        guard let slot = call.find(1), call.database.expireAt(slot: slot) != 0 else { return call.client.integer(0) }
        call.database.setExpiry(slot: slot, 0)
        call.effect.dirty += 1
        call.notify(.generic, "persist", 1)
        call.client.integer(1)
    }

    static func rename(_ call: inout CommandCall) throws(CommandError) {
        guard try renameKey(&call, onlyIfMissing: false) else { return }
        call.client.ok()
    }

    static func renamenx(_ call: inout CommandCall) throws(CommandError) {
        call.client.integer(try renameKey(&call, onlyIfMissing: true) ? 1 : 0)
    }

    private static func renameKey(_ call: inout CommandCall, onlyIfMissing: Bool) throws(CommandError) -> Bool {
        let database = call.database
        guard let source = call.find(1) else { throw .noSuchKey }
        let sameKey = call.argument(1) { a in call.argument(2) { b in a.elementsEqual(b) } }
        if sameKey { return !onlyIfMissing }
        if onlyIfMissing && call.find(2) != nil { return false }
        let value = database.value(at: source)
        let deadline = database.expireAt(slot: source)
        database.remove(slot: source)
        if let target = call.find(2) { database.remove(slot: target) }
        database.add(call.bytes(2), value, expireAt: deadline)
        call.effect.dirty += 1
        call.notify(.generic, "rename_from", 1)
        call.notify(.generic, "rename_to", 2)
        return true
    }

    static func keys(_ call: inout CommandCall) throws(CommandError) {
        let database = call.database
        let now = call.now
        let pattern = call.bytes(1)
        let matchesAll = pattern == [UInt8(ascii: "*")]
        var found: [[UInt8]] = []
        for slot in database.slots {
            let deadline = database.expireAt(slot: slot)
            if deadline != 0 && deadline <= now { continue }
            let key = database.key(at: slot)
            if matchesAll || GlobMatch.matches(pattern, key) { found.append(key) }
        }
        call.client.arrayHeader(found.count)
        for key in found { call.client.bulk(key) }
    }

    static func scan(_ call: inout CommandCall) throws(CommandError) {
        guard let cursor = call.argument(1, { ScanOptions.parseCursor($0) }) else {
            throw CommandError("ERR invalid cursor")
        }
        let options = try ScanOptions(call, from: 2, allowType: true)
        let database = call.database
        let now = call.now
        var found: [[UInt8]] = []
        var expired: [[UInt8]] = []
        var next = cursor
        var visited = 0
        repeat {
            next = database.scan(cursor: next) { slot in
                visited += 1
                let deadline = database.expireAt(slot: slot)
                if deadline != 0 && deadline <= now { return expired.append(database.key(at: slot)) }
                let key = database.key(at: slot)
                if let pattern = options.pattern, !GlobMatch.matches(pattern, key) { return }
                if let type = options.type, database.value(at: slot).typeName != type { return }
                found.append(key)
            }
        } while next != 0 && visited < options.count
        // As in Redis, the expired keys the scan met are deleted (DEL propagated), after the walk.
        for key in expired { _ = database.find(key, now: now) }
        scanReply(call, next, found)
    }

    static func randomkey(_ call: inout CommandCall) throws(CommandError) {
        let database = call.database
        for _ in 0..<100 {
            guard let slot = database.randomSlot() else { break }
            let key = database.key(at: slot)
            if database.find(key, now: call.now) != nil { return call.client.bulk(key) }
        }
        call.client.null()
    }

    static func dbsize(_ call: inout CommandCall) throws(CommandError) {
        call.client.integer(call.database.count)
    }

    /// Counts one change per key removed; reaches the AOF and replicas even when nothing was there.
    static func flushdb(_ call: inout CommandCall) throws(CommandError) {
        try checkFlushMode(call)
        call.effect.dirty += call.database.count
        call.database.removeAll()
        call.effect.forcesPropagation = true
        call.effect.modifiedKeys = .flushed([call.client.database])
        call.client.ok()
    }

    /// As FLUSHDB for every database; then, as Redis's `flushAllDataAndResetRDB`, a running BGSAVE is
    /// stopped and, with save points configured, the empty dataset is saved at once.
    static func flushall(_ call: inout CommandCall) throws(CommandError) {
        try checkFlushMode(call)
        for database in call.node.keyspace.databases {
            call.effect.dirty += database.count
            database.removeAll()
        }
        // The save covers the flush: no change is left to count.
        if call.node.snapshotAfterFlushAll() { call.effect.dirty = 0 }
        call.effect.forcesPropagation = true
        call.effect.modifiedKeys = .flushed(Array(call.node.keyspace.databases.indices))
        call.client.ok()
    }

    private static func checkFlushMode(_ call: CommandCall) throws(CommandError) {
        guard call.count <= 2 else { throw .syntax }
        if call.count == 2 && !call.matches(1, "async") && !call.matches(1, "sync") { throw .syntax }
    }

    static func copy(_ call: inout CommandCall) throws(CommandError) {
        var targetIndex = call.client.database
        var replace = false
        var otherDatabase = false
        var index = 3
        while index < call.count {
            if call.matches(index, "replace") {
                replace = true
            } else if call.matches(index, "db"), index + 1 < call.count {
                targetIndex = try call.intArgument(index + 1)
                otherDatabase = true
                guard targetIndex >= 0 && targetIndex < call.node.keyspace.databases.count else {
                    throw CommandError("ERR DB index is out of range")
                }
                index += 1
            } else {
                throw .syntax
            }
            index += 1
        }
        let sameKey = call.argument(1) { a in call.argument(2) { b in a.elementsEqual(b) } }
        if sameKey && targetIndex == call.client.database {
            throw CommandError("ERR source and destination objects are the same")
        }
        guard let source = call.find(1) else { return call.client.integer(0) }
        let target = call.node.keyspace.databases[targetIndex]
        let value = call.database.value(at: source).copy()
        let deadline = call.database.expireAt(slot: source)
        let now = call.now
        if let existing = call.argument(2, { target.find($0, now: now) }) {
            guard replace else { return call.client.integer(0) }
            target.remove(slot: existing)
        }
        target.add(call.bytes(2), value, expireAt: deadline)
        call.effect.dirty += 1
        call.notify(.generic, "copy_to", key: call.bytes(2), database: targetIndex)
        if otherDatabase { call.effect.modified(database: targetIndex, key: call.bytes(2)) }
        call.client.integer(1)
    }

    static func move(_ call: inout CommandCall) throws(CommandError) {
        let targetIndex = try call.intArgument(2)
        guard targetIndex >= 0 && targetIndex < call.node.keyspace.databases.count else {
            throw CommandError("ERR DB index is out of range")
        }
        guard targetIndex != call.client.database else {
            throw CommandError("ERR source and destination objects are the same")
        }
        let target = call.node.keyspace.databases[targetIndex]
        guard let source = call.find(1) else { return call.client.integer(0) }
        let now = call.now
        if call.argument(1, { target.find($0, now: now) }) != nil { return call.client.integer(0) }
        let value = call.database.value(at: source)
        let deadline = call.database.expireAt(slot: source)
        call.database.remove(slot: source)
        target.add(call.bytes(1), value, expireAt: deadline)
        call.effect.dirty += 1
        call.effect.modified(database: targetIndex, key: call.bytes(1))
        call.notify(.generic, "move_from", 1)
        call.notify(.generic, "move_to", key: call.bytes(1), database: targetIndex)
        call.client.integer(1)
    }

    static func swapdb(_ call: inout CommandCall) throws(CommandError) {
        let count = call.node.keyspace.databases.count
        let first = try call.intArgument(1, message: "invalid first DB index")
        let second = try call.intArgument(2, message: "invalid second DB index")
        guard first >= 0, first < count, second >= 0, second < count else {
            throw CommandError("ERR DB index is out of range")
        }
        call.node.keyspace.swap(first, second)
        call.effect.dirty += 1
        call.effect.modifiedKeys = .swapped(first, second)
        call.client.ok()
    }

    static func objectEncoding(_ call: inout CommandCall) throws(CommandError) {
        guard let slot = call.find(2) else { return call.client.null() }
        call.client.bulk(call.database.value(at: slot).encodingName)
    }
}

/// SCAN-family options: MATCH, COUNT and (for SCAN) TYPE.
struct ScanOptions {
    var pattern: [UInt8]?
    var count = 10
    var type: String?

    init(_ call: borrowing CommandCall, from start: Int, allowType: Bool) throws(CommandError) {
        var index = start
        while index < call.count {
            guard index + 1 < call.count else { throw .syntax }
            if call.matches(index, "count") {
                count = try call.integer(index + 1)
                guard count >= 1 else { throw .syntax }
            } else if call.matches(index, "match") {
                let pattern = call.bytes(index + 1)
                self.pattern = pattern == [UInt8(ascii: "*")] ? nil : pattern
            } else if allowType && call.matches(index, "type") {
                type = call.string(index + 1).lowercased()
            } else {
                throw .syntax
            }
            index += 2
        }
    }

    /// `parseScanCursorOrReply`: `strtoul` base 10 over the whole argument, so an optional sign
    /// (a `-` negates modulo 2^64), leading zeros and even an empty argument (0) are accepted; a
    /// leading space, other bytes, no digits after a sign, or more than 64 bits are not.
    static func parseCursor(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
        guard bytes.isEmpty || isspace(Int32(bytes[0])) == 0 else { return nil }
        var index = 0
        var negative = false
        if index < bytes.count && (bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+")) {
            negative = bytes[index] == UInt8(ascii: "-")
            index += 1
            guard index < bytes.count else { return nil }
        }
        var value: UInt64 = 0
        while index < bytes.count {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(digit))
            guard !o1 && !o2 else { return nil }
            value = sum
            index += 1
        }
        return negative ? 0 &- value : value
    }
}
