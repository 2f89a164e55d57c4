import RedisText

/// RESP header numbers (`*3`, `$5`, `:42`) read in place from a frame's bytes.
enum DecimalBytes {
    /// `RedisInteger.parse` of `bytes[start..<end]`.
    @inline(__always)
    static func parse(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int? {
        guard start < end else { return nil }
        return RedisInteger.parse(UnsafeRawBufferPointer(rebasing: bytes[start..<end])).map(Int.init)
    }
}
