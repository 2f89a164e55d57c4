/// Integers and doubles as Redis spells them, on bytes (no `String` round trip per element).
package enum RDBNumber {
    /// Parses like Redis's `string2ll`: optional `-`, no `+`, no leading zeros, no spaces, fits in
    /// Int64. Only such "canonical" integers may be stored integer-encoded, because loading prints
    /// them back and must give the same bytes ("007" stays a string).
    @inline(__always)
    package static func canonicalInteger(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        let count = bytes.count
        guard count > 0, count <= 20 else { return nil }
        var index = 0
        var negative = false
        if bytes[0] == UInt8(ascii: "-") {
            negative = true
            index = 1
            guard count > 1 else { return nil }
        }
        let first = bytes[index]
        if first == UInt8(ascii: "0") { return count == 1 ? 0 : nil }
        guard first >= UInt8(ascii: "1") && first <= UInt8(ascii: "9") else { return nil }
        var magnitude: UInt64 = 0
        while index < count {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit <= 9 else { return nil }
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit))
            guard !overflow1 && !overflow2 else { return nil }
            magnitude = sum
            index += 1
        }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }

    /// The decimal digits of `value`, as Redis's `ll2string` writes them.
    package static func bytes(_ value: Int64) -> [UInt8] {
        if value >= 0 && value < 10 { return [UInt8(ascii: "0") + UInt8(value)] }
        var magnitude = value.magnitude
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var start = 20
            while magnitude > 0 {
                start -= 1
                digits[start] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            }
            var result = [UInt8]()
            result.reserveCapacity(21 - start)
            if value < 0 { result.append(UInt8(ascii: "-")) }
            result.append(contentsOf: UnsafeBufferPointer(rebasing: digits[start..<20]))
            return result
        }
    }

    /// Parses a score as `strtod` would for the strings Redis writes (`3.5`, `-0`, `inf`, `-inf`,
    /// `1e+300`); nil for anything else.
    package static func double(_ bytes: UnsafeRawBufferPointer) -> Double? {
        if let integer = canonicalInteger(bytes), integer.magnitude < (1 << 53) { return Double(integer) }
        guard !bytes.isEmpty, bytes.count <= 128 else { return nil }
        return Double(String(decoding: bytes, as: UTF8.self))
    }

    /// A score as Redis's `d2string` spells it: integers in ±2^62 as integers, `-0` keeps its sign,
    /// `inf`/`-inf`, otherwise the shortest text that reads back to the same double.
    package static func scoreBytes(_ score: Double) -> [UInt8] {
        if score.isInfinite { return score < 0 ? Array("-inf".utf8) : Array("inf".utf8) }
        if score == 0 { return score.sign == .minus ? Array("-0".utf8) : [UInt8(ascii: "0")] }
        let limit = Double(Int64.max / 2)
        if score >= -limit && score <= limit, score == score.rounded(.towardZero) {
            return bytes(Int64(score))
        }
        return Array(score.description.utf8)
    }
}
