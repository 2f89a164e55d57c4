import Commands

/// PFADD, PFCOUNT, PFMERGE, PFDEBUG and PFSELFTEST over string values in Redis's own HyperLogLog
/// encoding (`HyperLogLog`), with Redis 7.0's replies, errors, lookups and effects.
enum HyperLogLogCommands {
    static var all: [(String, CommandHandler)] {[
        ("pfadd", .init(pfadd)), ("pfcount", .init(pfcount)), ("pfmerge", .init(pfmerge)), ("pfdebug", .init(pfdebug)), ("pfselftest", .init(pfselftest)),
    ]}

    static let notHyperLogLog = CommandError("WRONGTYPE Key is not a valid HyperLogLog string value.")
    static let corrupt = CommandError("INVALIDOBJ Corrupted HLL object detected")

    /// A key's value must be a string holding an HLL header: WRONGTYPE (Redis's usual text) for
    /// another type, WRONGTYPE with the HLL text for any other string.
    private static func check(_ call: CommandCall, slot: Int) throws(CommandError) {
        guard let valid = call.database.withStringBytes(slot: slot, { HyperLogLog.isValid($0) }) else {
            throw .wrongType
        }
        guard valid else { throw notHyperLogLog }
    }

    /// The HLL at `slot`, already checked.
    private static func read(_ database: Database, slot: Int) -> [UInt8] {
        guard case .string(let bytes) = database.value(at: slot) else { return [] }
        return bytes
    }

    /// Runs `body` on the HLL at `slot` in place: the bytes leave the table while it runs, so
    /// changing them copies nothing; whatever `body` left is stored back.
    private static func update<R>(_ database: Database, slot: Int, _ body: (inout [UInt8]) -> R) -> R {
        database.modify(slot: slot) { value in
            var bytes: [UInt8] = []
            if case .string(let held) = value { bytes = held }
            value = .string([])
            let result = body(&bytes)
            value = .string(bytes)
            return result
        }
    }

    /// The key's slot, creating it as an empty HLL when missing; true when created.
    private static func findOrCreate(_ call: CommandCall, _ index: Int) -> (slot: Int, created: Bool) {
        if let slot = call.find(index) { return (slot, false) }
        let database = call.database
        return (call.argument(index) { database.add($0, .string(HyperLogLog.empty())) }, true)
    }

    /// PFADD key [element ...]: 1 when a register changed or the key was created. Each change counts
    /// as one change of the dataset, as in Redis. A corrupt value keeps the changes made before the
    /// error, which count for nothing.
    static func pfadd(_ call: inout CommandCall) throws(CommandError) {
        let (slot, created) = findOrCreate(call, 1)
        if !created { try check(call, slot: slot) }
        let sparseMaxBytes = call.node.settings.hllSparseMaxBytes
        var updated = created ? 1 : 0
        let elements = 2..<call.count
        let failed = update(call.database, slot: slot) { bytes in
            for index in elements {
                switch call.argument(index, { HyperLogLog.add(&bytes, $0, sparseMaxBytes: sparseMaxBytes) }) {
                case .changed: updated += 1
                case .unchanged: break
                case .corrupt: return true
                }
            }
            if updated > 0 { HyperLogLog.invalidateCache(&bytes) }
            return false
        }
        if failed { throw corrupt }
        call.effect.dirty += updated
        if updated > 0 { call.notify(.string, "pfadd", 1) }
        call.client.integer(updated > 0 ? 1 : 0)
    }

    /// PFCOUNT key [key ...]. One key: the cached cardinality, or a computed one that is then
    /// cached, which changes the value: Redis counts a change, signals the key (WATCH) and, although
    /// PFCOUNT is a read command, propagates it, so replicas and the AOF cache it too. Several keys:
    /// the count of their union, computed on a temporary and written nowhere.
    static func pfcount(_ call: inout CommandCall) throws(CommandError) {
        let database = call.database
        if call.count > 2 {
            var registers = [UInt8](repeating: 0, count: HyperLogLog.registerCount)
            for index in 1..<call.count {
                guard let slot = call.lookupRead(index) else { continue }
                try check(call, slot: slot)
                guard HyperLogLog.merge(read(database, slot: slot), into: &registers) else { throw corrupt }
            }
            let cardinality = HyperLogLog.estimate(HyperLogLog.histogram(registers: registers))
            return call.client.integer(Int(truncatingIfNeeded: cardinality))
        }
        guard let slot = call.lookupRead(1) else { return call.client.integer(0) }
        try check(call, slot: slot)
        guard let cardinality = update(database, slot: slot, { HyperLogLog.cardinality(&$0) }) else { throw corrupt }
        if !cardinality.cached {
            call.effect.dirty += 1
            call.effect.modified(database: call.client.database, key: call.bytes(1))
            call.propagate { call in [[call.bytes(0), call.bytes(1)]] }
        }
        call.client.integer(Int(truncatingIfNeeded: cardinality.value))
    }

    /// PFMERGE destkey [sourcekey ...]: the union of every key named, the destination included,
    /// written into the destination (created if missing, its TTL kept). The destination turns
    /// dense first when any input is dense; otherwise registers are raised one by one in its
    /// sparse code, as Redis does, so the bytes come out the same.
    static func pfmerge(_ call: inout CommandCall) throws(CommandError) {
        let database = call.database
        var registers = [UInt8](repeating: 0, count: HyperLogLog.registerCount)
        var anyDense = false
        for index in 1..<call.count {
            guard let slot = call.lookupRead(index) else { continue }
            try check(call, slot: slot)
            let bytes = read(database, slot: slot)
            if !HyperLogLog.isSparse(bytes) { anyDense = true }
            guard HyperLogLog.merge(bytes, into: &registers) else { throw corrupt }
        }
        let (slot, _) = findOrCreate(call, 1)
        let sparseMaxBytes = call.node.settings.hllSparseMaxBytes
        let merged = update(database, slot: slot) { bytes in
            HyperLogLog.store(registers: registers, into: &bytes, makingDense: anyDense, sparseMaxBytes: sparseMaxBytes)
        }
        guard merged else { throw corrupt }
        call.effect.dirty += 1
        call.notify(.string, "pfadd", 1)
        call.client.ok()
    }

    /// PFDEBUG GETREG|DECODE|ENCODING|TODENSE key. The key is looked up (and checked) before the
    /// subcommand, as in Redis. GETREG and TODENSE make a sparse value dense for good, which counts
    /// as a change and propagates, but Redis signals no key for it, so WATCH does not see it.
    static func pfdebug(_ call: inout CommandCall) throws(CommandError) {
        guard let slot = call.find(2) else { throw CommandError("ERR The specified key does not exist") }
        try check(call, slot: slot)
        let database = call.database
        call.effect.modifiedKeys = .noKey
        if call.matches(1, "getreg") {
            var converted = false
            let registers: [UInt8]? = update(database, slot: slot) { bytes in
                if HyperLogLog.isSparse(bytes) {
                    guard HyperLogLog.makeDense(&bytes) else { return nil }
                    converted = true
                }
                return HyperLogLog.registers(bytes)
            }
            guard let registers else { throw corrupt }
            if converted { call.effect.dirty += 1 }
            call.client.arrayHeader(registers.count)
            for register in registers { call.client.integer(Int(register)) }
        } else if call.matches(1, "decode") {
            let bytes = read(database, slot: slot)
            guard HyperLogLog.isSparse(bytes) else { throw CommandError("ERR HLL encoding is not sparse") }
            call.client.bulk(HyperLogLog.describeSparse(bytes))
        } else if call.matches(1, "encoding") {
            call.client.simple(HyperLogLog.isSparse(read(database, slot: slot)) ? "sparse" : "dense")
        } else if call.matches(1, "todense") {
            var converted = false
            let valid = update(database, slot: slot) { bytes in
                guard HyperLogLog.isSparse(bytes) else { return true }
                converted = true
                return HyperLogLog.makeDense(&bytes)
            }
            guard valid else { throw corrupt }
            if converted { call.effect.dirty += 1 }
            call.client.integer(converted ? 1 : 0)
        } else {
            // Redis prints the name as a C string (up to a NUL byte), line breaks made spaces.
            let name = call.argument(1) { bytes in
                String(decoding: bytes.prefix { $0 != 0 }.map { $0 == 13 || $0 == 10 ? 32 : $0 }, as: UTF8.self)
            }
            throw CommandError("ERR Unknown PFDEBUG subcommand '\(name)'")
        }
    }

    /// PFSELFTEST: Redis's self-test of the register packing and the estimator (ten million
    /// elements: it takes a while, as in Redis).
    static func pfselftest(_ call: inout CommandCall) throws(CommandError) {
        if let failure = HyperLogLog.selfTest(sparseMaxBytes: call.node.settings.hllSparseMaxBytes) {
            throw CommandError("ERR \(failure)")
        }
        call.client.ok()
    }
}

extension CommandEffect.ModifiedKeys {
    /// No key at all: a change Redis makes without `signalModifiedKey` (PFDEBUG's conversions).
    static var noKey: Self { .flushed([]) }
}
