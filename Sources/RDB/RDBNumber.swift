import RedisText

/// Integers and doubles as Redis spells them, on bytes (no `String` round trip per element).
package enum RDBNumber {
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
        if let integer = RedisInteger.parse(bytes), integer.magnitude < (1 << 53) { return Double(integer) }
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
