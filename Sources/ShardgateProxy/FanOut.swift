import NIOCore
import RESP

/// One split command in flight: the per-group parts and the merge of their replies.
///
/// Keys keep their original order in the merged reply. Any part that fails makes the whole command
/// fail with that part's error: a partial MGET answer would be silently wrong. Built for few
/// allocations: parts are found by linear search (a pool has few groups), part requests are encoded
/// straight into the backend connections' buffers, and the merge walks each part's reply once.
final class FanOut {
    struct Part {
        var group: Int
        var keyCount = 0
        /// MGET: the part's array reply, reader index past the `*N` header.
        var reply: ByteBuffer?
    }

    let kind: SplitKind
    let session: ClientSession
    let sequence: UInt64
    private(set) var parts: [Part] = []
    /// MGET: the part holding each key, in key order.
    private var partOfKey: [Int] = []
    /// Whether the parts are writes (their acknowledgements count for read-your-writes).
    private let write: Bool
    private var outstanding = 0
    private var sum = 0
    private var error: ByteBuffer?

    /// `keyGroups[i]` is the group of the i-th key.
    init(kind: SplitKind, session: ClientSession, sequence: UInt64, keyGroups: [Int], write: Bool) {
        self.kind = kind
        self.session = session
        self.sequence = sequence
        self.write = write
        if kind == .values { partOfKey.reserveCapacity(keyGroups.count) }
        for group in keyGroups {
            var part = 0
            while part < parts.count && parts[part].group != group { part += 1 }
            if part == parts.count { parts.append(Part(group: group)) }
            parts[part].keyCount += 1
            if kind == .values { partOfKey.append(part) }
        }
        outstanding = parts.count
    }

    /// Writes `part`'s request: the original command name with that part's keys (and values).
    func encodePart(
        _ part: Int, of request: RESPRequest, spans: [RESPRequest.ArgumentSpan], keyGroups: [Int], width: Int,
        into buffer: inout ByteBuffer
    ) {
        let group = parts[part].group
        buffer.writeRESPArrayHeader(1 + parts[part].keyCount * width)
        request.frame.withUnsafeReadableBytes { bytes in
            func copy(_ span: RESPRequest.ArgumentSpan) {
                buffer.writeRESPBulkString(bytes: UnsafeRawBufferPointer(rebasing: bytes[span.range]))
            }
            copy(spans[0])
            for key in keyGroups.indices where keyGroups[key] == group {
                for offset in 0..<width { copy(spans[1 + key * width + offset]) }
            }
        }
    }

    func partArrived(_ index: Int, reply: ByteBuffer) {
        if write { session.noteWriteAcknowledged(group: parts[index].group) }
        if error == nil {
            if RESPReplyReader.isError(reply) {
                error = reply
            } else {
                merge(index, reply)
            }
        }
        outstanding -= 1
        if outstanding == 0 { finish() }
    }

    private func merge(_ index: Int, _ reply: ByteBuffer) {
        switch kind {
        case .values:
            guard let header = RESPReplyReader.arrayHeader(of: reply), header.count == parts[index].keyCount else {
                return failMerge(parts[index])
            }
            parts[index].reply = reply.getSlice(
                at: reply.readerIndex + header.length, length: reply.readableBytes - header.length)
        case .sum:
            guard let count = RESPReplyReader.integer(reply) else { return failMerge(parts[index]) }
            sum += count
        case .pairs:
            guard RESPReplyReader.type(of: reply) == UInt8(ascii: "+") else { return failMerge(parts[index]) }
        }
    }

    private func failMerge(_ part: Part) {
        var reply = ByteBuffer()
        reply.writeRESPError(ProxyErrors.badSubReply(session.loop.groups[part.group].name))
        error = reply
    }

    private func finish() {
        if let error {
            return session.complete(sequence, with: error)
        }
        session.complete(sequence) { reply in
            switch kind {
            case .values:
                // Each part's elements are in its keys' order: take them one by one, key by key.
                reply.writeRESPArrayHeader(partOfKey.count)
                var framer = RESPReplyFramer()
                for part in partOfKey {
                    if let element = try? framer.nextFrame(from: &parts[part].reply!) {
                        reply.writeImmutableBuffer(element)
                    } else {
                        reply.writeRESPNullBulk()
                    }
                }
            case .sum:
                reply.writeRESPInteger(sum)
            case .pairs:
                reply.writeStaticString("+OK\r\n")
            }
        }
    }
}
