/// A key's bytes as a table slot keeps them: up to 22 bytes inside the slot itself, longer keys in
/// a heap array.
///
/// Most keys are short ("user:1234", "key:000000012345"). Kept inline, a lookup that hits reads
/// the key from the slot it already loaded instead of following one more pointer to a separate
/// allocation: one cache miss less per lookup, and one heap allocation (48-64 bytes) less per key.
///
/// 23 bytes of payload (22 of key, 1 of count) and the case's tag byte make 24: with a keyspace
/// entry after it, a table slot is 48 bytes, where 23 bytes of key made it 56
/// (`KeyTableTests.keyspaceSlotsAre48Bytes` says if that changes).
enum StoredKey {
    /// Bytes packed in order into the fields; `e` holds the count.
    case inline(a: UInt64, b: UInt64, c: UInt32, d: UInt16, e: UInt8)
    case heap([UInt8])

    static let inlineCapacity = 22
    private static let countOffset = 22

    init(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count <= Self.inlineCapacity else {
            self = .heap(Array(bytes))
            return
        }
        var words: (UInt64, UInt64, UInt32, UInt16, UInt8) = (0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { raw in
            if bytes.count > 0 { raw.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
            raw[Self.countOffset] = UInt8(bytes.count)
        }
        self = .inline(a: words.0, b: words.1, c: words.2, d: words.3, e: words.4)
    }

    init(_ bytes: [UInt8]) {
        if bytes.count > Self.inlineCapacity {
            self = .heap(bytes)
        } else {
            self = bytes.withUnsafeBytes { StoredKey($0) }
        }
    }

    /// Calls `body` with the key's bytes.
    @inline(__always)
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch self {
        case .inline(let a, let b, let c, let d, let e):
            var words = (a, b, c, d, e)
            return try Swift.withUnsafeBytes(of: &words) { raw in
                try body(UnsafeRawBufferPointer(rebasing: raw[0..<Int(raw[Self.countOffset])]))
            }
        case .heap(let bytes):
            return try bytes.withUnsafeBytes(body)
        }
    }

    /// The bytes as an array (allocates for inline keys: for KEYS, SCAN and the like).
    var bytes: [UInt8] {
        switch self {
        case .inline: withUnsafeBytes { Array($0) }
        case .heap(let bytes): bytes
        }
    }

    static let empty = StoredKey.inline(a: 0, b: 0, c: 0, d: 0, e: 0)

    /// How to tell a heap key from its raw bytes without touching its array (a retain would write
    /// to the very memory a prefetch is meant to start loading): the offset and value of the byte
    /// that holds the case, found once by comparing the two cases' layouts; nil if the layout is not
    /// the expected 23 bytes and a tag byte. The array's pointer is the first word of a heap key.
    static let heapTag: (offset: Int, value: UInt8)? = {
        let size = MemoryLayout<StoredKey>.size
        guard size == 24 else { return nil }
        let heap = Swift.withUnsafeBytes(of: StoredKey.heap(Array(repeating: 1, count: 32))) { $0[size - 1] }
        let inline = Swift.withUnsafeBytes(of: StoredKey.empty) { $0[size - 1] }
        return heap == inline ? nil : (size - 1, heap)
    }()
}
