import Config
import NIOCore

/// A connection to a group's master lent to one client while it blocks (BLPOP…) or watches keys
/// (WATCH): state the shared, pipelined connections must never carry. It goes back to its pool once
/// nothing is waiting on it and the client no longer watches through it.
final class Lease: SessionLease {
    let group: Int
    let connection: BackendConnection
    let protocolVersion: Int
    var database: Int { connection.database }
    /// The connection's generation when the holder sent WATCH: if the connection was lost since,
    /// the server forgot the watch and EXEC must not run.
    var watchedGeneration: Int?

    init(group: Int, connection: BackendConnection, protocolVersion: Int) {
        self.group = group
        self.connection = connection
        self.protocolVersion = protocolVersion
    }
}

/// One event loop's leased connections: idle ones per group and RESP version, and how many of each
/// group's are lent (at most `leased_connections`; past that a clear error, never a wait).
final class LeasePool {
    private unowned let loop: PoolLoop
    private var idle: [[Lease]]
    private var lent: [Int]
    /// `leased_connections` (a reload may change it).
    var limit: Int

    init(loop: PoolLoop, groupCount: Int, limit: Int) {
        self.loop = loop
        self.idle = Array(repeating: [], count: groupCount)
        self.lent = Array(repeating: 0, count: groupCount)
        self.limit = limit
    }

    /// Connections lent now, over every group.
    var lentCount: Int { lent.reduce(0, +) }

    /// A connection to `group`'s master for one client, or the error to answer.
    func lease(group: Int, protocolVersion: Int, database: Int) -> Result<Lease, LeaseError> {
        let backends = loop.groups[group]
        guard let master = backends.master else {
            return .failure(LeaseError(message: ProxyErrors.noMaster(backends.name, problem: backends.problem)))
        }
        guard lent[group] < limit else {
            return .failure(LeaseError(message:
                "ERR shardgate: group '\(backends.name)': all \(limit) leased connections of this proxy thread are in use "
                    + "(blocking commands and WATCH each hold one; raise leased_connections)"))
        }
        lent[group] += 1
        if let index = idle[group].lastIndex(where: {
            $0.protocolVersion == protocolVersion && $0.database == database && $0.connection.endpoint == master.endpoint
        }) {
            return .success(idle[group].remove(at: index))
        }
        let connection = BackendConnection(
            endpoint: master.endpoint, label: "group '\(backends.name)' master \(master.endpoint) (leased)", loop: loop,
            protocolVersion: protocolVersion, masterOf: nil, waitsForever: true, database: database)
        return .success(Lease(group: group, connection: connection, protocolVersion: protocolVersion))
    }

    /// A lease whose client is done with it: kept for the next client while its connection is healthy
    /// and still goes to the group's master.
    func giveBack(_ lease: Lease) {
        lent[lease.group] -= 1
        if lease.connection.isReusable && lease.connection.endpoint == loop.groups[lease.group].master?.endpoint {
            idle[lease.group].append(lease)
        } else {
            lease.connection.close()
        }
    }

    /// A lease whose client went away: closed, so the server drops whatever it was doing for it
    /// (a blocked pop pops nothing for a client that is gone).
    func discard(_ lease: Lease) {
        lent[lease.group] -= 1
        lease.connection.close()
    }

    /// `group`'s master changed: idle leases to the old one are closed.
    func masterChanged(group: Int) {
        for lease in idle[group] { lease.connection.close() }
        idle[group].removeAll()
    }

    func closeAll() {
        for leases in idle { for lease in leases { lease.connection.close() } }
        idle = idle.map { _ in [] }
    }
}

struct LeaseError: Error {
    var message: String
}
