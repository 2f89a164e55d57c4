#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// A sequence of byte strings packed into one buffer, for small hashes and sorted sets (Redis's
/// "listpack" encoding): one allocation per collection instead of one per element.
///
/// Each entry is a LEB128 length followed by its bytes. Positions are byte offsets of an entry's
/// length prefix; they stay valid until the next mutation. Lookups are linear scans, which is what
/// keeps small collections small; the owners convert to tables past their size thresholds.
struct Listpack {
    private(set) var bytes: [UInt8] = []
    /// Number of entries.
    private(set) var count = 0

    init() {}

    var isEmpty: Bool { count == 0 }
    /// Offset one past the last entry.
    var endOffset: Int { bytes.count }

    /// The byte range of the entry at `offset` and the offset of the entry after it.
    @inline(__always)
    func entry(at offset: Int) -> (start: Int, length: Int, next: Int) {
        var position = offset
        var length = 0
        var shift = 0
        while true {
            let byte = bytes[position]
            position += 1
            length |= Int(byte & 0x7F) << shift
            if byte < 0x80 { break }
            shift += 7
        }
        return (position, length, position + length)
    }

    /// Offset of the entry after the one at `offset`.
    @inline(__always)
    func next(_ offset: Int) -> Int { entry(at: offset).next }

    /// Calls `body` with the bytes of the entry at `offset`.
    @inline(__always)
    func withEntry<T>(at offset: Int, _ body: (UnsafeRawBufferPointer) -> T) -> T {
        let (start, length, _) = entry(at: offset)
        return bytes.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[start..<(start + length)])) }
    }

    func element(at offset: Int) -> [UInt8] {
        let (start, length, _) = entry(at: offset)
        return Array(bytes[start..<(start + length)])
    }

    /// Whether the entry at `offset` equals `other`.
    @inline(__always)
    func entry(at offset: Int, equals other: UnsafeRawBufferPointer) -> Bool {
        let (start, length, _) = entry(at: offset)
        guard length == other.count else { return false }
        guard length > 0 else { return true }
        return bytes.withUnsafeBytes { memcmp($0.baseAddress! + start, other.baseAddress!, length) == 0 }
    }

    /// The 8-byte entry at `offset` as a Double (sorted sets store scores this way).
    @inline(__always)
    func double(at offset: Int) -> Double {
        let (start, _, _) = entry(at: offset)
        return bytes.withUnsafeBytes { Double(bitPattern: $0.loadUnaligned(fromByteOffset: start, as: UInt64.self)) }
    }

    /// The encoded form of `entry` (length prefix + bytes).
    static func encode(_ entry: UnsafeRawBufferPointer, into buffer: inout [UInt8]) {
        var length = entry.count
        while length >= 0x80 {
            buffer.append(UInt8(length & 0x7F) | 0x80)
            length >>= 7
        }
        buffer.append(UInt8(length))
        buffer.append(contentsOf: entry)
    }

    static func encode(_ value: Double, into buffer: inout [UInt8]) {
        withUnsafeBytes(of: value.bitPattern) { encode($0, into: &buffer) }
    }

    mutating func append(_ entry: UnsafeRawBufferPointer) {
        Self.encode(entry, into: &bytes)
        count += 1
    }

    mutating func append(_ entry: [UInt8]) { entry.withUnsafeBytes { append($0) } }

    /// Inserts already encoded entries (`entries` of them) at `offset`.
    mutating func insert(encoded: [UInt8], entries: Int, at offset: Int) {
        bytes.insert(contentsOf: encoded, at: offset)
        count += entries
    }

    /// Replaces the entry at `offset` with `entry`.
    mutating func replace(at offset: Int, with entry: UnsafeRawBufferPointer) {
        var encoded: [UInt8] = []
        encoded.reserveCapacity(entry.count + 2)
        Self.encode(entry, into: &encoded)
        bytes.replaceSubrange(offset..<next(offset), with: encoded)
    }

    /// Removes `entries` entries starting at `offset`.
    mutating func remove(at offset: Int, entries: Int) {
        var end = offset
        for _ in 0..<entries { end = next(end) }
        bytes.removeSubrange(offset..<end)
        count -= entries
        if count == 0 { bytes = [] }
    }

    /// Offsets of every entry, in order (for reverse walks and random picks).
    func offsets() -> [Int] {
        var result: [Int] = []
        result.reserveCapacity(count)
        var offset = 0
        while offset < bytes.count {
            result.append(offset)
            offset = next(offset)
        }
        return result
    }

    /// Trims unused capacity (after bulk building).
    mutating func shrink() {
        if bytes.capacity > bytes.count + bytes.count / 4 + 16 { bytes = Array(bytes[0..<bytes.count]) }
    }
}
