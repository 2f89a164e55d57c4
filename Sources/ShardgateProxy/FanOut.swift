import NIOCore
import RESP

/// One split command in flight: the per-group parts and the merge of their replies.
///
/// Keys keep their original order in the merged reply. Any part that fails makes the whole command
/// fail with that part's error: a partial MGET answer would be silently wrong.
final class FanOut {
    struct Part {
        var group: Int
        /// Positions (0-based, in key order) of the keys this part carries.
        var keys: [Int]
    }

    let kind: SplitKind
    let session: ClientSession
    let sequence: UInt64
    private(set) var parts: [Part] = []
    private let groupNames: [String]
    private var outstanding: Int
    private var values: [ByteBuffer?]
    private var sum = 0
    private var error: ByteBuffer?

    /// `keyGroups[i]` is the group of the i-th key.
    /// Whether the parts are writes (their acknowledgements count for read-your-writes).
    private let write: Bool

    init(kind: SplitKind, session: ClientSession, sequence: UInt64, keyGroups: [Int], groupNames: [String], write: Bool) {
        self.kind = kind
        self.write = write
        self.session = session
        self.sequence = sequence
        self.groupNames = groupNames
        var partOfGroup: [Int: Int] = [:]
        for (position, group) in keyGroups.enumerated() {
            if let part = partOfGroup[group] {
                parts[part].keys.append(position)
            } else {
                partOfGroup[group] = parts.count
                parts.append(Part(group: group, keys: [position]))
            }
        }
        outstanding = parts.count
        values = kind == .values ? Array(repeating: nil, count: keyGroups.count) : []
    }

    /// The request for `part`: the original command name with that part's keys (and values).
    func partRequest(_ part: Int, of request: RESPRequest, spans: [RESPRequest.ArgumentSpan], width: Int) -> ByteBuffer {
        let keys = parts[part].keys
        var size = 16 + Int(spans[0].length)
        for key in keys {
            for offset in 0..<width { size += Int(spans[1 + key * width + offset].length) + 16 }
        }
        var buffer = ByteBufferAllocator().buffer(capacity: size)
        buffer.writeRESPArrayHeader(1 + keys.count * width)
        request.frame.withUnsafeReadableBytes { bytes in
            func copy(_ span: RESPRequest.ArgumentSpan) {
                buffer.writeInteger(UInt8(ascii: "$"))
                buffer.writeDecimal(Int(span.length))
                buffer.writeCRLF()
                buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[span.range]))
                buffer.writeCRLF()
            }
            copy(spans[0])
            for key in keys {
                for offset in 0..<width { copy(spans[1 + key * width + offset]) }
            }
        }
        return buffer
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
        let part = parts[index]
        switch kind {
        case .values:
            guard let elements = RESPReplyReader.elements(of: reply), elements.count == part.keys.count else {
                return failMerge(part)
            }
            for (key, element) in zip(part.keys, elements) { values[key] = element }
        case .sum:
            guard let count = RESPReplyReader.integer(reply) else { return failMerge(part) }
            sum += count
        case .pairs:
            guard RESPReplyReader.type(of: reply) == UInt8(ascii: "+") else { return failMerge(part) }
        }
    }

    private func failMerge(_ part: Part) {
        var reply = ByteBuffer()
        reply.writeRESPError(ProxyErrors.badSubReply(groupNames[part.group]))
        error = reply
    }

    private func finish() {
        if let error {
            return session.complete(sequence, with: error)
        }
        var reply = ByteBuffer()
        switch kind {
        case .values:
            reply.writeRESPArrayHeader(values.count)
            for value in values {
                if let value { reply.writeImmutableBuffer(value) } else { reply.writeRESPNullBulk() }
            }
        case .sum:
            reply.writeRESPInteger(sum)
        case .pairs:
            reply.writeStaticString("+OK\r\n")
        }
        session.complete(sequence, with: reply)
    }
}
