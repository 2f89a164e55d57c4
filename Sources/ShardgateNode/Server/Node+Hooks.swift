import Commands

/// The points where features layered on the command core (transactions, pub/sub, blocking,
/// persistence, replication) hook into command execution.
extension Node {
    /// Why a resolved command must be refused now (out of memory, read-only replica, ...), or nil.
    func admissionError(_ spec: CommandSpec, client: ClientConnection) -> String? {
        if let refusal = monitorAdmissionError(spec, client: client) { return refusal }
        return nil
    }

    /// After a command changed data (`dirty` moved).
    func commandChangedData(_ call: CommandCall) {
        trackChangedKeys(call)
    }

    /// After every executed command: MONITOR feed.
    func feedMonitors(_ call: CommandCall) {
        feedMonitorClients(call)
    }

    /// A client is going away (or RESET): drop what other features hold for it.
    func clientWillClose(_ client: ClientConnection) {
        removeFromEventRegistries(client)
    }

    /// A key was deleted because its TTL passed.
    func keyExpired(_ database: Database, _ key: [UInt8]) {
        stats.expiredKeys += 1
        watchedKeyExpired(database, key)
    }

    /// Before serving: load the RDB or AOF named by the settings.
    func loadPersistedData() throws {
    }

    /// SHUTDOWN or a signal: the last save before the process ends.
    func prepareShutdown() {
    }

    /// A CONFIG SET changed settings: apply what takes effect at run time.
    func settingsChanged(from previous: NodeSettings) {
        if settings.requirePass != nil && previous.requirePass == nil {
            // Connected clients stay authenticated, as in Redis.
        }
    }

    /// SHUTDOWN: saves when asked (or when save points exist, unless NOSAVE), then stops the node.
    /// Returns an error text when the save fails and the node keeps running.
    func shutdown(save: Bool?) -> String? {
        prepareShutdown()
        shutdownHandler?()
        return nil
    }

    /// Periodic work of the features (save points, AOF fsync, replication), once per cron tick.
    func cronTasks(now: Int64) {
    }

    /// "master" or "slave", as ROLE and HELLO report it.
    var replicationRole: String { "master" }

    /// INFO replication fields.
    func replicationInfo() -> [(String, String)] {
        [
            ("role", "master"), ("connected_slaves", "0"), ("master_failover_state", "no-failover"),
            ("master_replid", runID), ("master_replid2", String(repeating: "0", count: 40)),
            ("master_repl_offset", "0"), ("second_repl_offset", "-1"), ("repl_backlog_active", "0"),
            ("repl_backlog_size", "\(settings.replBacklogSize)"), ("repl_backlog_first_byte_offset", "0"),
            ("repl_backlog_histlen", "0"),
        ]
    }

    /// INFO persistence fields.
    func persistenceInfo() -> [(String, String)] {
        [
            ("loading", "0"), ("async_loading", "0"), ("current_cow_peak", "0"), ("current_cow_size", "0"),
            ("current_cow_size_age", "0"), ("current_fork_perc", "0.00"), ("current_save_keys_processed", "0"),
            ("current_save_keys_total", "0"), ("rdb_changes_since_last_save", "\(dirty)"),
            ("rdb_bgsave_in_progress", "0"), ("rdb_last_save_time", "\(lastSaveTime / 1000)"),
            ("rdb_last_bgsave_status", "ok"), ("rdb_last_bgsave_time_sec", "-1"),
            ("rdb_current_bgsave_time_sec", "-1"), ("rdb_saves", "0"), ("rdb_last_cow_size", "0"),
            ("rdb_last_load_keys_expired", "0"), ("rdb_last_load_keys_loaded", "0"),
            ("aof_enabled", settings.appendOnly ? "1" : "0"), ("aof_rewrite_in_progress", "0"),
            ("aof_rewrite_scheduled", "0"), ("aof_last_rewrite_time_sec", "-1"),
            ("aof_current_rewrite_time_sec", "-1"), ("aof_last_bgrewrite_status", "ok"),
            ("aof_rewrites", "0"), ("aof_rewrites_consecutive_failures", "0"), ("aof_last_write_status", "ok"),
            ("aof_last_cow_size", "0"), ("module_fork_in_progress", "0"), ("module_fork_last_cow_size", "0"),
        ]
    }

    var pubsubChannelCount: Int { pubsub.channels.count }
    var pubsubPatternCount: Int { pubsub.patterns.count }
}
