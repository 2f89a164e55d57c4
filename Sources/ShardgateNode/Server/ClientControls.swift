import Commands
import NIOCore
import RESP

/// CLIENT REPLY's state: which replies of a client are thrown away.
enum ReplyMode {
    case on
    /// Every reply (CLIENT REPLY OFF).
    case off
    /// CLIENT REPLY SKIP just ran: the next command's reply will be skipped.
    case skipNext
    /// This command's reply is skipped.
    case skip
}

/// CLIENT PAUSE: until when, which commands, and the clients whose command waits meanwhile.
struct ClientPause {
    /// Unix ms when the pause ends; 0 when not paused.
    var end: Int64 = 0
    /// WRITE pauses only commands that write or may replicate; ALL pauses every command.
    var writesOnly = false
    /// Clients holding a postponed command, in the order they were paused.
    var waiting: [ClientConnection] = []
    /// Scheduled end of the pause.
    var timer: Scheduled<Void>?

    var isActive: Bool { end != 0 }
}

/// A request held back by CLIENT PAUSE, run when the pause ends.
struct PostponedRequest {
    var request: RESPRequest
    var keyHash: UInt32?
    var big: RESPBigArgument?
}

extension Node {
    /// Runs a request from a client, honouring CLIENT REPLY: a silenced client's reply is cut off
    /// once the command ran (pub/sub confirmations, which are pushes, excepted).
    func process(_ request: RESPRequest, from client: ClientConnection, keyHash: UInt32? = nil, big: RESPBigArgument? = nil) {
        let mode = client.flags.replyMode
        let start = client.reply.writerIndex
        execute(request, from: client, keyHash: keyHash, big: big)
        defer { if !tracking.isEmpty || !tracking.pending.isEmpty { trackingRequestFinished(client, request) } }
        if mode == .on && client.flags.replyMode == .on { return }
        // CLIENT REPLY ON answers although replies were off.
        if (mode == .off || mode == .skip) && client.flags.replyMode != .on && client.reply.writerIndex >= start
            && !Self.repliesArePushes(request)
        {
            client.reply.moveWriterIndex(to: start)
        }
        switch client.flags.replyMode {
        case .skip: client.flags.replyMode = .on
        case .skipNext: client.flags.replyMode = .skip
        case .on, .off: break
        }
    }

    private static let pushingCommands: Set<Int> = Set(
        ["subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe"].compactMap {
            CommandTable.redis.lookup($0)?.id
        })

    private static func repliesArePushes(_ request: RESPRequest) -> Bool {
        guard let spec = CommandTable.redis.resolve(request)?.spec else { return false }
        return pushingCommands.contains(spec.id)
    }

    /// Whether clients are paused now (a pause past its end is over, even before its timer ran).
    var clientsArePaused: Bool {
        clients.pause.isActive && clients.pause.end >= now
    }

    /// Holds `request` back when a CLIENT PAUSE covers it: the client counts as blocked, reads no
    /// further requests, and its command runs when the pause ends. Replicas are never paused; nor
    /// is this replica's link to its master (Redis pauses it too; here its stream is applied in one
    /// loop that cannot wait, so a replica keeps applying its master's writes during a pause).
    func postponeIfPaused(
        _ request: RESPRequest, spec: CommandSpec, client: ClientConnection, keyHash: UInt32?, big: RESPBigArgument?
    ) -> Bool {
        guard clientsArePaused, !client.flags.isReplica, !client.flags.isMaster else { return false }
        if clients.pause.writesOnly && !mayReplicate(spec, request: request, client: client) { return false }
        client.postponed = PostponedRequest(request: request, keyHash: keyHash, big: big)
        client.flags.isBlocked = true
        clients.pause.waiting.append(client)
        return true
    }

    /// A command that writes or may replicate (PUBLISH, PFCOUNT, ...); EXEC when its queue holds one.
    /// A script that declares its flags (a `#!lua` shebang, a function) writes unless `no-writes`.
    private func mayReplicate(_ spec: CommandSpec, request: RESPRequest, client: ClientConnection) -> Bool {
        if let writes = declaredScriptWrites(spec, request) { return writes }
        if Self.writesOrMayReplicate(spec) { return true }
        guard spec.id == Self.execID, let queued = client.flags.queued else { return false }
        return queued.contains { queuedRequest in
            guard let queuedSpec = CommandTable.redis.resolve(queuedRequest)?.spec else { return false }
            return declaredScriptWrites(queuedSpec, queuedRequest) ?? Self.writesOrMayReplicate(queuedSpec)
        }
    }

    /// Whether an EVAL, EVALSHA or FCALL writes by its script's declared flags (Redis's
    /// `scriptFlagsToCmdFlags`); nil for other commands and for scripts without declared flags.
    private func declaredScriptWrites(_ spec: CommandSpec, _ request: RESPRequest) -> Bool? {
        guard request.argumentCount > 1 else { return nil }
        let flags: ScriptFlags?
        switch spec {
        case "eval":
            let body = request.withArgument(1) { Array($0) }
            guard body.starts(with: Array("#!".utf8)), case .success(let parsed) = ScriptFlags.parseShebang(body) else { return nil }
            flags = parsed
        case "evalsha":
            flags = scripts.scripts[request.string(1).lowercased()]?.flags ?? nil
        case "fcall":
            flags = functions.function(named: request.string(1))?.flags
        default:
            return nil
        }
        return flags.map { !$0.contains(.noWrites) }
    }

    static func writesOrMayReplicate(_ spec: CommandSpec) -> Bool {
        spec.flags.contains(.write) || spec.flags.contains(.mayReplicate) || mayReplicateIDs.contains(spec.id)
    }

    private static let execID = CommandTable.redis.lookup("exec")?.id

    /// Redis's MAY_REPLICATE commands (a flag COMMAND INFO does not show, so the generated table
    /// lacks it).
    private static let mayReplicateIDs: Set<Int> = Set(
        ["eval", "evalsha", "fcall", "pfcount", "publish", "spublish"].compactMap { CommandTable.redis.lookup($0)?.id })

    /// CLIENT PAUSE: pauses until `end` (never shortening a pause, never making it less strict).
    /// Keys neither expire nor get evicted meanwhile, as in Redis.
    func pauseClients(until end: Int64, writesOnly: Bool) {
        if clients.pause.isActive {
            clients.pause.end = max(clients.pause.end, end)
            clients.pause.writesOnly = clients.pause.writesOnly && writesOnly
        } else {
            clients.pause.end = end
            clients.pause.writesOnly = writesOnly
        }
        for database in keyspace.databases { database.deletesExpiredKeys = false }
        clients.pause.timer?.cancel()
        let node = NIOLoopBound(self, eventLoop: loop)
        clients.pause.timer = loop.scheduleTask(in: .milliseconds(max(0, clients.pause.end - now) + 1)) {
            let node = node.value
            if node.clients.pause.isActive && node.clients.pause.end < node.now { node.unpauseClients() }
        }
    }

    /// Ends the pause (CLIENT UNPAUSE, or its time is up): the postponed commands run in the order
    /// they arrived, each client then going on with the requests it sent meanwhile.
    func unpauseClients() {
        guard clients.pause.isActive else { return }
        clients.pause.timer?.cancel()
        clients.pause = ClientPause(waiting: clients.pause.waiting)
        for database in keyspace.databases { database.deletesExpiredKeys = !isReplica }
        let node = NIOLoopBound(self, eventLoop: loop)
        // After the running command, as Redis reprocesses unblocked clients before sleeping.
        loop.execute { node.value.runPostponed() }
    }

    private func runPostponed() {
        while !clients.pause.waiting.isEmpty && !clientsArePaused {
            let client = clients.pause.waiting.removeFirst()
            guard let postponed = client.postponed, clients.connected[client.id] === client else { continue }
            client.postponed = nil
            client.flags.isBlocked = false
            process(postponed.request, from: client, keyHash: postponed.keyHash, big: postponed.big)
            repliesGrew(client)
            if !client.flags.isBlocked { client.resume?() }
            scheduleFlush(client)
        }
    }

    /// A paused client went away.
    func forgetPostponed(_ client: ClientConnection) {
        guard client.postponed != nil else { return }
        client.postponed = nil
        clients.pause.waiting.removeAll { $0 === client }
    }
}
