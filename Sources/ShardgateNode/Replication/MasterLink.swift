import NIOCore
import NIOPosix
import RDB
import RESP

/// A replica's connection to its master, as Redis 7 speaks it: the handshake (PING, AUTH,
/// REPLCONF listening-port and capa, PSYNC), the snapshot of a full resynchronisation (`$<len>` or
/// diskless `$EOF:<mark>`), then the command stream, applied in order while counting its bytes.
///
/// Owned by the node and confined to its event loop. Reconnects (after a second) whenever the
/// connection fails, times out (`repl-timeout`) or the master refuses.
final class MasterLink {
    enum State: Equatable {
        case connecting
        /// Waiting for the reply to a handshake step.
        case handshake(Step)
        /// Reading the snapshot of a full resynchronisation.
        case transfer
        case connected
    }

    enum Step: Equatable { case ping, auth, port, capabilities, psync }

    let host: String
    let port: Int
    private(set) var state = State.connecting
    private unowned let node: Node
    private var channel: (any Channel)?
    private var input = ByteBuffer()
    private var parser = RESPRequestParser()
    /// The client the master's commands run as (CLIENT LIST shows it with flag M).
    private var masterClient: ClientConnection?
    /// Full resynchronisation in progress: the master's id and offset, how the payload ends.
    private var pendingIdentity: (id: String, offset: Int)?
    private var transferLength: Int?
    private var transferMark: [UInt8]?
    private var transfer = ByteBuffer()
    private(set) var lastIO: Int64
    private(set) var linkDownSince: Int64
    private(set) var syncStarted: Int64 = 0
    private var reconnect: Scheduled<Void>?
    private var stopped = false
    /// Whether PSYNC offers this node's own id and offset: after a first sync, or when a master was
    /// turned into a replica at run time (Redis's "cached master using myself"); a node started as a
    /// replica asks for a full sync (`PSYNC ? -1`).
    var offersOwnHistory: Bool

    init(host: String, port: Int, node: Node, offersOwnHistory: Bool) {
        self.host = host
        self.port = port
        self.node = node
        self.offersOwnHistory = offersOwnHistory
        lastIO = node.now
        linkDownSince = node.now
    }

    var isUp: Bool { state == .connected }
    var isSyncing: Bool { state == .transfer }
    var transferredBytes: Int { transfer.readableBytes }

    /// ROLE's replication state names.
    var roleState: String {
        switch state {
        case .connecting: "connect"
        case .handshake: "handshake"
        case .transfer: "sync"
        case .connected: "connected"
        }
    }

    // MARK: - Connection

    func start() {
        stopped = false
        connect()
    }

    func stop() {
        stopped = true
        reconnect?.cancel()
        dropConnection()
    }

    private func connect() {
        guard !stopped else { return }
        state = .connecting
        lastIO = node.now
        let link = NIOLoopBound(self, eventLoop: node.loop)
        ClientBootstrap(group: node.loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(Int64(max(1, node.settings.replTimeout))))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(MasterLinkHandler(link: link.value))
                }
            }
            .connect(host: host, port: port)
            .whenComplete { result in
                let link = link.value
                switch result {
                case .success(let channel):
                    guard !link.stopped else { return channel.close(promise: nil) }
                    link.connected(channel)
                case .failure(let error):
                    link.node.logger.warning(
                        "cannot connect to master", metadata: ["master": "\(link.host):\(link.port)", "error": "\(error)"])
                    link.scheduleReconnect()
                }
            }
    }

    private func connected(_ channel: any Channel) {
        self.channel = channel
        input.clear()
        node.logger.notice("connected to master, starting the handshake", metadata: ["master": "\(host):\(port)"])
        send(["PING"], awaiting: .ping)
    }

    private func scheduleReconnect() {
        guard !stopped else { return }
        reconnect?.cancel()
        let link = NIOLoopBound(self, eventLoop: node.loop)
        reconnect = node.loop.scheduleTask(in: .seconds(1)) { link.value.connect() }
    }

    /// Closes the connection (the master client goes away); the node then reconnects.
    func dropConnection() {
        if state == .connected { linkDownSince = node.now }
        let channel = self.channel
        self.channel = nil
        if let client = masterClient {
            node.unregister(client)
            masterClient = nil
        }
        transfer = ByteBuffer()
        pendingIdentity = nil
        state = .connecting
        channel?.close(promise: nil)
    }

    fileprivate func connectionClosed(_ channel: any Channel) {
        guard channel === self.channel else { return }
        node.logger.warning("connection with master lost", metadata: ["master": "\(host):\(port)"])
        dropConnection()
        scheduleReconnect()
    }

    private func fail(_ reason: String) {
        node.logger.warning("replication with master failed", metadata: ["master": "\(host):\(port)", "reason": "\(reason)"])
        dropConnection()
        scheduleReconnect()
    }

    private func send(_ arguments: [String], awaiting step: Step?) {
        guard let channel else { return }
        var buffer = channel.allocator.buffer(capacity: 64)
        buffer.writeRESPArrayHeader(arguments.count)
        for argument in arguments { buffer.writeRESPBulkString(argument) }
        if let step { state = .handshake(step) }
        channel.writeAndFlush(buffer, promise: nil)
    }

    /// REPLCONF ACK with the offset applied so far (every second, and on GETACK).
    func sendAck() {
        guard state == .connected else { return }
        send(["REPLCONF", "ACK", String(node.replication.identity.offset)], awaiting: nil)
    }

    // MARK: - Input

    fileprivate func received(_ bytes: inout ByteBuffer) {
        lastIO = node.now
        input.writeBuffer(&bytes)
        while true {
            switch state {
            case .connecting:
                return
            case .handshake(let step):
                guard let line = readLine() else { return }
                handshakeReply(line, step: step)
            case .transfer:
                guard readTransfer() else { return }
            case .connected:
                applyStream()
                return
            }
        }
    }

    private func readLine() -> String? {
        guard let end = input.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        let length = end - input.readableBytesView.startIndex
        var line = input.readString(length: length) ?? ""
        input.moveReaderIndex(forwardBy: 1)
        if line.hasSuffix("\r") { line.removeLast() }
        return line
    }

    private func handshakeReply(_ line: String, step: Step) {
        switch step {
        case .ping:
            // Redis accepts an authentication error here: AUTH comes next.
            guard line.hasPrefix("+") || line.hasPrefix("-NOAUTH") || line.hasPrefix("-NOPERM")
                || line.hasPrefix("-ERR operation not permitted")
            else { return fail("unexpected reply to PING: \(line)") }
            if let password = node.settings.masterAuth {
                let user = node.settings.masterUser
                send(user.map { ["AUTH", $0, password] } ?? ["AUTH", password], awaiting: .auth)
            } else {
                sendPort()
            }
        case .auth:
            guard line.hasPrefix("+") else { return fail("unable to AUTH to MASTER: \(line)") }
            sendPort()
        case .port:
            // Older masters may refuse REPLCONF; Redis goes on regardless.
            send(["REPLCONF", "capa", "eof", "capa", "psync2"], awaiting: .capabilities)
        case .capabilities:
            let identity = node.replication.identity
            let request = offersOwnHistory ? [identity.replicationID, String(identity.offset + 1)] : ["?", "-1"]
            send(["PSYNC"] + request, awaiting: .psync)
        case .psync:
            // A master that delays its snapshot (repl-diskless-sync-delay) keeps the link alive with
            // empty lines until it answers; Redis's replica waits through them, and so does this.
            if line.isEmpty { return }
            psyncReply(line)
        }
    }

    private func sendPort() {
        let port = node.settings.replicaAnnouncePort > 0 ? node.settings.replicaAnnouncePort : node.boundPort
        var arguments = ["REPLCONF", "listening-port", String(port)]
        if !node.settings.replicaAnnounceIP.isEmpty { arguments += ["ip-address", node.settings.replicaAnnounceIP] }
        send(arguments, awaiting: .port)
    }

    private func psyncReply(_ line: String) {
        if line.hasPrefix("+FULLRESYNC") {
            let fields = line.split(separator: " ")
            guard fields.count == 3, let offset = Int(fields[2]), fields[1].count == 40 else {
                return fail("bad FULLRESYNC reply: \(line)")
            }
            pendingIdentity = (String(fields[1]), offset)
            transferLength = nil
            transferMark = nil
            transfer = ByteBuffer()
            syncStarted = node.now
            state = .transfer
            node.logger.notice("full resynchronization from master", metadata: ["id": "\(fields[1])", "offset": "\(offset)"])
        } else if line.hasPrefix("+CONTINUE") {
            let fields = line.split(separator: " ")
            if fields.count == 2, fields[1].count == 40, String(fields[1]) != node.replication.identity.replicationID {
                node.replication.identity.startNewHistory(id: String(fields[1]))
                node.disconnectReplicas()
            }
            node.logger.notice("partial resynchronization accepted by master", metadata: ["master": "\(host):\(port)"])
            becomeConnected()
        } else {
            // -NOMASTERLINK, -LOADING, or an error: try again later.
            fail("PSYNC refused: \(line)")
        }
    }

    /// Reads snapshot bytes; true once the snapshot is complete and applied.
    private func readTransfer() -> Bool {
        if transferLength == nil && transferMark == nil {
            // The master sends newlines while it prepares the snapshot.
            while input.readableBytes > 0, input.readableBytesView.first == UInt8(ascii: "\n") {
                input.moveReaderIndex(forwardBy: 1)
            }
            guard let line = readLine() else { return false }
            if line.hasPrefix("$EOF:") {
                let mark = Array(line.utf8.dropFirst(5))
                guard mark.count == 40 else { fail("bad EOF mark"); return false }
                transferMark = mark
            } else if line.hasPrefix("$"), let length = Int(line.dropFirst()), length >= 0 {
                transferLength = length
            } else {
                fail("bad snapshot header: \(line)")
                return false
            }
        }
        if let length = transferLength {
            let take = min(length - transfer.readableBytes, input.readableBytes)
            if take > 0, var slice = input.readSlice(length: take) { transfer.writeBuffer(&slice) }
            guard transfer.readableBytes == length else { return false }
        } else if let mark = transferMark {
            transfer.writeBuffer(&input)
            guard transfer.readableBytes >= mark.count else { return false }
            let tail = transfer.getBytes(at: transfer.writerIndex - mark.count, length: mark.count)!
            guard tail == mark else { return false }
            transfer.moveWriterIndex(to: transfer.writerIndex - mark.count)
        }
        return applySnapshot()
    }

    /// Loads the snapshot in place of the dataset, unless the empty-master guard refuses it.
    private func applySnapshot() -> Bool {
        guard let identity = pendingIdentity else { return false }
        let staged: [Database] = (0..<node.settings.databases).map { Database(index: $0) }
        var functions: [[UInt8]] = []
        let settings = node.settings
        do {
            _ = try transfer.withUnsafeReadableBytes { bytes in
                try RDBReader.read(bytes, functionLibrary: { functions.append($0) }, verifyChecksum: settings.rdbChecksum) { entry in
                    guard entry.database < staged.count else { return }
                    staged[entry.database].add(
                        entry.key, Snapshot.value(entry.value, settings: settings),
                        expireAt: entry.expireAtMilliseconds ?? 0)
                }
            }
        } catch {
            fail("cannot load the master's snapshot: \(error)")
            return false
        }
        transfer = ByteBuffer()
        let incoming = staged.reduce(0) { $0 + $1.count }
        let held = node.keyspace.databases.reduce(0) { $0 + $1.count }
        if node.refusesEmptyMaster(id: identity.id, incomingKeys: incoming, heldKeys: held) {
            stop()
            // Try again later: the master may have been restored, or the operator may promote us.
            let link = NIOLoopBound(self, eventLoop: node.loop)
            reconnect = node.loop.scheduleTask(in: .seconds(5)) { link.value.start() }
            return false
        }
        node.replaceDataset(with: staged)
        node.replaceFunctionLibraries(with: functions)
        node.replication.identity = ReplicationIdentity(replicationID: identity.id, offset: identity.offset)
        node.replication.backlog = nil
        node.ensureBacklog()
        node.replication.refusedEmptyMaster = nil
        node.logger.notice(
            "master's snapshot loaded", metadata: ["keys": "\(incoming)", "offset": "\(identity.offset)"])
        becomeConnected()
        return true
    }

    private func becomeConnected() {
        guard let channel else { return }
        state = .connected
        offersOwnHistory = true
        node.ensureBacklog()
        let client = ClientConnection(id: node.clients.allocateID(), channel: channel, authenticated: true, now: node.now)
        client.flags.isMaster = true
        node.clients.connected[client.id] = client
        masterClient = client
        parser = RESPRequestParser()
        sendAck()
        if input.readableBytes > 0 { applyStream() }
    }

    /// Runs every complete command of the stream, counting its bytes into the offset and passing
    /// them on verbatim to this node's own replicas.
    private func applyStream() {
        guard let client = masterClient else { return }
        while state == .connected {
            let request: RESPRequest?
            do {
                request = try parser.next(from: &input)
            } catch {
                return fail("bad command in the replication stream: \(error.message)")
            }
            guard let request else { break }
            node.execute(request, from: client)
            client.reply.clear()
            node.feedReplicationStream(request.frame)
        }
        node.beforeReplies()
        input.discardReadBytes()
    }
}

/// Hands the master connection's bytes to the link.
private final class MasterLinkHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let link: MasterLink

    init(link: MasterLink) { self.link = link }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        link.received(&bytes)
    }

    func channelInactive(context: ChannelHandlerContext) {
        link.connectionClosed(context.channel)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
