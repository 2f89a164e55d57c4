#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import NIOCore

/// What the node knows about its snapshots, its append-only file and the child process writing
/// either (one at a time, as in Redis). Lives on the node's event loop.
final class PersistenceState {
    /// The forked child running BGSAVE or BGREWRITEAOF, if any.
    var child: BackgroundChild?
    /// True while the dataset is being loaded at startup (nothing is propagated).
    var loading = false
    /// SHUTDOWN already saved; the stop that follows must not save again.
    var shutdownSaved = false
    /// Changes since the last successful save (Redis's `server.dirty`); commands add theirs through
    /// their effect (`Node.apply(_:of:)`).
    var dirty = 0
    /// Unix ms of the last successful save (or of the start).
    var lastSaveTime: Int64 = 0
    /// INFO stats `latest_fork_usec` and `total_forks`.
    var latestForkMicroseconds = 0
    var totalForks = 0

    // RDB
    var lastBackgroundSaveOK = true
    var lastBackgroundSaveTry: Int64 = 0
    var lastBackgroundSaveSeconds = -1
    var backgroundSaveScheduled = false
    var rdbSaves = 0
    /// The running child's output size and when it last grew (see `watchChildProgress`).
    var childProgress: (pid: pid_t, bytes: Int, since: Int64)?
    var lastLoadKeysLoaded = 0
    var lastLoadKeysExpired = 0

    // AOF
    let aof: AppendOnlyFile
    var aofRewriteScheduled = false
    var aofRewrites = 0
    var lastRewriteOK = true
    var lastRewriteSeconds = -1
    var rewriteFailuresInARow = 0

    init(aof: AppendOnlyFile) {
        self.aof = aof
    }

    /// The first save point whose time and change count are both reached (a failed save is retried
    /// after 5 seconds, as in Redis).
    func dueSavePoint(_ savePoints: [(seconds: Int, changes: Int)], now: Int64) -> (seconds: Int, changes: Int)? {
        let elapsed = (now - lastSaveTime) / 1000
        let mayRetry = lastBackgroundSaveOK || now - lastBackgroundSaveTry > 5000
        guard mayRetry else { return nil }
        return savePoints.first { dirty >= $0.changes && elapsed > Int64($0.seconds) }
    }

    /// MISCONF: with `stop-writes-on-bgsave-error` and save points (`stopWritesOnSaveError`),
    /// writes (and PING) are refused after a failed save until one succeeds; with the AOF on,
    /// after a failed AOF write (Redis's texts).
    /// `stopWritesOnSaveError` is read only after a failed save (this runs on every write).
    func writeRefusal(stopWritesOnSaveError: @autoclosure () -> Bool) -> String? {
        if !lastBackgroundSaveOK && stopWritesOnSaveError() {
            return "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. "
                + "Commands that may modify the data set are disabled, because this instance is configured to report "
                + "errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check "
                + "the Redis logs for details about the RDB error."
        }
        if aof.state != .off && !aof.lastWriteOK {
            return "MISCONF Errors writing to the AOF file: \(String(cString: strerror(aof.lastWriteError)))"
        }
        return nil
    }

    /// INFO persistence, with Redis 7.0's fields.
    var infoFields: [(String, String)] {
        let running = child.map { (Clock.monotonicMicroseconds() - $0.started) / 1_000_000 } ?? -1
        var fields: [(String, String)] = [
            ("loading", loading ? "1" : "0"), ("async_loading", "0"), ("current_cow_peak", "0"),
            ("current_cow_size", "0"), ("current_cow_size_age", "0"), ("current_fork_perc", "0.00"),
            ("current_save_keys_processed", "0"), ("current_save_keys_total", "0"),
            ("rdb_changes_since_last_save", "\(dirty)"),
            ("rdb_bgsave_in_progress", child?.kind == .snapshot ? "1" : "0"),
            ("rdb_last_save_time", "\(lastSaveTime / 1000)"),
            ("rdb_last_bgsave_status", lastBackgroundSaveOK ? "ok" : "err"),
            ("rdb_last_bgsave_time_sec", "\(lastBackgroundSaveSeconds)"),
            ("rdb_current_bgsave_time_sec", child?.kind == .snapshot ? "\(running)" : "-1"),
            ("rdb_saves", "\(rdbSaves)"), ("rdb_last_cow_size", "0"),
            ("rdb_last_load_keys_expired", "\(lastLoadKeysExpired)"),
            ("rdb_last_load_keys_loaded", "\(lastLoadKeysLoaded)"),
            ("aof_enabled", aof.state == .off ? "0" : "1"),
            ("aof_rewrite_in_progress", child?.kind == .aofRewrite ? "1" : "0"),
            ("aof_rewrite_scheduled", aofRewriteScheduled ? "1" : "0"),
            ("aof_last_rewrite_time_sec", "\(lastRewriteSeconds)"),
            ("aof_current_rewrite_time_sec", child?.kind == .aofRewrite ? "\(running)" : "-1"),
            ("aof_last_bgrewrite_status", lastRewriteOK ? "ok" : "err"),
            ("aof_rewrites", "\(aofRewrites)"),
            ("aof_rewrites_consecutive_failures", "\(rewriteFailuresInARow)"),
            ("aof_last_write_status", aof.lastWriteOK ? "ok" : "err"), ("aof_last_cow_size", "0"),
            ("module_fork_in_progress", "0"), ("module_fork_last_cow_size", "0"),
        ]
        if aof.state != .off {
            fields += [
                ("aof_current_size", "\(aof.currentSize)"), ("aof_base_size", "\(aof.baseSize)"),
                ("aof_pending_rewrite", aofRewriteScheduled ? "1" : "0"),
                ("aof_buffer_length", "\(aof.unwritten.readableBytes)"),
                ("aof_pending_bio_fsync", aof.syncInFlight ? "1" : "0"),
                ("aof_delayed_fsync", "\(aof.delayedSyncs)"),
            ]
        }
        return fields
    }
}

/// A forked child writing a snapshot: a dump for BGSAVE or a new AOF base for BGREWRITEAOF.
struct BackgroundChild {
    enum Kind { case snapshot, aofRewrite }
    let kind: Kind
    let pid: pid_t
    /// Monotonic microseconds at the fork.
    let started: Int
    /// Where the child writes; removed if it fails.
    let temporaryPath: String
    /// `dirty` at the fork: changes after it are not in the snapshot.
    let dirtyAtFork: Int
}
