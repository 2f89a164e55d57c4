import Commands

/// The points where features layered on the command core (transactions, pub/sub, blocking,
/// persistence, replication) hook into command execution.
extension Node {
    /// Why a resolved command must be refused now (out of memory, read-only replica, ...), or nil.
    func admissionError(_ spec: CommandSpec, client: ClientConnection) -> String? {
        if let refusal = monitorAdmissionError(spec, client: client) { return refusal }
        if let refusal = replicationAdmissionError(spec, client: client) { return refusal }
        if let refusal = persistenceAdmissionError(spec, client: client) { return refusal }
        return nil
    }

    /// After a command ran: what it described in its effect is carried out, in Redis's order (its
    /// `call()`): the changes are counted; a command that changed data touches the keys it modified
    /// (WATCH, and marks them ready for blocked clients) and is propagated to the AOF and replicas;
    /// then the clients blocked on keys that became ready are served, each served command going
    /// through here in turn (deferred to the end of a running EXEC). The one path for commands run
    /// by a client, inside EXEC and for served blocked clients.
    func apply(_ effect: CommandEffect, of call: CommandCall) {
        persistence.dirty += effect.dirty
        if !tracking.isEmpty || tracking.hasKeysOrPrefixes { applyTracking(effect, of: call) }
        if effect.changedData {
            // (Both checked here: on the common path, no call and no copy of the effect.)
            if !clients.watches.isEmpty || !clients.blocking.waiters.isEmpty { touchModifiedKeys(effect, of: call) }
            if isPropagating { propagate(effect.propagation, of: call) }
            call.client.flags.wroteData = true
        }
        endPropagationScope()
        if !clients.blocking.readyKeys.isEmpty { handleReadyKeys() }
    }

    /// After every executed command: MONITOR feed.
    func feedMonitors(_ call: CommandCall) {
        if !clients.monitors.isEmpty { feedMonitorClients(call) }
    }

    /// A client is going away (or RESET): drop what other features hold for it.
    func clientWillClose(_ client: ClientConnection) {
        clients.removeFromEventRegistries(client)
        disableTracking(client)
        forgetPostponed(client)
        if client.flags.isReplica { detachReplica(client) }
        replication.waiters.removeAll { $0.client === client }
    }

    /// A key was deleted because its TTL passed.
    func keyExpired(_ database: Database, _ key: [UInt8]) {
        stats.expiredKeys += 1
        notifyKeyspaceEvent(.expired, "expired", key: key, database: database.index)
        watchedKeyExpired(database, key)
        if tracking.hasKeysOrPrefixes { invalidateTrackedKey(key, modifiedBy: nil) }
        propagateExpiry(database, key)
    }

    /// Before serving: load the RDB or AOF named by the settings.
    func loadPersistedData() throws {
        memory.startup = MemoryState.heapInUse()
        prepareForForking()
        try loadDataFromDisk()
    }

    /// SHUTDOWN or a signal: the last save before the process ends.
    func prepareShutdown() {
        _ = persistBeforeShutdown(save: nil)
    }

    /// A CONFIG SET changed settings: apply what takes effect at run time.
    /// (A new requirepass leaves connected clients authenticated, as in Redis.)
    func settingsChanged(from previous: NodeSettings) {
        persistenceSettingsChanged(from: previous)
        if settings.maxMemoryPolicy != previous.maxMemoryPolicy { updateAccessTracking(now: now) }
        if settings.requirePass != previous.requirePass { requirePassChanged() }
        if settings.aclPubsubDefault != previous.aclPubsubDefault { access.allChannelsByDefault = settings.aclPubsubDefault == "allchannels" }
        if settings.aclLogMaxLength != previous.aclLogMaxLength {
            access.logMaxLength = settings.aclLogMaxLength
            access.log = Array(access.log.prefix(settings.aclLogMaxLength))
        }
        if settings.logLevel != previous.logLevel { logger.logLevel = settings.swiftLogLevel }
        if settings.keyspaceEvents != previous.keyspaceEvents { for database in keyspace.databases { updateNewKeyHook(database) } }
    }

    /// SHUTDOWN: saves when asked (or when save points exist, unless NOSAVE), then stops the node.
    /// Returns an error text when the save fails and the node keeps running.
    func shutdown(save: Bool?) -> String? {
        if let failure = persistBeforeShutdown(save: save) { return failure }
        // A busy script stops too, even one that wrote.
        busyScript?.killRequested = true
        prepareShutdown()
        shutdownHandler?()
        return nil
    }

    /// Periodic work of the features (save points, AOF fsync, replication), once per cron tick.
    func cronTasks(now: Int64) {
        watchChildProgress(now: now)
        persistenceCron(now: now)
        replicationCron(now: now)
        memoryCron(now: now)
        if settings.trackingTableMaxKeys > 0 && tracking.keys.count > settings.trackingTableMaxKeys { limitTrackingTable() }
        // Keys expired by the cycle: BCAST clients learn them now, no client's reply carrying them.
        if !tracking.isEmpty { broadcastInvalidations() }
    }

    /// Before replies are written (Redis's `beforeSleep`): the batch's changes go to the AOF (and
    /// with `appendfsync always` to disk) and to replicas before any client sees a reply.
    func beforeReplies() {
        if !tracking.pending.isEmpty { sendPendingInvalidations() }
        if !tracking.isEmpty { broadcastInvalidations() }
        flushPropagation()
    }

    /// "master" or "slave", as ROLE and HELLO report it.
    var replicationRole: String { isReplica ? "replica" : "master" }

    /// Once listening: follow the master named by `replicaof`, if any.
    func startReplicationIfConfigured() {
        if let master = settings.replicaOf { becomeReplica(of: master.host, port: master.port, atStartup: true) }
    }

    var pubsubChannelCount: Int { clients.pubsub.channels.count }
    var pubsubPatternCount: Int { clients.pubsub.patterns.count }
}
