import NIOCore

/// The last `capacity` bytes of the replication stream, so a replica that was briefly away can
/// continue from its offset (`+CONTINUE`) instead of a full resynchronisation.
///
/// A ring buffer addressed by stream offset: byte `offset` of the stream (1-based, as Redis counts:
/// after `n` bytes the master offset is `n`) lives at `(offset - 1) % capacity`.
struct ReplicationBacklog {
    private var storage: [UInt8]
    /// Bytes held (at most `capacity`).
    private(set) var historyLength = 0
    /// Offset of the last byte written (Redis's `master_repl_offset`).
    private(set) var endOffset: Int

    init(capacity: Int, endOffset: Int) {
        storage = [UInt8](repeating: 0, count: max(16 * 1024, capacity))
        self.endOffset = endOffset
    }

    var capacity: Int { storage.count }
    /// Offset of the oldest byte held (Redis's `repl_backlog_first_byte_offset`).
    var firstOffset: Int { endOffset - historyLength + 1 }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        var remaining = bytes
        // Only the last `capacity` bytes can ever be read back.
        if remaining.count > capacity {
            let skipped = remaining.count - capacity
            endOffset += skipped
            remaining = UnsafeRawBufferPointer(rebasing: remaining[skipped...])
        }
        let capacity = self.capacity
        let start = endOffset % capacity
        storage.withUnsafeMutableBytes { ring in
            var position = start
            var source = remaining
            while !source.isEmpty {
                let chunk = min(source.count, capacity - position)
                ring.baseAddress!.advanced(by: position).copyMemory(from: source.baseAddress!, byteCount: chunk)
                source = UnsafeRawBufferPointer(rebasing: source[chunk...])
                position = (position + chunk) % capacity
            }
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
        var position = (offset - 1) % capacity
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
