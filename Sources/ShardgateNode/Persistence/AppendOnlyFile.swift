#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import NIOCore
import NIOPosix

/// The append-only file: Redis 7's multi-part layout in `<dir>/<appenddirname>/`
/// (`<appendfilename>.<n>.base.rdb`, `<appendfilename>.<n>.incr.aof`, `<appendfilename>.manifest`),
/// with commands appended to the newest incremental file and fsynced per `appendfsync`.
///
/// Owns the files, their descriptors and the bytes not yet written. It knows nothing of the
/// dataset: the node hands it what to append, writes bases through `openOnStartup(writeBase:)`
/// and installs a rewrite child's output with `installRewrittenBase(from:)`, and decides what a
/// failure means (logging, MISCONF, exiting with `appendfsync always`). Lives on the node's loop.
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

    /// What writing the buffered bytes came to.
    enum WriteOutcome: Equatable {
        /// Written, or nothing to write.
        case written
        /// Written after earlier writes failed.
        case recovered
        /// The write failed with this errno; `first` when the previous one had succeeded.
        case failed(errno: Int32, first: Bool)
    }

    /// `<dir>/<appenddirname>` (both immutable at run time, as in Redis).
    let directory: String
    /// `appendfilename`: the prefix of every file name.
    let prefix: String
    private let loop: any EventLoop

    var state = State.off
    var manifest = AOFManifest()
    /// The incremental file being appended to, and its descriptor (-1 when none).
    private(set) var incremental: AOFManifest.File?
    private(set) var fd: Int32 = -1
    /// Propagated bytes not yet written (a failed write keeps them for the next attempt).
    private(set) var unwritten = ByteBuffer()
    /// Base plus incremental files, in bytes (`aof_current_size`).
    private(set) var currentSize = 0
    /// `currentSize` after the last rewrite or load: automatic rewrites measure growth from it.
    private(set) var rewriteBaseSize = 0
    private(set) var baseSize = 0
    /// Written and not yet fsynced.
    private var needsSync = false
    private(set) var syncInFlight = false
    private var lastSync: Int64 = 0
    /// Descriptors of replaced incremental files, closed when the background fsync finishes.
    private var closeAfterSync: [Int32] = []
    private(set) var lastWriteOK = true
    /// errno of the failed write or fsync (for MISCONF).
    private(set) var lastWriteError: Int32 = 0
    private(set) var delayedSyncs = 0

    init(directory: String, prefix: String, loop: any EventLoop) {
        self.directory = directory
        self.prefix = prefix
        self.loop = loop
    }

    var acceptsWrites: Bool { state == .on || state == .rewritingToEnable }

    var manifestPath: String { "\(directory)/\(prefix).manifest" }
    func path(of file: AOFManifest.File) -> String { "\(directory)/\(file.name)" }

    /// Base then incremental files, in replay order.
    var filesToLoad: [AOFManifest.File] { (manifest.base.map { [$0] } ?? []) + manifest.incrementals }

    /// Whether the files grew by `percentage` % over their size after the last rewrite, and past
    /// `minSize` (`auto-aof-rewrite-percentage`, `auto-aof-rewrite-min-size`).
    func needsAutomaticRewrite(percentage: Int, minSize: Int) -> Bool {
        guard state == .on, percentage > 0, currentSize > minSize else { return false }
        let base = max(rewriteBaseSize, 1)
        return (currentSize - base) * 100 / base >= percentage
    }

    // MARK: - Startup

    /// Reads the manifest when there is one (also with appendonly off: new files continue its numbering).
    func readManifest() throws {
        guard let bytes = try FileIO.read(manifestPath) else { return }
        manifest = try AOFManifest.parse(String(decoding: bytes, as: UTF8.self))
    }

    /// After loading: writes a base with `writeBase(path, temporaryPath)` when there is none yet
    /// (an empty dataset gets one too, as in Redis 7), opens the newest incremental file or a new
    /// one, writes the manifest if it changed, and starts appending.
    func openOnStartup(now: Int64, writeBase: (_ path: String, _ temporaryPath: String) throws -> Void) throws {
        try FileIO.makeDirectory(directory)
        let before = manifest
        if manifest.base == nil && manifest.incrementals.isEmpty {
            let base = manifest.replaceBase(prefix: prefix)
            try writeBase(path(of: base), "\(directory)/temp-rewriteaof-\(getpid()).aof")
        }
        let file = manifest.incrementals.last ?? manifest.addIncremental(prefix: prefix)
        fd = try FileIO.openForAppend(path(of: file))
        incremental = file
        let history = manifest.history
        manifest.history = []
        if manifest != before { try writeManifest() }
        for file in history { FileIO.remove(path(of: file)) }
        state = .on
        measure()
        rewriteBaseSize = currentSize
        lastSync = now
    }

    private func writeManifest() throws(FileIO.Failure) {
        try FileIO.writeAtomically(manifestPath, Array(manifest.text.utf8))
    }

    private func measure() {
        baseSize = manifest.base.map { FileIO.size(path(of: $0)) } ?? 0
        currentSize = baseSize + manifest.incrementals.reduce(0) { $0 + FileIO.size(path(of: $1)) }
    }

    // MARK: - Appending

    /// Buffers a batch of propagated commands for `writeBuffered`.
    func append(_ batch: ByteBuffer) {
        var batch = batch
        unwritten.writeBuffer(&batch)
    }

    /// Writes what is buffered to the incremental file; a failure keeps the bytes for the next try.
    func writeBuffered() -> WriteOutcome {
        guard fd >= 0, unwritten.readableBytes > 0 else { return .written }
        var failed: Int32 = 0
        while unwritten.readableBytes > 0 {
            let written = unwritten.withUnsafeReadableBytes { FileIO.writeOnce(fd, $0) }
            if written < 0 {
                if errno == EINTR { continue }
                failed = errno
                break
            }
            unwritten.moveReaderIndex(forwardBy: written)
            currentSize += written
        }
        if unwritten.readableBytes == 0 { unwritten.clear() }
        if failed != 0 {
            let first = lastWriteOK
            lastWriteOK = false
            lastWriteError = failed
            return .failed(errno: failed, first: first)
        }
        needsSync = true
        defer { lastWriteOK = true }
        return lastWriteOK ? .written : .recovered
    }

    /// fsyncs the incremental file on the loop (`always`, shutdown). False when the fsync failed.
    func syncNow(now: Int64) -> Bool {
        guard fd >= 0, needsSync else { return true }
        let synced = (try? FileIO.sync(fd, path: "AOF")) != nil
        needsSync = false
        lastSync = now
        return synced
    }

    /// `everysec`: at most one fsync a second, on a pool thread so the loop never waits for the
    /// disk; a second still in flight after two seconds counts as delayed (`aof_delayed_fsync`).
    func syncInBackground(now: Int64) {
        guard fd >= 0, needsSync else { return }
        if syncInFlight {
            delayedSyncs += now - lastSync >= 2000 ? 1 : 0
            return
        }
        guard now - lastSync >= 1000 else { return }
        syncInFlight = true
        needsSync = false
        lastSync = now
        let fd = self.fd
        let file = NIOLoopBound(self, eventLoop: loop)
        NIOThreadPool.singleton.runIfActive(eventLoop: loop) {
            try? FileIO.sync(fd, path: "AOF")
        }.whenComplete { _ in file.value.backgroundSyncFinished() }
    }

    private func backgroundSyncFinished() {
        syncInFlight = false
        for fd in closeAfterSync { close(fd) }
        closeAfterSync = []
    }

    // MARK: - Rewriting

    /// Appends from now on go to a new incremental file (which the propagation stream must start
    /// with a SELECT). The manifest names it at once when the AOF is on; while it is being enabled,
    /// the rewrite's completion writes the first manifest.
    func openNewIncremental() throws {
        let file = manifest.addIncremental(prefix: prefix)
        let newFD = try FileIO.openForAppend(path(of: file))
        if state == .on {
            do { try writeManifest() } catch {
                close(newFD)
                manifest.incrementals.removeLast()
                manifest.incrementalSequence -= 1
                throw error
            }
        }
        retire(fd: fd)
        fd = newFD
        incremental = file
        needsSync = false
        if state == .waitingForRewrite { state = .rewritingToEnable }
    }

    /// Closes a replaced incremental file after its last fsync, off the loop.
    private func retire(fd: Int32) {
        guard fd >= 0 else { return }
        if syncInFlight {
            closeAfterSync.append(fd)
        } else {
            NIOThreadPool.singleton.runIfActive(eventLoop: loop) {
                try? FileIO.sync(fd, path: "AOF")
                close(fd)
            }.whenComplete { _ in }
        }
    }

    /// A rewrite child wrote a new base to `temporaryPath`: it becomes the base, the manifest keeps
    /// only the incremental file opened at the fork, and the older files are deleted. On failure
    /// the manifest is as before and the error is thrown.
    func installRewrittenBase(from temporaryPath: String) throws {
        let previous = manifest
        let base = manifest.replaceBase(prefix: prefix)
        if let current = incremental, state != .off {
            manifest.retireIncrementals(keeping: current)
        } else {
            manifest.retireIncrementals(keeping: AOFManifest.File(name: "", sequence: -1, kind: .incremental))
        }
        let history = manifest.history
        manifest.history = []
        do {
            try FileIO.rename(temporaryPath, to: path(of: base))
            try writeManifest()
        } catch {
            manifest = previous
            throw error
        }
        for file in history where file.name != base.name { FileIO.remove(path(of: file)) }
        if state == .rewritingToEnable { state = .on }
        measure()
        rewriteBaseSize = currentSize
    }

    /// appendonly no: the file is closed (after its last fsync, off the loop) and appends stop.
    /// The caller writes and fsyncs what was buffered first.
    func stop() {
        retire(fd: fd)
        fd = -1
        incremental = nil
        unwritten.clear()
        state = .off
    }
}
