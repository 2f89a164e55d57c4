/// SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD and BITFIELD_RO over string values, with Redis
/// 7.0's replies, errors and checks in Redis's order; the bit arithmetic is in `Bitmaps`.
enum BitmapCommands {
    static var all: [(String, CommandHandler)] {[
        ("setbit", .init(setbit)), ("getbit", .init(getbit)), ("bitcount", .init(bitcount)), ("bitpos", .init(bitpos)), ("bitop", .init(bitop)),
        ("bitfield", .init(bitfield)), ("bitfield_ro", .init(bitfieldReadOnly)),
    ]}

    static let offsetError = CommandError("ERR bit offset is not an integer or out of range")
    static let bitValueError = CommandError("ERR bit is not an integer or out of range")
    static let fieldTypeError = CommandError(
        "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.")

    /// A bit offset argument: an integer from 0 whose byte lies within the largest string the node
    /// stores (512 MB, as SETRANGE allows). With `fieldBits`, `#n` means n fields of that width
    /// (BITFIELD); the product wraps in 64 bits as in Redis, a wrapped negative one is refused.
    static func bitOffset(_ call: CommandCall, _ index: Int, fieldBits: Int? = nil) throws(CommandError) -> Int {
        let offset: Int? = call.argument(index) { bytes in
            if let fieldBits, bytes.first == UInt8(ascii: "#") {
                return RedisNumber.parseInteger(UnsafeRawBufferPointer(rebasing: bytes[1...])).map { $0 &* fieldBits }
            }
            return RedisNumber.parseInteger(bytes)
        }
        guard let offset, offset >= 0, offset >> 3 < StringCommands.maxStringLength else { throw offsetError }
        return offset
    }

    /// Lends the string of key 1 to `body`, padded with zeros (or created) so that bit `lastBit`
    /// exists, and tells it whether the key was created or grew; WRONGTYPE for other types. The
    /// string is changed in place, its TTL kept.
    private static func modifyBitmap<R>(
        _ call: CommandCall, reaching lastBit: Int, _ body: (UnsafeMutableRawBufferPointer, _ grew: Bool) -> R
    ) throws(CommandError) -> R {
        let database = call.database
        let length = (lastBit >> 3) + 1
        guard let slot = call.find(1) else {
            var bytes = Bitmaps.zeros(length)
            let result = bytes.withUnsafeMutableBytes { body($0, true) }
            _ = call.argument(1) { database.add($0, .string(bytes)) }
            return result
        }
        return try database.modify(slot: slot) { (value) throws(CommandError) -> R in
            guard case .string(var bytes) = value else { throw .wrongType }
            // `bytes` becomes the array's only owner, so neither growing nor writing copies it.
            value = .string([])
            let grew = Bitmaps.grow(&bytes, to: length)
            let result = bytes.withUnsafeMutableBytes { body($0, grew) }
            value = .string(bytes)
            return result
        }
    }

    /// `BYTE` or `BIT` at `index`.
    private static func rangeUnit(_ call: CommandCall, _ index: Int) throws(CommandError) -> Bitmaps.Unit {
        if call.matches(index, "bit") { return .bit }
        if call.matches(index, "byte") { return .byte }
        throw .syntax
    }

    static func setbit(_ call: inout CommandCall) throws(CommandError) {
        let offset = try bitOffset(call, 2)
        let value = try call.integer(3, error: bitValueError)
        guard value == 0 || value == 1 else { throw bitValueError }
        let (old, changed) = try modifyBitmap(call, reaching: offset) { bytes, grew in
            let old = Bitmaps.setBit(at: offset, to: value == 1, in: bytes)
            return (old, grew || old != (value == 1))
        }
        // Setting a bit to what it was changes nothing: no propagation either.
        if changed {
            call.effect.dirty += 1
            call.notify(.string, "setbit", 1)
        }
        call.client.integer(old ? 1 : 0)
    }

    static func getbit(_ call: inout CommandCall) throws(CommandError) {
        let offset = try bitOffset(call, 2)
        guard let slot = call.lookupRead(1) else { return call.client.integer(0) }
        guard let bit = call.database.withStringBytes(slot: slot, { Bitmaps.bit(at: offset, in: $0) }) else {
            throw .wrongType
        }
        call.client.integer(bit ? 1 : 0)
    }

    /// BITCOUNT key [start end [BYTE|BIT]]: a missing key is 0 whatever the arguments; the range is
    /// read only then.
    static func bitcount(_ call: inout CommandCall) throws(CommandError) {
        guard let slot = call.lookupRead(1) else { return call.client.integer(0) }
        guard let bytes = call.database.value(at: slot).asString else { throw .wrongType }
        let range: ClosedRange<Int>?
        switch call.count {
        case 2:
            range = bytes.isEmpty ? nil : 0...(bytes.count * 8 - 1)
        case 4, 5:
            let start = try call.integer(2)
            let end = try call.integer(3)
            // Both from the end and crossed: 0 at once (before BYTE|BIT is even read), where clamping
            // both to 0 would count the first byte.
            if start < 0 && end < 0 && start > end { return call.client.integer(0) }
            let unit: Bitmaps.Unit = try call.count == 5 ? rangeUnit(call, 4) : .byte
            range = Bitmaps.bitRange(start: start, end: end, length: bytes.count, unit: unit)
        default:
            throw .syntax
        }
        let count = range.map { range in bytes.withUnsafeBytes { Bitmaps.popcount($0, bits: range) } } ?? 0
        call.client.integer(count)
    }

    /// BITPOS key bit [start [end [BYTE|BIT]]]. A missing key is all zeros (0 for a clear bit, -1
    /// for a set one); without an end, a string also reads as zeros past its end, so a search for a
    /// clear bit in all ones answers the first position after the string; with an end it is -1.
    static func bitpos(_ call: inout CommandCall) throws(CommandError) {
        let bit = try call.integer(2)
        guard bit == 0 || bit == 1 else { throw CommandError("ERR The bit argument must be 1 or 0.") }
        guard let slot = call.lookupRead(1) else { return call.client.integer(bit == 1 ? -1 : 0) }
        guard let bytes = call.database.value(at: slot).asString else { throw .wrongType }
        let range: ClosedRange<Int>?
        var endGiven = false
        switch call.count {
        case 3:
            range = bytes.isEmpty ? nil : 0...(bytes.count * 8 - 1)
        case 4, 5, 6:
            let start = try call.integer(3)
            // BYTE|BIT is read before the end (an error in either is reported in that order).
            let unit: Bitmaps.Unit = try call.count == 6 ? rangeUnit(call, 5) : .byte
            var end = bytes.count - 1
            if call.count >= 5 {
                end = try call.integer(4)
                endGiven = true
            }
            range = Bitmaps.bitRange(start: start, end: end, length: bytes.count, unit: unit)
        default:
            throw .syntax
        }
        // An empty range holds neither a 0 nor a 1.
        guard let range else { return call.client.integer(-1) }
        if let position = bytes.withUnsafeBytes({ Bitmaps.firstBit(bit == 1, in: $0, range: range) }) {
            return call.client.integer(position)
        }
        call.client.integer(bit == 0 && !endGiven ? range.upperBound + 1 : -1)
    }

    /// BITOP AND|OR|XOR|NOT destkey key...: missing sources are empty strings; the result is as
    /// long as the longest source, and an empty result deletes the destination.
    static func bitop(_ call: inout CommandCall) throws(CommandError) {
        let operation: Bitmaps.Operation
        if call.matches(1, "and") {
            operation = .and
        } else if call.matches(1, "or") {
            operation = .or
        } else if call.matches(1, "xor") {
            operation = .xor
        } else if call.matches(1, "not") {
            operation = .not
        } else {
            throw .syntax
        }
        if operation == .not && call.count != 4 {
            throw CommandError("ERR BITOP NOT must be called with a single source key.")
        }
        var sources: [[UInt8]] = []
        sources.reserveCapacity(call.count - 3)
        for index in 3..<call.count {
            guard let slot = call.lookupRead(index) else {
                sources.append([])
                continue
            }
            guard let bytes = call.database.value(at: slot).asString else { throw .wrongType }
            sources.append(bytes)
        }
        let result = Bitmaps.combine(operation, sources)
        if result.isEmpty {
            if call.delete(2) { call.notify(.generic, "del", 2) }
        } else {
            call.store(2, .string(result))
            call.notify(.string, "set", 2)
        }
        call.client.integer(result.count)
    }

    /// One BITFIELD operation, parsed.
    private struct FieldOperation {
        enum Kind { case get, set, incrby }
        var kind: Kind
        var type: Bitmaps.FieldType
        var offset: Int
        /// SET's value or INCRBY's increment.
        var value: Int64
        var overflow: Bitmaps.Overflow
    }

    static func bitfield(_ call: inout CommandCall) throws(CommandError) { try bitfield(&call, readOnly: false) }
    static func bitfieldReadOnly(_ call: inout CommandCall) throws(CommandError) { try bitfield(&call, readOnly: true) }

    /// BITFIELD key [GET type offset] [SET type offset value] [INCRBY type offset increment]
    /// [OVERFLOW WRAP|SAT|FAIL]...: every operation is parsed (the first bad one is the error) before
    /// the key is looked at. With a SET or INCRBY the key is created or padded up to the farthest
    /// field written, even when OVERFLOW FAIL then refuses every write; only the writes that happen
    /// count as changes (and make the command propagate, as sent), as in Redis 7.0.
    private static func bitfield(_ call: inout CommandCall, readOnly: Bool) throws(CommandError) {
        var operations: [FieldOperation] = []
        var overflow = Bitmaps.Overflow.wrap
        var writes = false
        var lastWrittenBit = 0
        var index = 2
        while index < call.count {
            let remaining = call.count - index - 1
            let kind: FieldOperation.Kind
            if call.matches(index, "get") && remaining >= 2 {
                kind = .get
            } else if call.matches(index, "set") && remaining >= 3 {
                kind = .set
            } else if call.matches(index, "incrby") && remaining >= 3 {
                kind = .incrby
            } else if call.matches(index, "overflow") && remaining >= 1 {
                if call.matches(index + 1, "wrap") {
                    overflow = .wrap
                } else if call.matches(index + 1, "sat") {
                    overflow = .sat
                } else if call.matches(index + 1, "fail") {
                    overflow = .fail
                } else {
                    throw CommandError("ERR Invalid OVERFLOW type specified")
                }
                index += 2
                continue
            } else {
                throw .syntax
            }
            guard let type = call.argument(index + 1, { Bitmaps.FieldType($0) }) else { throw fieldTypeError }
            let offset = try bitOffset(call, index + 2, fieldBits: type.bits)
            var value = 0
            if kind != .get {
                writes = true
                lastWrittenBit = max(lastWrittenBit, offset + type.bits - 1)
                value = try call.integer(index + 3)
            }
            operations.append(FieldOperation(kind: kind, type: type, offset: offset, value: Int64(value), overflow: overflow))
            index += kind == .get ? 3 : 4
        }

        let client = call.client
        guard writes else {
            var bytes: [UInt8] = []
            if let slot = call.lookupRead(1) {
                guard let value = call.database.value(at: slot).asString else { throw .wrongType }
                bytes = value
            }
            client.arrayHeader(operations.count)
            bytes.withUnsafeBytes { bytes in
                for operation in operations {
                    client.integer(Int(Bitmaps.fieldValue(bytes, offset: operation.offset, type: operation.type)))
                }
            }
            return
        }
        guard !readOnly else { throw CommandError("ERR BITFIELD_RO only supports the GET subcommand") }
        let changes = try modifyBitmap(call, reaching: lastWrittenBit) { bytes, grew in
            client.arrayHeader(operations.count)
            var written = 0
            for operation in operations {
                let type = operation.type
                let old = Bitmaps.fieldValue(UnsafeRawBufferPointer(bytes), offset: operation.offset, type: type)
                let new: Int64?
                switch operation.kind {
                case .get:
                    client.integer(Int(old))
                    continue
                case .set:
                    new = Bitmaps.fieldResult(operation.value, plus: 0, type: type, overflow: operation.overflow)
                case .incrby:
                    new = Bitmaps.fieldResult(old, plus: operation.value, type: type, overflow: operation.overflow)
                }
                guard let new else {
                    client.null()
                    continue
                }
                // SET answers the previous value, INCRBY the new one.
                client.integer(Int(operation.kind == .set ? old : new))
                Bitmaps.writeField(bytes, offset: operation.offset, bits: type.bits, UInt64(bitPattern: new))
                if grew || new != old { written += 1 }
            }
            return written
        }
        call.effect.dirty += changes
        if changes > 0 { call.notify(.string, "setbit", 1) }
    }
}
