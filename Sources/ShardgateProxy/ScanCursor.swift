/// SCAN over several groups: the proxy's cursor holds the group being walked and that group's own
/// cursor (`backend * groupCount + group`), so one iteration walks group 0, then 1, …, and ends
/// with 0 after the last. Pure arithmetic, no state kept between calls.
struct ScanCursor: Equatable {
    var group: Int
    var backend: UInt64

    /// The cursor a client sent, or nil when it is not a plain unsigned decimal (the first group's
    /// server then answers it, with Redis's own error).
    init?(_ text: some Collection<UInt8>, groupCount: Int) {
        guard let value = Self.parse(text) else { return nil }
        group = Int(value % UInt64(groupCount))
        backend = value / UInt64(groupCount)
    }

    /// A cursor's digits as a number; nil unless it is a plain unsigned decimal that fits 64 bits.
    static func parse(_ text: some Collection<UInt8>) -> UInt64? {
        guard !text.isEmpty, text.count <= 20 else { return nil }
        var value: UInt64 = 0
        for byte in text {
            let digit = byte &- UInt8(ascii: "0")
            guard digit <= 9 else { return nil }
            let (times, overflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, carry) = times.addingReportingOverflow(UInt64(digit))
            guard !overflow && !carry else { return nil }
            value = sum
        }
        return value
    }

    init(group: Int, backend: UInt64) {
        self.group = group
        self.backend = backend
    }

    /// The cursor to hand the client after `group` answered `next`: nil when it cannot be encoded
    /// (a backend cursor too large to share 64 bits with the group number).
    static func next(afterGroup group: Int, answered next: UInt64, groupCount: Int) -> UInt64? {
        if next == 0 {
            return group + 1 < groupCount ? UInt64(group + 1) : 0
        }
        let (times, overflow) = next.multipliedReportingOverflow(by: UInt64(groupCount))
        let (value, carry) = times.addingReportingOverflow(UInt64(group))
        return overflow || carry ? nil : value
    }
}
