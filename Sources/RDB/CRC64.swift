/// Redis's CRC64 (Jones polynomial 0xad93d23594c935a9, reflected, initial value 0, no final xor),
/// the checksum at the end of every RDB file since version 5.
///
/// Check value: `crc64("123456789") == 0xe9c6d914c4b8d9ca`. Slicing-by-8 tables, so checksumming a
/// multi-gigabyte dump stays a small fraction of the time spent writing it.
public enum CRC64 {
    /// Folds `bytes` into `crc` (start with 0).
    public static func update(_ crc: UInt64, _ bytes: UnsafeRawBufferPointer) -> UInt64 {
        guard var pointer = bytes.baseAddress else { return crc }
        var remaining = bytes.count
        var crc = crc
        tables.withUnsafeBufferPointer { table in
            let t = table.baseAddress!
            while remaining >= 8 {
                crc ^= UInt64(littleEndian: pointer.loadUnaligned(as: UInt64.self))
                crc = t[7 * 256 + Int(crc & 0xFF)]
                    ^ t[6 * 256 + Int((crc >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((crc >> 16) & 0xFF)]
                    ^ t[4 * 256 + Int((crc >> 24) & 0xFF)]
                    ^ t[3 * 256 + Int((crc >> 32) & 0xFF)]
                    ^ t[2 * 256 + Int((crc >> 40) & 0xFF)]
                    ^ t[1 * 256 + Int((crc >> 48) & 0xFF)]
                    ^ t[Int(crc >> 56)]
                pointer += 8
                remaining -= 8
            }
            while remaining > 0 {
                let byte = pointer.load(as: UInt8.self)
                crc = t[Int((crc ^ UInt64(byte)) & 0xFF)] ^ (crc >> 8)
                pointer += 1
                remaining -= 1
            }
        }
        return crc
    }

    /// Convenience for byte arrays.
    public static func checksum(_ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { update(0, $0) }
    }

    /// The Jones polynomial, bit-reversed for the LSB-first algorithm.
    static let reflectedPolynomial: UInt64 = 0x95AC_9329_AC4B_C9B5

    /// Eight 256-entry tables, flat: table k maps a byte k positions back in an 8-byte block.
    static let tables: [UInt64] = {
        var tables = [UInt64](repeating: 0, count: 8 * 256)
        for index in 0..<256 {
            var crc = UInt64(index)
            for _ in 0..<8 {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ reflectedPolynomial : crc >> 1
            }
            tables[index] = crc
        }
        for k in 1..<8 {
            for index in 0..<256 {
                let previous = tables[(k - 1) * 256 + index]
                tables[k * 256 + index] = (previous >> 8) ^ tables[Int(previous & 0xFF)]
            }
        }
        return tables
    }()
}
