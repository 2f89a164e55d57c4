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
/// Two or more commands propagated for one command (SPOP's SREMs, a key found expired then the
/// write, EXEC's queue) go out inside MULTI/EXEC, as Redis 7.0 does.
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
    /// What the command running now (with EXEC's whole queue, or one served blocked client) has
    /// propagated so far: Redis 7.0 applies two or more commands propagated for one as a
    /// transaction (`propagatePendingCommands`).
    var scope = Scope()

    struct Scope {
        /// Commands and served clients running (EXEC's queued commands run inside EXEC's).
        var depth = 0
        /// Commands propagated in the outermost one.
        var commands = 0
        /// Where in `pending` the first of them begins (after its SELECT); MULTI goes there.
        var start = 0
        /// Set when its commands go out unwrapped: SCAN and RANDOMKEY, which may expire any keys,
        /// as Redis's `CMD_TOUCHES_ARBITRARY_KEYS`; or a flush in the middle.
        var unwrapped = false
    }

    static let scanID = CommandTable.redis.lookup("scan")?.id
    static let randomKeyID = CommandTable.redis.lookup("randomkey")?.id
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

    /// Before a command: SELECT when the database changes; counts it in the running command's scope.
    private func selectForPropagation(_ database: Int) {
        if propagation.database != database {
            propagation.database = database
            propagation.pending.writeRESPArrayHeader(2)
            propagation.pending.writeRESPBulkString("SELECT")
            propagation.pending.writeRESPBulkString(String(database))
        }
        guard propagation.scope.depth > 0 else { return }
        if propagation.scope.commands == 0 { propagation.scope.start = propagation.pending.writerIndex }
        propagation.scope.commands += 1
    }

    /// A command (or a served blocked client) starts running: what it propagates, with the keys it
    /// finds expired on the way, is one unit until `endPropagationScope()`.
    func beginPropagationScope(_ spec: CommandSpec) {
        propagation.scope.depth += 1
        guard propagation.scope.depth == 1 else { return }
        propagation.scope.commands = 0
        propagation.scope.unwrapped = spec.id == PropagationStream.scanID || spec.id == PropagationStream.randomKeyID
    }

    /// The command started last is done (its effect applied): when it was the outermost, two or
    /// more commands it propagated are wrapped in MULTI/EXEC (SELECT for the first stays before).
    func endPropagationScope() {
        guard propagation.scope.depth > 0 else { return }
        propagation.scope.depth -= 1
        let scope = propagation.scope
        guard scope.depth == 0, scope.commands > 1, !scope.unwrapped, scope.start <= propagation.pending.writerIndex else { return }
        var commands = propagation.pending.getSlice(at: scope.start, length: propagation.pending.writerIndex - scope.start)!
        propagation.pending.moveWriterIndex(to: scope.start)
        propagation.pending.writeRESPArrayHeader(1)
        propagation.pending.writeRESPBulkString("MULTI")
        propagation.pending.writeBuffer(&commands)
        propagation.pending.writeRESPArrayHeader(1)
        propagation.pending.writeRESPBulkString("EXEC")
    }

    /// Hands the pending stream to the AOF and the other consumers (before replies are written).
    func flushPropagation() {
        guard propagation.pending.readableBytes > 0 else { return }
        // A command still running cannot wrap what already went out.
        if propagation.scope.depth > 0 { propagation.scope.unwrapped = true }
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
            // (Several go out as a transaction: `endPropagationScope()`.)
            for command in commands { propagate(database: database, arguments: command) }
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
