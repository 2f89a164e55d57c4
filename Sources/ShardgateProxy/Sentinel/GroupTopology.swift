import Config
import NIOCore

/// What the proxy currently believes about one group whose topology is watched (by the Sentinel
/// follower, or for fixed groups with replicas by `ReplicaWatcher`); published to every loop.
struct GroupTopology: Sendable, Equatable {
    /// The master to send writes to; nil while unknown (then `problem` says why).
    var master: Endpoint?
    /// Replicas eligible for reads: connected, synced, within `max_replica_lag`.
    var replicas: [ReplicaState]
    var problem: String?

    struct ReplicaState: Sendable, Equatable {
        var endpoint: Endpoint
        /// Every write acknowledged by the master before this instant has reached this replica
        /// (for `read_your_writes`); `.distantPast` when unknown.
        var caughtUpThrough: NIODeadline
    }

    static func unresolved(_ problem: String) -> GroupTopology {
        GroupTopology(master: nil, replicas: [], problem: problem)
    }
}

/// One look at a group through the Sentinels and the nodes themselves.
struct GroupObservation: Sendable {
    var master: Endpoint?
    var problem: String?
    /// Replicas Sentinel lists as healthy and ROLE shows connected to `master`.
    var replicas: [Endpoint]
    /// When the master's replication offset was read, and its value (nil if not read).
    var sampledAt: NIODeadline
    var masterOffset: Int?
    /// Per replica: processed offset and seconds since its master last talked to it.
    var replicaOffsets: [Endpoint: ReplicaSample]
    /// The Sentinel that answered (it moves to the front of the list).
    var answeredBy: Endpoint?
    /// When the look began; one begun before a `+switch-master` is discarded.
    var startedAt = NIODeadline.now()

    struct ReplicaSample: Sendable {
        var offset: Int
        var ioSecondsAgo: Int
    }

    static func failed(_ problem: String) -> GroupObservation {
        GroupObservation(master: nil, problem: problem, replicas: [], sampledAt: .now(), masterOffset: nil, replicaOffsets: [:])
    }
}

extension Endpoint {
    /// `ip port` pairs as Sentinel reports them.
    init?(host: String, portText: String) {
        guard let port = Int(portText) else { return nil }
        self.init(host: host, port: port)
    }
}
