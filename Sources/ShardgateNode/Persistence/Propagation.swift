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
/// PUBLISH and SPUBLISH go to replicas only, not to the AOF (Redis's `PROPAGATE_REPL`): their bytes
/// are marked in `exclusive`, and each destination keeps its own selected database.
///
/// Bytes collect in `pending` during a batch of commands and are handed out by
/// `Node.flushPropagation()` before the batch's replies are written, so with `appendfsync always`
/// a client never sees a reply to a write that is not on disk.
final class PropagationStream {
    /// Commands propagated since the last flush, as RESP.
    var pending = ByteBuffer()
    /// The database the replicas' stream last selected; -1 makes the next command start with
    /// SELECT (a new replica).
    var database = -1
    /// The same for the AOF (-1: a new AOF file).
    var aofDatabase = -1
    /// Ranges of `pending` that only one destination receives (a replica-only PUBLISH, or the
    /// SELECT that only one destination needed), in order.
    var exclusive: [(range: Range<Int>, forReplicas: Bool)] = []

    /// `pending` as one destination receives it: without the other destination's exclusive ranges.
    func batch(forReplicas: Bool) -> ByteBuffer {
        guard exclusive.contains(where: { $0.forReplicas != forReplicas }) else { return pending }
        var result = ByteBuffer()
        result.reserveCapacity(pending.readableBytes)
        var position = pending.readerIndex
        for (range, owner) in exclusive where owner != forReplicas {
            if range.lowerBound > position { result.writeImmutableBuffer(pending.getSlice(at: position, length: range.lowerBound - position)!) }
            position = range.upperBound
        }
        if pending.writerIndex > position { result.writeImmutableBuffer(pending.getSlice(at: position, length: pending.writerIndex - position)!) }
        return result
    }
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
        selectForPropagation(database, replicasOnly: false)
        propagation.pending.writeRESPArrayHeader(arguments.count)
        for argument in arguments { propagation.pending.writeRESPBulkString(argument) }
    }

    /// Appends a request exactly as the client sent it (with its big argument back in place);
    /// `replicasOnly`: not for the AOF.
    func propagate(database: Int, request: RESPRequest, big: RESPBigArgument? = nil, replicasOnly: Bool = false) {
        guard isPropagating else { return }
        selectForPropagation(database, replicasOnly: replicasOnly)
        let start = propagation.pending.writerIndex
        defer {
            if replicasOnly { propagation.exclusive.append((start..<propagation.pending.writerIndex, forReplicas: true)) }
        }
        guard let big else {
            propagation.pending.writeImmutableBuffer(request.frame)
            return
        }
        var rest = request.frame
        var before = rest.readSlice(length: Int(request.span(big.index).offset) - 4)!  // `$0\r\n`
        rest.moveReaderIndex(forwardBy: 4)
        propagation.pending.writeBuffer(&before)
        propagation.pending.writeRESPHeader(UInt8(ascii: "$"), big.bytes.count)
        propagation.pending.writeBytes(big.bytes)
        propagation.pending.writeBuffer(&rest)
    }

    /// Before a command: SELECT for each destination whose database differs (once for both when
    /// both need it); counts the command in the running command's scope.
    private func selectForPropagation(_ database: Int, replicasOnly: Bool) {
        let replicasNeed = propagation.database != database
        let aofNeeds = !replicasOnly && propagation.aofDatabase != database
        if replicasNeed || aofNeeds {
            let start = propagation.pending.writerIndex
            propagation.pending.writeRESPArrayHeader(2)
            propagation.pending.writeRESPBulkString("SELECT")
            propagation.pending.writeRESPBulkString(String(database))
            if replicasNeed != aofNeeds {
                propagation.exclusive.append((start..<propagation.pending.writerIndex, forReplicas: replicasNeed))
            }
            propagation.database = database
            if !replicasOnly { propagation.aofDatabase = database }
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
        // Exclusive ranges inside the transaction move behind the MULTI.
        let shift = propagation.pending.writerIndex - scope.start
        for index in propagation.exclusive.indices where propagation.exclusive[index].range.lowerBound >= scope.start {
            let range = propagation.exclusive[index].range
            propagation.exclusive[index].range = (range.lowerBound + shift)..<(range.upperBound + shift)
        }
        propagation.pending.writeBuffer(&commands)
        propagation.pending.writeRESPArrayHeader(1)
        propagation.pending.writeRESPBulkString("EXEC")
    }

    /// Hands the pending stream to the AOF and the other consumers (before replies are written).
    func flushPropagation() {
        guard propagation.pending.readableBytes > 0 else { return }
        // A command still running cannot wrap what already went out.
        if propagation.scope.depth > 0 { propagation.scope.unwrapped = true }
        if persistence.aof.acceptsWrites { appendToAOF(propagation.batch(forReplicas: false)) }
        if !propagation.consumers.isEmpty {
            let batch = propagation.batch(forReplicas: true)
            for consumer in propagation.consumers { consumer(batch) }
        }
        propagation.pending.clear()
        propagation.exclusive.removeAll(keepingCapacity: true)
    }

    /// Propagates what a command that changed data says it did (from `apply(_:of:)`, only while
    /// `isPropagating`).
    func propagate(_ propagation: CommandEffect.Propagation, of call: CommandCall) {
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
        case .asSentToReplicas:
            // As Redis's `shouldPropagate`: only a master that keeps a replication stream (a
            // backlog) records it; otherwise it is not there at all (no MULTI/EXEC for it either).
            guard !self.propagation.consumers.isEmpty, replication.link == nil else { return }
            propagate(database: database, request: call.request, big: call.big, replicasOnly: true)
        }
    }

    /// From `keyExpired`: an expired key's deletion, as DEL in its database.
    func propagateExpiry(_ database: Database, _ key: [UInt8]) {
        guard isPropagating, let index = keyspace.number(of: database) else { return }
        propagate(database: index, arguments: [Array("DEL".utf8), key])
    }
}
