import Commands
import NIOCore
import RESP

/// MULTI/EXEC/DISCARD through the proxy: commands are checked and queued here (`Transaction`), and
/// EXEC sends them to their group's master as one `MULTI … EXEC` block, whose EXEC reply is the
/// client's. What is queued, refused or sent is `SessionStateMachine`'s decision; this is the I/O.
extension ClientSession {
    static let multiFrame = RESPRequest(arguments: [Array("MULTI".utf8)]).frame
    static let execFrame = RESPRequest(arguments: [Array("EXEC".utf8)]).frame

    /// Finds the groups of a command's keys (`keys` says how) and queues it (`SessionStateMachine`),
    /// answering `+QUEUED` or the queue-time error.
    func queueInTransaction(_ request: RESPRequest, spec: CommandSpec, keys: Machine.QueueKeys) {
        let found: KeyGroups
        switch keys {
        case .none:
            found = .groups([])
        case .channel:
            found = .groups(request.withArgument(1) { loop.group(forKey: $0) }.map { [$0] } ?? [])
        case .command:
            found = keyGroups(request, spec: spec)
        }
        switch machine.queue(request.frame, keys: found) {
        case .reply(let reply): respond(reply)
        case .crossSlot(let groups): respondCrossSlot(groups)
        case .error(let message): respondError(message)
        }
    }

    /// EXEC: `MULTI`, the queued frames and `EXEC` to `group`'s master.
    func execute(_ queued: Transaction, group: Int) {
        let target = replyTarget(write: true, group: group)
        guard let connection = connection(forGroup: group, write: true, failing: target) else { return }
        // One block on the connection's outbound buffer, written in this event-loop turn: no
        // other client's command can come between MULTI and EXEC.
        connection.send(Self.multiFrame, to: .discard)
        for frame in queued.frames { connection.send(frame, to: .discard) }
        connection.send(Self.execFrame, to: target)
    }
}
