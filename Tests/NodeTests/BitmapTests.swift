import Testing

@testable import ShardgateNode

/// The pure bit operations behind the bitmap commands, with vectors taken from redis-server 7.0.15
/// (the command that produced each is in its comment), and against naive bit-by-bit versions.
@Suite struct BitmapTests {
    /// A small deterministic generator (xorshift64*).
    struct Generator {
        var state: UInt64
        init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
        mutating func next() -> UInt64 {
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            return state &* 0x2545_F491_4F6C_DD1D
        }
        mutating func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
        mutating func bytes(_ count: Int) -> [UInt8] {
            (0..<count).map { _ in
                // Mostly runs of 0x00 and 0xFF, so word skipping and edges are exercised.
                switch next() % 4 {
                case 0: 0
                case 1: 0xFF
                default: UInt8(truncatingIfNeeded: next())
                }
            }
        }
    }

    /// Bit `position` the slow way.
    static func naiveBit(_ bytes: [UInt8], _ position: Int) -> Bool {
        position / 8 < bytes.count && (bytes[position / 8] >> (7 - position % 8)) & 1 == 1
    }

    @Test func rangesResolveLikeRedis() {
        // "foobar" (6 bytes) with BITCOUNT/BITPOS start end [BYTE|BIT].
        #expect(Bitmaps.bitRange(start: 0, end: -1, length: 6, unit: .byte) == 0...47)
        #expect(Bitmaps.bitRange(start: 1, end: 1, length: 6, unit: .byte) == 8...15)
        #expect(Bitmaps.bitRange(start: 5, end: 30, length: 6, unit: .bit) == 5...30)
        #expect(Bitmaps.bitRange(start: -5, end: -3, length: 6, unit: .bit) == 43...45)
        #expect(Bitmaps.bitRange(start: -100, end: 100, length: 6, unit: .byte) == 0...47)
        // Both clamped to 0: the first byte (BITPOS s 1 -100 -200 searches byte 0).
        #expect(Bitmaps.bitRange(start: -100, end: -200, length: 6, unit: .byte) == 0...7)
        #expect(Bitmaps.bitRange(start: 4, end: 10, length: 4, unit: .byte) == nil)
        #expect(Bitmaps.bitRange(start: 32, end: 87, length: 4, unit: .bit) == nil)
        #expect(Bitmaps.bitRange(start: 0, end: -1, length: 0, unit: .byte) == nil)
        #expect(Bitmaps.bitRange(start: Int.min, end: Int.max, length: 3, unit: .bit) == 0...23)
    }

    @Test func popcountCountsTheRangeOnly() {
        let foobar = Array("foobar".utf8)
        foobar.withUnsafeBytes { bytes in
            // SET s foobar; BITCOUNT s = 26; BITCOUNT s 1 1 = 6; BITCOUNT s 5 30 BIT = 17; -5 -3 BIT = 1.
            #expect(Bitmaps.popcount(bytes) == 26)
            #expect(Bitmaps.popcount(bytes, bits: 8...15) == 6)
            #expect(Bitmaps.popcount(bytes, bits: 5...30) == 17)
            #expect(Bitmaps.popcount(bytes, bits: 43...45) == 1)
        }
        var generator = Generator(seed: 7)
        for _ in 0..<300 {
            let bytes = generator.bytes(generator.int(1...40))
            let first = generator.int(0...(bytes.count * 8 - 1))
            let last = generator.int(first...(bytes.count * 8 - 1))
            let expected = (first...last).filter { Self.naiveBit(bytes, $0) }.count
            #expect(bytes.withUnsafeBytes { Bitmaps.popcount($0, bits: first...last) } == expected, "\(bytes) \(first)...\(last)")
        }
    }

    @Test func firstBitFindsTheFirstMatchInTheRange() {
        let foobar = Array("foobar".utf8)
        foobar.withUnsafeBytes { bytes in
            // BITPOS s 1 = 1; BITPOS s 0 = 0; BITPOS s 0 1 3 BIT = 3; BITPOS s 1 2 -1 BYTE = 17.
            #expect(Bitmaps.firstBit(true, in: bytes, range: 0...47) == 1)
            #expect(Bitmaps.firstBit(false, in: bytes, range: 0...47) == 0)
            #expect(Bitmaps.firstBit(false, in: bytes, range: 1...3) == 3)
            #expect(Bitmaps.firstBit(true, in: bytes, range: 16...47) == 17)
        }
        let ones = [UInt8](repeating: 0xFF, count: 20)
        ones.withUnsafeBytes { bytes in
            #expect(Bitmaps.firstBit(false, in: bytes, range: 0...159) == nil)
            #expect(Bitmaps.firstBit(true, in: bytes, range: 3...9) == 3)
        }
        var generator = Generator(seed: 11)
        for _ in 0..<500 {
            let bytes = generator.bytes(generator.int(1...40))
            let first = generator.int(0...(bytes.count * 8 - 1))
            let last = generator.int(first...(bytes.count * 8 - 1))
            let bit = generator.int(0...1) == 1
            let expected = (first...last).first { Self.naiveBit(bytes, $0) == bit }
            #expect(bytes.withUnsafeBytes { Bitmaps.firstBit(bit, in: $0, range: first...last) } == expected,
                    "\(bytes) \(first)...\(last) bit \(bit)")
        }
    }

    @Test func singleBitsAreMostSignificantFirst() {
        var bytes: [UInt8] = [0, 0]
        bytes.withUnsafeMutableBytes { buffer in
            #expect(Bitmaps.setBit(at: 0, to: true, in: buffer) == false)
            #expect(Bitmaps.setBit(at: 9, to: true, in: buffer) == false)
            #expect(Bitmaps.setBit(at: 9, to: true, in: buffer) == true)
        }
        #expect(bytes == [0x80, 0x40])
        bytes.withUnsafeBytes { buffer in
            #expect(Bitmaps.bit(at: 0, in: buffer) && Bitmaps.bit(at: 9, in: buffer))
            #expect(!Bitmaps.bit(at: 1, in: buffer) && !Bitmaps.bit(at: 16, in: buffer) && !Bitmaps.bit(at: 1 << 40, in: buffer))
        }
    }

    @Test func bitopReadsShortSourcesAsZeros() {
        let a: [UInt8] = Array("foobar".utf8), b: [UInt8] = Array("abcdef".utf8)
        // BITOP AND/OR/XOR dest a b, NOT dest a (redis-cli GET dest, as bytes).
        #expect(Bitmaps.combine(.and, [a, b]) == [0x60, 0x62, 0x63, 0x60, 0x61, 0x62])
        #expect(Bitmaps.combine(.or, [a, b]) == [0x67, 0x6F, 0x6F, 0x66, 0x65, 0x76])
        #expect(Bitmaps.combine(.xor, [a, b]) == [0x07, 0x0D, 0x0C, 0x06, 0x04, 0x14])
        #expect(Bitmaps.combine(.not, [a]) == [0x99, 0x90, 0x90, 0x9D, 0x9E, 0x8D])
        // A missing source is empty: AND clears, OR and XOR keep; the length is the longest.
        #expect(Bitmaps.combine(.and, [a, []]) == [0, 0, 0, 0, 0, 0])
        #expect(Bitmaps.combine(.or, [[], [0xF0], a]) == [0xF6] + a.dropFirst())
        #expect(Bitmaps.combine(.xor, [[], []]) == [])
        #expect(Bitmaps.combine(.not, [[]]) == [])
        var generator = Generator(seed: 3)
        for _ in 0..<200 {
            let sources = (0..<generator.int(1...5)).map { _ in generator.bytes(generator.int(0...30)) }
            let length = sources.map(\.count).max()!
            for operation in [Bitmaps.Operation.and, .or, .xor] {
                let expected: [UInt8] = (0..<length).map { index in
                    let bytes = sources.map { index < $0.count ? $0[index] : 0 }
                    switch operation {
                    case .and: return bytes.reduce(0xFF, &)
                    case .or: return bytes.reduce(0, |)
                    default: return bytes.reduce(0, ^)
                    }
                }
                #expect(Bitmaps.combine(operation, sources) == expected)
            }
        }
    }

    @Test func growingPadsWithZeros() {
        var bytes: [UInt8] = [1, 2]
        #expect(Bitmaps.grow(&bytes, to: 5))
        #expect(bytes == [1, 2, 0, 0, 0])
        #expect(!Bitmaps.grow(&bytes, to: 3))
        #expect(bytes.count == 5)
        #expect(Bitmaps.zeros(0) == [] && Bitmaps.zeros(3) == [0, 0, 0])
    }

    @Test func fieldTypesParseLikeRedis() {
        func type(_ text: String) -> Bitmaps.FieldType? {
            var text = text
            return text.withUTF8 { Bitmaps.FieldType(UnsafeRawBufferPointer($0)) }
        }
        #expect(type("i1") == .init(signed: true, bits: 1))
        #expect(type("i64") == .init(signed: true, bits: 64))
        #expect(type("u63") == .init(signed: false, bits: 63))
        // Refused by BITFIELD x GET <type> 0 with the "Invalid bitfield type" error.
        for invalid in ["u64", "i65", "i0", "i08", "I8", "U8", "8", "", "i", "i+8", "i-1", "u 8"] {
            #expect(type(invalid) == nil, "\(invalid)")
        }
        #expect(Bitmaps.FieldType(signed: true, bits: 8).max == 127 && Bitmaps.FieldType(signed: true, bits: 8).min == -128)
        #expect(Bitmaps.FieldType(signed: false, bits: 63).max == Int64.max)
        #expect(Bitmaps.FieldType(signed: true, bits: 1).max == 0 && Bitmaps.FieldType(signed: true, bits: 1).min == -1)
    }

    @Test func fieldsReadAndWriteAcrossBytes() {
        // BITFIELD k SET u5 7 23 leaves 00000001 01110000 (Redis's own example).
        var bytes: [UInt8] = [0, 0]
        bytes.withUnsafeMutableBytes { Bitmaps.writeField($0, offset: 7, bits: 5, 23) }
        #expect(bytes == [0b0000_0001, 0b0111_0000])
        bytes.withUnsafeBytes { buffer in
            #expect(Bitmaps.readField(buffer, offset: 7, bits: 5) == 23)
            #expect(Bitmaps.fieldValue(buffer, offset: 7, type: .init(signed: true, bits: 5)) == -9)
            // Past the end reads zeros (SET k 1; BITFIELD k GET u1 0 = 0, GET u8 12 = 0).
            #expect(Bitmaps.readField(buffer, offset: 12, bits: 8) == 0)
        }
        var generator = Generator(seed: 5)
        for _ in 0..<500 {
            var buffer = generator.bytes(12)
            let before = buffer
            let bits = generator.int(1...64)
            let offset = generator.int(0...(96 - bits))
            let value = generator.next()
            buffer.withUnsafeMutableBytes { Bitmaps.writeField($0, offset: offset, bits: bits, value) }
            for position in 0..<96 {
                let inside = position >= offset && position < offset + bits
                let expected = inside ? (value >> UInt64(offset + bits - 1 - position)) & 1 == 1 : Self.naiveBit(before, position)
                #expect(Self.naiveBit(buffer, position) == expected)
            }
            let mask = bits == 64 ? UInt64.max : (1 << UInt64(bits)) - 1
            #expect(buffer.withUnsafeBytes { Bitmaps.readField($0, offset: offset, bits: bits) } == value & mask)
        }
    }

    /// One BITFIELD operation's outcome, as redis-server 7.0.15 answered each (after `DEL k`):
    /// `BITFIELD k OVERFLOW <o> SET <type> 0 <value>` then `GET <type> 0`, or `INCRBY`.
    @Test(arguments: [
        // SAT: a value so negative that max - value wraps counts as above the range.
        (Bitmaps.FieldType(signed: true, bits: 8), Bitmaps.Overflow.sat, Int64.min, Int64(0), Optional(Int64(127))),
        (.init(signed: true, bits: 8), .sat, Int64.min + 127, 0, 127),
        (.init(signed: true, bits: 8), .sat, Int64.min + 128, 0, -128),
        (.init(signed: true, bits: 8), .sat, 128, 0, 127),
        // An unsigned SET of a negative value: above the range.
        (.init(signed: false, bits: 8), .sat, -1, 0, 255),
        (.init(signed: false, bits: 8), .wrap, -1, 0, 255),
        (.init(signed: true, bits: 8), .wrap, 255, 0, -1),
        (.init(signed: true, bits: 8), .fail, 128, 0, nil),
        (.init(signed: true, bits: 8), .fail, -129, 0, nil),
        (.init(signed: true, bits: 64), .fail, Int64.min, 0, Int64.min),
        (.init(signed: true, bits: 64), .fail, Int64.min, -1, nil),
        (.init(signed: true, bits: 64), .wrap, Int64.min, -1, Int64.max),
        (.init(signed: true, bits: 64), .sat, Int64.max, 1, Int64.max),
        (.init(signed: true, bits: 8), .sat, -1, -200, -128),
        (.init(signed: true, bits: 8), .wrap, 100, 257, 101),
        (.init(signed: false, bits: 8), .wrap, 100, 257, 101),
        (.init(signed: false, bits: 8), .sat, 100, 257, 255),
        (.init(signed: false, bits: 8), .sat, 100, -255, 0),
        (.init(signed: false, bits: 63), .sat, 5, Int64.max, Int64.max),
        (.init(signed: false, bits: 63), .wrap, 5, Int64.max, 4),
        (.init(signed: false, bits: 63), .fail, 5, -6, nil),
        (.init(signed: true, bits: 1), .wrap, 0, 1, -1),
        (.init(signed: false, bits: 1), .fail, 1, 0, 1),
    ] as [(Bitmaps.FieldType, Bitmaps.Overflow, Int64, Int64, Int64?)])
    func fieldResultsMatchRedis(type: Bitmaps.FieldType, overflow: Bitmaps.Overflow, value: Int64, increment: Int64, expected: Int64?) {
        #expect(Bitmaps.fieldResult(value, plus: increment, type: type, overflow: overflow) == expected)
    }

    /// Redis's own fuzz rule: an operation overflows exactly when the true sum leaves the range, and
    /// WRAP keeps the sum modulo 2^bits.
    @Test func fieldOverflowAgreesWithExactArithmetic() {
        var generator = Generator(seed: 9)
        for _ in 0..<3000 {
            let bits = generator.int(1...64)
            let type = Bitmaps.FieldType(signed: bits == 64 || generator.int(0...1) == 1, bits: bits)
            let current = Bitmaps.fieldResult(Int64(bitPattern: generator.next()), plus: 0, type: type, overflow: .wrap)!
            let increment = Int64(bitPattern: generator.next()) >> Int64(generator.int(0...63))
            let sum = Int128(current) + Int128(increment)
            let fits = sum >= Int128(type.min) && sum <= Int128(type.max)
            let failed = Bitmaps.fieldResult(current, plus: increment, type: type, overflow: .fail)
            #expect((failed != nil) == fits, "\(type) \(current) + \(increment)")
            let wrapped = Bitmaps.fieldResult(current, plus: increment, type: type, overflow: .wrap)!
            let modulus = Int128(1) << bits
            var expected = ((sum - Int128(type.min)) % modulus + modulus) % modulus + Int128(type.min)
            if !type.signed { expected = (sum % modulus + modulus) % modulus }
            #expect(Int128(wrapped) == expected, "\(type) \(current) + \(increment)")
            let saturated = Bitmaps.fieldResult(current, plus: increment, type: type, overflow: .sat)!
            #expect(Int128(saturated) == min(max(sum, Int128(type.min)), Int128(type.max)))
        }
    }
}
