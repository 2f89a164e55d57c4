import Commands
import NIOCore
import RESP

/// The node's changes as a stream of commands, in execution order: what the AOF appends and what
/// replicas receive (Redis's `propagate()`).
///
/// A command that changed data is propagated as it was sent, except where its text would not
/// reproduce its effect when replayed later or elsewhere (Redis 7.0's rewrites): relative expiry
/// becomes absolute (`SET .. EX` → `SET .. PXAT`, `SETEX`/`PSETEX` → `SET .. PXAT`,
/// `EXPIRE`/`PEXPIRE`/`EXPIREAT`/`GETEX EX` → `PEXPIREAT`), `INCRBYFLOAT` becomes `SET .. KEEPTTL`,
/// an expiry in the past becomes `DEL`, and keys that expire become `DEL`. A `SELECT` goes in
/// whenever the database changes. Commands whose effect is not their text (SPOP, random picks,
/// served blocking pops) say what to propagate with `CommandCall.propagate(as:)`.
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
    /// A command's own list of what to propagate instead of its text (see `CommandCall.propagate(as:)`).
    var override: (command: Int, commands: [[[UInt8]]])?
}

extension CommandCall {
    /// Propagates `commands` (each an argument list, in the client's database) instead of this
    /// command's text; an empty list propagates nothing. Call it only when the command changed data.
    func propagate(as commands: [[[UInt8]]]) {
        let stream = node.propagation
        let mark = node.stats.commandsProcessed
        if let override = stream.override, override.command == mark {
            stream.override!.commands += commands
        } else {
            stream.override = (mark, commands)
        }
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

    private func selectForPropagation(_ database: Int) {
        guard propagation.database != database else { return }
        propagation.database = database
        propagation.pending.writeRESPArrayHeader(2)
        propagation.pending.writeRESPBulkString("SELECT")
        propagation.pending.writeRESPBulkString(String(database))
    }

    /// Hands the pending stream to the AOF and the other consumers (before replies are written).
    func flushPropagation() {
        guard propagation.pending.readableBytes > 0 else { return }
        let batch = propagation.pending
        if persistence.aof.acceptsWrites { appendToAOF(batch) }
        for consumer in propagation.consumers { consumer(batch) }
        propagation.pending.clear()
    }

    /// From `commandChangedData`: propagates the command that just ran, rewritten where needed.
    func propagateCommand(_ call: CommandCall) {
        let override = propagation.override
        propagation.override = nil
        guard isPropagating else { return }
        let database = call.client.database
        if let override, override.command == stats.commandsProcessed - 1 {
            for command in override.commands { propagate(database: database, arguments: command) }
            return
        }
        // EXEC, SAVE and the like move `dirty` without being writes themselves (EXEC's commands
        // propagated one by one as they ran).
        guard call.spec.isWrite else { return }
        if let commands = Self.rewrite(call) {
            for command in commands { propagate(database: database, arguments: command) }
        } else {
            propagate(database: database, request: call.request, big: call.big)
        }
    }

    /// From `keyExpired`: an expired key's deletion, as DEL in its database.
    func propagateExpiry(_ database: Database, _ key: [UInt8]) {
        guard isPropagating, let index = databases.firstIndex(where: { $0 === database }) else { return }
        propagate(database: index, arguments: [Array("DEL".utf8), key])
    }

    /// What to propagate instead of the request's text, or nil to propagate it as sent.
    static func rewrite(_ call: CommandCall) -> [[[UInt8]]]? {
        switch call.spec {
        case "set":
            var expiry = false, get = false
            for index in 3..<max(3, call.count) {
                if call.matches(index, "ex") || call.matches(index, "px") || call.matches(index, "exat")
                    || call.matches(index, "pxat")
                {
                    expiry = true
                } else if call.matches(index, "get") {
                    get = true
                }
            }
            if expiry { return absoluteSet(call) }
            if get {
                return [(0..<call.count).filter { $0 < 3 || !call.matches($0, "get") }.map { call.bytes($0) }]
            }
            return nil
        case "setex", "psetex":
            return absoluteSet(call)
        case "expire", "pexpire", "expireat", "pexpireat", "getex":
            let key = call.bytes(1)
            guard let deadline = currentDeadline(call, key) else { return [[Array("DEL".utf8), key]] }
            if deadline == 0 { return call.spec.isNamed("getex") ? [[Array("PERSIST".utf8), key]] : nil }
            return [[Array("PEXPIREAT".utf8), key, Array(String(deadline).utf8)]]
        case "incrbyfloat":
            let key = call.bytes(1)
            guard let slot = call.database.find(key, now: Int64.min), case .string(let value) = call.database.value(at: slot)
            else { return nil }
            return [[Array("SET".utf8), key, value, Array("KEEPTTL".utf8)]]
        default:
            return nil
        }
    }

    /// `SET key value PXAT deadline` from the key's state after the command (DEL when it is gone).
    private static func absoluteSet(_ call: CommandCall) -> [[[UInt8]]] {
        let key = call.bytes(1)
        guard let deadline = currentDeadline(call, key), case .string(let value)? = currentValue(call, key) else {
            return [[Array("DEL".utf8), key]]
        }
        if deadline == 0 { return [[Array("SET".utf8), key, value]] }
        return [[Array("SET".utf8), key, value, Array("PXAT".utf8), Array(String(deadline).utf8)]]
    }

    /// The key's expiry after the command (0: none), nil when the key is gone. Does not expire it.
    private static func currentDeadline(_ call: CommandCall, _ key: [UInt8]) -> Int64? {
        guard let slot = call.database.find(key, now: Int64.min) else { return nil }
        return call.database.expireAt(slot: slot)
    }

    private static func currentValue(_ call: CommandCall, _ key: [UInt8]) -> Value? {
        guard let slot = call.database.find(key, now: Int64.min) else { return nil }
        return call.database.value(at: slot)
    }
}
