import Commands

/// SADD and the rest of the set family, with Redis 7.0's replies, orders and error texts.
enum SetCommands {
    static var all: [(String, CommandHandler)] {[
        ("sadd", .init(sadd)), ("srem", .init(srem)), ("smembers", .init(smembers)), ("sismember", .init(sismember)),
        ("smismember", .init(smismember)), ("scard", .init(scard)), ("spop", .init(spop)), ("srandmember", .init(srandmember)),
        ("smove", .init(smove)), ("sinter", .init(sinter)), ("sintercard", .init(sintercard)), ("sinterstore", .init(sinterstore)),
        ("sunion", .init(sunion)), ("sunionstore", .init(sunionstore)), ("sdiff", .init(sdiff)), ("sdiffstore", .init(sdiffstore)),
        ("sscan", .init(sscan)),
    ]}

    static func read(_ call: CommandCall, _ index: Int = 1) throws(CommandError) -> SetObject? {
        try call.typedValue(index, forWrite: false, \.asSet)
    }

    static func write(_ call: CommandCall, _ index: Int = 1) throws(CommandError) -> SetObject? {
        try call.typedValue(index, forWrite: true, \.asSet)
    }

    static func sadd(_ call: inout CommandCall) throws(CommandError) {
        let set: SetObject
        if let existing = try write(call) {
            set = existing
        } else {
            set = call.argument(2) { SetObject(first: $0) }
            call.database.add(call.bytes(1), .set(set))
        }
        let maxIntset = call.node.settings.setMaxIntsetEntries
        var added = 0
        for index in 2..<call.count where call.argument(index, { set.add($0, maxIntset: maxIntset) }) { added += 1 }
        call.effect.dirty += added
        if added > 0 { call.notify(.set, "sadd", 1) }
        call.client.integer(added)
    }

    static func srem(_ call: inout CommandCall) throws(CommandError) {
        guard let set = try write(call) else { return call.client.integer(0) }
        removeMembers(&call, event: (.set, "srem"), remove: set.remove, isEmpty: { set.count == 0 })
    }

    static func smembers(_ call: inout CommandCall) throws(CommandError) {
        try intersect(&call, keys: Array(1..<call.count), destination: nil)
    }

    static func sismember(_ call: inout CommandCall) throws(CommandError) {
        guard let set = try read(call) else { return call.client.integer(0) }
        call.client.integer(call.argument(2) { set.contains($0) } ? 1 : 0)
    }

    static func smismember(_ call: inout CommandCall) throws(CommandError) {
        let set = try read(call)
        call.client.arrayHeader(call.count - 2)
        for index in 2..<call.count {
            call.client.integer(call.argument(index) { set?.contains($0) ?? false } ? 1 : 0)
        }
    }

    static func scard(_ call: inout CommandCall) throws(CommandError) {
        call.client.integer(try read(call)?.count ?? 0)
    }

    static func spop(_ call: inout CommandCall) throws(CommandError) {
        var generator = SystemRandomNumberGenerator()
        if call.count > 3 { throw .syntax }
        guard call.count == 3 else {
            guard let set = try write(call) else { return call.client.null() }
            let member = set.randomMember(using: &generator)
            member.withUnsafeBytes { _ = set.remove($0) }
            let emptied = set.count == 0
            if emptied { removeKey(call, 1) }
            call.effect.dirty += 1
            call.notifyOrDeleted(.set, "spop", 1, deleted: emptied)
            // The random pick is propagated as what it removed.
            call.propagate { call in [[Array("SREM".utf8), call.bytes(1), member]] }
            return call.client.bulk(member)
        }
        let count = try call.positiveInteger(2)
        guard let set = try write(call) else { return call.client.setHeader(0) }
        if count == 0 { return call.client.setHeader(0) }
        let size = set.count
        if count >= size {
            call.effect.dirty += size
            call.propagate { call in [[Array("DEL".utf8), call.bytes(1)]] }
            let union = combine([set], operation: .union, maxIntset: call.node.settings.setMaxIntsetEntries)
            call.client.setHeader(union.count)
            union.forEach { call.client.bulk($0) }
            removeKey(call, 1)
            call.notifyOrDeleted(.set, "spop", 1, deleted: true)
            return
        }
        call.effect.dirty += count
        call.client.setHeader(count)
        var removed: [[UInt8]] = []
        for _ in 0..<count {
            let member = set.randomMember(using: &generator)
            member.withUnsafeBytes { _ = set.remove($0) }
            call.client.bulk(member)
            removed.append(member)
        }
        call.notify(.set, "spop", 1)
        // As Redis 7.0: one `SREM key member` per member popped, in reply order (several commands
        // reach the AOF and replicas inside MULTI/EXEC).
        call.propagate { call in
            let key = call.bytes(1)
            return removed.map { [Array("SREM".utf8), key, $0] }
        }
    }

    static func srandmember(_ call: inout CommandCall) throws(CommandError) {
        var generator = SystemRandomNumberGenerator()
        if call.count > 3 { throw .syntax }
        guard call.count == 3 else {
            guard let set = try read(call) else { return call.client.null() }
            return call.client.bulk(set.randomMember(using: &generator))
        }
        let requested = try call.rangeInteger(2, min: -Int.max, max: Int.max)
        guard let set = try read(call) else { return call.client.arrayHeader(0) }
        if requested == 0 { return call.client.arrayHeader(0) }
        if requested < 0 || requested == 1 {
            let count = Int(requested.magnitude)
            call.client.arrayHeader(count)
            for index in 0..<count {
                if index & 1023 == 0 && call.replyMustStop() { return }
                call.client.bulk(set.randomMember(using: &generator))
            }
            return
        }
        if requested >= set.count {
            call.client.arrayHeader(set.count)
            set.forEach { call.client.bulk($0) }
            return
        }
        call.client.arrayHeader(requested)
        for member in RandomPick.distinct(requested, of: set.members, using: &generator) { call.client.bulk(member) }
    }

    static func smove(_ call: inout CommandCall) throws(CommandError) {
        guard let source = try write(call, 1) else {
            return call.client.integer(0)
        }
        let target = try write(call, 2)
        if source === target { return call.client.integer(call.argument(3) { source.contains($0) } ? 1 : 0) }
        guard call.argument(3, { source.remove($0) }) else { return call.client.integer(0) }
        let emptied = source.count == 0
        if emptied { removeKey(call, 1) }
        call.notifyOrDeleted(.set, "srem", 1, deleted: emptied)
        let destination: SetObject
        if let target {
            destination = target
        } else {
            destination = call.argument(3) { SetObject(first: $0) }
            call.database.add(call.bytes(2), .set(destination))
        }
        call.effect.dirty += 1
        let maxIntset = call.node.settings.setMaxIntsetEntries
        if call.argument(3, { destination.add($0, maxIntset: maxIntset) }) {
            call.effect.dirty += 1
            call.notify(.set, "sadd", 2)
        }
        call.client.integer(1)
    }

    // MARK: - Intersection, union, difference

    static func sinter(_ call: inout CommandCall) throws(CommandError) {
        try intersect(&call, keys: Array(1..<call.count), destination: nil)
    }

    static func sinterstore(_ call: inout CommandCall) throws(CommandError) {
        try intersect(&call, keys: Array(2..<call.count), destination: 1)
    }

    static func sintercard(_ call: inout CommandCall) throws(CommandError) {
        let numkeys = try call.rangeInteger(1, min: 1, max: Int.max, message: "numkeys should be greater than 0")
        guard numkeys <= call.count - 2 else { throw CommandError("ERR Number of keys can't be greater than number of args") }
        var limit = 0
        var index = 2 + numkeys
        while index < call.count {
            guard call.matches(index, "limit"), index + 1 < call.count else { throw .syntax }
            limit = try call.positiveInteger(index + 1, message: "LIMIT can't be negative")
            index += 2
        }
        try intersect(&call, keys: Array(2..<(2 + numkeys)), destination: nil, cardinalityOnly: true, limit: limit)
    }

    /// `sinterGenericCommand`: iterates the smallest set, testing each member against the others.
    private static func intersect(
        _ call: inout CommandCall, keys: [Int], destination: Int?, cardinalityOnly: Bool = false, limit: Int = 0
    ) throws(CommandError) {
        var sets: [SetObject] = []
        var missing = false
        for index in keys {
            if let set = try read(call, index) { sets.append(set) } else { missing = true }
        }
        if missing {
            if let destination {
                if call.find(destination) != nil {
                    removeKey(call, destination)
                    call.effect.dirty += 1
                    call.notify(.generic, "del", destination)
                }
                call.client.integer(0)
            } else if cardinalityOnly {
                call.client.integer(0)
            } else {
                call.client.setHeader(0)
            }
            return
        }
        sets.sort { $0.count < $1.count }
        let first = sets[0]
        let others = sets.dropFirst().filter { $0 !== first }
        var cardinality = 0
        var found: [[UInt8]] = []
        let result = destination == nil ? nil : SetObject()
        let maxIntset = call.node.settings.setMaxIntsetEntries
        first.forEach { member in
            if limit > 0 && cardinality >= limit { return }
            for other in others where !other.contains(member) { return }
            cardinality += 1
            if let result {
                result.add(member, maxIntset: maxIntset)
            } else if !cardinalityOnly {
                found.append(Array(member))
            }
        }
        if cardinalityOnly { return call.client.integer(cardinality) }
        if let result, let destination {
            return store(&call, result, at: destination)
        }
        call.client.setHeader(found.count)
        for member in found { call.client.bulk(member) }
    }

    /// SINTERSTORE/SUNIONSTORE/SDIFFSTORE: stores a non-empty result, deletes the key otherwise.
    private static func store(_ call: inout CommandCall, _ result: SetObject, at destination: Int) {
        if result.count > 0 {
            call.store(destination, .set(result))
            switch call.spec {
            case "sinterstore": call.notify(.set, "sinterstore", destination)
            case "sunionstore": call.notify(.set, "sunionstore", destination)
            default: call.notify(.set, "sdiffstore", destination)
            }
            call.client.integer(result.count)
        } else {
            if call.find(destination) != nil {
                removeKey(call, destination)
                call.effect.dirty += 1
                call.notify(.generic, "del", destination)
            }
            call.client.integer(0)
        }
    }

    enum Operation { case union, difference }

    static func sunion(_ call: inout CommandCall) throws(CommandError) { try unionOrDifference(&call, .union, from: 1, destination: nil) }
    static func sunionstore(_ call: inout CommandCall) throws(CommandError) { try unionOrDifference(&call, .union, from: 2, destination: 1) }
    static func sdiff(_ call: inout CommandCall) throws(CommandError) { try unionOrDifference(&call, .difference, from: 1, destination: nil) }
    static func sdiffstore(_ call: inout CommandCall) throws(CommandError) { try unionOrDifference(&call, .difference, from: 2, destination: 1) }

    private static func unionOrDifference(_ call: inout CommandCall, _ operation: Operation, from start: Int, destination: Int?) throws(CommandError) {
        var sets: [SetObject?] = []
        for index in start..<call.count { sets.append(try read(call, index)) }
        let result = combine(sets, operation: operation, maxIntset: call.node.settings.setMaxIntsetEntries)
        if let destination { return store(&call, result, at: destination) }
        call.client.setHeader(result.count)
        result.forEach { call.client.bulk($0) }
    }

    /// `sunionDiffGenericCommand`'s result set, built in a fresh set that starts as an intset.
    static func combine(_ sets: [SetObject?], operation: Operation, maxIntset: Int) -> SetObject {
        let result = SetObject()
        switch operation {
        case .union:
            for case let set? in sets { set.forEach { result.add($0, maxIntset: maxIntset) } }
        case .difference:
            guard let first = sets[0] else { break }
            if sets.dropFirst().contains(where: { $0 === first }) { break }
            var oneWork = 0
            var twoWork = 0
            for case let set? in sets {
                oneWork += first.count
                twoWork += set.count
            }
            if oneWork / 2 <= twoWork {
                let others = sets.dropFirst().compactMap { $0 }.sorted { $0.count > $1.count }
                first.forEach { member in
                    for other in others where other.contains(member) { return }
                    result.add(member, maxIntset: maxIntset)
                }
            } else {
                first.forEach { result.add($0, maxIntset: maxIntset) }
                for case let set? in sets.dropFirst() {
                    if result.count == 0 { break }
                    set.forEach { _ = result.remove($0) }
                }
            }
        }
        return result
    }

    static func sscan(_ call: inout CommandCall) throws(CommandError) {
        let cursor = try parseCursor(call, 2)
        guard let set = try read(call) else { return emptyScan(call) }
        try scanCollection(call, from: cursor, perEntry: 1, stepsPerCount: 10) { cursor, emit in
            set.scan(cursor: cursor) { member in emit(member, nil) }
        }
    }
}
