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
    let aof = AppendOnlyFile()
    var aofRewriteScheduled = false
    var aofRewrites = 0
    var lastRewriteOK = true
    var lastRewriteSeconds = -1
    var rewriteFailuresInARow = 0
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

/// The append-only file being written: Redis 7's multi-part layout (see `AOFManifest`), with
/// commands appended to the newest incremental file.
final class AppendOnlyFile {
    enum State {
        /// appendonly no.
        case off
        /// appendonly was switched on at run time: waiting for the rewrite that writes the base
        /// (changes are not appended; the base will hold them).
        case waitingForRewrite
        /// The enabling rewrite is running: changes go to the new incremental file, whose manifest
        /// is written when the base is complete.
        case rewritingToEnable
        case on
    }

    var state = State.off
    var manifest = AOFManifest()
    /// The incremental file being appended to, and its descriptor (-1 when none).
    var incremental: AOFManifest.File?
    var fd: Int32 = -1
    /// Propagated bytes not yet written (a failed write keeps them for the next attempt).
    var unwritten = ByteBuffer()
    /// Base plus incremental files, in bytes (`aof_current_size`).
    var currentSize = 0
    /// `currentSize` after the last rewrite or load: automatic rewrites measure growth from it.
    var rewriteBaseSize = 0
    var baseSize = 0
    /// Written and not yet fsynced.
    var needsSync = false
    var syncInFlight = false
    var lastSync: Int64 = 0
    /// Descriptors of replaced incremental files, closed when the background fsync finishes.
    var closeAfterSync: [Int32] = []
    var lastWriteOK = true
    /// errno of the failed write or fsync (for MISCONF).
    var lastWriteError: Int32 = 0
    var delayedSyncs = 0

    var acceptsWrites: Bool { state == .on || state == .rewritingToEnable }
}
