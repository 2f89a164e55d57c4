import NIOCore

/// Who is waiting for a backend reply: a client's reply slot, one part of a split command, the
/// connection's own handshake (AUTH/SELECT), or nobody. A closed enum of class references: no existential.
enum ReplyTarget {
    case client(ClientSession, sequence: UInt64)
    /// A blocking command's reply (BLPOP…): the client stops counting as blocked (INFO `blocked_clients`).
    case blocking(ClientSession, sequence: UInt64)
    /// A write when the pool wants read-your-writes: the acknowledgement time is noted first.
    case clientWrite(ClientSession, sequence: UInt64, group: Int)
    case part(FanOut, index: Int)
    /// One group's reply to a keyless command sent to every group.
    case everyGroup(EveryGroupCall, group: Int)
    /// The keyless group's answer to a SELECT's check.
    case select(ClientSession, sequence: UInt64, database: Int)
    /// One group's `INFO keyspace`, for the proxy's INFO.
    case info(InfoGathering, group: Int)
    /// CONFIG GET's answer: the backends' secrets are taken out (`BackendSecrets`).
    case configGet(ClientSession, sequence: UInt64)
    /// A SCAN step in `group`: its cursor is rewritten into the proxy's.
    case scan(ClientSession, sequence: UInt64, group: Int)
    case handshake
    /// A reply nobody reads: the `+OK`/`+QUEUED` answers inside a transaction block, whose EXEC
    /// reply alone goes to the client.
    case discard

    /// Hands `reply` (a complete RESP frame) to whoever waits for it; `backendNanoseconds`, the
    /// backend's round trip when the loop times requests, goes to a client's slot (SLOWLOG).
    func deliver(_ reply: ByteBuffer, backendNanoseconds: UInt64 = 0) {
        switch self {
        case .client(let session, let sequence): session.complete(sequence, with: reply, backendNanoseconds: backendNanoseconds)
        case .blocking(let session, let sequence):
            session.blockingInFlight -= 1
            session.complete(sequence, with: reply, backendNanoseconds: backendNanoseconds)
        case .clientWrite(let session, let sequence, let group):
            session.noteWriteAcknowledged(group: group)
            session.complete(sequence, with: reply, backendNanoseconds: backendNanoseconds)
        case .part(let fanOut, let index): fanOut.partArrived(index, reply: reply)
        case .everyGroup(let call, let group): call.replyArrived(fromGroup: group, reply)
        case .configGet(let session, let sequence): session.complete(sequence, with: BackendSecrets.redacted(reply))
        case .scan(let session, let sequence, let group): session.completeScan(sequence, group: group, reply: reply)
        case .info(let gathering, let group): gathering.keyspaceArrived(fromGroup: group, reply)
        case .select(let session, let sequence, let database): session.selectAnswered(sequence, database: database, reply: reply)
        case .handshake, .discard: break
        }
    }

    /// Delivers an error reply built from `message`.
    func fail(_ message: String) {
        var reply = ByteBuffer()
        reply.writeRESPError(message)
        deliver(reply)
    }
}
