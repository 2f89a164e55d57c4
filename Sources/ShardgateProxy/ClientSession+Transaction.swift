import Commands
import NIOCore
import RESP

/// MULTI/EXEC/DISCARD through the proxy: commands are checked and queued here (`Transaction`), and
/// EXEC sends them to their group's master as one `MULTI … EXEC` block, whose EXEC reply is the
/// client's. WATCH needs a backend connection of the client's own and is not supported yet.
extension ClientSession {
    static let multiFrame = RESPRequest(arguments: [Array("MULTI".utf8)]).frame
    static let execFrame = RESPRequest(arguments: [Array("EXEC".utf8)]).frame

    /// Commands that run at once even inside MULTI (Redis's exceptions, and QUIT).
    static func runsImmediately(_ policy: CommandPolicy) -> Bool {
        switch policy {
        case .transaction(let command): return command != .unwatch
        case .local(.quit), .local(.reset), .closeSilently: return true
        default: return false
        }
    }

    func transactionCommand(_ command: TransactionCommand, _ request: RESPRequest, spec: CommandSpec) {
        switch command {
        case .multi:
            guard transaction == nil else { return respondError("ERR MULTI calls can not be nested") }
            transaction = Transaction(group: watching?.group)
            respond { $0.writeStaticString("+OK\r\n") }
        case .exec:
            guard let queued = transaction else { return respondError("ERR EXEC without MULTI") }
            transaction = nil
            execute(queued)
        case .discard:
            guard transaction != nil else { return respondError("ERR DISCARD without MULTI") }
            transaction = nil
            stopWatching()
            respond { $0.writeStaticString("+OK\r\n") }
        case .watch:
            if transaction != nil { return respondError("ERR WATCH inside MULTI is not allowed") }
            watch(request, spec: spec)
        case .unwatch:
            if watching == nil { return respond { $0.writeStaticString("+OK\r\n") } }
            stopWatching(request)
        }
    }

    /// Checks one command inside MULTI and queues it, answering `+QUEUED` or the queue-time error.
    func queueInTransaction(_ request: RESPRequest, spec: CommandSpec, policy: CommandPolicy) {
        if spec.flags.contains(.noMulti) { return reject("ERR Command not allowed inside a transaction") }
        var keyGroups: [Int] = []
        switch policy {
        case .forward, .split, .blocking:
            break
        case .refused(let reason):
            return reject(ProxyErrors.unsupported(spec.name, because: reason))
        case .local(.ping), .local(.echo), .transaction(.unwatch), .keylessGroup:
            return queued(request.frame, keyGroups: [])
        case .byChannel:
            return queued(request.frame, keyGroups: request.withArgument(1) { loop.group(forKey: $0) }.map { [$0] } ?? [])
        case .pubsub:
            return reject(ProxyErrors.unsupported(spec.name, because: "it cannot run inside a transaction through the proxy"))
        case .everyGroup, .scan:
            return reject(ProxyErrors.unsupported(spec.name, because: "inside a transaction it would need every group at once"))
        case .local, .transaction, .closeSilently:
            return reject(ProxyErrors.unsupported(spec.name, because: "it cannot run inside a transaction through the proxy"))
        }
        switch self.keyGroups(request, spec: spec) {
        case .failed(let message): return reject(message)
        case .groups(let groups): keyGroups = groups
        }
        queued(request.frame, keyGroups: keyGroups)
    }

    private func queued(_ frame: ByteBuffer, keyGroups: [Int]) {
        if let stray = transaction!.queue(frame, keyGroups: keyGroups) {
            return respondCrossSlot([transaction!.group ?? stray, stray])
        }
        respond { $0.writeStaticString("+QUEUED\r\n") }
    }

    private func execute(_ queued: Transaction) {
        let execution = queued.execution(keylessGroup: keylessGroup)
        // WATCH's check happens on the server, so a watching client's EXEC always reaches it.
        if let lease = watching, execution != .abort { return executeWatched(queued, lease: lease) }
        switch execution {
        case .abort:
            stopWatching()
            respondError("EXECABORT Transaction discarded because of previous errors.")
        case .empty:
            respond { $0.writeStaticString("*0\r\n") }
        case .send(let group):
            let target = replyTarget(write: true, group: group)
            guard let connection = connection(forGroup: group, write: true, failing: target) else { return }
            // One block on the connection's outbound buffer, written in this event-loop turn: no
            // other client's command can come between MULTI and EXEC.
            connection.send(Self.multiFrame, to: .discard)
            for frame in queued.frames { connection.send(frame, to: .discard) }
            connection.send(Self.execFrame, to: target)
        }
    }
}
