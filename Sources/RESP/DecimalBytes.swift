/// Decimal numbers read and written directly on bytes: no `String` round trip per frame.
enum DecimalBytes {
    /// Parses like Redis's `string2ll`: optional `-`, no `+`, no leading zeros, no spaces, fits in Int64.
    @inline(__always)
    static func parse(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int? {
        var index = start
        guard index < end else { return nil }
        var negative = false
        if bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
            guard index < end else { return nil }
        }
        let first = bytes[index]
        if first == UInt8(ascii: "0") {
            return (index + 1 == end && !negative) ? 0 : nil
        }
        guard first >= UInt8(ascii: "1") && first <= UInt8(ascii: "9") else { return nil }
        var value: UInt64 = 0
        while index < end {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit <= 9 else { return nil }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(digit))
            guard !o1 && !o2 else { return nil }
            value = sum
            index += 1
        }
        if negative {
            guard value <= UInt64(Int64.max) + 1 else { return nil }
            return value == UInt64(Int64.max) + 1 ? Int(Int64.min) : -Int(value)
        }
        guard value <= UInt64(Int64.max) else { return nil }
        return Int(value)
    }
}
