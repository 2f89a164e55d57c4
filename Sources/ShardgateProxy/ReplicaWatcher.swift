import Config
import Logging
import NIOCore

/// Keeps the read pools of a pool with a fixed topology (`replicas:` in proxy.yml, no Sentinel) to
/// the replicas that are in sync with their master, as the Sentinel follower does for its pools.
///
/// Every `interval` it asks the master and each configured replica for ROLE (`NodeProbe`). A
/// replica that does not answer `slave <host> <master's port> connected` serves no reads until it
/// does. Such a replica is down, is still loading its first full sync (it would answer with missing
/// keys), or has lost its link to the master (it would answer with stale data). The offsets feed
/// `max_replica_lag` and `read_your_writes` through the same `OffsetHistory` as Sentinel pools.
/// The configured master is never changed.
final class ReplicaWatcher: Sendable {
    private let pool: ProxyPool
    private let logger: Logger
    private let probe: NodeProbe
    private let interval: Duration

    init(pool: ProxyPool, group: any EventLoopGroup, logger: Logger) {
        let config = pool.runtime.config
        self.pool = pool
        self.logger = logger
        probe = NodeProbe(
            config: config, group: group, timeout: .milliseconds(Int64(config.sentinelTimeoutMilliseconds)),
            tls: pool.runtime.tls.backend)
        interval = .milliseconds(config.wantsReplicaOffsets ? 200 : 1000)
    }

    /// Whether a pool has replicas to watch: fixed groups with replicas, and a policy that reads
    /// from them.
    static func isNeeded(for config: PoolConfig) -> Bool {
        !config.usesSentinel && config.readPolicy != .master && config.groups.contains { !$0.replicas.isEmpty }
    }

    /// Checks every group, then again every `interval`, until cancelled.
    func run(from history: OffsetHistory) async {
        var history = history
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { return }
            await checkAll(&history)
        }
    }

    /// One look at every group, concurrently; publishes each group's read pool.
    func checkAll(_ history: inout OffsetHistory) async {
        let groups = pool.runtime.config.groups
        var observations: [(Int, GroupObservation)] = []
        await withTaskGroup(of: (Int, GroupObservation)?.self) { tasks in
            for index in groups.indices {
                guard let master = groups[index].master, !groups[index].replicas.isEmpty else { continue }
                tasks.addTask { (index, await self.observe(master: master, replicas: groups[index].replicas)) }
            }
            for await result in tasks { if let result { observations.append(result) } }
        }
        for (index, observation) in observations {
            publish(history.readPool(from: observation, master: observation.master, group: index, config: pool.runtime.config), group: index)
        }
    }

    private func observe(master: Endpoint, replicas: [Endpoint]) async -> GroupObservation {
        let sampledAt = NIODeadline.now()
        let role = await probe.role(of: master)
        let masterOffset = role?.first?.string == "master" ? role?.dropFirst().first?.integer : nil
        let (synced, samples) = await probe.syncedReplicas(replicas, master: master)
        return GroupObservation(
            master: master, problem: nil, replicas: synced, sampledAt: sampledAt, masterOffset: masterOffset,
            replicaOffsets: samples)
    }

    private func publish(_ readable: [GroupTopology.ReplicaState], group index: Int) {
        let config = pool.runtime.config.groups[index]
        let current = pool.currentTopology(group: index)
        let topology = GroupTopology(master: config.master, replicas: readable, problem: nil)
        guard current != topology else { return }
        let before = current?.replicas.map(\.endpoint) ?? config.replicas
        let after = readable.map(\.endpoint)
        for replica in before where !after.contains(replica) {
            logger.warning(
                "replica left the read pool: not in sync with its master, or too far behind",
                metadata: ["group": "\(config.name)", "replica": "\(replica)"])
        }
        for replica in after where !before.contains(replica) {
            logger.notice("replica joined the read pool", metadata: ["group": "\(config.name)", "replica": "\(replica)"])
        }
        pool.apply(topology, toGroup: index)
    }
}
