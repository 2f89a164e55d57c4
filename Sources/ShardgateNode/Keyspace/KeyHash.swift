/// The keyspace's hash of a key: a folded 64x64->128-bit multiply per 8 bytes (the mixing of
/// wyhash), seeded at random when the process starts, so colliding keys cannot be chosen in
/// advance (Redis seeds its SipHash for the same reason). About four times cheaper than the
/// standard library's SipHash on short keys, and every command that names a key pays it once.
enum KeyHash {
    private static let seed = UInt64.random(in: .min ... .max) | 1
    private static let multiplier: UInt64 = 0x9E37_79B9_7F4A_7C15
    private static let finalMultiplier: UInt64 = 0xBF58_476D_1CE4_E5B9

    @inline(__always)
    private static func fold(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (high, low) = a.multipliedFullWidth(by: b)
        return high ^ low
    }

    @inline(__always)
    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        let count = bytes.count
        var state = seed ^ (UInt64(truncatingIfNeeded: count) &* multiplier)
        var offset = 0
        while offset &+ 8 <= count {
            state = fold(state ^ bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self), multiplier)
            offset &+= 8
        }
        if offset < count {
            // The last 1-7 bytes, little-endian, as one word.
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while offset < count {
                tail |= UInt64(bytes[offset]) << shift
                shift &+= 8
                offset &+= 1
            }
            state = fold(state ^ tail, multiplier)
        }
        state = fold(state ^ seed, finalMultiplier)
        return UInt32(truncatingIfNeeded: state ^ (state >> 32))
    }
}
