import Testing

@testable import RESP

@Suite struct DecimalTextTests {
    /// Every digit count, the edges of the short paths, and the largest value.
    static let values: [UInt64] = Array(0...120) + (2...19).flatMap { exponent -> [UInt64] in
        let power = (0..<exponent).reduce(UInt64(1)) { value, _ in value * 10 }
        return [power - 1, power, power + 1]
    } + [UInt64.max]

    @Test func writesWhatStringWrites() {
        withUnsafeTemporaryAllocation(byteCount: 24, alignment: 1) { out in
            for value in Self.values {
                let end = DecimalText.write(value, into: out, at: 2)
                let text = String(decoding: UnsafeRawBufferPointer(rebasing: out[2..<end]), as: UTF8.self)
                #expect(text == String(value))
            }
        }
    }
}
