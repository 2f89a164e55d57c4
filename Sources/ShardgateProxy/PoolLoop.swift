#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import Commands
import Config
import Logging
import NIOCore
import RESP
import Routing

/// One pool's state on one event loop: its backend connections and client sessions.
///
/// A client and the backend connections it uses always live on the same loop, so nothing here is
/// locked or hopped. Writes are collected in two dirty lists and flushed once per event-loop tick
/// (`flushDirty`), so requests from many clients and many pipelined requests share one syscall.
final class PoolLoop {
    let pool: ProxyPool
    /// The pool's configuration on this loop; replaced by a reload (`reload(to:)`).
    var runtime: PoolRuntime
    let eventLoop: any EventLoop
    let logger: Logger
    let allocator = ByteBufferAllocator()
    private(set) var groups: [GroupBackends] = []
    private var dirtyBackends: [BackendConnection] = []
    private var dirtySessions: [ClientSession] = []
    private(set) var sessions: [ObjectIdentifier: ClientSession] = [:]
    var stats = LoopStats()
    /// Whether latencies and per-command counts are kept for `/metrics` (the proxy serves it).
    let measures: Bool
    /// Whether requests are timed: for `/metrics`, the SLOWLOG (`slowlog_log_slower_than` >= 0) or
    /// LATENCY (`latency_monitor_threshold` > 0).
    let timesRequests: Bool
    /// Whether the SLOWLOG is on: requests are then kept until answered, for their arguments.
    let logsSlowRequests: Bool
    /// Monotonic nanoseconds of the read event being handled, when `timesRequests`: read once per
    /// event (a client's or a backend's read), so the requests and replies it carries share one
    /// clock read.
    private(set) var eventTime: UInt64 = 0
    /// This loop's part of the pool's SLOWLOG, and of its LATENCY events.
    var slowLog = SlowLog()
    var latency = LatencyEvents()
    /// The pool's users, made for this loop's clients (anew at a reload).
    var users: ProxyUsers
    /// This loop's subscribed clients and subscriber connections, made on the first SUBSCRIBE.
    private(set) lazy var pubSub = PubSubHub(loop: self)
    /// Connections lent to clients that block or watch keys.
    private(set) lazy var leases = LeasePool(
        loop: self, groupCount: runtime.config.groups.count, limit: runtime.config.leasedConnections)
    private(set) var isStopping = false
    private var flushScheduled = false
    /// Made once: submitting the same closure every tick allocates nothing.
    private var flushTask: @Sendable () -> Void = {}
    /// This loop's view of where keys go: the pool's map, minus groups ejected by auto_eject_hosts.
    var shardMap: ShardMap
    /// The pool's `routes:`, checked before the shard map.
    var routes: PrefixRoutes
    var ejection: Ejection?
    /// Whether the `client_timeout` check is scheduled.
    private var checksIdleClients = false
    /// Refused connections not yet in a log line, and when the next line may be written.
    private var refusedSinceLogged = 0
    private var nextRefusalLog = NIODeadline.uptimeNanoseconds(0)
    private var drained: EventLoopPromise<Void>?

    init(pool: ProxyPool, eventLoop: any EventLoop, logger: Logger) {
        self.pool = pool
        let runtime = pool.runtime
        self.runtime = runtime
        self.eventLoop = eventLoop
        self.logger = logger
        self.shardMap = runtime.shardMap
        self.routes = runtime.config.routes
        self.users = ProxyUsers(lines: runtime.config.users, password: runtime.config.password)
        self.measures = pool.measures
        self.logsSlowRequests = runtime.config.slowlogLogSlowerThan >= 0
        self.timesRequests = pool.measures || logsSlowRequests || runtime.config.latencyMonitorThreshold > 0
        stats.commandCalls = Array(repeating: 0, count: CommandTable.redis.count + 1)
        if measures {
            stats.commandErrors = Array(repeating: 0, count: CommandTable.redis.count + 1)
            stats.commandNanoseconds = Array(repeating: 0, count: CommandTable.redis.count + 1)
        }
        defer {
            let bound = NIOLoopBound(self, eventLoop: eventLoop)
            flushTask = { bound.value.flushDirty() }
        }
        if runtime.config.autoEjectHosts { ejection = Ejection(groupCount: runtime.config.groups.count) }
        dirtyBackends.reserveCapacity(16)
        dirtySessions.reserveCapacity(64)
        groups = runtime.config.groups.enumerated().map { index, group in
            GroupBackends(
                index: index, name: group.name,
                master: group.master.map { makeBackendSet($0, role: "master", group: index) },
                replicas: group.replicas.map { makeBackendSet($0, role: "replica", group: index) },
                problem: runtime.config.usesSentinel ? "master not yet resolved through Sentinel" : nil)
        }
        if runtime.config.preconnect {
            for set in allBackendSets { set.connectAll() }
        }
        if runtime.config.clientTimeoutSeconds > 0 { scheduleIdleCheck() }
    }

    /// `client_timeout`: once a second, closes the clients idle that long (Redis's
    /// `clientsCronHandleTimeout`).
    /// Stops once `client_timeout` is 0 (a reload can turn it off, and on again).
    func scheduleIdleCheck() {
        guard !checksIdleClients else { return }
        checksIdleClients = true
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        eventLoop.scheduleTask(in: .seconds(1)) {
            let loop = bound.value
            loop.checksIdleClients = false
            let limit = Int64(loop.runtime.config.clientTimeoutSeconds)
            guard !loop.isStopping, limit > 0 else { return }
            let now = NIODeadline.now()
            for session in loop.sessions.values { session.closeIfIdle(at: now, limitSeconds: limit) }
            loop.scheduleIdleCheck()
        }
    }

    func makeBackendSet(_ endpoint: Endpoint, role: String, group: Int) -> BackendSet {
        BackendSet(
            endpoint: endpoint, role: role, label: "group '\(runtime.config.groups[group].name)' \(role) \(endpoint)",
            loop: self, masterOf: role == "master" ? group : nil)
    }

    /// A Sentinel-managed group changed: writes move to the new master at once. Requests in flight
    /// on a replaced master fail (their outcome is unknown); nothing more is sent to it.
    func apply(_ topology: GroupTopology, toGroup index: Int) {
        let backends = groups[index]
        backends.problem = topology.problem
        if backends.master?.endpoint != topology.master {
            let old = backends.master
            backends.master = topology.master.map { makeBackendSet($0, role: "master", group: index) }
            if runtime.config.usesSentinel {
                old?.retire(reason: topology.master.map { "replaced by \($0) (Sentinel failover)" } ?? "no longer master")
            } else {
                // A fixed group's master changes only by a reload, which lets it finish its requests.
                old?.retireAfterInFlight()
            }
            pubSub.masterChanged(group: index)
            leases.masterChanged(group: index)
        }
        var replicas: [BackendSet] = []
        for state in topology.replicas {
            let set = backends.replicas.first { $0.endpoint == state.endpoint }
                ?? makeBackendSet(state.endpoint, role: "replica", group: index)
            set.caughtUpThrough = state.caughtUpThrough
            replicas.append(set)
        }
        for old in backends.replicas where !replicas.contains(where: { $0 === old }) {
            old.retire(reason: "left the read pool")
        }
        backends.replicas = replicas
    }

    var allBackendSets: [BackendSet] { groups.flatMap { $0.allSets } }

    /// The group owning `key` on this loop, or nil if none does.
    @inline(__always)
    func group(forKey key: UnsafeRawBufferPointer) -> Int? {
        if !routes.isEmpty, let routed = routes.group(forKey: key) { return routed }
        return shardMap.group(forKey: key)
    }

    // MARK: - auto_eject_hosts

    /// Consecutive failures per group, and which groups are out of the map until when.
    struct Ejection {
        var failures: [Int]
        var ejected: [Bool]
        /// Unix seconds of each group's last ejection, 0 if never (twemproxy's `server_ejected_at`).
        var ejectedAt: [Int64]
        init(groupCount: Int) {
            failures = Array(repeating: 0, count: groupCount)
            ejected = Array(repeating: false, count: groupCount)
            ejectedAt = Array(repeating: 0, count: groupCount)
        }
    }

    /// A group's master failed (connect error, timeout, lost connection). With auto_eject_hosts, the
    /// `server_failure_limit`-th failure in a row takes the group out of this loop's map for
    /// `server_retry_timeout`, and its keys rehash onto the others, as in twemproxy.
    func masterFailed(group: Int) {
        guard var state = ejection, !state.ejected[group] else { return }
        state.failures[group] += 1
        if state.failures[group] >= runtime.config.serverFailureLimit {
            state.failures[group] = 0
            state.ejected[group] = true
            state.ejectedAt[group] = Int64(time(nil))
            stats.serverEjects += 1
            logger.warning("group ejected", metadata: ["group": "\(groups[group].name)"])
            let bound = NIOLoopBound(self, eventLoop: eventLoop)
            eventLoop.scheduleTask(in: .milliseconds(Int64(runtime.config.serverRetryTimeoutMilliseconds))) {
                bound.value.readmit(group: group)
            }
            shardMap = PoolRuntime.makeShardMap(runtime.config, ejected: state.ejected)
        }
        ejection = state
    }

    func masterSucceeded(group: Int) {
        if ejection?.failures[group] != 0 { ejection?.failures[group] = 0 }
    }

    private func readmit(group: Int) {
        guard var state = ejection else { return }
        state.ejected[group] = false
        ejection = state
        shardMap = PoolRuntime.makeShardMap(runtime.config, ejected: state.ejected)
        logger.info("group readmitted", metadata: ["group": "\(groups[group].name)"])
    }

    /// When a request sent now times out.
    @inline(__always)
    func deadline() -> NIODeadline {
        guard let timeout = runtime.timeout else { return .distantFuture }
        return .now() + timeout
    }

    func markDirty(_ backend: BackendConnection) {
        dirtyBackends.append(backend)
        scheduleFlush()
    }

    func markDirty(_ session: ClientSession) {
        dirtySessions.append(session)
        scheduleFlush()
    }

    /// Flushes once per event-loop tick: the task runs after every channel that was readable in this
    /// tick has been read, so requests from many clients leave in one write per backend, as in twemproxy.
    private func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        eventLoop.execute(flushTask)
    }

    /// Flushes every connection written to since the last flush.
    func flushDirty() {
        flushScheduled = false
        var index = 0
        while index < dirtyBackends.count {
            dirtyBackends[index].flush()
            index += 1
        }
        dirtyBackends.removeAll(keepingCapacity: true)
        index = 0
        while index < dirtySessions.count {
            dirtySessions[index].flush()
            index += 1
        }
        dirtySessions.removeAll(keepingCapacity: true)
    }

    // MARK: - Sessions

    /// A client connection refused (`client_connections` reached, or shutting down): counted, and
    /// logged at most once a second per loop with how many were refused since the line before,
    /// so that a flood of connections cannot flood the log.
    func connectionRefused(from address: SocketAddress?, reason: String) {
        stats.rejectedConnections += 1
        refusedSinceLogged += 1
        let now = NIODeadline.now()
        guard now >= nextRefusalLog else { return }
        logger.warning(
            "client connection refused",
            metadata: [
                "client": "\(address?.ipAddress ?? "?"):\(address?.port ?? 0)", "reason": "\(reason)",
                "refused": "\(refusedSinceLogged)",
            ])
        refusedSinceLogged = 0
        nextRefusalLog = now + .seconds(1)
    }

    func sessionOpened(_ session: ClientSession) {
        sessions[ObjectIdentifier(session)] = session
        stats.connectionsReceived += 1
    }

    func sessionClosed(_ session: ClientSession) {
        sessions.removeValue(forKey: ObjectIdentifier(session))
        if isStopping && sessions.isEmpty { drained?.succeed() }
    }

    /// Stops every session once its in-flight replies are written; succeeds when all are closed.
    func drain() -> EventLoopFuture<Void> {
        isStopping = true
        let promise = eventLoop.makePromise(of: Void.self)
        drained = promise
        for session in sessions.values { session.drain() }
        flushDirty()
        if sessions.isEmpty { promise.succeed() }
        return promise.futureResult
    }

    /// Closes every backend connection (after the sessions have drained).
    func closeBackends() {
        for set in allBackendSets { set.closeAll() }
        pubSub.close()
        leases.closeAll()
    }

    /// A read event (or a timer) starts: the time its requests or replies are measured with.
    @inline(__always)
    func eventStarted() {
        if timesRequests { eventTime = NIODeadline.now().uptimeNanoseconds }
    }

    /// A client's read starts: `eventStarted`, returning the time read (one clock read for both).
    @inline(__always)
    func clientReadStarted() -> NIODeadline {
        let now = NIODeadline.now()
        if timesRequests { eventTime = now.uptimeNanoseconds }
        return now
    }

    /// A client's request (its command's id, -1 for an unknown one) finished `started` (its
    /// `eventTime`) ago, with an error reply or not: measured for `/metrics` and INFO
    /// commandstats/errorstats, and logged when slow.
    func requestFinished(
        command: Int, started: UInt64, backendNanoseconds: UInt64, error: ErrorCode?, request: RESPRequest?, session: ClientSession
    ) {
        let nanoseconds = eventTime &- started
        if measures {
            let index = command >= 0 ? command : stats.commandCalls.count - 1
            stats.commandNanoseconds[index] &+= nanoseconds
            if let error {
                stats.commandErrors[index] += 1
                stats.errorCodes[error.text, default: 0] += 1
            }
            stats.requestLatency.record(nanoseconds: nanoseconds)
        }
        let threshold = runtime.config.slowlogLogSlowerThan
        if threshold >= 0, Int(nanoseconds / 1000) >= threshold, let request {
            logSlow(
                request, command: command, microseconds: Int(nanoseconds / 1000),
                backendMicroseconds: Int(backendNanoseconds / 1000), session: session)
        }
        let latencyThreshold = runtime.config.latencyMonitorThreshold
        if latencyThreshold > 0, Int(nanoseconds / 1_000_000) >= latencyThreshold {
            let fast = command >= 0 && CommandTable.redis[command].flags.contains(.fast)
            latency.add(
                fast ? "fast-command" : "command", milliseconds: Int(nanoseconds / 1_000_000),
                now: UnixTime.microseconds() / 1000)
        }
    }

    private func logSlow(_ request: RESPRequest, command: Int, microseconds: Int, backendMicroseconds: Int, session: ClientSession) {
        let destination = command >= 0
            ? session.routeDescription(request, spec: CommandTable.redis[command], policy: runtime.policies[command]) : "(proxy)"
        let entry = SlowLog.Entry(
            id: pool.nextSlowLogID(), time: Int(UnixTime.microseconds() / 1_000_000), microseconds: microseconds, arguments: SlowLog.arguments(of: request),
            clientAddress: session.remoteAddressText, clientName: session.machine.attributes.name ?? "",
            destination: destination, backendMicroseconds: backendMicroseconds)
        slowLog.add(entry, maxLength: runtime.config.slowlogMaxLen)
    }

    func snapshot() -> LoopSnapshot {
        LoopSnapshot(
            stats: stats, connectedClients: sessions.count,
            blockedClients: sessions.values.reduce(0) { $0 + ($1.blockingInFlight > 0 ? 1 : 0) },
            leasedConnections: measures ? leases.lentCount : 0, subscriptions: measures ? pubSub.subscriptionCount : 0,
            backends: groups.map { group in
                group.allSets.map { set in
                    var total = BackendStats()
                    for connection in set.allConnections { total.add(connection.statsNow) }
                    return BackendSnapshot(
                        group: group.name, role: set.role, endpoint: set.endpoint,
                        available: set.isAvailable, inFlight: set.allConnections.reduce(0) { $0 + $1.inFlight },
                        stats: total, ejectedAt: set.role == "master" ? ejection?.ejectedAt[group.index] ?? 0 : 0)
                }
            })
    }
}

/// The backends of one shard group on one loop, and how reads pick among them.
final class GroupBackends {
    let index: Int
    let name: String
    /// nil while a Sentinel-managed master is unknown; `problem` says why.
    var master: BackendSet?
    var replicas: [BackendSet]
    var problem: String?
    private var nextReplica = 0
    private var nextAny = 0

    init(index: Int, name: String, master: BackendSet?, replicas: [BackendSet], problem: String?) {
        self.index = index
        self.name = name
        self.master = master
        self.replicas = replicas
        self.problem = problem
    }

    var allSets: [BackendSet] { (master.map { [$0] } ?? []) + replicas }

    /// Where a read goes under `policy`; nil when none fits (the policy demands a replica and none is
    /// available, or the master is unknown). With read-your-writes, `writtenAt` is when the client's
    /// last write to this group was acknowledged: only replicas known to have it may serve the read.
    func readTarget(_ policy: ReadPolicy, writtenAt: NIODeadline = .distantPast) -> BackendSet? {
        switch policy {
        case .master:
            return master
        case .preferReplica:
            return nextAvailableReplica(writtenAt) ?? master
        case .replica:
            // Replicas only; but a client waiting for its own write may read it from the master.
            if let replica = nextAvailableReplica(writtenAt) { return replica }
            return writtenAt == .distantPast ? nil : master
        case .any:
            let count = replicas.count + 1
            for _ in 0..<count {
                nextAny = (nextAny + 1) % count
                let candidate = nextAny == 0 ? master : replicas[nextAny - 1]
                if let candidate, candidate.isAvailable, nextAny == 0 || candidate.caughtUpThrough >= writtenAt {
                    return candidate
                }
            }
            return master
        }
    }

    private func nextAvailableReplica(_ writtenAt: NIODeadline) -> BackendSet? {
        let count = replicas.count
        guard count > 0 else { return nil }
        for _ in 0..<count {
            nextReplica = nextReplica + 1 >= count ? 0 : nextReplica + 1
            let candidate = replicas[nextReplica]
            if candidate.isAvailable && candidate.caughtUpThrough >= writtenAt { return candidate }
        }
        return nil
    }
}

/// `server_connections` connections to one backend server, used round-robin, per RESP version.
///
/// Clients that said `HELLO 3` are served over backend connections that said `HELLO 3` too (opened on
/// first use), so every reply reaches every client byte for byte as Redis wrote it for that protocol.
final class BackendSet {
    let endpoint: Endpoint
    let role: String
    private let label: String
    private unowned let loop: PoolLoop
    private let resp2: [BackendConnection]
    private var resp3: [BackendConnection] = []
    /// For clients that SELECTed another database than the pool's: one connection per database and
    /// RESP version, opened on first use (key: `database << 2 | version`).
    private var otherDatabases: [Int: BackendConnection] = [:]
    private var next = 0
    /// Read-your-writes: writes acknowledged before this instant are on this replica.
    var caughtUpThrough = NIODeadline.distantPast
    /// Set once Sentinel replaced or dropped this server: requests fail instead of reaching it.
    private(set) var retiredReason: String?

    /// The group index when this is a group's master (its failures count for auto_eject_hosts).
    private let masterOf: Int?

    init(endpoint: Endpoint, role: String, label: String, loop: PoolLoop, masterOf: Int?) {
        self.endpoint = endpoint
        self.role = role
        self.label = label
        self.loop = loop
        self.masterOf = masterOf
        resp2 = (0..<loop.runtime.config.serverConnections).map { _ in
            BackendConnection(endpoint: endpoint, label: label, loop: loop, protocolVersion: 2, masterOf: masterOf)
        }
    }

    var allConnections: [BackendConnection] { resp2 + resp3 + otherDatabases.values }

    /// False while the last attempt of any connection to this server failed (it reconnects with backoff).
    var isAvailable: Bool {
        resp2.allSatisfy(\.isAvailable) && resp3.allSatisfy(\.isAvailable)
    }

    /// The connection for a client that SELECTed `database` (not the pool's).
    func pick(protocolVersion: Int, database: Int) -> BackendConnection {
        let key = database << 2 | protocolVersion
        if let existing = otherDatabases[key] { return existing }
        let created = BackendConnection(
            endpoint: endpoint, label: label, loop: loop, protocolVersion: protocolVersion, masterOf: masterOf,
            database: database)
        otherDatabases[key] = created
        return created
    }

    @inline(__always)
    func pick(protocolVersion: Int) -> BackendConnection {
        if protocolVersion == 3 {
            if resp3.isEmpty {
                resp3 = (0..<resp2.count).map { _ in
                    BackendConnection(endpoint: endpoint, label: label, loop: loop, protocolVersion: 3, masterOf: masterOf)
                }
            }
            return roundRobin(resp3)
        }
        return roundRobin(resp2)
    }

    @inline(__always)
    private func roundRobin(_ connections: [BackendConnection]) -> BackendConnection {
        if connections.count == 1 { return connections[0] }
        next = next + 1 >= connections.count ? 0 : next + 1
        return connections[next]
    }

    func connectAll() {
        for connection in resp2 { connection.connect() }
    }

    func closeAll() {
        for connection in allConnections { connection.close() }
    }

    /// Lets what is in flight finish, then closes every connection for good (a reload).
    func retireAfterInFlight() {
        retiredReason = BackendConnection.replacedByReload
        for connection in allConnections { connection.retireAfterInFlight() }
    }

    /// Fails what is in flight with `reason` and closes every connection for good.
    func retire(reason: String) {
        retiredReason = reason
        for connection in allConnections { connection.retire(reason: reason) }
    }
}
