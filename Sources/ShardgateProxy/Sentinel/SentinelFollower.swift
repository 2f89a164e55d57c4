import Config
import Logging
import NIOCore
import RESP

/// Follows Redis Sentinel for one pool: discovers each group's master and replicas, retargets the
/// moment a `+switch-master` arrives, and polls as well, since pub/sub is only a hint.
///
/// All state lives in `run()`'s event loop of `Event`s. Network work (Sentinel queries, ROLE and INFO
/// checks) runs in child tasks that post their results back as events, so a dead Sentinel or a
/// stopped node never delays the handling of a failover.
final class SentinelFollower: Sendable {
    enum Event: Sendable {
        case observed(group: Int, GroupObservation)
        case sentinelMessage(channel: String, payload: String)
        case reresolve(group: Int)
        case sentinelsDiscovered([Endpoint])
        case subscriberEnded(Endpoint)
        case tick
    }

    private let pool: ProxyPool
    let config: PoolConfig
    let group: any EventLoopGroup
    private let logger: Logger
    private let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation
    let timeout: TimeAmount
    let probe: NodeProbe
    /// `backend_tls` covers the Sentinels too: a deployment that serves Redis over TLS serves its
    /// Sentinels over TLS as well (Redis's `tls-port` in sentinel.conf).
    var sentinelTLS: TLSConnector? { pool.runtime.tls.backend }
    private let interval: Duration

    static let channels = [
        "+switch-master", "+promoted-slave", "+sdown", "-sdown", "+odown", "+convert-to-slave", "+slave",
        "+sentinel", "+tilt",
    ]

    init(pool: ProxyPool, group: any EventLoopGroup, logger: Logger) {
        self.pool = pool
        self.config = pool.runtime.config
        self.group = group
        self.logger = logger
        (events, continuation) = AsyncStream.makeStream(of: Event.self)
        timeout = .milliseconds(Int64(config.sentinelTimeoutMilliseconds))
        probe = NodeProbe(config: config, group: group, timeout: timeout, tls: pool.runtime.tls.backend)
        // Lag limits and read-your-writes need fresh replication offsets.
        interval = .milliseconds(
            config.wantsReplicaOffsets ? min(config.sentinelPollMilliseconds, 200) : config.sentinelPollMilliseconds)
    }

    /// Asks for an immediate look at `group` (a `-READONLY` from its master, say). Callable anywhere.
    func reresolve(group: Int) {
        continuation.yield(.reresolve(group: group))
    }

    /// Resolves every group once, so the proxy starts with masters known (or a clear reason why not).
    func resolveAll() async {
        let sentinels = config.sentinels
        await withTaskGroup(of: (Int, GroupObservation).self) { tasks in
            for index in config.groups.indices {
                tasks.addTask { (index, await self.observe(group: index, sentinels: sentinels)) }
            }
            for await (index, observation) in tasks {
                let topology = GroupTopology(
                    master: observation.master,
                    replicas: config.wantsReplicaOffsets
                        ? [] : observation.replicas.map { .init(endpoint: $0, caughtUpThrough: .distantPast) },
                    problem: observation.problem)
                pool.apply(topology, toGroup: index)
            }
        }
    }

    /// Runs until the task is cancelled.
    func run() async {
        var state = FollowerState(config: config)
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                continuation.yield(.tick)
            }
        }
        defer { ticker.cancel() }
        let initialSentinels = state.sentinels
        await withTaskGroup(of: Void.self) { tasks in
            tasks.addTask { await self.discoverSentinels(initialSentinels) }
            for await event in events {
                if Task.isCancelled { break }
                handle(event, state: &state, tasks: &tasks)
            }
            tasks.cancelAll()
        }
    }

    // MARK: - Events

    private func handle(_ event: Event, state: inout FollowerState, tasks: inout TaskGroup<Void>) {
        switch event {
        case .tick:
            ensureSubscriptions(&state, &tasks)
            for index in config.groups.indices where !state.observing.contains(index) {
                startObservation(index, &state, &tasks)
            }
            state.ticks += 1
            if state.ticks % 30 == 0 {
                let sentinels = state.sentinels
                tasks.addTask { await self.discoverSentinels(sentinels) }
            }
        case .reresolve(let index):
            if !state.observing.contains(index) { startObservation(index, &state, &tasks) }
        case .observed(let index, let observation):
            state.observing.remove(index)
            if let answered = observation.answeredBy { state.promote(answered) }
            if let switched = state.switchedAt[index], observation.startedAt < switched {
                // Begun before the last +switch-master: it may name the old master. Look again.
                startObservation(index, &state, &tasks)
            } else {
                apply(observation, group: index, &state)
            }
        case .sentinelMessage(let channel, let payload):
            handleMessage(channel, payload, &state, &tasks)
        case .sentinelsDiscovered(let found):
            for sentinel in found where !state.sentinels.contains(sentinel) {
                logger.info("discovered sentinel", metadata: ["sentinel": "\(sentinel)"])
                state.sentinels.append(sentinel)
            }
        case .subscriberEnded(let sentinel):
            state.subscribed.remove(sentinel)
            ensureSubscriptions(&state, &tasks)
        }
    }

    private func handleMessage(_ channel: String, _ payload: String, _ state: inout FollowerState, _ tasks: inout TaskGroup<Void>) {
        let words = payload.split(separator: " ").map(String.init)
        switch channel {
        case "+switch-master", "+promoted-slave":
            // +switch-master: <name> <old-ip> <old-port> <new-ip> <new-port>, from every Sentinel once the
            // failover ends. +promoted-slave: slave <ip:port> <ip> <port> @ <name> <old-ip> <old-port>, from
            // the leader as soon as the replica has become master (about a second earlier).
            let fields = channel == "+switch-master" ? words : (words.count == 8 ? [words[5], words[6], words[7], words[2], words[3]] : [])
            guard fields.count == 5, let index = config.groups.firstIndex(where: { $0.name == fields[0] }),
                let newMaster = Endpoint(host: fields[3], portText: fields[4])
            else { return }
            var topology = pool.currentTopology(group: index) ?? .unresolved("")
            state.switchedAt[index] = .now()
            if topology.master != newMaster {
                logger.notice(
                    "sentinel switched master",
                    metadata: ["group": "\(fields[0])", "old": "\(fields[1]):\(fields[2])", "new": "\(newMaster)", "event": "\(channel)"])
                topology.master = newMaster
                topology.problem = nil
                topology.replicas.removeAll { $0.endpoint == newMaster }
                publish(topology, group: index)
            }
            startObservation(index, &state, &tasks)
        case "+sdown", "+odown":
            // <type> <name> <ip> <port> [@ <master-name> <master-ip> <master-port>]
            guard words.count >= 4, words[0] == "slave", let replica = Endpoint(host: words[2], portText: words[3]),
                let index = groupIndex(of: words), var topology = pool.currentTopology(group: index)
            else { return }
            if topology.replicas.contains(where: { $0.endpoint == replica }) {
                topology.replicas.removeAll { $0.endpoint == replica }
                logger.notice("replica left the read pool", metadata: ["replica": "\(replica)", "event": "\(channel)"])
                publish(topology, group: index)
            }
        case "-sdown", "+convert-to-slave", "+slave":
            if let index = groupIndex(of: words), !state.observing.contains(index) { startObservation(index, &state, &tasks) }
        case "+sentinel":
            // sentinel <id> <ip> <port> @ <master-name> ...
            if words.count >= 4, let sentinel = Endpoint(host: words[2], portText: words[3]), !state.sentinels.contains(sentinel) {
                state.sentinels.append(sentinel)
                ensureSubscriptions(&state, &tasks)
            }
        case "+tilt":
            logger.warning("a sentinel entered TILT mode", metadata: ["payload": "\(payload)"])
        default:
            break
        }
    }

    /// The group an event names after `@`, or as the instance itself for masters.
    private func groupIndex(of words: [String]) -> Int? {
        if let at = words.firstIndex(of: "@"), at + 1 < words.count {
            return config.groups.firstIndex { $0.name == words[at + 1] }
        }
        return words.count > 1 ? config.groups.firstIndex { $0.name == words[1] } : nil
    }

    private func startObservation(_ index: Int, _ state: inout FollowerState, _ tasks: inout TaskGroup<Void>) {
        state.observing.insert(index)
        let sentinels = state.sentinels
        tasks.addTask {
            let observation = await self.observe(group: index, sentinels: sentinels)
            self.continuation.yield(.observed(group: index, observation))
        }
    }

    /// Turns an observation into the group's topology: master, then read pool (lag and
    /// read-your-writes bookkeeping included).
    private func apply(_ observation: GroupObservation, group index: Int, _ state: inout FollowerState) {
        var topology = pool.currentTopology(group: index) ?? .unresolved("")
        if let master = observation.master {
            if topology.master != master {
                logger.notice("group master resolved", metadata: ["group": "\(config.groups[index].name)", "master": "\(master)"])
            }
            topology.master = master
            topology.problem = observation.problem
        } else {
            topology.master = nil
            topology.problem = observation.problem
        }
        topology.replicas = state.offsets.readPool(from: observation, master: topology.master, group: index, config: config)
        publish(topology, group: index)
    }

    private func publish(_ topology: GroupTopology, group index: Int) {
        guard pool.currentTopology(group: index) != topology else { return }
        pool.apply(topology, toGroup: index)
    }

    // MARK: - Subscriptions

    /// Keeps pub/sub subscriptions on `sentinel_subscriptions` Sentinels (default: every known one up
    /// to 5): only the failover's leader announces `+promoted-slave`, and nobody knows in advance which
    /// one that will be.
    private func ensureSubscriptions(_ state: inout FollowerState, _ tasks: inout TaskGroup<Void>) {
        let wanted = min(config.sentinelSubscriptions, state.sentinels.count)
        for sentinel in state.sentinels where state.subscribed.count < wanted && !state.subscribed.contains(sentinel) {
            state.subscribed.insert(sentinel)
            tasks.addTask { await self.subscribe(to: sentinel) }
        }
    }

    private func subscribe(to sentinel: Endpoint) async {
        defer { continuation.yield(.subscriberEnded(sentinel)) }
        guard
            let connection = try? await ControlConnection.connect(
                to: sentinel, on: group, timeout: timeout, auth: config.sentinelAuth, tls: sentinelTLS)
        else { return }
        for await message in connection.subscribe(Self.channels) {
            if Task.isCancelled { break }
            guard let parts = message.array, parts.count == 3, parts[0].string == "message",
                let channel = parts[1].string, let payload = parts[2].string
            else { continue }
            continuation.yield(.sentinelMessage(channel: channel, payload: payload))
        }
        await connection.close()
    }

    private func discoverSentinels(_ known: [Endpoint]) async {
        guard let name = config.groups.first?.name else { return }
        for sentinel in known {
            let entries = await ControlConnection.with(sentinel, on: group, timeout: timeout, auth: config.sentinelAuth, tls: sentinelTLS) {
                (try? await $0.command(["SENTINEL", "SENTINELS", name], timeout: timeout))?.array
            }
            guard let entries = entries ?? nil else { continue }
            let found = entries.compactMap { entry -> Endpoint? in
                let fields = Self.fields(entry)
                guard let ip = fields["ip"], let port = fields["port"] else { return nil }
                return Endpoint(host: ip, portText: port)
            }
            continuation.yield(.sentinelsDiscovered(found))
            return
        }
    }

    static func fields(_ entry: RESPValue) -> [String: String] {
        var fields: [String: String] = [:]
        let items = entry.array ?? []
        var index = 0
        while index + 1 < items.count {
            if let key = items[index].string, let value = items[index + 1].string { fields[key] = value }
            index += 2
        }
        return fields
    }
}

/// The follower's memory: Sentinel order, subscriptions, and master offsets for read-your-writes.
struct FollowerState {
    var sentinels: [Endpoint]
    var subscribed: Set<Endpoint> = []
    var observing: Set<Int> = []
    var offsets = OffsetHistory()
    /// When the last `+switch-master` for each group arrived: older observations are stale.
    var switchedAt: [Int: NIODeadline] = [:]
    var ticks = 0

    init(config: PoolConfig) {
        sentinels = config.sentinels
    }

    /// The Sentinel that answered goes to the front, as the client guidelines ask.
    mutating func promote(_ sentinel: Endpoint) {
        guard let index = sentinels.firstIndex(of: sentinel), index > 0 else { return }
        sentinels.remove(at: index)
        sentinels.insert(sentinel, at: 0)
    }
}
