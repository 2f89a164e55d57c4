#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import NIOCore
import NIOPosix
import RESP

/// The master side of replication: PSYNC answered with `+CONTINUE` from the backlog or with a full
/// resynchronisation (a snapshot from a forked child, on disk or streamed through a pipe), then the
/// command stream; acknowledgements, WAIT, and the periodic PING.
extension Node {
    // MARK: - The stream

    /// Starts keeping the stream: a backlog and a consumer of the propagated commands.
    func ensureBacklog() {
        if replication.backlog == nil {
            replication.backlog = ReplicationBacklog(
                capacity: settings.replBacklogSize, endOffset: replication.identity.offset)
        }
        guard !replication.consumerRegistered else { return }
        replication.consumerRegistered = true
        propagation.consumers.append { [unowned self] batch in
            // A replica's own sub-replicas get its master's stream verbatim (see `feedReplicationStream`),
            // not what re-executing it propagates.
            guard replication.link == nil else { return }
            feedReplicationStream(batch)
        }
    }

    /// Appends bytes to the stream (see `ReplicationState.feed`); replicas written to are flushed
    /// at the end of the tick.
    func feedReplicationStream(_ batch: ByteBuffer) {
        replication.feed(batch) { scheduleFlush($0) }
    }

    /// Adds one command to the stream outside of a client's command (PING, REPLCONF GETACK).
    func propagateToReplicas(_ arguments: [String]) {
        guard !replication.replicas.isEmpty, replication.link == nil else { return }
        var buffer = ByteBuffer()
        buffer.writeRESPArrayHeader(arguments.count)
        for argument in arguments { buffer.writeRESPBulkString(argument) }
        flushPropagation()
        feedReplicationStream(buffer)
    }

    // MARK: - PSYNC

    /// `+CONTINUE` when `id` is this node's history (or the one before a promotion) and the backlog
    /// still holds everything from `offset` on. Counts `sync_partial_ok` / `sync_partial_err`.
    func tryPartialResync(_ client: ClientConnection, id: String, offset: Int) -> Bool {
        guard id != "?" else { return false }
        guard let backlog = replication.backlog, replication.identity.continues(id: id, at: offset),
            backlog.canServe(from: offset)
        else {
            replication.counters.partialError += 1
            logger.notice(
                "partial resynchronization not possible",
                metadata: ["replica": "\(client.remoteAddress)", "id": "\(id)", "offset": "\(offset)"])
            return false
        }
        flushPropagation()
        let peer = ReplicaPeer(client: client, state: .online, now: now)
        peer.ackOffset = offset - 1
        replication.attach(peer)
        client.reply.writeString("+CONTINUE \(replication.identity.replicationID)\r\n")
        client.reply.writeBytes(backlog.bytes(from: offset))
        replication.counters.partialOK += 1
        logger.notice(
            "partial resynchronization accepted",
            metadata: ["replica": "\(client.remoteAddress)", "bytes": "\(replication.identity.offset - offset + 1)"])
        return true
    }

    /// Queues a replica for a full resynchronisation; the snapshot starts now or from cron.
    func startFullResync(_ client: ClientConnection) {
        replication.counters.full += 1
        ensureBacklog()
        let peer = ReplicaPeer(client: client, state: .waitingForSnapshot, now: now)
        replication.attach(peer)
        if replication.waitingSince == nil { replication.waitingSince = now }
        startReplicationSnapshotIfDue()
    }

    /// A replica's connection closed (or it was killed).
    func detachReplica(_ client: ClientConnection) {
        replication.detach(client, now: now)
    }

    // MARK: - Snapshots for full resynchronisation

    /// Starts the snapshot child when replicas wait, no other child runs and (diskless) the delay passed.
    func startReplicationSnapshotIfDue() {
        let waiting = replication.replicas.filter { $0.state == .waitingForSnapshot }
        guard !waiting.isEmpty, replication.snapshot == nil, persistence.child == nil else { return }
        let diskless = settings.replDisklessSync && waiting.allSatisfy(\.supportsEOF)
        if diskless, let since = replication.waitingSince,
            now - since < Int64(settings.replDisklessSyncDelay) * 1000,
            settings.replDisklessSyncMaxReplicas == 0 || waiting.count < settings.replDisklessSyncMaxReplicas
        {
            return
        }
        replication.waitingSince = nil
        flushPropagation()
        // The stream after the fork starts with a SELECT.
        propagation.database = -1
        let offset = replication.identity.offset
        let id = replication.identity.replicationID
        let databases = self.keyspace.databases
        let compression = settings.rdbCompression
        let checksum = settings.rdbChecksum
        let creation = Int(now / 1000)
        let started = Clock.monotonicMicroseconds()
        var snapshot: ReplicationSnapshot
        if diskless {
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else {
                logger.warning("cannot create a pipe for diskless sync", metadata: ["errno": "\(errno)"])
                return
            }
            let writeEnd = fds[1]
            let functions = functionLibraryCodes
            let pid = forkChild {
                close(fds[0])
                return (try? Snapshot.write(
                    databases, creationTime: creation, compression: compression, checksum: checksum,
                    replication: (0, id, offset), functions: functions, sink: { bytes throws(FileIO.Failure) in
                        try FileIO.writeAll(writeEnd, bytes, path: "replication pipe")
                    })) != nil
            }
            close(writeEnd)
            guard pid > 0 else {
                close(fds[0])
                logger.warning("cannot fork for replication", metadata: ["errno": "\(errno)"])
                return
            }
            var mark = [UInt8](repeating: 0, count: 40)
            let hex = Array("0123456789abcdef".utf8)
            for index in mark.indices { mark[index] = hex[Int.random(in: 0..<16)] }
            snapshot = ReplicationSnapshot(pid: pid, diskless: true, path: "", mark: mark, peers: waiting)
            relaySnapshotPipe(fds[0])
        } else {
            let path = "\(settings.directory)/temp-repl-\(getpid())-\(Int.random(in: 0..<1_000_000)).rdb"
            let functions = functionLibraryCodes
            let pid = forkChild {
                guard let fd = try? FileIO.create(path) else { return false }
                defer { close(fd) }
                return (try? Snapshot.write(
                    databases, creationTime: creation, compression: compression, checksum: checksum,
                    replication: (0, id, offset), functions: functions, sink: { bytes throws(FileIO.Failure) in
                        try FileIO.writeAll(fd, bytes, path: path)
                    })) != nil
            }
            guard pid > 0 else {
                logger.warning("cannot fork for replication", metadata: ["errno": "\(errno)"])
                return
            }
            snapshot = ReplicationSnapshot(pid: pid, diskless: false, path: path, mark: [], peers: waiting)
        }
        noteFork(started: started)
        replication.snapshot = snapshot
        watchReplicationChild()
        for peer in waiting {
            peer.state = .receivingSnapshot
            if !peer.client.flags.legacySync { peer.client.reply.writeString("+FULLRESYNC \(id) \(offset)\r\n") }
            if diskless {
                peer.client.reply.writeString("$EOF:")
                peer.client.reply.writeBytes(snapshot.mark)
                peer.client.reply.writeCRLF()
            }
            scheduleFlush(peer.client)
        }
        logger.notice(
            "starting full resynchronization",
            metadata: ["replicas": "\(waiting.count)", "diskless": "\(diskless)", "offset": "\(offset)"])
    }

    /// Forwards what the child writes into the pipe to every replica of the snapshot.
    private func relaySnapshotPipe(_ fd: Int32) {
        let node = NIOLoopBound(self, eventLoop: loop)
        NIOPipeBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(SnapshotPipeHandler(node: node.value))
                }
            }
            .takingOwnershipOfDescriptor(input: fd)
            .whenFailure { error in
                node.value.logger.warning("cannot read the snapshot pipe", metadata: ["error": "\(error)"])
                close(fd)
            }
    }

    fileprivate func relaySnapshotBytes(_ bytes: ByteBuffer) {
        guard let snapshot = replication.snapshot else { return }
        replication.snapshot!.relayedBytes += bytes.readableBytes
        for peer in snapshot.peers {
            peer.client.reply.writeImmutableBuffer(bytes)
            peer.client.flush()
        }
    }

    fileprivate func snapshotPipeClosed() {
        replication.snapshot?.pipeFinished = true
        finishReplicationSnapshotIfDone()
    }

    /// Checks for the snapshot child's exit every few milliseconds while it runs (cron alone would
    /// add up to a tick to every full synchronisation).
    private func watchReplicationChild() {
        let node = NIOLoopBound(self, eventLoop: loop)
        loop.scheduleTask(in: .milliseconds(5)) {
            let node = node.value
            guard let snapshot = node.replication.snapshot, snapshot.childExited == nil else { return }
            node.reapReplicationChild()
            node.watchReplicationChild()
        }
    }

    /// Cron: reaps the snapshot child.
    func reapReplicationChild() {
        guard let snapshot = replication.snapshot, snapshot.childExited == nil else { return }
        var status: Int32 = 0
        let result = waitpid(snapshot.pid, &status, WNOHANG)
        guard result != 0 else { return }
        let succeeded = result == snapshot.pid && status & 0x7F == 0 && (status >> 8) & 0xFF == 0
        replication.snapshot!.childExited = succeeded
        finishReplicationSnapshotIfDone()
    }

    private func finishReplicationSnapshotIfDone() {
        guard let snapshot = replication.snapshot, let succeeded = snapshot.childExited,
            !snapshot.diskless || snapshot.pipeFinished
        else { return }
        replication.snapshot = nil
        guard succeeded else {
            logger.warning("replication snapshot failed: closing the replicas that waited for it")
            for peer in snapshot.peers { peer.client.channel.close(promise: nil) }
            if !snapshot.diskless { FileIO.remove(snapshot.path) }
            return
        }
        if !snapshot.diskless {
            let bytes = (try? FileIO.read(snapshot.path)) ?? nil
            FileIO.remove(snapshot.path)
            guard let bytes else {
                for peer in snapshot.peers { peer.client.channel.close(promise: nil) }
                return
            }
            for peer in snapshot.peers {
                peer.client.reply.writeString("$\(bytes.count)\r\n")
                peer.client.reply.writeBytes(bytes)
            }
        }
        for peer in snapshot.peers {
            if snapshot.diskless {
                peer.client.reply.writeBytes(snapshot.mark)
                peer.streamStartsOnAck = true
            } else {
                peer.client.reply.writeImmutableBuffer(peer.pending)
                peer.pending = ByteBuffer()
            }
            peer.state = .online
            peer.lastAck = now
            scheduleFlush(peer.client)
        }
        logger.notice("full resynchronization transferred", metadata: ["replicas": "\(snapshot.peers.count)"])
        startReplicationSnapshotIfDue()
    }

    // MARK: - Acknowledgements and WAIT

    func replicaAcknowledged(_ client: ClientConnection, offset: Int) {
        guard let peer = replication.replicas.first(where: { $0.client === client }) else { return }
        if peer.streamStartsOnAck {
            peer.streamStartsOnAck = false
            peer.client.reply.writeImmutableBuffer(peer.pending)
            peer.pending = ByteBuffer()
            scheduleFlush(peer.client)
        }
        peer.ackOffset = max(peer.ackOffset, offset)
        peer.lastAck = now
        serveWaiters()
    }

    func serveWaiters() {
        guard !replication.waiters.isEmpty else { return }
        var remaining: [ReplicationWaiter] = []
        for waiter in replication.waiters {
            let count = replication.acknowledgedReplicas(atLeast: waiter.offset)
            if count >= waiter.replicas {
                finishWait(waiter, count: count)
            } else {
                remaining.append(waiter)
            }
        }
        replication.waiters = remaining
    }

    func finishWait(_ waiter: ReplicationWaiter, count: Int) {
        waiter.timeout?.cancel()
        waiter.client.integer(count)
        waiter.client.flags.isBlocked = false
        scheduleFlush(waiter.client)
        waiter.client.resume?()
    }

    /// Replicas whose last acknowledgement is at most `min-replicas-max-lag` seconds old.
    var goodReplicaCount: Int {
        replication.goodReplicaCount(maxLag: settings.minReplicasMaxLag, now: now)
    }

    // MARK: - Cron

    func replicationMasterCron(now: Int64) {
        reapReplicationChild()
        startReplicationSnapshotIfDue()
        let online = replication.replicas.contains { $0.state == .online }
        // The first PING goes one period after a replica comes online, not at once: a ping that
        // lands just as a replica is promoted leaves the others one PING ahead of it, and their
        // partial resync to the promoted node fails.
        if !online { replication.lastPingSent = now }
        if online && now - replication.lastPingSent >= Int64(settings.replPingReplicaPeriod) * 1000 {
            replication.lastPingSent = now
            propagateToReplicas(["PING"])
        }
        // Replicas waiting for a snapshot get a newline now and then so they do not time out.
        for peer in replication.replicas where peer.state == .waitingForSnapshot {
            peer.client.reply.writeString("\n")
            scheduleFlush(peer.client)
        }
        // Replicas that stopped acknowledging are dropped after repl-timeout.
        let timeout = Int64(settings.replTimeout) * 1000
        for peer in replication.replicas where peer.state == .online && now - peer.lastAck > timeout {
            logger.warning("disconnecting timed out replica", metadata: ["replica": "\(peer.client.remoteAddress)"])
            kill(peer.client)
        }
        if replication.replicas.isEmpty, replication.link == nil, replication.backlog != nil,
            settings.replBacklogTTL > 0, (now - replication.noReplicasSince) / 1000 > Int64(settings.replBacklogTTL)
        {
            // As Redis: without a backlog nobody can continue this history, so start a new one.
            replication.backlog = nil
            replication.identity = ReplicationIdentity(offset: replication.identity.offset)
            logger.notice("replication backlog freed after repl-backlog-ttl without replicas")
        }
    }
}

/// Reads the snapshot child's pipe and relays each chunk to the replicas being synchronised.
private final class SnapshotPipeHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let node: Node

    init(node: Node) { self.node = node }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        node.relaySnapshotBytes(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        node.snapshotPipeClosed()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
