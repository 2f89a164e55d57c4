#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Redis 7.0's HyperLogLog, on the string value that holds it: the same bytes, so a value written
/// by redis-server reads here and the reverse (GET/SET, RDB, replication), and the same estimator,
/// so counts agree to the bit. No I/O; the PF commands call it.
///
/// Layout: a 16-byte header (`HYLL`, the encoding byte (0 dense, 1 sparse), 3 unused bytes, the
/// cached cardinality as 8 little-endian bytes whose top bit marks it stale) and then either
/// 16384 registers of 6 bits packed from the low bits up (dense, always 12288 bytes), or a run-length
/// code of them (sparse): `00llllll` ZERO (1...64 zero registers), `01llllll llllllll` XZERO
/// (1...16384 zero registers), `1vvvvvll` VAL (1...4 registers of value 1...32).
///
/// Corrupt sparse values are handled as Redis handles them: a byte read past the end is 0 (its
/// string terminator), and the same inputs are refused, with the bound that security-patched 7.0.15
/// servers apply (`forEachRun`).
enum HyperLogLog {
    static let headerSize = 16
    static let registerCount = 16384
    static let denseSize = headerSize + registerCount * 6 / 8
    static let denseEncoding: UInt8 = 0
    static let sparseEncoding: UInt8 = 1
    /// The highest register value a VAL opcode holds; a higher one makes the value dense.
    static let sparseValueMax: UInt8 = 32
    /// MurmurHash64A's seed in Redis.
    static let seed: UInt64 = 0xadc8_3b19

    /// What setting a register did.
    enum Update: Equatable {
        case unchanged, changed
        /// The sparse code does not cover the register, or could not be made dense.
        case corrupt
    }

    // MARK: Values

    /// A new value: sparse, one XZERO over every register, a valid cached cardinality of 0.
    static func empty() -> [UInt8] {
        var bytes: [UInt8] = [0x48, 0x59, 0x4c, 0x4c, sparseEncoding, 0, 0, 0]
        bytes += repeatElement(0, count: 8)
        bytes += xzeroOpcode(registerCount)
        return bytes
    }

    /// Whether a string is one the PF commands accept (Redis checks nothing of a sparse code here).
    static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= headerSize, bytes[0] == 0x48, bytes[1] == 0x59, bytes[2] == 0x4c, bytes[3] == 0x4c else {
            return false
        }
        switch bytes[4] {
        case denseEncoding: return bytes.count == denseSize
        case sparseEncoding: return true
        default: return false
        }
    }

    static func isValid(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBytes { isValid($0) } }

    static func isSparse(_ bytes: [UInt8]) -> Bool { bytes[4] == sparseEncoding }

    /// The cached cardinality, or nil when it is marked stale.
    static func cachedCardinality(_ bytes: [UInt8]) -> UInt64? {
        guard bytes[15] & 0x80 == 0 else { return nil }
        var value: UInt64 = 0
        for index in (0..<8).reversed() { value = value << 8 | UInt64(bytes[8 + index]) }
        return value
    }

    static func setCachedCardinality(_ bytes: inout [UInt8], _ value: UInt64) {
        for index in 0..<8 { bytes[8 + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
    }

    static func invalidateCache(_ bytes: inout [UInt8]) { bytes[15] |= 0x80 }

    // MARK: Hashing

    /// MurmurHash64A as Redis computes it (little-endian words on every platform).
    static func hash(_ data: UnsafeRawBufferPointer, seed: UInt64 = seed) -> UInt64 {
        let multiplier: UInt64 = 0xc6a4_a793_5bd1_e995
        var h = seed ^ (UInt64(data.count) &* multiplier)
        let whole = data.count & ~7
        var offset = 0
        while offset < whole {
            var k = UInt64(littleEndian: data.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            k &*= multiplier
            k ^= k >> 47
            k &*= multiplier
            h ^= k
            h &*= multiplier
            offset += 8
        }
        let tail = data.count & 7
        if tail > 0 {
            for index in 0..<tail { h ^= UInt64(data[whole + index]) << (8 * index) }
            h &*= multiplier
        }
        h ^= h >> 47
        h &*= multiplier
        h ^= h >> 47
        return h
    }

    /// The register an element falls in (the hash's low 14 bits) and the value it proposes: the
    /// position of the first 1 bit in the rest, counting from 1, at most 51.
    static func registerAndCount(_ element: UnsafeRawBufferPointer) -> (index: Int, count: UInt8) {
        let hash = Self.hash(element)
        let rest = (hash >> 14) | (1 << 50)
        return (Int(hash & UInt64(registerCount - 1)), UInt8(rest.trailingZeroBitCount + 1))
    }

    // MARK: Dense registers

    /// Register `index` of a dense value (`bytes` starts at the header).
    @inline(__always)
    static func denseRegister(_ bytes: UnsafeRawBufferPointer, _ index: Int) -> UInt8 {
        let bit = index * 6
        let byte = headerSize + (bit >> 3)
        let shift = bit & 7
        let low = UInt(bytes[byte]) >> shift
        let high = byte + 1 < bytes.count ? UInt(bytes[byte + 1]) << (8 - shift) : 0
        return UInt8((low | high) & 63)
    }

    @inline(__always)
    static func setDenseRegister(_ bytes: UnsafeMutableRawBufferPointer, _ index: Int, _ value: UInt8) {
        let bit = index * 6
        let byte = headerSize + (bit >> 3)
        let shift = bit & 7
        let value = UInt(value)
        bytes[byte] = UInt8(truncatingIfNeeded: (UInt(bytes[byte]) & ~(63 << shift)) | value << shift)
        if byte + 1 < bytes.count {
            let next = UInt(bytes[byte + 1]) & ~(63 >> (8 - shift))
            bytes[byte + 1] = UInt8(truncatingIfNeeded: next | value >> (8 - shift))
        }
    }

    /// Raises a dense register to `count`; true when it was lower.
    static func raiseDense(_ bytes: inout [UInt8], _ index: Int, _ count: UInt8) -> Bool {
        bytes.withUnsafeMutableBytes { buffer in
            guard count > denseRegister(UnsafeRawBufferPointer(buffer), index) else { return false }
            setDenseRegister(buffer, index, count)
            return true
        }
    }

    // MARK: Sparse code

    @inline(__always) static func isZero(_ opcode: UInt8) -> Bool { opcode & 0xc0 == 0 }
    @inline(__always) static func isXZero(_ opcode: UInt8) -> Bool { opcode & 0xc0 == 0x40 }
    @inline(__always) static func isValue(_ opcode: UInt8) -> Bool { opcode & 0x80 != 0 }
    @inline(__always) static func valueOf(_ opcode: UInt8) -> UInt8 { (opcode >> 2 & 0x1f) + 1 }
    @inline(__always) static func valueLength(_ opcode: UInt8) -> Int { Int(opcode & 3) + 1 }
    @inline(__always) static func zeroLength(_ opcode: UInt8) -> Int { Int(opcode & 0x3f) + 1 }
    @inline(__always) static func xzeroLength(_ first: UInt8, _ second: UInt8) -> Int {
        (Int(first & 0x3f) << 8 | Int(second)) + 1
    }

    static func valueOpcode(_ value: UInt8, _ length: Int) -> UInt8 {
        UInt8(truncatingIfNeeded: (Int(value) - 1) << 2 | (length - 1)) | 0x80
    }
    static func zeroOpcode(_ length: Int) -> UInt8 { UInt8(truncatingIfNeeded: length - 1) }
    static func xzeroOpcode(_ length: Int) -> [UInt8] {
        [UInt8(truncatingIfNeeded: (length - 1) >> 8) | 0x40, UInt8(truncatingIfNeeded: length - 1)]
    }

    /// One opcode of a sparse code: what it covers and how many bytes it takes.
    struct Opcode {
        enum Kind { case zero, xzero, value }
        var kind: Kind
        var length: Int
        var value: UInt8
        var size: Int

        /// The opcode at `offset`; a byte past the end reads as 0, as Redis reads its terminator.
        init(_ bytes: UnsafeRawBufferPointer, at offset: Int) {
            let opcode = bytes[offset]
            if HyperLogLog.isZero(opcode) {
                self = Opcode(kind: .zero, length: HyperLogLog.zeroLength(opcode), value: 0, size: 1)
            } else if HyperLogLog.isValue(opcode) {
                self = Opcode(
                    kind: .value, length: HyperLogLog.valueLength(opcode), value: HyperLogLog.valueOf(opcode), size: 1)
            } else {
                let second = offset + 1 < bytes.count ? bytes[offset + 1] : 0
                self = Opcode(kind: .xzero, length: HyperLogLog.xzeroLength(opcode, second), value: 0, size: 2)
            }
        }

        init(kind: Kind, length: Int, value: UInt8, size: Int) {
            self.kind = kind
            self.length = length
            self.value = value
            self.size = size
        }
    }

    /// Calls `body` with each run of a sparse code and its first register, in order. False when the
    /// code does not cover exactly the 16384 registers; an opcode that would run past the last
    /// register stops the walk before `body` sees it (the bound Redis added against CVE-2025-32023,
    /// which security-patched 7.0 servers apply: a code with anything after its last register is corrupt).
    static func forEachRun(_ value: UnsafeRawBufferPointer, _ body: (_ first: Int, _ opcode: Opcode) -> Void) -> Bool {
        var register = 0
        var offset = headerSize
        while offset < value.count {
            let opcode = Opcode(value, at: offset)
            guard register + opcode.length <= registerCount else { return false }
            body(register, opcode)
            register += opcode.length
            offset += opcode.size
        }
        return register == registerCount
    }

    /// Makes a sparse value dense (nothing to do for a dense one); false, leaving it as it was,
    /// when its code does not cover exactly the 16384 registers.
    static func makeDense(_ bytes: inout [UInt8]) -> Bool {
        guard bytes[4] == sparseEncoding else { return true }
        var dense = [UInt8](repeating: 0, count: denseSize)
        dense.replaceSubrange(0..<headerSize, with: bytes[0..<headerSize])
        dense[4] = denseEncoding
        let valid = bytes.withUnsafeBytes { sparse in
            dense.withUnsafeMutableBytes { target in
                forEachRun(sparse) { first, opcode in
                    guard opcode.kind == .value else { return }
                    for register in first..<(first + opcode.length) { setDenseRegister(target, register, opcode.value) }
                }
            }
        }
        guard valid else { return false }
        bytes = dense
        return true
    }

    /// Raises register `index` to `count` in either encoding. A sparse value grows by splitting the
    /// opcode that covers the register and merging equal neighbours, as Redis does, so the bytes
    /// match; it turns dense when `count` exceeds 32 or when growing would pass `sparseMaxBytes`.
    /// The cached cardinality is left to the caller, except that a sparse change marks it stale.
    static func raise(_ bytes: inout [UInt8], index: Int, count: UInt8, sparseMaxBytes: Int) -> Update {
        if bytes[4] == denseEncoding { return raiseDense(&bytes, index, count) ? .changed : .unchanged }
        if count > sparseValueMax { return promote(&bytes, index: index, count: count) }

        // Find the opcode covering the register.
        var offset = headerSize
        var first = 0
        var span = 0
        var previous: Int?
        var opcode = Opcode(kind: .zero, length: 0, value: 0, size: 1)
        bytes.withUnsafeBytes { sparse in
            while offset < sparse.count {
                opcode = Opcode(sparse, at: offset)
                span = opcode.length
                if index <= first + span - 1 { break }
                previous = offset
                offset += opcode.size
                first += span
            }
        }
        if span == 0 || offset >= bytes.count { return .corrupt }

        if opcode.kind == .value && opcode.value >= count { return .unchanged }
        if opcode.length == 1 && opcode.kind != .xzero {
            // One register alone: its opcode becomes a VAL of the new count.
            bytes[offset] = valueOpcode(count, 1)
        } else {
            // Split the run around the register: up to XZERO-VAL-XZERO.
            var sequence: [UInt8] = []
            let last = first + span - 1
            func run(_ length: Int) {
                if opcode.kind == .value {
                    sequence.append(valueOpcode(opcode.value, length))
                } else if length > 64 {
                    sequence += xzeroOpcode(length)
                } else {
                    sequence.append(zeroOpcode(length))
                }
            }
            if index != first { run(index - first) }
            sequence.append(valueOpcode(count, 1))
            if index != last { run(last - index) }
            let growth = sequence.count - opcode.size
            if growth > 0 && bytes.count + growth > sparseMaxBytes {
                return promote(&bytes, index: index, count: count)
            }
            // A last XZERO cut short by the end of the string: Redis counts its missing byte in
            // the new length, so the sequence's last byte falls outside the string. (Redis leaves
            // that byte where its terminator was, where a later cut-short XZERO would read it;
            // here that read gives 0.)
            let truncated = offset + opcode.size > bytes.count
            bytes.replaceSubrange(offset..<min(offset + opcode.size, bytes.count), with: sequence)
            if truncated { bytes.removeLast() }
        }

        // Merge adjacent VALs of the same value, over at most five opcodes from the previous one.
        var position = previous ?? headerSize
        var budget = 5
        while position < bytes.count && budget > 0 {
            budget -= 1
            let current = bytes[position]
            if isXZero(current) {
                position += 2
                continue
            }
            if isZero(current) {
                position += 1
                continue
            }
            if position + 1 < bytes.count, isValue(bytes[position + 1]), valueOf(current) == valueOf(bytes[position + 1]) {
                let length = valueLength(current) + valueLength(bytes[position + 1])
                if length <= 4 {
                    bytes[position + 1] = valueOpcode(valueOf(current), length)
                    bytes.remove(at: position)
                    continue
                }
            }
            position += 1
        }
        invalidateCache(&bytes)
        return .changed
    }

    private static func promote(_ bytes: inout [UInt8], index: Int, count: UInt8) -> Update {
        guard makeDense(&bytes) else { return .corrupt }
        let raised = raiseDense(&bytes, index, count)
        assert(raised, "a register that needed a raise in the sparse code needs it dense")
        return .changed
    }

    /// Adds an element (PFADD's step for one element).
    static func add(_ bytes: inout [UInt8], _ element: UnsafeRawBufferPointer, sparseMaxBytes: Int) -> Update {
        let (index, count) = registerAndCount(element)
        return raise(&bytes, index: index, count: count, sparseMaxBytes: sparseMaxBytes)
    }

    // MARK: Merging and counting

    /// Raises `registers` (16384 bytes, one per register) to the registers of `bytes`; false when a
    /// sparse code does not cover exactly 16384 registers (what it covered before is merged).
    static func merge(_ bytes: [UInt8], into registers: inout [UInt8]) -> Bool {
        bytes.withUnsafeBytes { value in
            registers.withUnsafeMutableBufferPointer { registers in
                if value[4] == denseEncoding {
                    for index in 0..<registerCount {
                        let register = denseRegister(value, index)
                        if register > registers[index] { registers[index] = register }
                    }
                    return true
                }
                return forEachRun(value) { first, opcode in
                    guard opcode.kind == .value else { return }
                    for register in first..<(first + opcode.length) where opcode.value > registers[register] {
                        registers[register] = opcode.value
                    }
                }
            }
        }
    }

    /// How many registers hold each value 0...63, or nil for a sparse code that does not cover
    /// exactly 16384 registers.
    static func histogram(_ bytes: [UInt8]) -> [Int]? {
        var histogram = [Int](repeating: 0, count: 64)
        let valid = bytes.withUnsafeBytes { value in
            if value[4] == denseEncoding {
                for index in 0..<registerCount { histogram[Int(denseRegister(value, index))] += 1 }
                return true
            }
            return forEachRun(value) { _, opcode in histogram[Int(opcode.value)] += opcode.length }
        }
        return valid ? histogram : nil
    }

    /// The histogram of registers held one per byte (PFCOUNT over several keys).
    static func histogram(registers: [UInt8]) -> [Int] {
        var histogram = [Int](repeating: 0, count: 64)
        for register in registers { histogram[Int(register)] += 1 }
        return histogram
    }

    /// Writes merged registers (one per byte) into a value, PFMERGE's way: dense first if
    /// `makingDense`, then each non-zero register raised in turn, and the cache marked stale.
    /// False (the value left as it was) when a sparse code cannot be made dense.
    static func store(registers: [UInt8], into bytes: inout [UInt8], makingDense: Bool, sparseMaxBytes: Int) -> Bool {
        if makingDense && !makeDense(&bytes) { return false }
        for (index, register) in registers.enumerated() where register != 0 {
            _ = raise(&bytes, index: index, count: register, sparseMaxBytes: sparseMaxBytes)
        }
        invalidateCache(&bytes)
        return true
    }

    /// PFCOUNT's answer for one value: the cached cardinality while valid, else the computed one,
    /// which is then cached (`cached` false: the value changed). Nil for a corrupt sparse code.
    static func cardinality(_ bytes: inout [UInt8]) -> (value: UInt64, cached: Bool)? {
        if let value = cachedCardinality(bytes) { return (value, true) }
        guard let value = count(bytes) else { return nil }
        setCachedCardinality(&bytes, value)
        return (value, false)
    }

    /// The cardinality of a value, computed (not the cached one); nil for a corrupt sparse code.
    static func count(_ bytes: [UInt8]) -> UInt64? {
        histogram(bytes).map(estimate)
    }

    /// Redis 7.0's estimator (Ertl, "New cardinality estimation algorithms for HyperLogLog
    /// sketches", arXiv:1702.01284), in the same floating-point steps so the result is the same.
    static func estimate(_ histogram: [Int]) -> UInt64 {
        let m = Double(registerCount)
        let q = 50
        var z = m * tau((m - Double(histogram[q + 1])) / m)
        for value in stride(from: q, through: 1, by: -1) {
            z += Double(histogram[value])
            z *= 0.5
        }
        z += m * sigma(Double(histogram[0]) / m)
        let alpha = 0.721347520444481703680  // 0.5 / ln 2
        let estimate = (alpha * m * m / z).rounded(.toNearestOrAwayFromZero)
        // Registers all 51 and up give z = 0. Redis rounds with `llroundl`, which on x86-64 answers
        // LLONG_MIN for a value past Int64 (infinity included); cast to unsigned, that is 2^63,
        // whose top bit then reads as a stale cache: PFCOUNT answers Int64.min and never caches it.
        guard estimate < 0x1p63 else { return 1 << 63 }
        return UInt64(estimate)
    }

    static func sigma(_ x: Double) -> Double {
        if x == 1 { return .infinity }
        var x = x
        var y = 1.0
        var z = x
        while true {
            x *= x
            let previous = z
            z += x * y
            y += y
            if previous == z { return z }
        }
    }

    static func tau(_ x: Double) -> Double {
        if x == 0 || x == 1 { return 0 }
        var x = x
        var y = 1.0
        var z = 1 - x
        while true {
            x = x.squareRoot()
            let previous = z
            y *= 0.5
            z -= pow(1 - x, 2) * y
            if previous == z { return z / 3 }
        }
    }

    // MARK: Debugging

    /// The 16384 registers of a dense value.
    static func registers(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { value in (0..<registerCount).map { denseRegister(value, $0) } }
    }

    /// PFDEBUG DECODE's text for a sparse value: `z:n` (ZERO), `Z:n` (XZERO), `v:value,n` (VAL).
    static func describeSparse(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { value in
            var parts: [String] = []
            var offset = headerSize
            while offset < value.count {
                let opcode = Opcode(value, at: offset)
                switch opcode.kind {
                case .zero: parts.append("z:\(opcode.length)")
                case .xzero: parts.append("Z:\(opcode.length)")
                case .value: parts.append("v:\(opcode.value),\(opcode.length)")
                }
                offset += opcode.size
            }
            return parts.joined(separator: " ")
        }
    }

    /// PFSELFTEST: dense registers keep what is written without touching their neighbours, and
    /// dense and sparse values fed the same ten million elements agree and stay within six standard
    /// errors. Nil when it passes, else the error text.
    static func selfTest(sparseMaxBytes: Int) -> String? {
        var generator = SystemRandomNumberGenerator()
        var dense = [UInt8](repeating: 0, count: denseSize)
        var expected = [UInt8](repeating: 0, count: registerCount)
        for _ in 0..<1000 {
            for index in 0..<registerCount { expected[index] = UInt8.random(in: 0...63, using: &generator) }
            let failure: String? = dense.withUnsafeMutableBytes { buffer in
                for index in 0..<registerCount { setDenseRegister(buffer, index, expected[index]) }
                for index in 0..<registerCount {
                    let value = denseRegister(UnsafeRawBufferPointer(buffer), index)
                    if value != expected[index] {
                        return "TESTFAILED Register \(index) should be \(expected[index]) but is \(value)"
                    }
                }
                return nil
            }
            if let failure { return failure }
        }

        dense.replaceSubrange(headerSize..., with: repeatElement(0, count: denseSize - headerSize))
        var sparse = empty()
        let relativeError = 1.04 / Double(registerCount).squareRoot()
        var checkpoint = 1
        let seed = generator.next() as UInt64
        for step in 1...10_000_000 {
            var element = (UInt64(step) ^ seed).littleEndian
            withUnsafeBytes(of: &element) { element in
                let (index, count) = registerAndCount(element)
                _ = raiseDense(&dense, index, count)
                _ = add(&sparse, element, sparseMaxBytes: sparseMaxBytes)
            }
            guard step == checkpoint else { continue }
            if step < sparseMaxBytes / 2 && !isSparse(sparse) { return "TESTFAILED sparse encoding not used" }
            let denseCount = count(dense) ?? 0
            if denseCount != count(sparse) { return "TESTFAILED dense/sparse disagree" }
            var maxError = UInt64((relativeError * 6 * Double(checkpoint)).rounded(.up))
            if step == 10 { maxError = 1 }
            let error = Int64(checkpoint) - Int64(denseCount)
            if error.magnitude > maxError {
                return "TESTFAILED Too big error. card:\(checkpoint) abserr:\(error.magnitude)"
            }
            checkpoint *= 10
        }
        return nil
    }
}
