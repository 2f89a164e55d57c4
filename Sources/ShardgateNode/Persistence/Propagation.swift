import Commands
import NIOCore
import RESP

/// The node's changes as a stream of commands, in execution order: what the AOF appends and what
/// replicas receive (Redis's `propagate()`).
///
/// What a command propagates is in its `CommandEffect`: the request as sent, or the commands the
/// command itself chose while it ran, where its text would not reproduce its effect when replayed
/// later or elsewhere (Redis 7.0's rewrites: `SET .. EX` → `SET .. PXAT`, EXPIRE → PEXPIREAT,
/// INCRBYFLOAT → `SET .. KEEPTTL`, SPOP → SREM, served blocking pops → LPOP, ...). Keys that
/// expire become DEL. A `SELECT` goes in whenever the database changes.
///
/// Bytes collect in `pending` during a batch of commands and are handed out by
/// `Node.flushPropagation()` before the batch's replies are written, so with `appendfsync always`
/// a client never sees a reply to a write that is not on disk.
final class PropagationStream {
    /// Commands propagated since the last flush, as RESP.
    var pending = ByteBuffer()
    /// The database the stream last selected; -1 makes the next command start with SELECT (a new
    /// AOF file, a new replica).
    var database = -1
    /// Consumers besides the AOF (replication): called with each batch, before replies are written.
    var consumers: [(ByteBuffer) -> Void] = []
    /// Inside EXEC, what is propagated goes between MULTI and EXEC, so that replicas and the AOF
    /// apply the transaction as one.
    var transaction = Transaction.none

    enum Transaction: Equatable {
        case none
        /// EXEC started; nothing propagated yet.
        case begun
        /// MULTI is written (with the transaction's first command).
        case opened
    }
}

extension Node {
    /// True when someone consumes the stream (an AOF being written, replicas); encoding is skipped otherwise.
    var isPropagating: Bool {
        !persistence.loading && (persistence.aof.acceptsWrites || !propagation.consumers.isEmpty)
    }

    /// Appends one command, run in `database`, to the stream.
    func propagate(database: Int, arguments: [[UInt8]]) {
        guard isPropagating else { return }
        selectForPropagation(database)
        propagation.pending.writeRESPArrayHeader(arguments.count)
        for argument in arguments { propagation.pending.writeRESPBulkString(argument) }
    }

    /// Appends a request exactly as the client sent it (with its big argument back in place).
    func propagate(database: Int, request: RESPRequest, big: RESPBigArgument? = nil) {
        guard isPropagating else { return }
        selectForPropagation(database)
        guard let big else {
            propagation.pending.writeImmutableBuffer(request.frame)
            return
        }
        var rest = request.frame
        var before = rest.readSlice(length: Int(request.span(big.index).offset) - 4)!  // `$0\r\n`
        rest.moveReaderIndex(forwardBy: 4)
        propagation.pending.writeBuffer(&before)
        propagation.pending.writeInteger(UInt8(ascii: "$"))
        propagation.pending.writeDecimal(big.bytes.count)
        propagation.pending.writeCRLF()
        propagation.pending.writeBytes(big.bytes)
        propagation.pending.writeBuffer(&rest)
    }

    /// Before a command: SELECT when the database changes, MULTI before a transaction's first one.
    private func selectForPropagation(_ database: Int) {
        if propagation.database != database {
            propagation.database = database
            propagation.pending.writeRESPArrayHeader(2)
            propagation.pending.writeRESPBulkString("SELECT")
            propagation.pending.writeRESPBulkString(String(database))
        }
        if case .begun = propagation.transaction {
            propagation.transaction = .opened
            propagation.pending.writeRESPArrayHeader(1)
            propagation.pending.writeRESPBulkString("MULTI")
        }
    }

    /// EXEC starts running its queue: what its commands propagate is one transaction (as Redis does;
    /// a transaction that propagates nothing leaves no trace).
    func beginPropagatedTransaction() {
        propagation.transaction = .begun
    }

    /// EXEC ran its queue: closes the transaction its commands propagated, if any.
    func endPropagatedTransaction() {
        let transaction = propagation.transaction
        propagation.transaction = .none
        guard case .opened = transaction else { return }
        propagation.pending.writeRESPArrayHeader(1)
        propagation.pending.writeRESPBulkString("EXEC")
    }

    /// Hands the pending stream to the AOF and the other consumers (before replies are written).
    func flushPropagation() {
        guard propagation.pending.readableBytes > 0 else { return }
        let batch = propagation.pending
        if persistence.aof.acceptsWrites { appendToAOF(batch) }
        for consumer in propagation.consumers { consumer(batch) }
        propagation.pending.clear()
    }

    /// Propagates what a command that changed data says it did (from `apply(_:of:)`).
    func propagate(_ propagation: CommandEffect.Propagation, of call: CommandCall) {
        guard isPropagating else { return }
        let database = call.client.database
        switch propagation {
        case .commands(let commands):
            // Several commands for one are applied as one (Redis 7.0's `propagatePendingCommands`),
            // unless they already go inside EXEC's transaction.
            let wrap = commands.count > 1 && self.propagation.transaction == .none
            if wrap {
                beginPropagatedTransaction()
                selectForPropagation(database)
            }
            for command in commands { propagate(database: database, arguments: command) }
            if wrap { endPropagatedTransaction() }
        case .asSent:
            // EXEC, SAVE and the like are no writes themselves (EXEC's commands propagated one by
            // one as they ran).
            guard call.spec.isWrite else { return }
            propagate(database: database, request: call.request, big: call.big)
        }
    }

    /// From `keyExpired`: an expired key's deletion, as DEL in its database.
    func propagateExpiry(_ database: Database, _ key: [UInt8]) {
        guard isPropagating, let index = keyspace.number(of: database) else { return }
        propagate(database: index, arguments: [Array("DEL".utf8), key])
    }
}
