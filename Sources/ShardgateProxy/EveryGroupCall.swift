import NIOCore
import RESP

/// One command sent to several groups (every group, for keyless commands), and the merge of their
/// replies (`EveryGroupMerge`).
///
/// As with split commands, an error from any group is the answer: a DBSIZE or KEYS that silently
/// left out a group would be wrong. A merge that meets an unexpected reply shape, or groups that
/// disagree where they must agree, is an error naming the group.
final class EveryGroupCall {
    let merge: EveryGroupMerge
    let write: Bool
    let session: ClientSession
    let sequence: UInt64
    /// The groups asked, and their replies in the same order.
    private let groups: [Int]
    private var replies: [ByteBuffer?]
    private var outstanding: Int

    /// Asks `groups`.
    init(merge: EveryGroupMerge, write: Bool, session: ClientSession, sequence: UInt64, groups: [Int]) {
        self.merge = merge
        self.write = write
        self.session = session
        self.sequence = sequence
        self.groups = groups
        self.replies = Array(repeating: nil, count: groups.count)
        self.outstanding = groups.count
    }

    func replyArrived(fromGroup group: Int, _ reply: ByteBuffer) {
        if write { session.noteWriteAcknowledged(group: group) }
        replies[groups.firstIndex(of: group) ?? 0] = reply
        outstanding -= 1
        if outstanding == 0 { session.complete(sequence, with: merged()) }
    }

    private func merged() -> ByteBuffer {
        let all = replies.map { $0! }
        if let error = all.first(where: RESPReplyReader.isError) { return error }
        var reply = ByteBuffer()
        switch merge {
        case .minimum:
            var smallest = Int.max
            for (index, part) in all.enumerated() {
                guard let count = RESPReplyReader.integer(part) else { return failure(index) }
                smallest = min(smallest, count)
            }
            reply.writeRESPInteger(smallest)
        case .sum:
            var total = 0
            for (index, part) in all.enumerated() {
                guard let count = RESPReplyReader.integer(part) else { return failure(index) }
                total += count
            }
            reply.writeRESPInteger(total)
        case .concatenate:
            var bodies: [ByteBuffer] = []
            var count = 0
            for (position, part) in all.enumerated() {
                guard let header = RESPReplyReader.arrayHeader(of: part), header.count >= 0 else { return failure(position) }
                count += header.count
                bodies.append(part.getSlice(at: part.readerIndex + header.length, length: part.readableBytes - header.length)!)
            }
            reply.writeRESPArrayHeader(count)
            for body in bodies { reply.writeImmutableBuffer(body) }
        case .anyNonNull:
            let found = all.filter { !Self.isNull($0) }
            return found.randomElement() ?? all[0]
        case .same:
            for (position, part) in all.enumerated() where part != all[0] {
                return failure(position, "answered differently from group '\(session.loop.groups[groups[0]].name)'")
            }
            return all[0]
        case .sumPairs:
            var names: [ByteBuffer] = []
            var counts: [Int] = []
            for (position, part) in all.enumerated() {
                guard let elements = RESPReplyReader.elements(of: part), elements.count % 2 == 0,
                    names.isEmpty || elements.count == names.count * 2
                else { return failure(position) }
                for pair in 0..<(elements.count / 2) {
                    guard let count = RESPReplyReader.integer(elements[pair * 2 + 1]) else { return failure(position) }
                    if names.count <= pair {
                        names.append(elements[pair * 2])
                        counts.append(count)
                    } else {
                        counts[pair] += count
                    }
                }
            }
            reply.writeRESPArrayHeader(names.count * 2)
            for (name, count) in zip(names, counts) {
                reply.writeImmutableBuffer(name)
                reply.writeRESPInteger(count)
            }
        case .allOnes:
            var flags: [Bool] = []
            for (position, part) in all.enumerated() {
                guard let elements = RESPReplyReader.elements(of: part), flags.isEmpty || elements.count == flags.count
                else { return failure(position) }
                let ones = elements.map { RESPReplyReader.integer($0) == 1 }
                flags = flags.isEmpty ? ones : zip(flags, ones).map { $0 && $1 }
            }
            reply.writeRESPArrayHeader(flags.count)
            for flag in flags { reply.writeRESPInteger(flag ? 1 : 0) }
        }
        return reply
    }

    /// `$-1` (RESP2) or `_` (RESP3).
    private static func isNull(_ reply: ByteBuffer) -> Bool {
        reply.readableBytes <= 5
            && (reply.getString(at: reply.readerIndex, length: reply.readableBytes) == "$-1\r\n"
                || reply.getString(at: reply.readerIndex, length: reply.readableBytes) == "_\r\n")
    }

    /// `position`: the place in `groups` (equal to the group when every group is asked).
    private func failure(_ position: Int, _ problem: String? = nil) -> ByteBuffer {
        let group = groups[position]
        var reply = ByteBuffer()
        let name = session.loop.groups[group].name
        reply.writeRESPError(problem.map { "ERR shardgate: group '\(name)' \($0)" } ?? ProxyErrors.badSubReply(name))
        return reply
    }
}
