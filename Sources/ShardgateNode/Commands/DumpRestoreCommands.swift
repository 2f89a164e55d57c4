import RDB

/// DUMP and RESTORE: a value serialized as Redis 7.0 serializes it (`DumpPayload`: the RDB encoding
/// of the value, the RDB version and a CRC64), so payloads move between the node and redis-server
/// both ways.
enum DumpRestoreCommands {
    static var all: [(String, CommandHandler)] {[("dump", .init(dump)), ("restore", .init(restore))]}

    static func dump(_ call: inout CommandCall) throws(CommandError) {
        guard let slot = call.lookupRead(1) else { return call.client.null() }
        call.client.bulk(payload(of: call.database.value(at: slot), compression: call.node.settings.rdbCompression))
    }

    /// The DUMP payload of `value`, in the encoding the node holds it in (as Redis writes the
    /// object's own encoding: a small hash that once grew past the listpack limits stays a table).
    static func payload(of value: Value, compression: Bool) -> [UInt8] {
        DumpPayload.make(compression: compression) { writer in
            switch value {
            case .string(let bytes):
                writer.writeString(key: [], value: bytes)
            case .list(let list):
                writer.writeList(key: [], elements: list.elements)
            case .set(let set):
                writer.writeSet(key: [], members: set.members, compact: set.isIntset)
            case .hash(let hash):
                writer.writeHash(key: [], pairs: hash.pairs.lazy.map { (field: $0.0, value: $0.1) }, compact: hash.isPacked)
            case .sortedSet(let sortedSet):
                // A skiplist is written from the highest score down, as Redis walks it.
                let entries = sortedSet.entries
                let ordered = sortedSet.isPacked ? entries : entries.reversed()
                writer.writeSortedSet(key: [], pairs: ordered.lazy.map { (member: $0.0, score: $0.1) }, compact: sortedSet.isPacked)
            case .stream(let stream):
                writer.writeStream(key: [], stream: stream)
            }
        }
    }

    /// RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency], with Redis's
    /// checks in Redis's order: options, existing key, TTL, payload footer, payload content.
    static func restore(_ call: inout CommandCall) throws(CommandError) {
        var replace = false
        var absoluteTTL = false
        var idleSeconds: Int?
        var frequency: Int?
        var index = 4
        while index < call.count {
            let hasValue = index + 1 < call.count
            if call.matches(index, "replace") {
                replace = true
            } else if call.matches(index, "absttl") {
                absoluteTTL = true
            } else if call.matches(index, "idletime"), hasValue, frequency == nil {
                let idle = try call.integer(index + 1)
                guard idle >= 0 else { throw CommandError("ERR Invalid IDLETIME value, must be >= 0") }
                idleSeconds = idle
                index += 1
            } else if call.matches(index, "freq"), hasValue, idleSeconds == nil {
                let value = try call.integer(index + 1)
                guard value >= 0 && value <= 255 else { throw CommandError("ERR Invalid FREQ value, must be >= 0 and <= 255") }
                frequency = value
                index += 1
            } else {
                throw .syntax
            }
            index += 1
        }
        if !replace && call.find(1) != nil { throw CommandError("BUSYKEY Target key name already exists.") }
        let ttl = Int64(try call.integer(2))
        guard ttl >= 0 else { throw CommandError("ERR Invalid TTL value, must be >= 0") }
        let decoded: Result<RDBValue, DumpPayload.Failure> = call.argument(3) { bytes in
            Result { () throws(DumpPayload.Failure) in try DumpPayload.read(bytes) }
        }
        let restored: RDBValue
        switch decoded {
        case .success(let value): restored = value
        case .failure(.versionOrChecksum): throw CommandError("ERR DUMP payload version or checksum are wrong")
        case .failure(.badData): throw CommandError("ERR Bad data format")
        }
        if case .stream(let stream) = restored, StreamObject(rdb: stream) == nil { throw CommandError("ERR Bad data format") }

        let database = call.database
        var deleted = false
        if replace, let slot = call.find(1) {
            database.remove(slot: slot)
            deleted = true
        }
        let deadline = ttl != 0 && !absoluteTTL ? ttl &+ call.now : ttl
        // Already expired (not on a replica, which waits for its master's DEL): nothing is created,
        // and a replaced key is gone, which replays as DEL.
        if ttl != 0 && deadline <= call.now && !call.node.isReplica {
            if deleted {
                call.effect.dirty += 1
                call.propagate { call in [[Array("DEL".utf8), call.bytes(1)]] }
                call.notify(.generic, "del", 1)
            }
            return call.client.ok()
        }
        let value = Snapshot.value(restored, settings: call.node.settings)
        let slot = call.argument(1) { database.add($0, value, expireAt: deadline) }
        if ttl != 0 && !absoluteTTL {
            // A relative TTL replays as the absolute time it gave (Redis rewrites the TTL argument
            // and appends ABSTTL).
            call.propagate { call in
                var arguments = (0..<call.count).map { call.bytes($0) }
                arguments[2] = Array(String(deadline).utf8)
                arguments.append(Array("ABSTTL".utf8))
                return [arguments]
            }
        }
        switch database.accessMode {
        case .frequency:
            if let frequency { database.setAccess(slot: slot, AccessWord.minutes(database.clock) << 8 | UInt32(frequency)) }
        case .recency:
            if let idleSeconds {
                database.setAccess(slot: slot, AccessWord.recencyStamp(database.clock &- Int64(idleSeconds) &* 1000))
            }
        }
        call.effect.dirty += 1
        call.notify(.generic, "restore", 1)
        call.client.ok()
    }
}
