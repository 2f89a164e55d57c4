/// Byte-wise key order for the `range` distribution: `memcmp` over the common prefix, then the
/// shorter key first. This is the order Redis uses for lexicographic commands, and it treats
/// bytes >= 0x80 as large (unsigned), never as negative.
@inline(__always)
func compareKeys(_ lhs: UnsafeRawBufferPointer, _ rhs: UnsafeRawBufferPointer) -> Int {
    let common = min(lhs.count, rhs.count)
    var i = 0
    while i < common {
        let a = lhs[i]
        let b = rhs[i]
        if a != b { return a < b ? -1 : 1 }
        i &+= 1
    }
    return lhs.count == rhs.count ? 0 : (lhs.count < rhs.count ? -1 : 1)
}

/// `compareKeys` for arrays, used off the hot path (construction and validation).
func compareKeys(_ lhs: [UInt8], _ rhs: [UInt8]) -> Int {
    lhs.withUnsafeBytes { a in rhs.withUnsafeBytes { b in compareKeys(a, b) } }
}
