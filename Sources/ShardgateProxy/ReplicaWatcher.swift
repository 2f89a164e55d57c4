import Config
import Logging
import NIOCore

/// Keeps the read pools of a pool with a fixed topology (`replicas:` in proxy.yml, no Sentinel) to
/// the replicas that are in sync with their master.
///
/// Every `interval` it asks each configured replica for ROLE. A replica that does not answer
/// `slave <host> <master's port> connected` serves no reads until it does. Such a replica is down,
/// is still loading its first full sync (it would answer with missing keys), or has lost its link
/// to the master (it would answer with stale data). The configured master is never changed, and a
/// read policy that finds no replica left behaves as when every replica is down.
final class ReplicaWatcher: Sendable {
    private let pool: ProxyPool
    private let group: any EventLoopGroup
    private let logger: Logger
    private let interval: Duration
    private let timeout: TimeAmount

    init(
        pool: ProxyPool, group: any EventLoopGroup, logger: Logger, interval: Duration = .seconds(1),
        timeout: TimeAmount = .milliseconds(500)
    ) {
        self.pool = pool
        self.group = group
        self.logger = logger
        self.interval = interval
        self.timeout = timeout
    }

    /// Whether a pool has replicas to watch: fixed groups with replicas, and a policy that reads
    /// from them.
    static func isNeeded(for config: PoolConfig) -> Bool {
        !config.usesSentinel && config.readPolicy != .master && config.groups.contains { !$0.replicas.isEmpty }
    }

    /// Checks every group, then again every `interval`, until cancelled.
    func run() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { return }
            await checkAll()
        }
    }

    /// One look at every replica of every group, concurrently; publishes each group's read pool.
    func checkAll() async {
        let groups = pool.runtime.config.groups
        await withTaskGroup(of: Void.self) { tasks in
            for index in groups.indices where groups[index].master != nil && !groups[index].replicas.isEmpty {
                tasks.addTask { await self.check(group: index) }
            }
        }
    }

    private func check(group index: Int) async {
        let config = pool.runtime.config.groups[index]
        guard let master = config.master else { return }
        var inSync: Set<Endpoint> = []
        await withTaskGroup(of: (Endpoint, Bool).self) { tasks in
            for replica in config.replicas {
                tasks.addTask { (replica, await self.isInSync(replica, master: master)) }
            }
            for await (replica, synced) in tasks where synced { inSync.insert(replica) }
        }
        let readable = config.replicas.filter { inSync.contains($0) }
        let topology = GroupTopology(
            master: master, replicas: readable.map { .init(endpoint: $0, caughtUpThrough: .distantPast) }, problem: nil)
        let previous = pool.currentTopology(group: index)?.replicas.map(\.endpoint) ?? config.replicas
        guard previous != readable || pool.currentTopology(group: index) == nil else { return }
        for replica in previous where !inSync.contains(replica) {
            logger.warning(
                "replica left the read pool: not in sync with its master",
                metadata: ["group": "\(config.name)", "replica": "\(replica)"])
        }
        for replica in readable where !previous.contains(replica) {
            logger.notice("replica joined the read pool", metadata: ["group": "\(config.name)", "replica": "\(replica)"])
        }
        pool.apply(topology, toGroup: index)
    }

    /// True when ROLE shows `replica` replicating from `master`'s port with its link up.
    private func isInSync(_ replica: Endpoint, master: Endpoint) async -> Bool {
        let role = await ControlConnection.with(replica, on: group, timeout: timeout, auth: pool.runtime.config.auth) {
            (try? await $0.command(["ROLE"], timeout: timeout))?.array
        }
        guard let role = role ?? nil, role.count >= 4 else { return false }
        return role[0].string == "slave" && role[2].integer == master.port && role[3].string == "connected"
    }
}
