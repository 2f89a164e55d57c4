/// LZF, the compression Redis applies to strings longer than 20 bytes in RDB files (`rdbcompression`).
///
/// The stream is a sequence of control bytes: `000LLLLL` is a run of L+1 literal bytes; `LLLooooo
/// oooooooo` (L in 1...6) or `111ooooo LLLLLLLL oooooooo` copies L+2 (or 7+L+2) bytes from `o+1` bytes
/// back in the output, overlapping allowed.
package enum LZF {
    /// The most a 3-byte back reference can expand to (264 bytes), so a claimed length beyond
    /// `88 * compressedLength` cannot be honest and is rejected before allocating.
    package static let maximumRatio = 88

    /// Decompresses `input`, which must produce exactly `length` bytes; nil when it does not (corrupt
    /// input never reads or writes out of bounds).
    package static func decompress(_ input: UnsafeRawBufferPointer, length: Int) -> [UInt8]? {
        guard length >= 0, length <= input.count &* maximumRatio else { return nil }
        guard length > 0 else { return input.isEmpty ? [] : nil }
        guard let source = input.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        let inputCount = input.count
        var failed = false
        let output = [UInt8](unsafeUninitializedCapacity: length) { buffer, initialized in
            let out = buffer.baseAddress!
            var ip = 0
            var op = 0
            while ip < inputCount {
                let control = Int(source[ip])
                ip += 1
                if control < 32 {
                    let run = control + 1
                    guard op + run <= length, ip + run <= inputCount else { failed = true; break }
                    (out + op).update(from: source + ip, count: run)
                    op += run
                    ip += run
                } else {
                    var run = control >> 5
                    guard ip < inputCount else { failed = true; break }
                    if run == 7 {
                        run += Int(source[ip])
                        ip += 1
                        guard ip < inputCount else { failed = true; break }
                    }
                    let distance = ((control & 0x1F) << 8) + Int(source[ip]) + 1
                    ip += 1
                    run += 2
                    guard op + run <= length, distance <= op else { failed = true; break }
                    var reference = op - distance
                    if distance >= run {
                        (out + op).update(from: out + reference, count: run)
                        op += run
                    } else {
                        for _ in 0..<run {
                            out[op] = out[reference]
                            op += 1
                            reference += 1
                        }
                    }
                }
            }
            if op != length { failed = true }
            initialized = failed ? 0 : length
        }
        return failed ? nil : output
    }

    /// A compressor that keeps its hash table between calls, so compressing many short strings does
    /// not allocate or clear 128 KB each time: table slots hold positions offset by a running base, and
    /// a slot below the current base belongs to an earlier input.
    package struct Compressor: Sendable {
        private static let hashBits = 14
        private static let maximumDistance = 8192
        private static let maximumMatch = 264
        private var table: [Int] = []
        private var base = 0

        package init() {}

        /// Compresses `input` into `output` (replacing its contents). Returns false, leaving `output`
        /// unspecified, when the result would be longer than `limit` bytes.
        package mutating func compress(_ input: UnsafeRawBufferPointer, into output: inout [UInt8], limit: Int) -> Bool {
            output.removeAll(keepingCapacity: true)
            let count = input.count
            guard count > 0, let source = input.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return count == 0 }
            if table.isEmpty { table = [Int](repeating: -1, count: 1 << Self.hashBits) }
            let base = self.base
            self.base += count + 1
            var literalStart = 0
            var index = 0
            return table.withUnsafeMutableBufferPointer { slots in
                func emitLiterals(upTo end: Int) {
                    var start = literalStart
                    while start < end {
                        let run = Swift.min(32, end - start)
                        output.append(UInt8(run - 1))
                        output.append(contentsOf: UnsafeBufferPointer(start: source + start, count: run))
                        start += run
                    }
                }
                while index + 2 < count {
                    let value = UInt32(source[index]) << 16 | UInt32(source[index + 1]) << 8 | UInt32(source[index + 2])
                    let slot = Int((value &* 2_654_435_761) >> UInt32(32 - Self.hashBits))
                    let candidate = slots[slot]
                    slots[slot] = base + index
                    if candidate >= base {
                        let reference = candidate - base
                        let distance = index - reference - 1
                        if distance < Self.maximumDistance, source[reference] == source[index],
                            source[reference + 1] == source[index + 1], source[reference + 2] == source[index + 2]
                        {
                            let longest = Swift.min(Self.maximumMatch, count - index)
                            var length = 3
                            while length < longest && source[reference + length] == source[index + length] { length += 1 }
                            emitLiterals(upTo: index)
                            let encoded = length - 2
                            if encoded < 7 {
                                output.append(UInt8(encoded << 5 | distance >> 8))
                            } else {
                                output.append(UInt8(7 << 5 | distance >> 8))
                                output.append(UInt8(encoded - 7))
                            }
                            output.append(UInt8(distance & 0xFF))
                            if output.count > limit { return false }
                            index += length
                            literalStart = index
                            continue
                        }
                    }
                    index += 1
                    if index - literalStart >= 32 {
                        emitLiterals(upTo: index)
                        literalStart = index
                        if output.count > limit { return false }
                    }
                }
                emitLiterals(upTo: count)
                return output.count <= limit
            }
        }
    }
}
