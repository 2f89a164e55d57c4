import Config
import NIOCore
import RESP

/// Asks nodes about their replication state (ROLE, and INFO replication when lag in seconds
/// matters) over short-lived control connections. Shared by the Sentinel follower and the
/// replica watcher of fixed pools.
struct NodeProbe: Sendable {
    let group: any EventLoopGroup
    let timeout: TimeAmount
    let auth: BackendAuth?
    /// `backend_tls`, for the nodes.
    let tls: TLSConnector?
    /// Read `master_last_io_seconds_ago` too (`max_replica_lag.seconds` is set).
    let wantsIOSeconds: Bool

    init(config: PoolConfig, group: any EventLoopGroup, timeout: TimeAmount, tls: TLSConnector?) {
        self.group = group
        self.timeout = timeout
        self.auth = config.auth
        self.tls = tls
        self.wantsIOSeconds = config.maxReplicaLagSeconds != nil
    }

    /// ROLE's reply, nil if the node cannot be reached or does not answer in time.
    func role(of endpoint: Endpoint) async -> [RESPValue]? {
        let reply = await ControlConnection.with(endpoint, on: group, timeout: timeout, auth: auth, tls: tls) {
            (try? await $0.command(["ROLE"], timeout: timeout))?.array
        }
        return reply ?? nil
    }

    /// nil unless ROLE shows the replica connected (synced) to `master`'s port; else its processed
    /// offset and, when wanted, how long ago its master last talked to it.
    func replicaSample(_ replica: Endpoint, master: Endpoint) async -> GroupObservation.ReplicaSample? {
        let sample = await ControlConnection.with(replica, on: group, timeout: timeout, auth: auth, tls: tls) {
            connection -> GroupObservation.ReplicaSample? in
            guard let role = (try? await connection.command(["ROLE"], timeout: timeout))?.array, role.count >= 5,
                role[0].string == "slave", role[3].string == "connected", let offset = role[4].integer,
                role[2].integer == master.port
            else { return nil }
            var ioSecondsAgo = 0
            if wantsIOSeconds, let info = (try? await connection.command(["INFO", "replication"], timeout: timeout))?.string {
                for line in info.split(separator: "\r\n") where line.hasPrefix("master_last_io_seconds_ago:") {
                    ioSecondsAgo = Int(line.dropFirst("master_last_io_seconds_ago:".count)) ?? 0
                }
            }
            return .init(offset: offset, ioSecondsAgo: ioSecondsAgo)
        }
        return sample ?? nil
    }

    /// Samples every candidate concurrently; returns those in sync (sorted) with their samples.
    func syncedReplicas(_ candidates: [Endpoint], master: Endpoint) async -> ([Endpoint], [Endpoint: GroupObservation.ReplicaSample]) {
        var replicas: [Endpoint] = []
        var samples: [Endpoint: GroupObservation.ReplicaSample] = [:]
        await withTaskGroup(of: (Endpoint, GroupObservation.ReplicaSample?).self) { tasks in
            for candidate in candidates where candidate != master {
                tasks.addTask { (candidate, await self.replicaSample(candidate, master: master)) }
            }
            for await (candidate, sample) in tasks {
                guard let sample else { continue }
                replicas.append(candidate)
                samples[candidate] = sample
            }
        }
        replicas.sort { ($0.host, $0.port) < ($1.host, $1.port) }
        return (replicas, samples)
    }
}

/// Master replication offsets sampled over time, per group: what `read_your_writes` compares a
/// replica's offset with.
struct OffsetHistory {
    private var samples: [Int: [(at: NIODeadline, offset: Int)]] = [:]
    /// Per group, when each replica in the read pool's running was first seen linked to its master.
    private var linkedSince: [Int: [Endpoint: NIODeadline]] = [:]

    mutating func record(group: Int, at instant: NIODeadline, offset: Int) {
        var list = samples[group] ?? []
        list.append((instant, offset))
        if list.count > 64 { list.removeFirst(list.count - 64) }
        samples[group] = list
    }

    /// The latest sample instant whose master offset the replica has reached: every write
    /// acknowledged before that instant is on the replica.
    func caughtUpThrough(group: Int, replicaOffset: Int) -> NIODeadline {
        var result = NIODeadline.distantPast
        for sample in samples[group] ?? [] where sample.offset <= replicaOffset {
            result = max(result, sample.at)
        }
        return result
    }

    /// The replicas of `observation` that may serve reads, with how far each has caught up:
    /// `max_replica_lag` drops those too far behind, and when lag matters (limits or
    /// `read_your_writes`) a replica whose offset is unknown serves nothing. Records the master's
    /// offset first.
    mutating func readPool(
        from observation: GroupObservation, master: Endpoint?, group index: Int, config: PoolConfig
    ) -> [GroupTopology.ReplicaState] {
        if let offset = observation.masterOffset {
            record(group: index, at: observation.sampledAt, offset: offset)
        }
        var replicas: [GroupTopology.ReplicaState] = []
        var linked = linkedSince[index] ?? [:]
        linked = linked.filter { observation.replicas.contains($0.key) }
        defer { linkedSince[index] = linked }
        for replica in observation.replicas where replica != master {
            var caughtUp = NIODeadline.distantPast
            if let sample = observation.replicaOffsets[replica] {
                // ROLE says `connected` before the master streams to a new replica; it serves reads
                // once it has shown it receives the stream: its offset reached one the master had
                // at or after the replica was first seen linked.
                let since = linked[replica] ?? observation.sampledAt
                linked[replica] = since
                if observation.masterOffset != nil && caughtUpThrough(group: index, replicaOffset: sample.offset) < since {
                    continue
                }
                if let limit = config.maxReplicaLagSeconds, sample.ioSecondsAgo > limit { continue }
                if let limit = config.maxReplicaLagBytes, let masterOffset = observation.masterOffset,
                    masterOffset - sample.offset > limit
                {
                    continue
                }
                caughtUp = caughtUpThrough(group: index, replicaOffset: sample.offset)
            } else if config.wantsReplicaOffsets {
                continue  // lag unknown: no reads until it is measured
            }
            replicas.append(.init(endpoint: replica, caughtUpThrough: caughtUp))
        }
        return replicas
    }
}

extension PoolConfig {
    /// Lag limits and read-your-writes need fresh replication offsets.
    var wantsReplicaOffsets: Bool {
        readYourWrites || maxReplicaLagBytes != nil || maxReplicaLagSeconds != nil
    }
}
