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

/// The node's side of the append-only file (`AppendOnlyFile` owns the files): replaying it at
/// startup through the command handlers, feeding it propagated commands, fsync failures, the
/// rewrite child, and `CONFIG SET appendonly`.
extension Node {
    struct AOFLoadError: Error, CustomStringConvertible {
        let description: String
    }

    // MARK: - Startup

    /// Loads the base file and replays the incremental files in order. A command cut short at the
    /// end of the last file (a crash mid-write) is dropped and the file truncated to the last
    /// complete command, as Redis does with `aof-load-truncated yes`.
    func loadAppendOnlyFiles() throws {
        let aof = persistence.aof
        let files = aof.filesToLoad
        guard !files.isEmpty else { return }
        let started = Clock.monotonicMicroseconds()
        let client = ClientConnection(id: 0, channel: DetachedChannel(eventLoop: loop), authenticated: true, now: now)
        var commands = 0
        for (position, file) in files.enumerated() {
            let path = aof.path(of: file)
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

    /// After loading: the AOF opens for appending, with a base holding the loaded dataset when
    /// the manifest names none.
    func openAOFOnStartup() throws {
        try persistence.aof.openOnStartup(now: now) { path, temporaryPath in
            try Snapshot.save(
                keyspace.databases, to: path, temporaryPath: temporaryPath, creationTime: Int(now / 1000),
                compression: settings.rdbCompression, checksum: settings.rdbChecksum, aofBase: true,
                functions: functionLibraryCodes)
        }
    }

    // MARK: - Appending

    /// A batch of propagated commands: written now; fsynced now with `always` (before any reply of
    /// the batch goes out), within a second in the background with `everysec`, by the kernel with `no`.
    func appendToAOF(_ batch: ByteBuffer) {
        persistence.aof.append(batch)
        writeAOFBuffer()
    }

    /// Writes what the AOF buffers, then fsyncs as the policy says. A failed write is logged once
    /// and refuses writes (MISCONF) until a later write succeeds; with `always` the node exits, as
    /// Redis does, since a reply could otherwise confirm a change that is not on disk.
    func writeAOFBuffer() {
        let aof = persistence.aof
        switch aof.writeBuffered() {
        case .failed(let error, let first):
            if first { logger.warning("Error writing to the AOF file", metadata: ["error": "\(String(cString: strerror(error)))"]) }
            if settings.appendFsync == "always" {
                logger.critical("Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...")
                exit(1)
            }
            return
        case .recovered:
            logger.notice("AOF write error looks solved, Redis can write again.")
        case .written:
            break
        }
        switch settings.appendFsync {
        case "always": syncAOFNow()
        case "everysec": aof.syncInBackground(now: now)
        default: break
        }
    }

    /// fsyncs the AOF on the loop (`always`, shutdown); a failure with `always` stops the node.
    func syncAOFNow() {
        if !persistence.aof.syncNow(now: now) && settings.appendFsync == "always" {
            logger.critical("Can't persist AOF for fsync error when the AOF fsync policy is 'always'. Exiting...",
                            metadata: ["error": "\(String(cString: strerror(errno)))"])
            exit(1)
        }
    }

    /// Cron: retries a failed write, keeps the `everysec` promise when no new write came.
    func aofCron(now: Int64) {
        let aof = persistence.aof
        guard aof.acceptsWrites else { return }
        if !aof.lastWriteOK { writeAOFBuffer() }
        if settings.appendFsync == "everysec" { aof.syncInBackground(now: now) }
    }

    var aofNeedsAutomaticRewrite: Bool {
        persistence.aof.needsAutomaticRewrite(
            percentage: settings.autoAOFRewritePercentage, minSize: settings.autoAOFRewriteMinSize)
    }

    // MARK: - Rewriting

    /// BGREWRITEAOF: switches appends to a new incremental file, then forks a child that writes the
    /// dataset as the new base. When it succeeds the manifest becomes new base + new incremental
    /// file and the older files are deleted. False when the rewrite could not start.
    func startAOFRewrite() -> Bool {
        guard persistence.child == nil, replication.snapshot == nil else { return false }
        let aof = persistence.aof
        do {
            try FileIO.makeDirectory(aof.directory)
            if aof.acceptsWrites {
                flushPropagation()
                writeAOFBuffer()
            }
            if aof.state != .off {
                try aof.openNewIncremental()
                // The new incremental file starts with a SELECT.
                propagation.aofDatabase = -1
            }
        } catch {
            logger.warning("Can't open a new AOF incremental file", metadata: ["error": "\(error)"])
            persistence.lastRewriteOK = false
            return false
        }
        let databases = self.keyspace.databases
        let directory = aof.directory
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

    func finishAOFRewrite(_ child: BackgroundChild, succeeded: Bool) {
        let aof = persistence.aof
        persistence.lastRewriteSeconds = (Clock.monotonicMicroseconds() - child.started) / 1_000_000
        guard succeeded else {
            FileIO.remove(child.temporaryPath)
            rewriteFailed("Background AOF rewrite terminated with error")
            return
        }
        do {
            try aof.installRewrittenBase(from: child.temporaryPath)
        } catch {
            FileIO.remove(child.temporaryPath)
            rewriteFailed("Background AOF rewrite: \(error)")
            return
        }
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
        aof.stop()
    }
}
