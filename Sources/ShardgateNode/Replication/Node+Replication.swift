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
        // The backlog's time to live counts from now, as in Redis: counted from the node's start,
        // the next cron would free the backlog (and the old history with it) before the failed-over
        // replicas reconnect, and they would all resynchronise in full.
        replication.noReplicasSince = now
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
        // A master without min-replicas-to-write refuses nothing: the common case, decided at once.
        guard !client.flags.isMaster, replication.link != nil || settings.minReplicasToWrite > 0 else { return nil }
        // EXEC is judged by its queue, as Redis does: a write if any queued command writes, refused
        // on a stale replica if any queued command is not allowed there.
        let queued = spec.isNamed("exec") ? (client.flags.queued ?? []).compactMap { CommandTable.redis.resolve($0)?.spec } : []
        let isWrite = spec.isWrite || queued.contains { $0.isWrite }
        let allowedWhenStale = spec.flags.contains(.stale) && queued.allSatisfy { $0.flags.contains(.stale) }
        if let link = replication.link {
            if settings.replicaReadOnly && isWrite {
                return "READONLY You can't write against a read only replica."
            }
            if !link.isUp && !settings.replicaServeStaleData && !allowedWhenStale {
                return "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
            }
        } else if settings.minReplicasToWrite > 0 && isWrite && goodReplicaCount < settings.minReplicasToWrite {
            return "NOREPLICAS Not enough good replicas to write."
        }
        return nil
    }
}
