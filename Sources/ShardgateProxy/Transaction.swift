import NIOCore

/// A client's MULTI … EXEC as the proxy holds it until EXEC.
///
/// Commands are queued here, not on a backend: a backend connection is shared by every client of an
/// event loop, so the transaction reaches its group only at EXEC, as one contiguous
/// `MULTI … EXEC` block that no other client's command can enter. Every keyed command must live in
/// one group; a command that cannot be queued dooms the transaction, and EXEC then discards it
/// whole, as Redis does after a queue-time error. Pure: no I/O, tested without sockets.
struct Transaction {
    /// The queued requests, in order, as the client sent them.
    private(set) var frames: [ByteBuffer] = []
    /// The group of the first keyed command; nil while only keyless commands are queued.
    private(set) var group: Int?
    /// A queue-time error was answered: EXEC answers EXECABORT and nothing is sent.
    private(set) var isDoomed = false

    /// `group`: the group the client watches keys in, which the transaction must stay in.
    init(group: Int? = nil) {
        self.group = group
        frames.reserveCapacity(4)
    }

    /// Queues `frame`, whose keys live in `keyGroups` (empty for a keyless command). Returns the
    /// group a key lives in instead of the transaction's, when there is one: the command is not
    /// queued, and the transaction is doomed (the caller answers CROSSSLOT).
    mutating func queue(_ frame: ByteBuffer, keyGroups: [Int]) -> Int? {
        for keyGroup in keyGroups {
            if let group, group != keyGroup {
                isDoomed = true
                return keyGroup
            }
            group = keyGroup
        }
        frames.append(frame)
        return nil
    }

    /// A command that cannot run in this transaction: answered with `message`, and EXEC will abort.
    mutating func reject(_ message: String) -> String {
        isDoomed = true
        return message
    }

    /// What EXEC does.
    enum Execution: Equatable {
        /// A queue-time error was answered: nothing is sent.
        case abort
        /// Nothing was queued: Redis answers an empty array.
        case empty
        /// `MULTI`, the queued frames and `EXEC` go to the master of `group` as one block.
        case send(group: Int)
    }

    /// Keyless transactions go to `keylessGroup`.
    func execution(keylessGroup: Int) -> Execution {
        if isDoomed { return .abort }
        if frames.isEmpty { return .empty }
        return .send(group: group ?? keylessGroup)
    }
}
