#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import Commands
import Logging
import NIOCore
import RESP
import RedisText

/// The data node's whole state: the databases, the connected clients, settings and counters.
///
/// Confined to the node's single event loop, as Redis is to its main thread: commands run one at a
/// time against plain data structures, without locks.
final class Node {
    var settings: NodeSettings
    let configFile: String?
    let loop: any EventLoop
    /// When the cron last ran its once-a-second work (idle clients).
    var lastSecondlyCron: Int64 = 0
    /// DEBUG PAUSE-CRON 1: the cron does nothing until resumed.
    var cronPaused = false
    /// Its level follows `loglevel`, also when CONFIG SET changes it.
    var logger: Logger
    /// The databases: keys, values, expiry.
    let keyspace: Keyspace
    /// Connected clients, their subscriptions, WATCHes, waits and MONITOR.
    let clients = ClientRegistry()
    var stats = NodeStats()
    /// Error replies by code (INFO errorstats), counted by every client as it writes one.
    let errorReplies = ErrorReplyStats()
    let startedAt: Int64
    let runID: String
    /// ACL users and the ACL log.
    let access: AccessControl
    /// Command name → handler, and the checks made before anything else (arity, unknown commands).
    private(set) var dispatch = CommandDispatch()
    /// `prefetchKeys`'s scratch: the first keys of a batch's script calls.
    private var scriptKeyHashes: [UInt32?] = []
    /// Closes the listeners and stops the node (SHUTDOWN); set by the server.
    var shutdownHandler: (() -> Void)?
    /// Listens on a new port and `bind` list and closes the old listeners (CONFIG SET port/bind);
    /// returns why it could not, leaving the old ones. Set by the server; given the node, so that it
    /// does not hold the node itself.
    var rebindListeners: ((Node, _ new: (port: Int, bind: [String]), _ old: (port: Int, bind: [String])) -> String?)?
    /// Memory accounting and eviction (`maxmemory`).
    let memory = MemoryState()
    let replication = ReplicationState()
    /// Bound listening port (for INFO `tcp_port` when configured as 0).
    var boundPort = 0
    /// Snapshots, the append-only file and the child process writing them.
    let persistence: PersistenceState
    /// Changes as commands, for the AOF and replicas.
    let propagation = PropagationStream()
    /// SLOWLOG and the latency monitor.
    let monitoring = CommandMonitoring()
    /// The script running past `busy-reply-threshold`, while it runs: commands without the
    /// allow-busy flag are refused.
    var busyScript: ScriptEngine?
    /// The Lua state of EVAL scripts, made on first use (SCRIPT FLUSH replaces it).
    lazy var scripts = ScriptEngine(node: self, chunkName: "user_script")
    /// The Lua state of function libraries (FUNCTION LOAD), made on first use.
    lazy var functions = ScriptEngine(node: self, chunkName: "user_function")
    /// Client-side caching (CLIENT TRACKING).
    let tracking = TrackingTable()
    /// MIGRATE's connections to its targets.
    let migrateSockets = MigrateSockets()

    init(settings: NodeSettings, configFile: String?, loop: any EventLoop, logger: Logger) {
        self.settings = settings
        self.configFile = configFile
        self.loop = loop
        self.logger = logger
        self.keyspace = Keyspace(count: settings.databases)
        self.access = AccessControl(requirePass: settings.requirePass)
        self.persistence = PersistenceState(aof: AppendOnlyFile(
            directory: "\(settings.directory)/\(settings.appendDirname)", prefix: settings.appendFilename, loop: loop))
        let now = Clock.milliseconds()
        self.startedAt = now
        self.runID = Self.randomHex(40)
        persistence.lastSaveTime = now
        for database in keyspace.databases { watchExpiry(database) }
        loadUsers()
    }

    /// Routes a database's expired keys to `keyExpired` (counting, propagation as DEL).
    func watchExpiry(_ database: Database) {
        database.onExpired = { [unowned self] database, key in keyExpired(database, key) }
        updateNewKeyHook(database)
    }

    /// Unix time in milliseconds.
    var now: Int64 { Clock.milliseconds() }
    /// The running command's time (see `CommandClock`).
    private(set) var clock = CommandClock()
    /// Unix milliseconds when the running command started: what its expiry checks compare with.
    var commandTime: Int64 { clock.commandTime }
    /// While a script runs, its commands keep the script's `commandTime`, as Redis freezes the time
    /// a script sees (`CommandClock.freeze`).
    func freezeCommandTime() { clock.freeze() }
    func thawCommandTime() { clock.thaw() }

    func refreshWallClockOffset() { clock.refresh() }
    /// A client handler starts and ends running its parsed requests (`CommandClock.beginBatch`).
    func beginBatch() { clock.beginBatch() }
    func endBatch() { clock.endBatch() }

    static func randomHex(_ count: Int) -> String {
        let digits = Array("0123456789abcdef")
        return String((0..<count).map { _ in digits[Int.random(in: 0..<16)] })
    }

    // MARK: - Clients

    func register(channel: any Channel) -> ClientConnection {
        let client = ClientConnection(
            id: clients.allocateID(), channel: channel, authenticated: access.defaultUser.noPass && access.defaultUser.enabled, now: now)
        client.errorStats = errorReplies
        clients.connected[client.id] = client
        stats.connectionsReceived += 1
        return client
    }

    func unregister(_ client: ClientConnection) {
        clients.connected[client.id] = nil
        clientWillClose(client)
        releaseBacklogMemory(of: client)
    }

    /// Writes `client`'s pending replies at the end of this event-loop tick, after every readable
    /// client has been read (Redis's `beforeSleep` writing replies): one write per client per tick,
    /// and the AOF and replicas are fed before any reply leaves. Replies to a client's own requests
    /// and those produced elsewhere (pub/sub messages, unblocked commands, MONITOR) go the same way.
    func scheduleFlush(_ client: ClientConnection) {
        guard clients.queueFlush(client) else { return }
        // Held strongly until the flush runs: a weak reference would give the node a side table,
        // and every retain of it (several per command) would take the slow path.
        let node = NIOLoopBound(self, eventLoop: loop)
        loop.execute { node.value.flushPending() }
    }

    private func flushPending() {
        clients.flushQueued(prepare: beforeReplies) { client in
            if !enforceOutputBufferLimit(client) { client.flush() }
        }
    }

    // MARK: - Executing commands

    /// What a request names: the handler to run, or Redis's error for it (`CommandDispatch.resolve`).
    func resolve(_ request: RESPRequest) -> CommandDispatch.Resolution { dispatch.resolve(request) }

    /// Hashes the second argument (the key, for most commands) of each of a client's pipelined
    /// requests into `hashes` (nil for a request without one), and warms the table memory those
    /// lookups will read before any of them runs. The hashes go with each request to `execute`, so
    /// no key is hashed twice. A hint: a second argument that is no key, or a SELECT in between,
    /// only wastes a prefetch.
    ///
    /// A script call's (EVAL, EVALSHA, FCALL) second argument is its script, so its first key is
    /// warmed instead, and its hash is not passed on: the commands the script runs look it up.
    func prefetchKeys(of requests: [RESPRequest], database: Int, hashes: inout [UInt32?]) {
        hashes.removeAll(keepingCapacity: true)
        scriptKeyHashes.removeAll(keepingCapacity: true)
        for request in requests {
            if let keyIndex = Self.scriptFirstKeyIndex(request) {
                hashes.append(nil)
                scriptKeyHashes.append(request.withArgument(keyIndex) { KeyTable<Entry>.hash($0) })
            } else {
                hashes.append(request.argumentCount > 1 ? request.withArgument(1) { KeyTable<Entry>.hash($0) } : nil)
            }
        }
        keyspace.databases[database].prefetch(hashes: hashes)
        if !scriptKeyHashes.isEmpty { keyspace.databases[database].prefetch(hashes: scriptKeyHashes) }
    }

    /// Where the first key of an EVAL, EVALSHA, FCALL (or read-only form) with at least one key is.
    private static func scriptFirstKeyIndex(_ request: RESPRequest) -> Int? {
        guard request.argumentCount > 3 else { return nil }
        let isScriptCall = request.withArgument(0) { name -> Bool in
            switch name.first.map({ $0 | 0x20 }) {
            case UInt8(ascii: "e"):
                return name.matches("evalsha") || name.matches("eval") || name.matches("evalsha_ro") || name.matches("eval_ro")
            case UInt8(ascii: "f"):
                return name.matches("fcall") || name.matches("fcall_ro")
            default:
                return false
            }
        }
        guard isScriptCall, let keys = request.withArgument(2, { RedisInteger.parse($0) }), keys > 0 else { return nil }
        return 3
    }

    /// Runs one request from `client`, writing its reply into `client.reply`. `keyHash`: the table
    /// hash of argument 1, when `prefetchKeys` computed it.
    /// `big` is a big argument the client handler collected apart from the request's frame.
    func execute(
        _ request: RESPRequest, from client: ClientConnection, keyHash: UInt32? = nil, big: RESPBigArgument? = nil
    ) {
        if let argument = big, !keepsApart(argument, of: request, client: client) {
            return execute(request.insertingBigArgument(argument), from: client, keyHash: keyHash)
        }
        let handler: CommandHandler
        let spec: CommandSpec
        switch resolve(request) {
        case .run(let resolvedHandler, let resolvedSpec):
            (handler, spec) = (resolvedHandler, resolvedSpec)
        case .refuse(let message, let rejected):
            if let rejected { stats.commandRejections[rejected] += 1 }
            if rejected == nil && CrossProtocolGuard.isHTTPLine(request.string(0)) {
                logger.warning("closing \(client.remoteAddress): it sent an HTTP request line (cross-protocol scripting?)")
                client.closeAfterReply = true
                return
            }
            return reject(client, message, command: rejected)
        }
        // DEBUG is a protected command (the flag COMMAND INFO does not show): refused unless
        // `enable-debug-command` allows it, before authentication, as Redis does.
        if spec.id == Self.debugID && !Self.allowsProtectedAction(settings.enableDebugCommand, client: client) {
            stats.commandRejections[spec.id] += 1
            return reject(client, Self.debugNotAllowed, command: spec.id)
        }
        if !client.authenticated && !spec.flags.contains(.noAuth) {
            stats.commandRejections[spec.id] += 1
            return reject(client, RedisErrors.noAuth, command: spec.id)
        }
        // ACL: one branch for a user allowed everything (the default user unless restricted).
        if !(client.user ?? access.defaultUser).unrestricted, let refusal = aclRefusal(spec, request: request, client: client) {
            stats.commandRejections[spec.id] += 1
            return reject(client, refusal, command: spec.id)
        }
        if let busy = busyScript, !spec.flags.contains(.allowBusy) {
            stats.commandRejections[spec.id] += 1
            return reject(client, busy.busyError, command: spec.id)
        }
        // SYNC, PSYNC, SAVE, SHUTDOWN, MONITOR, ... cannot be queued (Redis's CMD_NO_MULTI).
        if client.flags.queued != nil && spec.flags.contains(.noMulti) {
            stats.commandRejections[spec.id] += 1
            return reject(client, "ERR Command not allowed inside a transaction", command: spec.id)
        }
        if tracking.keys.count > settings.trackingTableMaxKeys && settings.trackingTableMaxKeys > 0 { limitTrackingTable() }
        if settings.maxMemory > 0,
            let refusal = memoryAdmissionError(spec, client: client, requestBytes: request.frame.readableBytes)
        {
            stats.commandRejections[spec.id] += 1
            // (An EXEC refused here was already discarded with its EXECABORT text.)
            return reject(client, refusal)
        }
        if clients.pause.isActive && postponeIfPaused(request, spec: spec, client: client, keyHash: keyHash, big: big) { return }
        if client.flags.queued != nil && !Self.runsInsideMulti.contains(spec.id) {
            client.flags.queued!.append(request)
            client.reply.writeStaticString("+QUEUED\r\n")
            return
        }
        if client.flags.subscriptionCount > 0 && client.protocolVersion == 2 && !Self.allowedWhileSubscribed.contains(spec.id) {
            stats.commandRejections[spec.id] += 1
            return client.error(
                "ERR Can't execute '\(spec.name)': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
        }
        if let refusal = admissionError(spec, client: client) {
            stats.commandRejections[spec.id] += 1
            // A refused EXEC discards its transaction (EXECABORT).
            return reject(client, refusal, command: spec.id)
        }
        run(handler, spec: spec, request: request, client: client, keyHash: keyHash, big: big)
    }

    /// Whether a big argument can stay out of the request's frame while the command runs: only as
    /// the value of a command that stores it (read with `CommandCall.bytes`, which hands the array
    /// itself over, or by APPEND, which reads it from `CommandCall.big`), run now (not queued by MULTI) and not shown to MONITOR clients. Everything
    /// else gets the request as sent, which copies the argument.
    private func keepsApart(_ big: RESPBigArgument, of request: RESPRequest, client: ClientConnection) -> Bool {
        guard big.index >= 2, client.flags.queued == nil, clients.monitors.isEmpty else { return false }
        switch request.string(0).lowercased() {
        case "set", "setnx", "getset", "append": return big.index == 2
        case "setex", "psetex": return big.index == 3
        case "mset", "msetnx": return big.index % 2 == 0
        default: return false
        }
    }

    /// Runs a resolved, admitted command (also how EXEC runs its queue). `spansCollected`: the
    /// caller built the request and put its argument spans in `client.spans` already.
    func run(
        _ handler: CommandHandler, spec: CommandSpec, request: RESPRequest, client: ClientConnection, keyHash: UInt32? = nil,
        big: RESPBigArgument? = nil, spansCollected: Bool = false
    ) {
        if !spansCollected {
            client.spans.removeAll(keepingCapacity: true)
            request.collectSpans(into: &client.spans)
        }
        var call = CommandCall(
            node: self, client: client, request: request, spec: spec, spans: client.spans, keyHash: keyHash, big: big)
        let started = clock.startCommand()
        beginPropagationScope(spec)
        let trackingScope = beginTrackingScope(client, request, spec)
        defer { endTrackingScope(trackingScope) }
        // A command failed when it replied with an error (thrown or written), as Redis's
        // failed_calls; commands it ran itself (EXEC's queue) count their own and are not its.
        let errorsBefore = client.errorReplies
        do {
            try handler.run(&call)
        } catch {
            client.error(error.message)
        }
        if client.errorReplies != errorsBefore { stats.commandFailures[spec.id] += 1 }
        client.errorReplies = errorsBefore
        let elapsed = clock.endCommand() - started
        stats.recordCall(spec.id, microseconds: elapsed)
        if monitorsCommands && !client.flags.isBlocked { commandFinished(call, microseconds: elapsed) }
        client.lastInteraction = commandTime
        client.lastCommandID = spec.id
        apply(call.effect, of: call)
        feedMonitors(call)
    }

    func handler(for spec: CommandSpec) -> CommandHandler? { dispatch.handler(for: spec) }

    /// Refuses a request before it runs. A refused EXEC discards the transaction (and the WATCHes,
    /// even outside MULTI) with the reason in an EXECABORT error, as Redis's `execCommandAbort`.
    private func reject(_ client: ClientConnection, _ message: String, command: Int? = nil) {
        if let command, command == Self.execID {
            client.flags.queued = nil
            client.flags.transactionFailed = false
            clients.watches.unwatchAll(client)
            client.flags.watchTouched = false
            let reason = message.hasPrefix("ERR ") ? message.dropFirst(4) : Substring(message)
            return client.error("EXECABORT Transaction discarded because of: \(reason)")
        }
        if client.flags.queued != nil { client.flags.transactionFailed = true }
        client.error(message)
    }

    private static let execID = CommandTable.redis.lookup("exec")?.id
    private static let debugID = CommandTable.redis.lookup("debug")?.id

    static let debugNotAllowed =
        "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server."

    /// Redis's `allowProtectedAction`: `yes`, or `local` for a client on a loopback address.
    static func allowsProtectedAction(_ setting: String, client: ClientConnection) -> Bool {
        switch setting {
        case "yes": return true
        case "local": return client.remoteAddress.hasPrefix("127.0.0.1:") || client.remoteAddress.hasPrefix("::1:")
        default: return false
        }
    }

    /// Commands that run at once inside MULTI instead of being queued.
    private static let runsInsideMulti = ids(["exec", "discard", "multi", "watch", "quit", "reset"])

    /// What a RESP2 client in subscribed mode may still run.
    private static let allowedWhileSubscribed = ids([
        "subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe", "ping", "quit", "reset",
    ])

    private static func ids(_ names: [String]) -> Set<Int> {
        Set(names.compactMap { CommandTable.redis.lookup($0)?.id })
    }
}
