import Atomics
import Config
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// One configured pool across all event loops: the per-loop states and the few counters that must be
/// global (connected clients for `client_connections`, client ids). Only control-plane code (accepting
/// connections, INFO) crosses loops; requests never do.
final class ProxyPool: Sendable {
    private let currentRuntime: NIOLockedValueBox<PoolRuntime>
    /// The pool's configuration now; a reload replaces it (each loop holds its own reference,
    /// `PoolLoop.runtime`, swapped on that loop).
    var runtime: PoolRuntime { currentRuntime.withLockedValue { $0 } }
    let logger: Logger
    let startedAt = NIODeadline.now()
    let connectedClients = ManagedAtomic<Int>(0)
    private let clientIDs = ManagedAtomic<Int>(0)
    private let loops = NIOLockedValueBox<[ObjectIdentifier: NIOLoopBound<PoolLoop>]>([:])
    let listenAddress = NIOLockedValueBox<SocketAddress?>(nil)
    let configPath: String?
    /// Whether the loops measure latencies and count requests by command (`/metrics` is served).
    let measures: Bool
    /// Masters replaced by Sentinel failovers (or lost without a successor) seen by this pool.
    let masterChanges = ManagedAtomic<Int>(0)
    /// Sentinel pools: the follower, and the topology it last published per group.
    let follower = NIOLockedValueBox<SentinelFollower?>(nil)
    private let topologies = NIOLockedValueBox<[Int: GroupTopology]>([:])
    /// Fixed-topology pools that read from replicas: the task watching them (`ReplicaWatcher`).
    let replicaWatcher = NIOLockedValueBox<Task<Void, Never>?>(nil)
    /// `PROXY RELOAD [FORCE]`: the server's reload, given the force flag (nil: none).
    let reloader = NIOLockedValueBox<(@Sendable (Bool) async -> ReloadOutcome)?>(nil)

    init(runtime: PoolRuntime, logger: Logger, configPath: String?, measures: Bool = false) {
        self.currentRuntime = NIOLockedValueBox(runtime)
        self.logger = logger
        self.configPath = configPath
        self.measures = measures
    }

    /// Creates this pool's state on every loop of `group`.
    func attach(to group: any EventLoopGroup) async throws {
        for eventLoop in group.makeIterator() {
            let bound = try await eventLoop.submit {
                NIOLoopBound(PoolLoop(pool: self, eventLoop: eventLoop, logger: self.logger), eventLoop: eventLoop)
            }.get()
            loops.withLockedValue { $0[ObjectIdentifier(eventLoop)] = bound }
        }
    }

    /// The state for `eventLoop`; call on that loop.
    func loop(for eventLoop: any EventLoop) -> PoolLoop {
        loops.withLockedValue { $0[ObjectIdentifier(eventLoop)]! }.value
    }

    /// A reload, first step: what the pool's control plane (its replica watcher, INFO, new clients)
    /// reads from now on.
    func replaceRuntime(with runtime: PoolRuntime) {
        currentRuntime.withLockedValue { $0 = runtime }
    }

    /// A reload, second step: `runtime` serves new requests on every loop from when this returns
    /// (`PoolLoop.reload`); requests in flight finish on the backends they were sent to.
    func reloadLoops(to runtime: PoolRuntime) async {
        let all = loops.withLockedValue { Array($0.values) }
        for bound in all {
            try? await bound.eventLoop.submit { bound.value.reload(to: runtime) }.get()
        }
    }

    /// Publishes a watched group's topology to every loop (and remembers it for INFO).
    func apply(_ topology: GroupTopology, toGroup group: Int) {
        let previous = topologies.withLockedValue { topologies in
            defer { topologies[group] = topology }
            return topologies[group]
        }
        if let previous, previous.master != nil, previous.master != topology.master {
            masterChanges.wrappingIncrement(ordering: .relaxed)
        }
        let all = loops.withLockedValue { Array($0.values) }
        for bound in all {
            bound.eventLoop.execute { bound.value.apply(topology, toGroup: group) }
        }
    }

    func currentTopology(group: Int) -> GroupTopology? {
        topologies.withLockedValue { $0[group] }
    }

    /// A master said `-READONLY` or was lost: ask Sentinel again now.
    func masterInDoubt(group: Int) {
        follower.withLockedValue { $0 }?.reresolve(group: group)
    }

    // MARK: - MONITOR

    /// MONITOR clients on any loop; `monitorCount` lets every request skip the feed when there are none.
    let monitorCount = ManagedAtomic<Int>(0)
    private let monitors = NIOLockedValueBox<[ObjectIdentifier: NIOLoopBound<ClientSession>]>([:])

    func addMonitor(_ session: ClientSession) {
        monitors.withLockedValue { $0[ObjectIdentifier(session)] = NIOLoopBound(session, eventLoop: session.loop.eventLoop) }
        monitorCount.wrappingIncrement(ordering: .relaxed)
    }

    func removeMonitor(_ session: ClientSession) {
        let removed = monitors.withLockedValue { $0.removeValue(forKey: ObjectIdentifier(session)) }
        if removed != nil { monitorCount.wrappingDecrement(ordering: .relaxed) }
    }

    /// Writes `line` to every monitor, each on its own loop, after what that loop is doing now
    /// (a monitor's own command is answered before its line, as in Redis).
    func sendToMonitors(_ line: ByteBuffer) {
        let all = monitors.withLockedValue { Array($0.values) }
        for bound in all { bound.eventLoop.execute { bound.value.monitorLine(line) } }
    }

    /// Counts a new client in, unless `limit` (> 0) are connected already. Atomic: the loops accept
    /// connections in parallel, and a check apart from the count would let two in for one place.
    func admitClient(limit: Int) -> Bool {
        var current = connectedClients.load(ordering: .relaxed)
        while true {
            if limit > 0 && current >= limit { return false }
            let (exchanged, actual) = connectedClients.weakCompareExchange(
                expected: current, desired: current + 1, ordering: .relaxed)
            if exchanged { return true }
            current = actual
        }
    }

    private let slowLogIDs = ManagedAtomic<Int>(0)

    /// SLOWLOG entry ids, shared by the loops so that they order entries across loops.
    func nextSlowLogID() -> Int {
        slowLogIDs.loadThenWrappingIncrement(ordering: .relaxed)
    }

    func nextClientID() -> Int {
        clientIDs.wrappingIncrementThenLoad(ordering: .relaxed)
    }

    /// Every loop's counters, gathered on their own loops and delivered on `eventLoop`.
    func snapshots(on eventLoop: any EventLoop) -> EventLoopFuture<[LoopSnapshot]> {
        let all = loops.withLockedValue { Array($0.values) }
        let futures = all.map { bound in bound.eventLoop.submit { bound.value.snapshot() } }
        return EventLoopFuture.whenAllSucceed(futures, on: eventLoop)
    }

    /// `body` run on every loop, on that loop; the results delivered on `eventLoop` (CLIENT LIST/KILL).
    func onEveryLoop<T: Sendable>(
        deliveredOn eventLoop: any EventLoop, _ body: @escaping @Sendable (PoolLoop) -> T
    ) -> EventLoopFuture<[T]> {
        let all = loops.withLockedValue { Array($0.values) }
        let futures = all.map { bound in bound.eventLoop.submit { body(bound.value) } }
        return EventLoopFuture.whenAllSucceed(futures, on: eventLoop)
    }

    /// Drains every loop's sessions, waiting at most `limit`, then closes backend connections.
    func drain(within limit: TimeAmount) async {
        let all = loops.withLockedValue { Array($0.values) }
        for bound in all {
            let drained: Void? = try? await bound.eventLoop.flatSubmit { bound.value.drain() }
                .timeout(after: limit, on: bound.eventLoop).get()
            if drained == nil {
                logger.warning("clients still had replies in flight at shutdown", metadata: ["pool": "\(runtime.config.name)"])
            }
            try? await bound.eventLoop.submit { bound.value.closeBackends() }.get()
        }
    }
}

extension EventLoopFuture where Value: Sendable {
    /// This future, or a `DrainTimeout` failure if it has not completed after `limit`.
    fileprivate func timeout(after limit: TimeAmount, on eventLoop: any EventLoop) -> EventLoopFuture<Value> {
        let promise = eventLoop.makePromise(of: Value.self)
        let timer = eventLoop.scheduleTask(in: limit) { promise.fail(DrainTimeout()) }
        self.whenComplete { result in
            timer.cancel()
            promise.completeWith(result)
        }
        return promise.futureResult
    }
}

struct DrainTimeout: Error {}
