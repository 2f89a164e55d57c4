import Commands
import NIOCore
import RESP

/// Commands without keys (`KeylessPolicy`): to the keyless group, to every group with the replies
/// merged (`EveryGroupCall`), or SCAN walking the groups one after the other (`ScanCursor`).
extension ClientSession {
    /// The group that answers keyless commands (`keyless_group`).
    var keylessGroup: Int { runtime.config.keylessGroup }

    func sendToKeylessGroup(_ request: RESPRequest, write: Bool, spec: CommandSpec? = nil) {
        let group = keylessGroup
        if let spec, spec.isNamed("config|get") {
            return send(request.frame, toGroup: group, write: write, target: .configGet(self, sequence: reserveSlot()))
        }
        send(request.frame, toGroup: group, write: write, target: replyTarget(write: write, group: group))
    }

    func sendToEveryGroup(_ request: RESPRequest, merge: EveryGroupMerge, write: Bool) {
        let call = EveryGroupCall(
            merge: merge, write: write, session: self, sequence: reserveSlot(), groups: Array(loop.groups.indices))
        for group in loop.groups.indices {
            send(request.frame, toGroup: group, write: write, target: .everyGroup(call, group: group))
        }
    }

    /// PUBLISH: its channel is placed as a key would be.
    func sendByChannel(_ request: RESPRequest) {
        guard let group = request.withArgument(1, { loop.group(forKey: $0) }) else {
            return respondError(ProxyErrors.noGroup("publish"))
        }
        send(request.frame, toGroup: group, write: true, target: replyTarget(write: true, group: group))
    }

    /// `SCAN cursor [MATCH p] [COUNT n] [TYPE t]`: the step is the cursor's group's own SCAN, with
    /// that group's cursor in place of the proxy's.
    func scan(_ request: RESPRequest) {
        let groupCount = loop.groups.count
        guard let cursor = request.withArgument(1, { ScanCursor($0, groupCount: groupCount) }) else {
            // Not a cursor at all: the server's own error text answers it.
            return sendToKeylessGroup(request, write: false)
        }
        var arguments = (0..<request.argumentCount).map { index in request.withArgument(index) { Array($0) } }
        arguments[1] = Array(String(cursor.backend).utf8)
        let target = ReplyTarget.scan(self, sequence: reserveSlot(), group: cursor.group)
        send(RESPRequest(arguments: arguments).frame, toGroup: cursor.group, write: false, target: target)
    }

    /// A SCAN step's reply, its cursor rewritten so the next call continues (or ends) the walk.
    func completeScan(_ sequence: UInt64, group: Int, reply: ByteBuffer) {
        if RESPReplyReader.isError(reply) { return complete(sequence, with: reply) }
        guard let elements = RESPReplyReader.elements(of: reply), elements.count == 2,
            let next = RESPReplyReader.bulkPayload(elements[0]).flatMap({ ScanCursor.parse($0) })
        else {
            var error = ByteBuffer()
            error.writeRESPError(ProxyErrors.badSubReply(loop.groups[group].name))
            return complete(sequence, with: error)
        }
        guard let cursor = ScanCursor.next(afterGroup: group, answered: next, groupCount: loop.groups.count) else {
            var error = ByteBuffer()
            error.writeRESPError("ERR shardgate: group '\(loop.groups[group].name)' returned a cursor too large to combine with the group number")
            return complete(sequence, with: error)
        }
        complete(sequence) { buffer in
            buffer.writeRESPArrayHeader(2)
            buffer.writeRESPBulkString(String(cursor))
            buffer.writeImmutableBuffer(elements[1])
        }
    }

    /// XREAD/XREADGROUP block only when BLOCK comes before STREAMS.
    static func blocks(_ request: RESPRequest) -> Bool {
        for index in 1..<request.argumentCount {
            let word = request.withArgument(index) { String(decoding: $0, as: UTF8.self).lowercased() }
            if word == "streams" { return false }
            if word == "block" { return true }
        }
        return false
    }
}
