/// A small, allocation-free MD5 (RFC 1321).
///
/// twemproxy uses MD5 twice: as the `md5` key hash and to place ketama points. We cannot use
/// Foundation or CryptoKit in this target, and the hot path must not allocate, so this works straight
/// on the caller's bytes and pads the tail in a stack buffer.

/// The four MD5 state words after hashing `bytes`.
///
/// The digest's bytes are these words in little-endian order, so word `i` is exactly what twemproxy
/// reads as `digest[4i] | digest[4i+1] << 8 | digest[4i+2] << 16 | digest[4i+3] << 24`.
func md5Words(_ bytes: UnsafeRawBufferPointer) -> (UInt32, UInt32, UInt32, UInt32) {
    var state = MD5State()
    let count = bytes.count
    let fullBlocks = count / 64
    if let base = bytes.baseAddress {
        for block in 0..<fullBlocks {
            state.compress(base + block * 64)
        }
    }
    let tail = count - fullBlocks * 64
    // The tail plus 0x80 and the 8-byte length fit in one block if tail <= 55, else two.
    let paddedTail = tail <= 55 ? 64 : 128
    withUnsafeTemporaryAllocation(byteCount: 128, alignment: 8) { buffer in
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
        if tail > 0, let base = bytes.baseAddress {
            buffer.baseAddress!.copyMemory(from: base + fullBlocks * 64, byteCount: tail)
        }
        buffer[tail] = 0x80
        let bitLength = UInt64(truncatingIfNeeded: count) &* 8
        buffer.storeBytes(of: bitLength.littleEndian, toByteOffset: paddedTail - 8, as: UInt64.self)
        state.compress(UnsafeRawPointer(buffer.baseAddress!))
        if paddedTail == 128 {
            state.compress(UnsafeRawPointer(buffer.baseAddress! + 64))
        }
    }
    return (state.a, state.b, state.c, state.d)
}

/// MD5's chaining state and its 64-step compression function.
struct MD5State {
    var a: UInt32 = 0x6745_2301
    var b: UInt32 = 0xefcd_ab89
    var c: UInt32 = 0x98ba_dcfe
    var d: UInt32 = 0x1032_5476

    init() {}

    /// Mixes one 64-byte block (read unaligned, little-endian) into the state: RFC 1321's four
    /// rounds of 16 steps, unrolled with the round constants `floor(abs(sin(i + 1)) * 2^32)` inline.
    mutating func compress(_ block: UnsafeRawPointer) {
        @inline(__always) func word(_ i: Int) -> UInt32 {
            UInt32(littleEndian: block.loadUnaligned(fromByteOffset: i &* 4, as: UInt32.self))
        }
        let m0 = word(0)
        let m1 = word(1)
        let m2 = word(2)
        let m3 = word(3)
        let m4 = word(4)
        let m5 = word(5)
        let m6 = word(6)
        let m7 = word(7)
        let m8 = word(8)
        let m9 = word(9)
        let m10 = word(10)
        let m11 = word(11)
        let m12 = word(12)
        let m13 = word(13)
        let m14 = word(14)
        let m15 = word(15)
        var a = self.a, b = self.b, c = self.c, d = self.d
        roundF(&a, b, c, d, m0, 7, 0xd76a_a478)
        roundF(&d, a, b, c, m1, 12, 0xe8c7_b756)
        roundF(&c, d, a, b, m2, 17, 0x2420_70db)
        roundF(&b, c, d, a, m3, 22, 0xc1bd_ceee)
        roundF(&a, b, c, d, m4, 7, 0xf57c_0faf)
        roundF(&d, a, b, c, m5, 12, 0x4787_c62a)
        roundF(&c, d, a, b, m6, 17, 0xa830_4613)
        roundF(&b, c, d, a, m7, 22, 0xfd46_9501)
        roundF(&a, b, c, d, m8, 7, 0x6980_98d8)
        roundF(&d, a, b, c, m9, 12, 0x8b44_f7af)
        roundF(&c, d, a, b, m10, 17, 0xffff_5bb1)
        roundF(&b, c, d, a, m11, 22, 0x895c_d7be)
        roundF(&a, b, c, d, m12, 7, 0x6b90_1122)
        roundF(&d, a, b, c, m13, 12, 0xfd98_7193)
        roundF(&c, d, a, b, m14, 17, 0xa679_438e)
        roundF(&b, c, d, a, m15, 22, 0x49b4_0821)
        roundG(&a, b, c, d, m1, 5, 0xf61e_2562)
        roundG(&d, a, b, c, m6, 9, 0xc040_b340)
        roundG(&c, d, a, b, m11, 14, 0x265e_5a51)
        roundG(&b, c, d, a, m0, 20, 0xe9b6_c7aa)
        roundG(&a, b, c, d, m5, 5, 0xd62f_105d)
        roundG(&d, a, b, c, m10, 9, 0x0244_1453)
        roundG(&c, d, a, b, m15, 14, 0xd8a1_e681)
        roundG(&b, c, d, a, m4, 20, 0xe7d3_fbc8)
        roundG(&a, b, c, d, m9, 5, 0x21e1_cde6)
        roundG(&d, a, b, c, m14, 9, 0xc337_07d6)
        roundG(&c, d, a, b, m3, 14, 0xf4d5_0d87)
        roundG(&b, c, d, a, m8, 20, 0x455a_14ed)
        roundG(&a, b, c, d, m13, 5, 0xa9e3_e905)
        roundG(&d, a, b, c, m2, 9, 0xfcef_a3f8)
        roundG(&c, d, a, b, m7, 14, 0x676f_02d9)
        roundG(&b, c, d, a, m12, 20, 0x8d2a_4c8a)
        roundH(&a, b, c, d, m5, 4, 0xfffa_3942)
        roundH(&d, a, b, c, m8, 11, 0x8771_f681)
        roundH(&c, d, a, b, m11, 16, 0x6d9d_6122)
        roundH(&b, c, d, a, m14, 23, 0xfde5_380c)
        roundH(&a, b, c, d, m1, 4, 0xa4be_ea44)
        roundH(&d, a, b, c, m4, 11, 0x4bde_cfa9)
        roundH(&c, d, a, b, m7, 16, 0xf6bb_4b60)
        roundH(&b, c, d, a, m10, 23, 0xbebf_bc70)
        roundH(&a, b, c, d, m13, 4, 0x289b_7ec6)
        roundH(&d, a, b, c, m0, 11, 0xeaa1_27fa)
        roundH(&c, d, a, b, m3, 16, 0xd4ef_3085)
        roundH(&b, c, d, a, m6, 23, 0x0488_1d05)
        roundH(&a, b, c, d, m9, 4, 0xd9d4_d039)
        roundH(&d, a, b, c, m12, 11, 0xe6db_99e5)
        roundH(&c, d, a, b, m15, 16, 0x1fa2_7cf8)
        roundH(&b, c, d, a, m2, 23, 0xc4ac_5665)
        roundI(&a, b, c, d, m0, 6, 0xf429_2244)
        roundI(&d, a, b, c, m7, 10, 0x432a_ff97)
        roundI(&c, d, a, b, m14, 15, 0xab94_23a7)
        roundI(&b, c, d, a, m5, 21, 0xfc93_a039)
        roundI(&a, b, c, d, m12, 6, 0x655b_59c3)
        roundI(&d, a, b, c, m3, 10, 0x8f0c_cc92)
        roundI(&c, d, a, b, m10, 15, 0xffef_f47d)
        roundI(&b, c, d, a, m1, 21, 0x8584_5dd1)
        roundI(&a, b, c, d, m8, 6, 0x6fa8_7e4f)
        roundI(&d, a, b, c, m15, 10, 0xfe2c_e6e0)
        roundI(&c, d, a, b, m6, 15, 0xa301_4314)
        roundI(&b, c, d, a, m13, 21, 0x4e08_11a1)
        roundI(&a, b, c, d, m4, 6, 0xf753_7e82)
        roundI(&d, a, b, c, m11, 10, 0xbd3a_f235)
        roundI(&c, d, a, b, m2, 15, 0x2ad7_d2bb)
        roundI(&b, c, d, a, m9, 21, 0xeb86_d391)
        self.a = self.a &+ a
        self.b = self.b &+ b
        self.c = self.c &+ c
        self.d = self.d &+ d
    }
}

@inline(__always) private func rotl(_ x: UInt32, _ n: UInt32) -> UInt32 { (x << n) | (x >> (32 &- n)) }

@inline(__always)
private func roundF(
    _ a: inout UInt32, _ b: UInt32, _ c: UInt32, _ d: UInt32, _ m: UInt32, _ s: UInt32, _ k: UInt32
) {
    a = b &+ rotl(a &+ ((b & c) | (~b & d)) &+ m &+ k, s)
}

@inline(__always)
private func roundG(
    _ a: inout UInt32, _ b: UInt32, _ c: UInt32, _ d: UInt32, _ m: UInt32, _ s: UInt32, _ k: UInt32
) {
    a = b &+ rotl(a &+ ((b & d) | (c & ~d)) &+ m &+ k, s)
}

@inline(__always)
private func roundH(
    _ a: inout UInt32, _ b: UInt32, _ c: UInt32, _ d: UInt32, _ m: UInt32, _ s: UInt32, _ k: UInt32
) {
    a = b &+ rotl(a &+ (b ^ c ^ d) &+ m &+ k, s)
}

@inline(__always)
private func roundI(
    _ a: inout UInt32, _ b: UInt32, _ c: UInt32, _ d: UInt32, _ m: UInt32, _ s: UInt32, _ k: UInt32
) {
    a = b &+ rotl(a &+ (c ^ (b | ~d)) &+ m &+ k, s)
}
