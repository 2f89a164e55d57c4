import Commands
import NIOCore

/// Role changes, the empty-master guard, and what INFO and ROLE report about replication.
extension Node {
    var isReplica: Bool { replication.link != nil }

    /// REPLICAOF host port: follow a master (this node's own history is offered in PSYNC, so a
    /// demoted master can continue partially with the promoted one).
    func becomeReplica(of host: String, port: Int, atStartup: Bool = false) {
        if let link = replication.link {
            link.stop()
        }
        settings.replicaOf = (host, port)
        // A replica leaves expiry to its master (expired keys read as missing until its DEL arrives).
        for database in keyspace.databases { database.deletesExpiredKeys = false }
        let link = MasterLink(host: host, port: port, node: self, offersOwnHistory: !atStartup)
        replication.link = link
        // Replicas of this node stay: they follow the new master's stream through this one, and are
        // disconnected (to resynchronise) only when this node's history changes.
        link.start()
        logger.notice("becoming a replica", metadata: ["master": "\(host):\(port)"])
    }

    /// REPLICAOF NO ONE: a master again, with a new history; the old one stays valid for PSYNC
    /// up to the current offset (replicas of the old master continue with this one).
    func becomeMaster() {
        guard let link = replication.link else { return }
        link.stop()
        replication.link = nil
        settings.replicaOf = nil
        for database in keyspace.databases { database.deletesExpiredKeys = true }
        replication.identity.startNewHistory()
        ensureBacklog()
        logger.notice("replication stopped: this node is a master", metadata: ["id": "\(replication.identity.replicationID)"])
    }

    /// The empty-master guard: a full resynchronisation is refused when it would replace a
    /// non-empty dataset by an empty one from a master whose history this data never belonged to
    /// (see docs/REPLICATION.md).
    func refusesEmptyMaster(id: String, incomingKeys: Int, heldKeys: Int) -> Bool {
        guard settings.replicaProtectEmptyMaster, incomingKeys == 0, heldKeys > 0 else { return false }
        let identity = replication.identity
        guard id != identity.replicationID && id != identity.previousID else { return false }
        replication.refusedEmptyMaster = (id, now)
        replication.refusedEmptyMasterCount += 1
        logger.warning(
            "refusing a full resynchronization that would wipe this replica: the master offers an empty dataset under a replication id this data never belonged to; keeping \(heldKeys) keys (promote this replica, or set replica-protect-empty-master no)",
            metadata: ["master_replid": "\(id)", "my_replid": "\(identity.replicationID)"])
        return true
    }

    /// Disconnects this node's replicas so they resynchronise (its history changed).
    func disconnectReplicas() {
        for peer in replication.replicas { kill(peer.client) }
    }

    /// Replaces every database by the loaded snapshot's (full resynchronisation).
    func replaceDataset(with staged: [Database]) {
        disconnectReplicas()
        touchAllWatchedKeys()
        for (index, database) in staged.enumerated() where index < keyspace.databases.count {
            database.deletesExpiredKeys = !isReplica
            watchExpiry(database)
            keyspace.databases[index] = database
        }
        persistence.dirty += 1
        if settings.appendOnly { _ = startAOFRewrite() }
    }

    /// Replica-side periodic work: ACKs, the master timeout.
    func replicationReplicaCron(now: Int64) {
        guard let link = replication.link else { return }
        if link.isUp || link.isSyncing {
            if now - link.lastIO > Int64(settings.replTimeout) * 1000 {
                logger.warning("MASTER timeout: no data nor PING received")
                link.dropConnection()
                link.start()
                return
            }
        }
        link.sendAck()
    }

    func replicationCron(now: Int64) {
        replicationMasterCron(now: now)
        replicationReplicaCron(now: now)
    }

    /// Why replication refuses `spec` from `client` now: read-only replica, stale data, too few
    /// good replicas (Redis's texts).
    func replicationAdmissionError(_ spec: CommandSpec, client: ClientConnection) -> String? {
        guard !client.flags.isMaster else { return nil }
        if let link = replication.link {
            if settings.replicaReadOnly && spec.isWrite {
                return "READONLY You can't write against a read only replica."
            }
            if !link.isUp && !settings.replicaServeStaleData && !spec.flags.contains(.stale) {
                return "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
            }
        } else if settings.minReplicasToWrite > 0 && spec.isWrite && goodReplicaCount < settings.minReplicasToWrite {
            return "NOREPLICAS Not enough good replicas to write."
        }
        return nil
    }

    /// INFO replication, with Redis 7.0's fields (and this node's empty-master guard state).
    func replicationInfoFields() -> [(String, String)] {
        var fields: [(String, String)] = []
        let now = self.now
        if let link = replication.link {
            fields += [
                ("role", "slave"), ("master_host", link.host), ("master_port", "\(link.port)"),
                ("master_link_status", link.isUp ? "up" : "down"),
                ("master_last_io_seconds_ago", link.isUp ? "\((now - link.lastIO) / 1000)" : "-1"),
                ("master_sync_in_progress", link.isSyncing ? "1" : "0"),
                ("slave_read_repl_offset", "\(replication.identity.offset)"),
                ("slave_repl_offset", "\(replication.identity.offset)"),
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
            if let refused = replication.refusedEmptyMaster {
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
        fields.append(("connected_slaves", "\(replication.replicas.count)"))
        if replication.link == nil && settings.minReplicasToWrite > 0 {
            fields.append(("min_slaves_good_slaves", "\(goodReplicaCount)"))
        }
        for (index, peer) in replication.replicas.enumerated() {
            let state = peer.state == .online ? "online" : peer.state.rawValue
            fields.append((
                "slave\(index)",
                "ip=\(peer.ip),port=\(peer.listeningPort),state=\(state),offset=\(peer.ackOffset),lag=\((now - peer.lastAck) / 1000)"
            ))
        }
        let identity = replication.identity
        let backlog = replication.backlog
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
