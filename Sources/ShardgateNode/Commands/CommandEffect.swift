/// What a command did, described by the command itself while it runs, with the arguments it
/// already parsed; `Node.apply(_:of:)` carries it out once the command returned (Redis's `call()`
/// after the command procedure: dirty counted, then propagation, then blocked clients served).
///
/// A command that fails (throws) leaves whatever it described so far; only what happened before
/// the error counts, as in Redis, where a command that errors out usually changed nothing.
struct CommandEffect: Equatable {
    /// Changes to the dataset (Redis's `server.dirty` increment): they count toward save points,
    /// and a command without any propagates nothing and touches no key, unless `forcesPropagation`.
    var dirty = 0
    /// The command reaches the AOF and replicas although it changed nothing (Redis's
    /// `forceCommandPropagation`: FLUSHALL or FLUSHDB on empty databases).
    var forcesPropagation = false
    /// What the AOF and replicas receive for the command (rewrites are only described while the
    /// node propagates: see `CommandCall.propagate(_:)`).
    var propagation = Propagation.asSent
    /// Which keys changed, for WATCH and for the clients blocked on them.
    var modifiedKeys = ModifiedKeys.writtenArguments
    /// Keys changed besides `modifiedKeys`: MOVE's and COPY .. DB's key in the other database.
    var otherModifiedKeys: [DatabaseKey] = []

    /// A key in a given database.
    struct DatabaseKey: Equatable {
        var database: Int
        var key: [UInt8]
    }

    /// What to propagate.
    enum Propagation: Equatable {
        /// The request as the client sent it (only a write command propagates itself this way).
        case asSent
        /// These commands instead, in order, each an argument list run in the client's database
        /// (SET .. PXAT for SET .. EX, SREM for SPOP, ...); an empty list propagates nothing.
        case commands([[[UInt8]]])
        /// The request as sent, to replicas only (PUBLISH, SPUBLISH; set with `forcesPropagation`).
        case asSentToReplicas
    }

    /// Which keys a change covers.
    enum ModifiedKeys: Equatable {
        /// The key arguments the command writes, as its key specs tell them from the keys it only
        /// reads, in the client's database (most commands).
        case writtenArguments
        /// Every key of these databases (FLUSHDB, FLUSHALL).
        case flushed([Int])
        /// Every key of two databases that traded places (SWAPDB).
        case swapped(Int, Int)
    }

    /// Whether the command changed data, or must be propagated as if it had.
    var changedData: Bool { dirty > 0 || forcesPropagation }

    /// Propagates `commands` instead of the request's text, after what was already chosen this way.
    mutating func propagate(as commands: [[[UInt8]]]) {
        if case .commands(let earlier) = propagation {
            propagation = .commands(earlier + commands)
        } else {
            propagation = .commands(commands)
        }
    }

    /// A key of another database than the client's changed.
    mutating func modified(database: Int, key: [UInt8]) {
        otherModifiedKeys.append(DatabaseKey(database: database, key: key))
    }
}
