/// Byte helpers for command names and arguments. Redis compares names and
/// keywords with `strcasecmp` (ASCII only); everything here works on raw
/// bytes without creating Strings.
public enum ASCII {
    /// Lowercases A-Z only; other bytes (including '|' vs '\\') stay distinct.
    @inlinable @inline(__always)
    public static func lower(_ byte: UInt8) -> UInt8 {
        byte &- 65 < 26 ? byte | 0x20 : byte
    }

    /// Case-insensitive equality of `bytes` with `count` bytes at `stored`.
    @inline(__always)
    static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ stored: UnsafePointer<UInt8>, count: Int) -> Bool {
        guard bytes.count == count else { return false }
        var i = 0
        while i < count {
            if lower(bytes[i]) != lower(stored[i]) { return false }
            i &+= 1
        }
        return true
    }

    @inline(__always)
    static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        equalsIgnoringCase(bytes, literal.utf8Start, count: literal.utf8CodeUnitCount)
    }

    /// Hash of the bytes with ASCII letters folded to lowercase, for the
    /// command name table. Reads 8 bytes at a time; folding uses `| 0x20`,
    /// which maps case variants together (and a few punctuation pairs, which
    /// only costs a rare extra comparison, never a wrong match).
    @inline(__always)
    static func foldedHash(_ bytes: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        let count = bytes.count
        var h = seed ^ (UInt64(truncatingIfNeeded: count) &* 0x9E37_79B9_7F4A_7C15)
        var i = 0
        while i &+ 8 <= count {
            let word = bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self) | 0x2020_2020_2020_2020
            h = (h ^ word) &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 29
            i &+= 8
        }
        if i < count {
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while i < count {
                tail |= UInt64(bytes[i] | 0x20) << shift
                shift &+= 8
                i &+= 1
            }
            h = (h ^ tail) &* 0xBF58_476D_1CE4_E5B9
        }
        h ^= h >> 30
        h &*= 0xBF58_476D_1CE4_E5B9
        h ^= h >> 27
        h &*= 0x94D0_49BB_1331_11EB
        h ^= h >> 31
        return h
    }
}
