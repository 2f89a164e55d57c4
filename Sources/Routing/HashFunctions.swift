/// twemproxy 0.5.0's key hashes (`src/hashkit/`), reproduced bit for bit so that a pool moved from
/// twemproxy to Shardgate keeps every key on the same server.
///
/// Quirks kept on purpose, because twemproxy has them on x86-64/ARM Linux where `char` is signed:
/// - `one_at_a_time`, `fnv1_32`, `fnv1a_32`, `fnv1_64`, `fnv1a_64` and the 3-byte tail of `hsieh`
///   read key bytes as `signed char`, so bytes >= 0x80 are sign-extended before mixing.
/// - `fnv1_64` / `fnv1a_64` return the low 32 bits; `fnv1a_64` even computes in 32 bits with the
///   64-bit offset basis and prime truncated (`0x84222325`, `0x1b3`), which gives the same result.
/// - `crc16` keeps its accumulator in 32 bits without masking, so its result is not 16-bit.
/// - `crc32` returns only bits 16...30 of the CRC-32; `crc32a` is the standard CRC-32.
/// - `md5` is the first four digest bytes, little-endian.
/// - `murmur` is MurmurHash2 seeded with `0xdeadbeef * length`; `jenkins` is lookup3 `hashlittle`
///   with initval 13 (twemproxy's three alignment paths all agree with the byte-wise one).
extension HashFunction {
    /// Hashes `key` exactly as twemproxy's function of the same name does. Never allocates.
    public func hash(_ key: UnsafeRawBufferPointer) -> UInt32 {
        switch self {
        case .oneAtATime: return Hashkit.oneAtATime(key)
        case .md5: return md5Words(key).0
        case .crc16: return Hashkit.crc16(key)
        case .crc32: return Hashkit.crc32(key)
        case .crc32a: return Hashkit.crc32a(key)
        case .fnv1_64: return Hashkit.fnv1(key, basis: 0x8422_2325, prime: 0x1b3)
        case .fnv1a_64: return Hashkit.fnv1a(key, basis: 0x8422_2325, prime: 0x1b3)
        case .fnv1_32: return Hashkit.fnv1(key, basis: 2_166_136_261, prime: 16_777_619)
        case .fnv1a_32: return Hashkit.fnv1a(key, basis: 2_166_136_261, prime: 16_777_619)
        case .hsieh: return Hashkit.hsieh(key)
        case .murmur: return Hashkit.murmur(key)
        case .jenkins: return Hashkit.jenkins(key)
        }
    }
}

/// The individual algorithms; a namespace so their helpers stay out of the module's global scope.
enum Hashkit {
    /// A C `char` (signed) widened to 32 bits the way `(uint32_t)key[i]` does: 0x80 becomes 0xffffff80.
    @inline(__always)
    static func signExtended(_ byte: UInt8) -> UInt32 {
        UInt32(bitPattern: Int32(Int8(bitPattern: byte)))
    }

    /// Little-endian 32-bit word at `offset`, with no alignment requirement.
    @inline(__always)
    static func word(_ key: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
        UInt32(littleEndian: key.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    static func oneAtATime(_ key: UnsafeRawBufferPointer) -> UInt32 {
        var value: UInt32 = 0
        for byte in key {
            value &+= signExtended(byte)
            value &+= value << 10
            value ^= value >> 6
        }
        value &+= value << 3
        value ^= value >> 11
        value &+= value << 15
        return value
    }

    static func crc16(_ key: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt32 = 0
        crc16Table.withUnsafeBufferPointer { table in
            for byte in key {
                crc = (crc << 8) ^ UInt32(table[Int(((crc >> 8) ^ UInt32(byte)) & 0xff)])
            }
        }
        return crc
    }

    static func crc32Raw(_ key: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt32 = 0xffff_ffff
        crc32Table.withUnsafeBufferPointer { table in
            for byte in key {
                crc = (crc >> 8) ^ table[Int((crc ^ UInt32(byte)) & 0xff)]
            }
        }
        return ~crc
    }

    static func crc32(_ key: UnsafeRawBufferPointer) -> UInt32 {
        (crc32Raw(key) >> 16) & 0x7fff
    }

    static func crc32a(_ key: UnsafeRawBufferPointer) -> UInt32 {
        crc32Raw(key)
    }

    static func fnv1(_ key: UnsafeRawBufferPointer, basis: UInt32, prime: UInt32) -> UInt32 {
        var hash = basis
        for byte in key {
            hash = (hash &* prime) ^ signExtended(byte)
        }
        return hash
    }

    static func fnv1a(_ key: UnsafeRawBufferPointer, basis: UInt32, prime: UInt32) -> UInt32 {
        var hash = basis
        for byte in key {
            hash = (hash ^ signExtended(byte)) &* prime
        }
        return hash
    }

    static func hsieh(_ key: UnsafeRawBufferPointer) -> UInt32 {
        let length = key.count
        if length == 0 { return 0 }
        @inline(__always) func get16(_ offset: Int) -> UInt32 {
            UInt32(key[offset]) | UInt32(key[offset &+ 1]) << 8
        }
        var hash: UInt32 = 0
        var offset = 0
        for _ in 0..<(length >> 2) {
            hash &+= get16(offset)
            let tmp = (get16(offset &+ 2) << 11) ^ hash
            hash = (hash << 16) ^ tmp
            offset &+= 4
            hash &+= hash >> 11
        }
        switch length & 3 {
        case 3:
            hash &+= get16(offset)
            hash ^= hash << 16
            hash ^= signExtended(key[offset &+ 2]) << 18  // twemproxy reads this byte as signed
            hash &+= hash >> 11
        case 2:
            hash &+= get16(offset)
            hash ^= hash << 11
            hash &+= hash >> 17
        case 1:
            hash &+= UInt32(key[offset])  // ...but this one as unsigned
            hash ^= hash << 10
            hash &+= hash >> 1
        default:
            break
        }
        hash ^= hash << 3
        hash &+= hash >> 5
        hash ^= hash << 4
        hash &+= hash >> 17
        hash ^= hash << 25
        hash &+= hash >> 6
        return hash
    }

    static func murmur(_ key: UnsafeRawBufferPointer) -> UInt32 {
        let m: UInt32 = 0x5bd1_e995
        let length = UInt32(truncatingIfNeeded: key.count)
        var h = (0xdead_beef &* length) ^ length
        var offset = 0
        var remaining = key.count
        while remaining >= 4 {
            var k = word(key, offset)
            k &*= m
            k ^= k >> 24
            k &*= m
            h &*= m
            h ^= k
            offset &+= 4
            remaining &-= 4
        }
        if remaining > 0 {
            if remaining >= 3 { h ^= UInt32(key[offset &+ 2]) << 16 }
            if remaining >= 2 { h ^= UInt32(key[offset &+ 1]) << 8 }
            h ^= UInt32(key[offset])
            h &*= m
        }
        h ^= h >> 13
        h &*= m
        h ^= h >> 15
        return h
    }

    static func jenkins(_ key: UnsafeRawBufferPointer) -> UInt32 {
        @inline(__always) func rot(_ x: UInt32, _ k: UInt32) -> UInt32 { (x << k) | (x >> (32 &- k)) }
        var length = key.count
        var a = 0xdead_beef &+ UInt32(truncatingIfNeeded: length) &+ 13
        var b = a
        var c = a
        var offset = 0
        while length > 12 {
            a &+= word(key, offset)
            b &+= word(key, offset &+ 4)
            c &+= word(key, offset &+ 8)
            a &-= c; a ^= rot(c, 4); c &+= b
            b &-= a; b ^= rot(a, 6); a &+= c
            c &-= b; c ^= rot(b, 8); b &+= a
            a &-= c; a ^= rot(c, 16); c &+= b
            b &-= a; b ^= rot(a, 19); a &+= c
            c &-= b; c ^= rot(b, 4); b &+= a
            length &-= 12
            offset &+= 12
        }
        if length == 0 { return c }
        // Last 1...12 bytes, little-endian into a, b, c (unread bytes count as zero).
        for i in 0..<length {
            let value = UInt32(key[offset &+ i]) << (UInt32(i & 3) &* 8)
            switch i >> 2 {
            case 0: a &+= value
            case 1: b &+= value
            default: c &+= value
            }
        }
        c ^= b; c &-= rot(b, 14)
        a ^= c; a &-= rot(c, 11)
        b ^= a; b &-= rot(a, 25)
        c ^= b; c &-= rot(b, 16)
        a ^= c; a &-= rot(c, 4)
        b ^= a; b &-= rot(a, 14)
        c ^= b; c &-= rot(b, 24)
        return c
    }
}
