import CForkChild
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import Commands
import Logging

/// RDB snapshots: SAVE, BGSAVE through a forked child, save points, loading at startup, SHUTDOWN.
extension Node {
    var rdbPath: String { "\(settings.directory)/\(settings.dbFilename)" }

    // MARK: - Loading

    /// Startup: the AOF when appendonly is on (Redis never falls back to the dump then), else the dump.
    func loadDataFromDisk() throws {
        persistence.loading = true
        let savedStats = stats
        defer {
            persistence.loading = false
            stats = savedStats
            persistence.dirty = 0
            propagation.pending.clear()
            propagation.exclusive.removeAll()
        }
        try persistence.aof.readManifest()
        if settings.appendOnly {
            try loadAppendOnlyFiles()
            try openAOFOnStartup()
        } else {
            try loadSnapshot()
        }
    }

    /// Loads the dump into the databases. A missing file is no error (a new node) unless `required`.
    private func loadSnapshot(required: Bool = false) throws {
        let path = rdbPath
        let started = Clock.monotonicMicroseconds()
        guard let bytes = try FileIO.read(path) else {
            if required { throw Snapshot.LoadError(description: "no such file: \(path)") }
            return
        }
        let result = try bytes.withUnsafeBytes {
            try Snapshot.load(
                $0, into: keyspace.databases, settings: settings, now: now, dropExpired: settings.replicaOf == nil)
        }
        try loadFunctionLibraries(result.functions)
        persistence.lastLoadKeysLoaded = result.loaded
        persistence.lastLoadKeysExpired = result.expired
        logger.notice("DB loaded from disk", metadata: [
            "file": "\(path)", "keys": "\(result.loaded)", "expired": "\(result.expired)",
            "seconds": "\(Double(Clock.monotonicMicroseconds() - started) / 1e6)",
        ])
    }

    // MARK: - Reloading (DEBUG RELOAD, DEBUG LOADAOF)

    /// DEBUG RELOAD: writes the dump (unless `save` is false), empties every database (unless
    /// `flush` is false) and loads the dump back, as Redis does to prove that what it holds survives
    /// a restart. A key of the dump replaces a key of the same name still in memory (Redis merges
    /// only with MERGE and stops the server on such a conflict otherwise; the node always merges).
    /// Returns Redis's error text when it fails; the databases are empty then if they were flushed,
    /// as in Redis.
    func debugReload(save: Bool, flush: Bool, merge: Bool = false) -> String? {
        // Without MERGE, a library of the dump that is still loaded is an error, as in Redis.
        functions.replacesOnLoad = merge
        defer { functions.replacesOnLoad = true }
        // What earlier commands of this batch propagated goes out first (the load propagates nothing).
        flushPropagation()
        if save && !saveSnapshot() { return "ERR" }
        if flush { emptyForReload() }
        do {
            try whileReloading { try loadSnapshot(required: true) }
        } catch {
            logger.warning("DEBUG RELOAD could not load the dump", metadata: ["error": "\(error)"])
            return "ERR Error trying to load the RDB dump"
        }
        logger.warning("DB reloaded by DEBUG RELOAD")
        return nil
    }

    /// DEBUG LOADAOF: writes what the AOF still buffers, empties every database and replays the
    /// AOF files the manifest names (with appendonly off too, as Redis does). Returns an error text
    /// when a file cannot be loaded (where Redis exits).
    func debugLoadAOF() -> String? {
        flushPropagation()
        if settings.appendOnly {
            writeAOFBuffer()
            syncAOFNow()
        }
        emptyForReload()
        do {
            try whileReloading {
                try persistence.aof.readManifest()
                try loadAppendOnlyFiles()
            }
        } catch {
            logger.warning("DEBUG LOADAOF could not load the append only file", metadata: ["error": "\(error)"])
            return "ERR Error trying to load the append only file: \(error)"
        }
        // The replayed commands are no new changes (Redis: no AOF or replication of them).
        persistence.dirty = 0
        logger.warning("Append Only File loaded by DEBUG LOADAOF")
        return nil
    }

    /// Every database emptied ahead of a reload, as Redis's `emptyData`: watched keys that exist are
    /// touched (a reload may bring other values); no change is counted or propagated.
    private func emptyForReload() {
        for (index, database) in keyspace.databases.enumerated() {
            if !clients.watches.isEmpty { clients.watches.touchExisting(database: index) }
            database.removeAll()
        }
        // The function libraries go too (they come back from the file), as Redis's emptyData.
        functions.flushLibraries()
    }

    /// Runs a load in the loading state (INFO `loading:1`, nothing propagated); the commands an AOF
    /// replays leave the command statistics as they were.
    private func whileReloading(_ body: () throws -> Void) rethrows {
        persistence.loading = true
        let savedStats = stats
        defer {
            persistence.loading = false
            stats = savedStats
        }
        try body()
    }

    // MARK: - Saving

    /// FLUSHALL's part (Redis's `flushAllDataAndResetRDB`): a running BGSAVE would write data that
    /// no longer exists, so it is stopped; with save points, the now empty dataset is saved in the
    /// foreground (not counted in `rdb_saves`, as in Redis).
    /// True when it saved (which resets the change count).
    @discardableResult
    func snapshotAfterFlushAll() -> Bool {
        if persistence.child?.kind == .snapshot { killChild() }
        guard !settings.savePoints.isEmpty else { return false }
        return saveSnapshot(countsAsSave: false)
    }

    /// SAVE: writes the dump in the foreground. False when it could not be written.
    func saveSnapshot(countsAsSave: Bool = true) -> Bool {
        let path = rdbPath
        do {
            try Snapshot.save(
                keyspace.databases, to: path, temporaryPath: "\(settings.directory)/temp-\(getpid()).rdb",
                creationTime: Int(now / 1000), compression: settings.rdbCompression, checksum: settings.rdbChecksum,
                functions: functionLibraryCodes)
        } catch {
            logger.warning("Failed saving the DB", metadata: ["error": "\(error)"])
            persistence.lastBackgroundSaveOK = false
            return false
        }
        persistence.dirty = 0
        persistence.lastSaveTime = now
        persistence.lastBackgroundSaveOK = true
        if countsAsSave { persistence.rdbSaves += 1 }
        logger.notice("DB saved on disk", metadata: ["file": "\(path)"])
        return true
    }

    /// BGSAVE: forks a child that writes the dump (to `temp-<pid>.rdb`, renamed over the dump when
    /// complete) while the node keeps serving; cron reaps it. False when the fork failed.
    func startBackgroundSave() -> Bool {
        guard persistence.child == nil, replication.snapshot == nil else { return false }
        let databases = self.keyspace.databases
        let path = rdbPath
        let directory = settings.directory
        let compression = settings.rdbCompression
        let checksum = settings.rdbChecksum
        let creationTime = Int(now / 1000)
        persistence.lastBackgroundSaveTry = now
        let started = Clock.monotonicMicroseconds()
        let functions = functionLibraryCodes
        let pid = forkChild {
            (try? Snapshot.save(
                databases, to: path, temporaryPath: "\(directory)/temp-\(getpid()).rdb", creationTime: creationTime,
                compression: compression, checksum: checksum, functions: functions)) != nil
        }
        guard pid > 0 else {
            persistence.lastBackgroundSaveOK = false
            logger.warning("Can't save in background: fork failed", metadata: ["error": "\(String(cString: strerror(errno)))"])
            return false
        }
        noteFork(started: started)
        persistence.child = BackgroundChild(
            kind: .snapshot, pid: pid, started: started, temporaryPath: "\(directory)/temp-\(pid).rdb", dirtyAtFork: persistence.dirty)
        logger.notice("Background saving started", metadata: ["pid": "\(pid)"])
        return true
    }

    /// Forks; the child runs `body` and exits with 0 when it returns true. Returns the child's pid
    /// (or -1 with errno set) in the parent.
    ///
    /// The child only walks the dataset (copy-on-write pages) and writes files: no event loop, no
    /// logging, and `_exit` so nothing registered by the parent runs twice.
    func forkChild(_ body: () -> Bool) -> pid_t {
        let parent = getpid()
        let pid = fork()
        if pid == 0 {
            shardgate_die_with_parent(parent)
            _exit(body() ? 0 : 1)
        }
        return pid
    }

    func noteFork(started: Int) {
        persistence.latestForkMicroseconds = Clock.monotonicMicroseconds() - started
        persistence.totalForks += 1
    }

    /// Collects a finished child (cron, without blocking) and completes what it was doing.
    func reapChild() {
        guard let child = persistence.child else { return }
        var status: Int32 = 0
        let result = waitpid(child.pid, &status, WNOHANG)
        if result == 0 { return }
        let succeeded = result == child.pid && status & 0x7F == 0 && (status >> 8) & 0xFF == 0
        persistence.child = nil
        switch child.kind {
        case .snapshot: finishBackgroundSave(child, succeeded: succeeded)
        case .aofRewrite: finishAOFRewrite(child, succeeded: succeeded)
        }
    }

    private func finishBackgroundSave(_ child: BackgroundChild, succeeded: Bool) {
        persistence.lastBackgroundSaveSeconds = (Clock.monotonicMicroseconds() - child.started) / 1_000_000
        if succeeded {
            persistence.dirty = max(0, persistence.dirty - child.dirtyAtFork)
            persistence.lastSaveTime = now
            persistence.lastBackgroundSaveOK = true
            persistence.rdbSaves += 1
            logger.notice("Background saving terminated with success")
        } else {
            FileIO.remove(child.temporaryPath)
            persistence.lastBackgroundSaveOK = false
            logger.warning("Background saving error")
        }
    }

    /// Stops a running child (SHUTDOWN, CONFIG SET appendonly no) and removes its temporary file.
    func killChild() {
        guard let child = persistence.child else { return }
        signalChild(child.pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(child.pid, &status, 0) < 0 && errno == EINTR {}
        FileIO.remove(child.temporaryPath)
        persistence.child = nil
        logger.notice("Killed background child", metadata: ["pid": "\(child.pid)"])
    }

    // MARK: - Refusing writes

    /// MISCONF after a failed save or AOF write (see `PersistenceState.writeRefusal`); the master
    /// link of a replica is never refused.
    func persistenceAdmissionError(_ spec: CommandSpec, client: ClientConnection) -> String? {
        guard spec.isWrite || spec.isNamed("ping"), !client.flags.isMaster else { return nil }
        return persistence.writeRefusal(
            stopWritesOnSaveError: settings.stopWritesOnBgsaveError && !settings.savePoints.isEmpty)
    }

    // MARK: - Shutdown

    /// SHUTDOWN's persistence: stops any child, flushes and fsyncs the AOF, saves the dump when
    /// asked (`save == true`) or when save points exist (unless `save == false`). Returns Redis's
    /// error text when the save failed (the node then keeps running).
    func persistBeforeShutdown(save: Bool?) -> String? {
        if persistence.shutdownSaved { return nil }
        killChild()
        if persistence.aof.acceptsWrites {
            flushPropagation()
            writeAOFBuffer()
            syncAOFNow()
        }
        let wantsSave = save ?? !settings.savePoints.isEmpty
        if wantsSave && !saveSnapshot() {
            return "ERR Errors trying to SHUTDOWN. Check logs."
        }
        persistence.shutdownSaved = true
        return nil
    }

    // MARK: - Cron

    /// Once per cron tick: reap the child, start scheduled or due saves and rewrites, write and
    /// fsync what active expiry propagated.
    func persistenceCron(now: Int64) {
        reapChild()
        if persistence.child == nil {
            if persistence.aofRewriteScheduled {
                persistence.aofRewriteScheduled = false
                _ = startAOFRewrite()
            } else if persistence.backgroundSaveScheduled
                && (persistence.lastBackgroundSaveOK || now - persistence.lastBackgroundSaveTry > 5000)
            {
                persistence.backgroundSaveScheduled = false
                _ = startBackgroundSave()
            } else if let point = persistence.dueSavePoint(settings.savePoints, now: now) {
                logger.notice("\(point.changes) changes in \(point.seconds) seconds. Saving...")
                _ = startBackgroundSave()
            } else if aofNeedsAutomaticRewrite {
                logger.notice("Starting automatic rewriting of AOF", metadata: [
                    "size": "\(persistence.aof.currentSize)", "base": "\(persistence.aof.rewriteBaseSize)",
                ])
                _ = startAOFRewrite()
            }
        }
        flushPropagation()
        aofCron(now: now)
    }
}

private func signalChild(_ pid: pid_t, _ signal: Int32) {
    #if canImport(Glibc)
    _ = Glibc.kill(pid, signal)
    #else
    _ = Darwin.kill(pid, signal)
    #endif
}
