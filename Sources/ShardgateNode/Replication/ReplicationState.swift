#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import NIOCore

/// Everything replication keeps on a node: which history its data belongs to, the backlog, the
/// replicas it feeds (as a master) and its link to its own master (as a replica).
final class ReplicationState {
    var identity = ReplicationIdentity()
    /// Resynchronisations served (INFO stats `sync_*`).
    var counters = ReplicationCounters()
    /// Created when the first replica attaches (or when this node syncs as a replica, so it can
    /// serve partial resyncs after a promotion); freed after `repl-backlog-ttl` without replicas.
    var backlog: ReplicationBacklog?
    var replicas: [ReplicaPeer] = []
    /// Set while this node is a replica (`REPLICAOF host port`).
    var link: MasterLink?
    /// Clients blocked in WAIT.
    var waiters: [ReplicationWaiter] = []
    /// The forked child producing a snapshot for full resynchronisations, if any.
    var snapshot: ReplicationSnapshot?
    /// Diskless sync: when the first replica started waiting (the transfer starts after
    /// `repl-diskless-sync-delay` so more replicas can share it).
    var waitingSince: Int64?
    var lastPingSent: Int64 = 0
    /// Since when this master has had no replica (the backlog is freed `repl-backlog-ttl` seconds
    /// later): when the last one left, when the node started, or when it was promoted.
    var noReplicasSince: Int64 = Clock.milliseconds()
    /// The empty-master guard refused a full resync: from which master history, and when.
    var refusedEmptyMaster: (replicationID: String, at: Int64)?
    var refusedEmptyMasterCount = 0
    var consumerRegistered = false

    /// Appends bytes to the stream: the offset, the backlog, and every replica (online ones get
    /// them now, passed to `flush`; those receiving a snapshot keep them for after it; those
    /// waiting for one get them in it).
    func feed(_ batch: ByteBuffer, flush: (ClientConnection) -> Void) {
        guard backlog != nil else { return }
        identity.offset += batch.readableBytes
        backlog!.append(batch)
        for peer in replicas {
            switch peer.state {
            case .online where peer.streamStartsOnAck:
                peer.pending.writeImmutableBuffer(batch)
            case .online:
                peer.client.reply.writeImmutableBuffer(batch)
                flush(peer.client)
            case .waitingForSnapshot:
                break
            case .receivingSnapshot:
                peer.pending.writeImmutableBuffer(batch)
            }
        }
    }

    /// A replica joins (after PSYNC).
    func attach(_ peer: ReplicaPeer) {
        peer.client.flags.isReplica = true
        replicas.append(peer)
    }

    /// A replica's connection closed (or it was killed): it leaves the replicas and the snapshot
    /// it waited for.
    func detach(_ client: ClientConnection, now: Int64) {
        replicas.removeAll { $0.client === client }
        if replicas.isEmpty { noReplicasSince = now }
        snapshot?.peers.removeAll { $0.client === client }
    }

    /// Online replicas that acknowledged `offset` or later (WAIT).
    func acknowledgedReplicas(atLeast offset: Int) -> Int {
        replicas.filter { $0.state == .online && $0.ackOffset >= offset }.count
    }

    /// Online replicas whose last acknowledgement is at most `maxLag` seconds old
    /// (`min-replicas-max-lag`).
    func goodReplicaCount(maxLag: Int, now: Int64) -> Int {
        replicas.filter { $0.state == .online && now - $0.lastAck <= Int64(maxLag) * 1000 }.count
    }

    /// INFO replication, with Redis 7.0's fields (and this node's empty-master guard state).
    func infoFields(settings: NodeSettings, now: Int64) -> [(String, String)] {
        var fields: [(String, String)] = []
        if let link = link {
            fields += [
                ("role", "slave"), ("master_host", link.host), ("master_port", "\(link.port)"),
                ("master_link_status", link.isUp ? "up" : "down"),
                ("master_last_io_seconds_ago", link.isUp ? "\((now - link.lastIO) / 1000)" : "-1"),
                ("master_sync_in_progress", link.isSyncing ? "1" : "0"),
                ("slave_read_repl_offset", "\(identity.offset)"),
                ("slave_repl_offset", "\(identity.offset)"),
            ]
            if link.isSyncing {
                fields += [
                    ("master_sync_total_bytes", "-1"), ("master_sync_read_bytes", "\(link.transferredBytes)"),
                    ("master_sync_left_bytes", "-1"), ("master_sync_perc", "0.00"),
                    ("master_sync_last_io_seconds_ago", "\((now - link.lastIO) / 1000)"),
                ]
            }
            if !link.isUp {
                fields.append(("master_link_down_since_seconds", "\((now - link.linkDownSince) / 1000)"))
            }
            fields += [
                ("slave_priority", "\(settings.replicaPriority)"),
                ("slave_read_only", settings.replicaReadOnly ? "1" : "0"), ("replica_announced", "1"),
            ]
            if let refused = refusedEmptyMaster {
                fields += [
                    ("master_sync_refused_empty_master", "1"), ("master_sync_refused_replid", refused.replicationID),
                    ("master_sync_refused_seconds_ago", "\((now - refused.at) / 1000)"),
                ]
            } else {
                fields.append(("master_sync_refused_empty_master", "0"))
            }
        } else {
            fields.append(("role", "master"))
        }
        fields.append(("connected_slaves", "\(replicas.count)"))
        if link == nil && settings.minReplicasToWrite > 0 {
            fields.append(("min_slaves_good_slaves", "\(goodReplicaCount(maxLag: settings.minReplicasMaxLag, now: now))"))
        }
        for (index, peer) in replicas.enumerated() {
            let state = peer.state == .online ? "online" : peer.state.rawValue
            fields.append((
                "slave\(index)",
                "ip=\(peer.ip),port=\(peer.listeningPort),state=\(state),offset=\(peer.ackOffset),lag=\((now - peer.lastAck) / 1000)"
            ))
        }
        fields += [
            ("master_failover_state", "no-failover"), ("master_replid", identity.replicationID),
            ("master_replid2", identity.previousID), ("master_repl_offset", "\(identity.offset)"),
            ("second_repl_offset", "\(identity.previousIDEndOffset)"),
            ("repl_backlog_active", backlog == nil ? "0" : "1"), ("repl_backlog_size", "\(settings.replBacklogSize)"),
            ("repl_backlog_first_byte_offset", "\(backlog.map { $0.historyLength == 0 ? $0.endOffset + 1 : $0.firstOffset } ?? 0)"),
            ("repl_backlog_histlen", "\(backlog?.historyLength ?? 0)"),
        ]
        return fields
    }
}

/// A replica connected to this node, from its PSYNC on.
final class ReplicaPeer {
    enum State: String {
        /// Waiting for the snapshot child to start.
        case waitingForSnapshot = "wait_bgsave"
        /// The child is producing its snapshot; the stream since the fork collects in `pending`.
        case receivingSnapshot = "send_bulk"
        case online
    }

    let client: ClientConnection
    var state: State
    /// Stream produced while the snapshot is being made, sent right after it.
    var pending = ByteBuffer()
    var listeningPort: Int
    var announcedIP: String?
    var supportsEOF: Bool
    var ackOffset = 0
    var lastAck: Int64
    /// After a diskless snapshot the stream waits for the replica's first ACK: it cannot tell where
    /// the payload's end mark is if more bytes follow in the same read (as Redis 7 does).
    var streamStartsOnAck = false

    init(client: ClientConnection, state: State, now: Int64) {
        self.client = client
        self.state = state
        self.listeningPort = client.flags.replicaListeningPort
        self.announcedIP = client.flags.replicaAnnouncedIP
        self.supportsEOF = client.flags.replicaSupportsEOF
        self.lastAck = now
    }

    /// The address Sentinel and INFO report: the announced IP or the connection's, and the port the
    /// replica listens on.
    var ip: String {
        announcedIP ?? String(client.remoteAddress.split(separator: ":").dropLast().joined(separator: ":"))
    }
}

/// A client waiting in WAIT for enough replicas to acknowledge `offset`.
struct ReplicationWaiter {
    let client: ClientConnection
    let offset: Int
    let replicas: Int
    let timeout: Scheduled<Void>?
}

/// The child writing a snapshot for full resynchronisations and the replicas it serves.
struct ReplicationSnapshot {
    let pid: pid_t
    let diskless: Bool
    /// Disk mode: the file the child writes.
    let path: String
    /// Diskless mode: the EOF mark framing the payload.
    let mark: [UInt8]
    var peers: [ReplicaPeer]
    var pipeFinished = false
    /// Diskless: bytes relayed from the pipe so far (the child's progress).
    var relayedBytes = 0
    var childExited: Bool? = nil
}

/// Full and partial resynchronisations served (INFO stats `sync_*`).
struct ReplicationCounters {
    var full = 0
    var partialOK = 0
    var partialError = 0
}
