import Commands
import NIOCore
import RESP

/// An error reply a command handler ends with; `message` starts with the error code.
struct CommandError: Error {
    let message: String
    init(_ message: String) { self.message = message }

    static let syntax = CommandError(RedisErrors.syntax)
    static let notInteger = CommandError(RedisErrors.notInteger)
    static let notFloat = CommandError(RedisErrors.notFloat)
    static let wrongType = CommandError(RedisErrors.wrongType)
    static let noSuchKey = CommandError("ERR no such key")
}

/// A command handler: reads its arguments from the call, writes its reply to `call.client` and
/// describes what it changed in `call.effect`. A struct rather than a bare function type: a
/// function kept in an array or a tuple is stored at its most general form and every call goes
/// through conversion thunks (four per command on the registry's path); a struct's field is not.
struct CommandHandler {
    let run: (inout CommandCall) throws(CommandError) -> Void

    init(_ run: @escaping (inout CommandCall) throws(CommandError) -> Void) { self.run = run }
}

/// What a handler sees: the node, the client, the request and its argument positions; and what it
/// fills as it runs: its effect, which the node applies once it returned (`Node.apply(_:of:)`).
struct CommandCall {
    let node: Node
    let client: ClientConnection
    let request: RESPRequest
    let spec: CommandSpec
    let spans: [RESPRequest.ArgumentSpan]
    /// The table hash of argument 1 when the client handler already computed it (to prefetch a
    /// pipelined batch), so the lookup does not hash the key again; nil otherwise.
    var keyHash: UInt32? = nil
    /// A big argument kept out of the request's frame (which holds an empty argument in its place);
    /// only for the commands `Node.bigValueIndex` names, which read it with `bytes`.
    var big: RESPBigArgument? = nil
    /// What the command changed, what to propagate and which keys it modified, so far.
    var effect = CommandEffect()

    var count: Int { request.argumentCount }
    var database: Database { node.keyspace.databases[client.database] }
    var now: Int64 { node.commandTime }

    /// Calls `body` with the bytes of argument `index` (0 is the command name).
    @inline(__always)
    func withArgument<T>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws(CommandError) -> T) throws(CommandError) -> T {
        let range = spans[index].range
        return try request.frame.withUnsafeReadableBytes { (bytes) throws(CommandError) -> T in
            try body(UnsafeRawBufferPointer(rebasing: bytes[range]))
        }
    }

    /// Like `withArgument`, for bodies that cannot fail.
    @inline(__always)
    func argument<T>(_ index: Int, _ body: (UnsafeRawBufferPointer) -> T) -> T {
        let range = spans[index].range
        return request.frame.withUnsafeReadableBytes { body(UnsafeRawBufferPointer(rebasing: $0[range])) }
    }

    /// Argument `index` as an array: a copy, or the big argument itself (shared, not copied).
    func bytes(_ index: Int) -> [UInt8] {
        if let big, big.index == index { return big.bytes }
        return argument(index) { Array($0) }
    }

    /// The request as sent, the big argument included.
    var wholeRequest: RESPRequest {
        guard let big else { return request }
        return request.insertingBigArgument(big)
    }
    func string(_ index: Int) -> String { argument(index) { String(decoding: $0, as: UTF8.self) } }

    /// Case-insensitive comparison with an ASCII option name given in lowercase.
    func matches(_ index: Int, _ option: StaticString) -> Bool {
        argument(index) { $0.matches(option) }
    }

    /// Argument as a 64-bit integer with Redis's strict rules (no spaces, no `+`, no leading zeros).
    func integer(_ index: Int, error: CommandError = .notInteger) throws(CommandError) -> Int {
        guard let value = argument(index, { RedisNumber.parseInteger($0) }) else { throw error }
        return value
    }

    /// Argument as a double (`inf` allowed, `nan` refused), as `getDoubleFromObject` reads it.
    func double(_ index: Int, error: CommandError = .notFloat) throws(CommandError) -> Double {
        guard let value = argument(index, { RedisNumber.parseDouble($0) }) else { throw error }
        return value
    }

    /// Propagates `commands` (each an argument list, run in the client's database) instead of the
    /// request as sent; an empty list propagates nothing. Only takes effect if the command changed
    /// data. The list is built only when the node propagates (an AOF or replicas): a node without
    /// either pays nothing for rewrites.
    /// `commands` gets the call (read-only) to build the list from its arguments.
    mutating func propagate(_ commands: (CommandCall) -> [[[UInt8]]]) {
        guard node.isPropagating else { return }
        effect.propagate(as: commands(self))
    }

    /// The slot of a live key argument in the selected database.
    func find(_ index: Int, touch: Bool = true) -> Int? {
        let database = self.database
        let now = self.now
        let hash = index == 1 ? keyHash : nil
        return argument(index) { database.find($0, hash: hash, now: now, touch: touch) }
    }
}

extension CommandCall {
    /// For a command that writes a reply of any size in a loop (SRANDMEMBER -n and the like): hands
    /// what is gathered to the channel as it grows and checks the client's output limit, as
    /// `Node.repliesGrew` does between commands. True when the client was closed for its limit:
    /// the loop stops (the client will never read the rest, as in Redis). Without a limit the reply
    /// keeps growing, as in Redis; it never has to fit one 4 GiB buffer.
    func replyMustStop() -> Bool {
        guard client.reply.readableBytes >= ClientConnection.handOffBytes else { return false }
        node.repliesGrew(client)
        return client.closedForOutputLimit
    }
}

extension UnsafeRawBufferPointer {
    /// Case-insensitive comparison with an ASCII name given in lowercase (`| 0x20` folds letters;
    /// the names compared this way hold no punctuation it would confuse).
    func matches(_ name: StaticString) -> Bool {
        guard count == name.utf8CodeUnitCount else { return false }
        let expected = UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
        for i in 0..<count where self[i] | 0x20 != expected[i] | 0x20 { return false }
        return true
    }
}
