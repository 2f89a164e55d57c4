#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Bits of a string value as Redis's bitmap commands address them: bit 0 is the most significant
/// bit of the first byte, and a string reads as zeros past its end. Pure functions on bytes (no
/// keys, no replies), so each rule is a unit test; `BitmapCommands` parses arguments and replies.
enum Bitmaps {
    // MARK: Ranges

    /// Whether a range's `start` and `end` count bytes (the default) or bits.
    enum Unit { case byte, bit }

    /// BITCOUNT's and BITPOS's `start end [BYTE|BIT]` over a string of `length` bytes, as bit
    /// positions: a negative index counts from the end, an index before the start is 0, an end past
    /// the string is its last byte (bit). Nil when nothing is left.
    static func bitRange(start: Int, end: Int, length: Int, unit: Unit) -> ClosedRange<Int>? {
        let total = unit == .bit ? length * 8 : length
        var first = start < 0 ? total + start : start
        var last = end < 0 ? total + end : end
        first = max(first, 0)
        last = min(max(last, 0), total - 1)
        guard first <= last else { return nil }
        return unit == .bit ? first...last : (first * 8)...(last * 8 + 7)
    }

    // MARK: Counting and searching

    /// Set bits in `bytes`, eight bytes at a time.
    static func popcount(_ bytes: UnsafeRawBufferPointer) -> Int {
        var total = 0
        var index = 0
        while index + 8 <= bytes.count {
            total += bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self).nonzeroBitCount
            index += 8
        }
        while index < bytes.count {
            total += bytes[index].nonzeroBitCount
            index += 1
        }
        return total
    }

    /// Set bits at the positions `range` covers (which lie inside `bytes`).
    static func popcount(_ bytes: UnsafeRawBufferPointer, bits range: ClosedRange<Int>) -> Int {
        let firstByte = range.lowerBound >> 3
        let lastByte = range.upperBound >> 3
        var total = popcount(UnsafeRawBufferPointer(rebasing: bytes[firstByte...lastByte]))
        // The whole bytes were counted: take back the bits before the range and after it.
        total -= (bytes[firstByte] & ~(0xFF >> UInt8(range.lowerBound & 7))).nonzeroBitCount
        total -= (bytes[lastByte] & (0x7F >> UInt8(range.upperBound & 7))).nonzeroBitCount
        return total
    }

    /// The first position in `range` (inside `bytes`) whose bit is `bit`; nil when there is none.
    static func firstBit(_ bit: Bool, in bytes: UnsafeRawBufferPointer, range: ClosedRange<Int>) -> Int? {
        let firstByte = range.lowerBound >> 3
        let lastByte = range.upperBound >> 3
        // Searching for a 0 is searching for a 1 in the complement.
        let flip: UInt8 = bit ? 0 : 0xFF
        var index = firstByte
        while index <= lastByte {
            // Whole words strictly between the edge bytes that hold nothing wanted are skipped at once.
            if index > firstByte && index + 8 <= lastByte {
                let word = bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                if word == (bit ? 0 : UInt64.max) {
                    index += 8
                    continue
                }
            }
            var byte = bytes[index] ^ flip
            if index == firstByte { byte &= 0xFF >> UInt8(range.lowerBound & 7) }
            if index == lastByte { byte &= 0xFF << UInt8(7 - (range.upperBound & 7)) }
            if byte != 0 { return index * 8 + byte.leadingZeroBitCount }
            index += 1
        }
        return nil
    }

    /// The value of bit `offset`; 0 past the end.
    static func bit(at offset: Int, in bytes: UnsafeRawBufferPointer) -> Bool {
        let index = offset >> 3
        guard index < bytes.count else { return false }
        return bytes[index] & (0x80 >> UInt8(offset & 7)) != 0
    }

    /// Sets bit `offset` (inside `bytes`) to `value`; returns its previous value.
    @discardableResult
    static func setBit(at offset: Int, to value: Bool, in bytes: UnsafeMutableRawBufferPointer) -> Bool {
        let index = offset >> 3
        let mask: UInt8 = 0x80 >> UInt8(offset & 7)
        let old = bytes[index] & mask != 0
        if value { bytes[index] |= mask } else { bytes[index] &= ~mask }
        return old
    }

    // MARK: BITOP

    enum Operation { case and, or, xor, not }

    /// BITOP over `sources` (a missing key is an empty one): as long as the longest source, each
    /// shorter one read as zeros past its end. NOT takes the first source only.
    static func combine(_ operation: Operation, _ sources: [[UInt8]]) -> [UInt8] {
        let length = sources.reduce(0) { max($0, $1.count) }
        guard length > 0, let first = sources.first else { return [] }
        var result = zeros(length)
        result.withUnsafeMutableBytes { output in
            first.withUnsafeBytes { input in
                if input.count > 0 { output.baseAddress!.copyMemory(from: input.baseAddress!, byteCount: input.count) }
            }
            if operation == .not {
                apply(output, { ~$0 }, { ~$0 })
                return
            }
            for source in sources.dropFirst() {
                source.withUnsafeBytes { input in
                    let covered = UnsafeMutableRawBufferPointer(rebasing: output[0..<input.count])
                    switch operation {
                    case .and:
                        combine(covered, input, &, &)
                        // Past its end the source is zeros: AND clears the rest.
                        let rest = UnsafeMutableRawBufferPointer(rebasing: output[input.count...])
                        if rest.count > 0 { memset(rest.baseAddress!, 0, rest.count) }
                    case .or: combine(covered, input, |, |)
                    case .xor: combine(covered, input, ^, ^)
                    case .not: break
                    }
                }
            }
        }
        return result
    }

    /// `output[i] = word(output[i], input[i])`, eight bytes at a time, then byte by byte.
    private static func combine(
        _ output: UnsafeMutableRawBufferPointer, _ input: UnsafeRawBufferPointer,
        _ word: (UInt64, UInt64) -> UInt64, _ byte: (UInt8, UInt8) -> UInt8
    ) {
        var index = 0
        while index + 8 <= output.count {
            let value = word(output.loadUnaligned(fromByteOffset: index, as: UInt64.self),
                             input.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            output.storeBytes(of: value, toByteOffset: index, as: UInt64.self)
            index += 8
        }
        while index < output.count {
            output[index] = byte(output[index], input[index])
            index += 1
        }
    }

    private static func apply(_ output: UnsafeMutableRawBufferPointer, _ word: (UInt64) -> UInt64, _ byte: (UInt8) -> UInt8) {
        var index = 0
        while index + 8 <= output.count {
            output.storeBytes(of: word(output.loadUnaligned(fromByteOffset: index, as: UInt64.self)), toByteOffset: index, as: UInt64.self)
            index += 8
        }
        while index < output.count {
            output[index] = byte(output[index])
            index += 1
        }
    }

    // MARK: Growing

    /// `count` zero bytes, cleared with one memset (SETBIT near 2^32 asks for 512 MB).
    static func zeros(_ count: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0 { memset(buffer.baseAddress!, 0, count) }
            initialized = count
        }
    }

    /// Pads `bytes` with zeros to `length` (when shorter); true when it grew. Capacity grows the way
    /// Redis's `sdsMakeRoomFor` does (double below 1 MB, then 1 MB more), so bits set one after
    /// another past the end do not copy the string each time.
    @discardableResult
    static func grow(_ bytes: inout [UInt8], to length: Int) -> Bool {
        guard bytes.count < length else { return false }
        if length > bytes.capacity {
            let megabyte = 1024 * 1024
            bytes.reserveCapacity(length < megabyte ? length * 2 : length + megabyte)
        }
        bytes.append(contentsOf: zeros(length - bytes.count))
        return true
    }

    // MARK: BITFIELD

    /// A field's type: `i1`...`i64` or `u1`...`u63`.
    struct FieldType: Equatable {
        var signed: Bool
        var bits: Int

        /// Parses `i<bits>`/`u<bits>` (lowercase sign letter, bits as Redis reads integers); nil
        /// when invalid, `u64` included (a reply could not hold it).
        init?(_ text: UnsafeRawBufferPointer) {
            guard let letter = text.first, letter == UInt8(ascii: "i") || letter == UInt8(ascii: "u") else { return nil }
            let digits = UnsafeRawBufferPointer(rebasing: text[1...])
            // Redis reads the width up to the first NUL byte.
            let width = digits.firstIndex(of: 0).map { UnsafeRawBufferPointer(rebasing: digits[..<$0]) } ?? digits
            signed = letter == UInt8(ascii: "i")
            guard let bits = RedisNumber.parseInteger(width), bits >= 1, bits <= (signed ? 64 : 63) else { return nil }
            self.bits = bits
        }

        init(signed: Bool, bits: Int) {
            self.signed = signed
            self.bits = bits
        }

        var max: Int64 { signed ? Int64.max >> (64 - bits) : Int64((UInt64(1) << bits) - 1) }
        var min: Int64 { signed ? ~max : 0 }
    }

    /// What to do when SET or INCRBY leaves a field's range.
    enum Overflow { case wrap, sat, fail }

    /// The `bits`-wide field at bit `offset`, as an unsigned number; zeros past the end of `bytes`.
    static func readField(_ bytes: UnsafeRawBufferPointer, offset: Int, bits: Int) -> UInt64 {
        var value: UInt64 = 0
        var position = offset
        var remaining = bits
        while remaining > 0 {
            let index = position >> 3
            let used = position & 7
            let take = Swift.min(8 - used, remaining)
            let byte = index < bytes.count ? UInt64(bytes[index]) : 0
            value = value << UInt64(take) | (byte >> UInt64(8 - used - take)) & ((1 << UInt64(take)) - 1)
            position += take
            remaining -= take
        }
        return value
    }

    /// Writes the low `bits` of `value` at bit `offset` (the field lies inside `bytes`).
    static func writeField(_ bytes: UnsafeMutableRawBufferPointer, offset: Int, bits: Int, _ value: UInt64) {
        var position = offset
        var remaining = bits
        while remaining > 0 {
            let index = position >> 3
            let used = position & 7
            let take = Swift.min(8 - used, remaining)
            let shift = 8 - used - take
            let mask = UInt8(truncatingIfNeeded: (1 << take) - 1) << UInt8(shift)
            let chunk = UInt8(truncatingIfNeeded: value >> UInt64(remaining - take)) << UInt8(shift)
            bytes[index] = bytes[index] & ~mask | chunk & mask
            position += take
            remaining -= take
        }
    }

    /// The field at `offset` read as `type` (sign-extended when signed).
    static func fieldValue(_ bytes: UnsafeRawBufferPointer, offset: Int, type: FieldType) -> Int64 {
        let raw = readField(bytes, offset: offset, bits: type.bits)
        return type.signed ? signExtended(raw, bits: type.bits) : Int64(raw)
    }

    private static func signExtended(_ raw: UInt64, bits: Int) -> Int64 {
        let shift = UInt64(64 - bits)
        return Int64(bitPattern: raw << shift) >> Int64(shift)
    }

    /// The value a field of `type` ends up holding after SET `value` (`increment` 0) or INCRBY
    /// `increment` over its current `value`; nil when it does not fit and `overflow` is FAIL.
    ///
    /// Out of range, WRAP keeps the low bits (sign-extended for signed types) and SAT the nearest
    /// limit, with Redis 7.0's way of telling above from below: an unsigned SET takes the value's
    /// 64-bit two's complement pattern (so a negative value is above the range and saturates to the
    /// maximum), and a signed SET so negative that `max - value` wraps in 64-bit arithmetic counts
    /// as above the range as well.
    static func fieldResult(_ value: Int64, plus increment: Int64, type: FieldType, overflow: Overflow) -> Int64? {
        let max = type.max, min = type.min
        let above: Bool
        let below: Bool
        if type.signed {
            if type.bits == 64 {
                let (_, overflowed) = value.addingReportingOverflow(increment)
                above = overflowed && increment > 0
                below = overflowed && increment < 0
            } else {
                above = value > max || increment > max &- value
                below = !above && (value < min || increment < min &- value)
            }
        } else {
            let pattern = UInt64(bitPattern: value)
            above = pattern > UInt64(max) || (increment > 0 && increment > max &- value)
            below = !above && increment < 0 && increment < 0 &- value
        }
        guard above || below else { return value &+ increment }
        switch overflow {
        case .fail:
            return nil
        case .sat:
            return above ? max : min
        case .wrap:
            let sum = UInt64(bitPattern: value &+ increment)
            let low = type.bits == 64 ? sum : sum & ((1 << UInt64(type.bits)) - 1)
            return type.signed ? signExtended(low, bits: type.bits) : Int64(low)
        }
    }
}
