import NIOCore

/// The last `capacity` bytes of the replication stream, so a replica that was briefly away can
/// continue from its offset (`+CONTINUE`) instead of a full resynchronisation.
///
/// A ring buffer addressed by stream offset: byte `offset` of the stream (1-based, as Redis counts:
/// after `n` bytes the master offset is `n`) lives at `(offset - 1 - base) % capacity`, `base` being
/// the offset the backlog started at. The storage grows with the stream up to `capacity` (as
/// Redis 7's replication buffer does), so a huge `repl-backlog-size` costs only what is written.
struct ReplicationBacklog {
    private var storage: [UInt8] = []
    /// Most bytes held (`repl-backlog-size`, at least 16kb).
    let capacity: Int
    /// The stream offset just before the first byte this backlog held.
    private let base: Int
    /// Bytes held (at most `capacity`).
    private(set) var historyLength = 0
    /// Offset of the last byte written (Redis's `master_repl_offset`).
    private(set) var endOffset: Int

    init(capacity: Int, endOffset: Int) {
        self.capacity = max(16 * 1024, capacity)
        self.base = endOffset
        self.endOffset = endOffset
    }

    /// Offset of the oldest byte held (Redis's `repl_backlog_first_byte_offset`).
    var firstOffset: Int { endOffset - historyLength + 1 }

    /// Where stream byte `offset` lives in `storage`.
    private func position(of offset: Int) -> Int { (offset - 1 - base) % capacity }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        var remaining = bytes
        // Only the last `capacity` bytes can ever be read back.
        if remaining.count > capacity {
            let skipped = remaining.count - capacity
            endOffset += skipped
            remaining = UnsafeRawBufferPointer(rebasing: remaining[skipped...])
        }
        guard !remaining.isEmpty else { return }
        let capacity = self.capacity
        var position = position(of: endOffset + 1)
        var source = remaining
        while !source.isEmpty {
            let chunk = min(source.count, capacity - position)
            if position + chunk > storage.count {
                storage.append(contentsOf: repeatElement(0, count: position + chunk - storage.count))
            }
            storage.withUnsafeMutableBytes { ring in
                ring.baseAddress!.advanced(by: position).copyMemory(from: source.baseAddress!, byteCount: chunk)
            }
            source = UnsafeRawBufferPointer(rebasing: source[chunk...])
            position = (position + chunk) % capacity
        }
        endOffset += remaining.count
        historyLength = min(capacity, historyLength + remaining.count)
    }

    mutating func append(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { append($0) }
    }

    /// Whether a replica that needs the stream from `offset` on (its processed offset + 1) can be
    /// served from here.
    func canServe(from offset: Int) -> Bool {
        offset >= firstOffset && offset <= endOffset + 1 && (historyLength > 0 || offset == endOffset + 1)
    }

    /// The stream from `offset` to the end.
    func bytes(from offset: Int) -> [UInt8] {
        precondition(canServe(from: offset))
        let count = endOffset + 1 - offset
        var result: [UInt8] = []
        result.reserveCapacity(count)
        var position = position(of: offset)
        var remaining = count
        while remaining > 0 {
            let chunk = min(remaining, capacity - position)
            result.append(contentsOf: storage[position..<(position + chunk)])
            remaining -= chunk
            position = (position + chunk) % capacity
        }
        return result
    }
}
