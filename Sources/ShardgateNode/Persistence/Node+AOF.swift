#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import Commands
import Logging
import NIOCore
import NIOPosix
import RESP

/// The append-only file: Redis 7's multi-part layout in `<dir>/<appenddirname>/`
/// (`<appendfilename>.<n>.base.rdb`, `<appendfilename>.<n>.incr.aof`, `<appendfilename>.manifest`),
/// appended after each batch of commands, fsynced per `appendfsync`, rewritten by a forked child,
/// replayed at startup through the command handlers.
extension Node {
    var aofDirectory: String { "\(settings.directory)/\(settings.appendDirname)" }
    private var manifestPath: String { "\(aofDirectory)/\(settings.appendFilename).manifest" }
    private func aofPath(_ file: AOFManifest.File) -> String { "\(aofDirectory)/\(file.name)" }

    struct AOFLoadError: Error, CustomStringConvertible {
        let description: String
    }

    // MARK: - Startup

    /// Reads the manifest when there is one (also with appendonly off: new files continue its numbering).
    func readAOFManifest() throws {
        guard let bytes = try FileIO.read(manifestPath) else { return }
        persistence.aof.manifest = try AOFManifest.parse(String(decoding: bytes, as: UTF8.self))
    }

    /// Loads the base file and replays the incremental files in order. A command cut short at the
    /// end of the last file (a crash mid-write) is dropped and the file truncated to the last
    /// complete command, as Redis does with `aof-load-truncated yes`.
    func loadAppendOnlyFiles() throws {
        let manifest = persistence.aof.manifest
        let files = (manifest.base.map { [$0] } ?? []) + manifest.incrementals
        guard !files.isEmpty else { return }
        let started = Clock.monotonicMicroseconds()
        let client = ClientConnection(id: 0, channel: DetachedChannel(eventLoop: loop), authenticated: true, now: now)
        var commands = 0
        for (position, file) in files.enumerated() {
            let path = aofPath(file)
            guard let bytes = try FileIO.read(path) else {
                throw AOFLoadError(description: "the AOF file \(path) named by the manifest does not exist")
            }
            var offset = 0
            if bytes.starts(with: Array("REDIS".utf8)) {
                let result = try bytes.withUnsafeBytes {
                    try Snapshot.load($0, into: keyspace.databases, settings: settings, now: now, dropExpired: false)
                }
                try loadFunctionLibraries(result.functions)
                offset = result.length
                persistence.lastLoadKeysLoaded = result.loaded
            }
            let isLast = position == files.count - 1
            let replay = try replayAOF(bytes, from: offset, client: client, path: path)
            commands += replay.commands
            if replay.valid < bytes.count {
                guard isLast else {
                    throw AOFLoadError(description: "the AOF file \(path) is truncated and is not the last one")
                }
                logger.warning("!!! Warning: short read while loading the AOF file !!! AOF loaded anyway because aof-load-truncated is enabled", metadata: [
                    "file": "\(path)", "valid": "\(replay.valid)", "size": "\(bytes.count)",
                ])
                try FileIO.truncate(path, to: replay.valid)
            }
        }
        logger.notice("DB loaded from append only file", metadata: [
            "commands": "\(commands)", "seconds": "\(Double(Clock.monotonicMicroseconds() - started) / 1e6)",
        ])
    }

    /// Runs the commands in `bytes` from `offset` through the handlers; returns how many bytes hold
    /// complete commands (a MULTI without its EXEC at the end is not complete) and how many ran.
    func replayAOF(
        _ bytes: [UInt8], from offset: Int, client: ClientConnection, path: String
    ) throws -> (valid: Int, commands: Int) {
        var buffer = ByteBuffer(bytes: bytes[offset...])
        let total = buffer.readableBytes
        var parser = RESPRequestParser()
        var valid = offset
        var commands = 0
        var transaction: [RESPRequest]?
        while buffer.readableBytes > 0 {
            // `#TS:` annotations (aof-timestamp-enabled) are comments.
            if buffer.readableBytesView.first == UInt8(ascii: "#") {
                guard let end = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else { break }
                buffer.moveReaderIndex(to: end + 1)
                if transaction == nil { valid = offset + total - buffer.readableBytes }
                continue
            }
            let request: RESPRequest?
            do {
                request = try parser.next(from: &buffer)
            } catch {
                throw AOFLoadError(description: "bad file format reading the append only file \(path) at offset \(valid): \(error)")
            }
            guard let request else { break }
            let name = request.string(0).lowercased()
            if name == "multi" {
                transaction = []
            } else if name == "exec" {
                for queued in transaction ?? [] { try runLoadedCommand(queued, client: client) }
                commands += transaction?.count ?? 0
                transaction = nil
            } else if transaction != nil {
                transaction!.append(request)
            } else {
                try runLoadedCommand(request, client: client)
                commands += 1
            }
            if transaction == nil { valid = offset + total - buffer.readableBytes }
        }
        return (valid, commands)
    }

    /// One replayed command, straight to its handler (the admission checks are for clients).
    private func runLoadedCommand(_ request: RESPRequest, client: ClientConnection) throws {
        guard let spec = CommandTable.redis.resolve(request)?.spec else {
            throw AOFLoadError(description: "unknown command '\(request.string(0))' reading the append only file")
        }
        guard spec.acceptsArgumentCount(request.argumentCount), let handler = handler(for: spec) else {
            throw AOFLoadError(description: "command '\(spec.name)' in the append only file cannot be replayed")
        }
        run(handler, spec: spec, request: request, client: client)
        client.reply.clear()
    }

    /// After loading: writes a base when there is none yet (an empty dataset gets one too, as in
    /// Redis 7), opens the newest incremental file or a new one, writes the manifest if it changed.
    func openAOFOnStartup() throws {
        let aof = persistence.aof
        try FileIO.makeDirectory(aofDirectory)
        let before = aof.manifest
        if aof.manifest.base == nil && aof.manifest.incrementals.isEmpty {
            let base = aof.manifest.replaceBase(prefix: settings.appendFilename)
            try Snapshot.save(
                keyspace.databases, to: aofPath(base), temporaryPath: "\(aofDirectory)/temp-rewriteaof-\(getpid()).aof",
                creationTime: Int(now / 1000), compression: settings.rdbCompression, checksum: settings.rdbChecksum,
                aofBase: true, functions: functionLibraryCodes)
        }
        if let last = aof.manifest.incrementals.last {
            aof.fd = try FileIO.openForAppend(aofPath(last))
            aof.incremental = last
        } else {
            let file = aof.manifest.addIncremental(prefix: settings.appendFilename)
            aof.fd = try FileIO.openForAppend(aofPath(file))
            aof.incremental = file
        }
        let history = aof.manifest.history
        aof.manifest.history = []
        if aof.manifest != before { try writeManifest() }
        for file in history { FileIO.remove(aofPath(file)) }
        aof.state = .on
        measureAOF()
        aof.rewriteBaseSize = aof.currentSize
        aof.lastSync = now
    }

    private func writeManifest() throws(FileIO.Failure) {
        try FileIO.writeAtomically(manifestPath, Array(persistence.aof.manifest.text.utf8))
    }

    private func measureAOF() {
        let aof = persistence.aof
        aof.baseSize = aof.manifest.base.map { FileIO.size(aofPath($0)) } ?? 0
        aof.currentSize = aof.baseSize + aof.manifest.incrementals.reduce(0) { $0 + FileIO.size(aofPath($1)) }
    }

    // MARK: - Appending

    /// A batch of propagated commands: written now; fsynced now with `always` (before any reply of
    /// the batch goes out), within a second in the background with `everysec`, by the kernel with `no`.
    func appendToAOF(_ batch: ByteBuffer) {
        var batch = batch
        persistence.aof.unwritten.writeBuffer(&batch)
        writeAOFBuffer()
    }

    /// Writes what is buffered to the incremental file, then fsyncs as the policy says.
    func writeAOFBuffer() {
        let aof = persistence.aof
        guard aof.fd >= 0, aof.unwritten.readableBytes > 0 else { return }
        var failed: Int32 = 0
        while aof.unwritten.readableBytes > 0 {
            let written = aof.unwritten.withUnsafeReadableBytes { FileIO.writeOnce(aof.fd, $0) }
            if written < 0 {
                if errno == EINTR { continue }
                failed = errno
                break
            }
            aof.unwritten.moveReaderIndex(forwardBy: written)
            aof.currentSize += written
        }
        if aof.unwritten.readableBytes == 0 { aof.unwritten.clear() }
        if failed != 0 {
            let message = String(cString: strerror(failed))
            if aof.lastWriteOK { logger.warning("Error writing to the AOF file", metadata: ["error": "\(message)"]) }
            aof.lastWriteOK = false
            aof.lastWriteError = failed
            if settings.appendFsync == "always" {
                logger.critical("Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...")
                exit(1)
            }
            return
        }
        if !aof.lastWriteOK { logger.notice("AOF write error looks solved, Redis can write again.") }
        aof.lastWriteOK = true
        aof.needsSync = true
        switch settings.appendFsync {
        case "always": syncAOFNow()
        case "everysec": syncAOFInBackground()
        default: break
        }
    }

    /// fsyncs the incremental file on the loop (`always`, shutdown).
    func syncAOFNow() {
        let aof = persistence.aof
        guard aof.fd >= 0, aof.needsSync else { return }
        let synced = (try? FileIO.sync(aof.fd, path: "AOF")) != nil
        if !synced && settings.appendFsync == "always" {
            logger.critical("Can't persist AOF for fsync error when the AOF fsync policy is 'always'. Exiting...",
                            metadata: ["error": "\(String(cString: strerror(errno)))"])
            exit(1)
        }
        aof.needsSync = false
        aof.lastSync = now
    }

    /// `everysec`: at most one fsync a second, on a pool thread so the loop never waits for the disk.
    func syncAOFInBackground() {
        let aof = persistence.aof
        guard aof.fd >= 0, aof.needsSync else { return }
        if aof.syncInFlight {
            aof.delayedSyncs += now - aof.lastSync >= 2000 ? 1 : 0
            return
        }
        guard now - aof.lastSync >= 1000 else { return }
        aof.syncInFlight = true
        aof.needsSync = false
        aof.lastSync = now
        let fd = aof.fd
        let node = NIOLoopBound(self, eventLoop: loop)
        NIOThreadPool.singleton.runIfActive(eventLoop: loop) {
            try? FileIO.sync(fd, path: "AOF")
        }.whenComplete { _ in node.value.backgroundSyncFinished() }
    }

    private func backgroundSyncFinished() {
        let aof = persistence.aof
        aof.syncInFlight = false
        for fd in aof.closeAfterSync { close(fd) }
        aof.closeAfterSync = []
    }

    /// Cron: retries a failed write, keeps the `everysec` promise when no new write came.
    func aofCron(now: Int64) {
        guard persistence.aof.acceptsWrites else { return }
        if !persistence.aof.lastWriteOK { writeAOFBuffer() }
        if settings.appendFsync == "everysec" { syncAOFInBackground() }
    }

    var aofNeedsAutomaticRewrite: Bool {
        let aof = persistence.aof
        guard aof.state == .on, settings.autoAOFRewritePercentage > 0, aof.currentSize > settings.autoAOFRewriteMinSize
        else { return false }
        let base = max(aof.rewriteBaseSize, 1)
        return (aof.currentSize - base) * 100 / base >= settings.autoAOFRewritePercentage
    }

    // MARK: - Rewriting

    /// BGREWRITEAOF: switches appends to a new incremental file, then forks a child that writes the
    /// dataset as the new base. When it succeeds the manifest becomes new base + new incremental
    /// file and the older files are deleted. False when the rewrite could not start.
    func startAOFRewrite() -> Bool {
        guard persistence.child == nil, replication.snapshot == nil else { return false }
        let aof = persistence.aof
        do {
            try FileIO.makeDirectory(aofDirectory)
            if aof.acceptsWrites {
                flushPropagation()
                writeAOFBuffer()
            }
            if aof.state != .off { try openNewIncremental() }
        } catch {
            logger.warning("Can't open a new AOF incremental file", metadata: ["error": "\(error)"])
            persistence.lastRewriteOK = false
            return false
        }
        let databases = self.keyspace.databases
        let directory = aofDirectory
        let compression = settings.rdbCompression
        let checksum = settings.rdbChecksum
        let creationTime = Int(now / 1000)
        let started = Clock.monotonicMicroseconds()
        let functions = functionLibraryCodes
        let pid = forkChild {
            let temporary = "\(directory)/temp-rewriteaof-bg-\(getpid()).aof"
            return (try? Snapshot.save(
                databases, to: temporary, temporaryPath: "\(temporary).tmp", creationTime: creationTime,
                compression: compression, checksum: checksum, aofBase: true, functions: functions)) != nil
        }
        guard pid > 0 else {
            logger.warning("Can't rewrite append only file in background: fork failed",
                           metadata: ["error": "\(String(cString: strerror(errno)))"])
            persistence.lastRewriteOK = false
            return false
        }
        noteFork(started: started)
        persistence.child = BackgroundChild(
            kind: .aofRewrite, pid: pid, started: started, temporaryPath: "\(directory)/temp-rewriteaof-bg-\(pid).aof",
            dirtyAtFork: persistence.dirty)
        logger.notice("Background append only file rewriting started", metadata: ["pid": "\(pid)"])
        return true
    }

    /// Appends from now on go to a new incremental file (which starts with SELECT).
    private func openNewIncremental() throws {
        let aof = persistence.aof
        let file = aof.manifest.addIncremental(prefix: settings.appendFilename)
        let fd = try FileIO.openForAppend(aofPath(file))
        if aof.state == .on {
            do { try writeManifest() } catch {
                close(fd)
                aof.manifest.incrementals.removeLast()
                aof.manifest.incrementalSequence -= 1
                throw error
            }
        }
        retire(fd: aof.fd)
        aof.fd = fd
        aof.incremental = file
        aof.needsSync = false
        if aof.state == .waitingForRewrite { aof.state = .rewritingToEnable }
        propagation.database = -1
    }

    /// Closes a replaced incremental file after its last fsync, off the loop.
    private func retire(fd: Int32) {
        guard fd >= 0 else { return }
        let aof = persistence.aof
        if aof.syncInFlight {
            aof.closeAfterSync.append(fd)
        } else {
            NIOThreadPool.singleton.runIfActive(eventLoop: loop) {
                try? FileIO.sync(fd, path: "AOF")
                close(fd)
            }.whenComplete { _ in }
        }
    }

    func finishAOFRewrite(_ child: BackgroundChild, succeeded: Bool) {
        let aof = persistence.aof
        persistence.lastRewriteSeconds = (Clock.monotonicMicroseconds() - child.started) / 1_000_000
        guard succeeded else {
            FileIO.remove(child.temporaryPath)
            rewriteFailed("Background AOF rewrite terminated with error")
            return
        }
        let previous = aof.manifest
        let base = aof.manifest.replaceBase(prefix: settings.appendFilename)
        if let current = aof.incremental, aof.state != .off {
            aof.manifest.retireIncrementals(keeping: current)
        } else {
            aof.manifest.retireIncrementals(keeping: AOFManifest.File(name: "", sequence: -1, kind: .incremental))
        }
        let history = aof.manifest.history
        aof.manifest.history = []
        do {
            try FileIO.rename(child.temporaryPath, to: aofPath(base))
            try writeManifest()
        } catch {
            aof.manifest = previous
            FileIO.remove(child.temporaryPath)
            rewriteFailed("Background AOF rewrite: \(error)")
            return
        }
        for file in history where file.name != base.name { FileIO.remove(aofPath(file)) }
        if aof.state == .rewritingToEnable { aof.state = .on }
        measureAOF()
        aof.rewriteBaseSize = aof.currentSize
        persistence.lastRewriteOK = true
        persistence.rewriteFailuresInARow = 0
        persistence.aofRewrites += 1
        logger.notice("Background AOF rewrite finished successfully")
    }

    private func rewriteFailed(_ message: String) {
        logger.warning("\(message)")
        persistence.lastRewriteOK = false
        persistence.rewriteFailuresInARow += 1
        // The AOF being switched on needs its base: try again.
        if persistence.aof.state == .rewritingToEnable { persistence.aofRewriteScheduled = true }
    }

    // MARK: - CONFIG SET appendonly

    /// appendonly switched at run time: on starts with a rewrite (the base must hold the dataset
    /// before commands are appended to it), off flushes, fsyncs and closes.
    func persistenceSettingsChanged(from previous: NodeSettings) {
        if settings.appendOnly && !previous.appendOnly { startAppendOnly() }
        if !settings.appendOnly && previous.appendOnly { stopAppendOnly() }
    }

    private func startAppendOnly() {
        let aof = persistence.aof
        guard aof.state == .off else { return }
        aof.state = .waitingForRewrite
        if let child = persistence.child {
            if child.kind == .aofRewrite { killChild() } else {
                persistence.aofRewriteScheduled = true
                logger.notice("AOF was enabled but there is already another background operation. An AOF background was scheduled to start when possible.")
                return
            }
        }
        if !startAOFRewrite() {
            logger.warning("Redis needs to enable the AOF but can't trigger a background AOF rewrite operation.")
            persistence.aofRewriteScheduled = true
        }
    }

    private func stopAppendOnly() {
        let aof = persistence.aof
        guard aof.state != .off else { return }
        if aof.acceptsWrites {
            flushPropagation()
            writeAOFBuffer()
            syncAOFNow()
        }
        if persistence.child?.kind == .aofRewrite { killChild() }
        persistence.aofRewriteScheduled = false
        retire(fd: aof.fd)
        aof.fd = -1
        aof.incremental = nil
        aof.unwritten.clear()
        aof.state = .off
    }
}
