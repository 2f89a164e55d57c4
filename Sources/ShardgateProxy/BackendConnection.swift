import Config
#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import NIOPosix
import RESP

/// One pipelined connection from one event loop to one backend server, shared by every client on that
/// loop. Requests are written in order and replies matched to waiters first-in first-out.
///
/// It connects on first use (or at start with `preconnect`), authenticates and selects the pool's
/// database, and, when the server is unreachable, fails requests at once with an error naming the group
/// and address while it reconnects in the background with exponential backoff. A request without a reply
/// after `timeout` closes the connection and fails everything in flight on it: in a pipeline one lost
/// reply would shift every later one onto the wrong request.
final class BackendConnection {
    enum State {
        case idle
        case connecting
        case connected(any Channel)
        case down(reason: String)
    }

    struct Waiter {
        var target: ReplyTarget
        var deadline: NIODeadline
        /// The request's size, for the bytes in flight (`outQueueBytes`).
        var bytes = 0
        /// `PoolLoop.eventTime` when it was queued (meaningful when the loop `timesRequests`).
        var sentAt: UInt64 = 0

        /// A client's request, not the connection's own AUTH/HELLO/SELECT.
        var isRequest: Bool {
            if case .handshake = target { return false }
            return true
        }
    }

    let endpoint: Endpoint
    /// e.g. `group 'shard-a' master 127.0.0.1:7001`, used in every error about this connection.
    let label: String
    unowned let loop: PoolLoop
    private(set) var state: State = .idle
    private var waiters = CircularBuffer<Waiter>(initialCapacity: 16)
    /// Small requests gathered since the last flush, written after everything in `queued`.
    private var outbound: ByteBuffer
    /// Buffers waiting to be written, in order, before `outbound`: large requests kept as they
    /// arrived (never copied) while the connection is not ready to take them.
    private var queued = CircularBuffer<ByteBuffer>(initialCapacity: 4)
    private var queuedBytes = 0
    /// Requests admitted since the last complete flush (twemproxy's `in_queue`).
    private var unwrittenRequests = 0
    /// Bytes of every request awaiting its reply, written or not.
    private var pendingBytes = 0
    /// The backend's socket can take more (NIO's writability); while it cannot, nothing more is
    /// written to it and clients sending here stop reading (`isCongested`).
    private var channelWritable = true
    /// Client sessions that stopped reading because this connection was congested.
    private var blockedSessions: [ClientSession] = []
    private var isDirty = false
    private var timeoutTimer: Scheduled<Void>?
    private var reconnectTimer: Scheduled<Void>?
    private var backoff: TimeAmount = BackendConnection.initialBackoff
    /// Bumped on every new channel so late events from an old channel are ignored.
    /// Goes up at every connect and every loss: a client that holds state on the server (WATCH)
    /// compares it to know its connection is still the one that holds it.
    private(set) var generation = 0
    private(set) var stats = BackendStats()
    private var retired = false
    /// Retired by a reload: closes once the last reply in flight has arrived.
    private var closesWhenIdle = false

    static let initialBackoff = TimeAmount.milliseconds(50)
    static let maximumBackoff = TimeAmount.seconds(2)
    /// Requests larger than this are written as their own buffer instead of being copied.
    static let copyLimit = 16 * 1024
    /// With this many bytes waiting to be written here, clients sending here stop reading.
    static let congestionBytes = 1024 * 1024

    /// 2, or 3 when the connection serves clients that said `HELLO 3`.
    let protocolVersion: Int

    /// The group index when this connects to a group's master (for auto_eject_hosts).
    let masterOf: Int?

    /// A leased connection: its requests may block on the server (BLPOP 0), so no request timeout
    /// applies to them.
    let waitsForever: Bool

    /// The database SELECTed on connect (the pool's `database`, or one a client SELECTed).
    let database: Int

    init(
        endpoint: Endpoint, label: String, loop: PoolLoop, protocolVersion: Int, masterOf: Int?, waitsForever: Bool = false,
        database: Int? = nil
    ) {
        self.masterOf = masterOf
        self.waitsForever = waitsForever
        self.database = database ?? loop.runtime.config.database
        self.endpoint = endpoint
        self.label = label
        self.loop = loop
        self.protocolVersion = protocolVersion
        self.outbound = loop.allocator.buffer(capacity: 0)
    }

    /// True unless the last attempt to reach the server failed and no reconnect has succeeded since
    /// (a reconnect in progress does not count: reads should not wait on it when a replica can serve).
    var isAvailable: Bool { !failedSinceConnected }
    private var failedSinceConnected = false

    var inFlight: Int { waiters.count }

    /// The counters with the gauges of this moment: connected or not, requests not yet written
    /// (`in_queue`) and written awaiting their reply (`out_queue`), in count and bytes.
    var statsNow: BackendStats {
        var now = stats
        if case .connected = state { now.connections = 1 }
        now.inQueue = unwrittenRequests
        now.inQueueBytes = queuedBytes + outbound.readableBytes
        now.outQueue = waiters.count - unwrittenRequests
        now.outQueueBytes = max(0, pendingBytes - now.inQueueBytes)
        return now
    }

    /// Called each time the last reply in flight arrived (a leased connection's holder lets it go then).
    var whenIdle: (() -> Void)?

    /// Connected with nothing in flight: fit to lend to another client.
    var isReusable: Bool {
        guard case .connected = state else { return false }
        return waiters.isEmpty
    }

    /// Queues `frame` for the server; `target` gets the reply, or an error. A large frame is never
    /// copied: it is written as it is, or queued as it is until the connection can take it.
    func send(_ frame: ByteBuffer, to target: ReplyTarget) {
        guard admit(target, bytes: frame.readableBytes) else { return }
        guard frame.readableBytes >= Self.copyLimit else {
            outbound.writeImmutableBuffer(frame)
            return
        }
        if case .connected(let channel) = state, channelWritable, queued.isEmpty {
            if outbound.readableBytes > 0 {
                channel.write(outbound, promise: nil)
                outbound = loop.allocator.buffer(capacity: 0)
            }
            channel.write(frame, promise: nil)
        } else {
            if outbound.readableBytes > 0 {
                queue(outbound)
                outbound = loop.allocator.buffer(capacity: 0)
            }
            queue(frame)
        }
    }

    private func queue(_ buffer: ByteBuffer) {
        queuedBytes += buffer.readableBytes
        queued.append(buffer)
    }

    /// Too much is waiting to be written here: a client that sends here stops reading until the
    /// backend catches up (`waitUntilUncongested`).
    var isCongested: Bool {
        !channelWritable || queuedBytes + outbound.readableBytes >= Self.congestionBytes
    }

    /// `session` stopped reading because this connection is congested; it is resumed once it is not.
    func waitUntilUncongested(_ session: ClientSession) {
        if !blockedSessions.contains(where: { $0 === session }) { blockedSessions.append(session) }
    }

    private func resumeBlockedSessions() {
        guard !blockedSessions.isEmpty, !isCongested else { return }
        let sessions = blockedSessions
        blockedSessions.removeAll()
        for session in sessions { session.backendUncongested() }
    }

    /// The backend's socket became writable or full. NIO reports this from inside `channel.write`
    /// and `channel.flush`, so nothing is written here: the end-of-tick flush writes what waits and
    /// resumes the blocked sessions (writing from here would send `outbound` a second time).
    func writabilityChanged(_ writable: Bool, generation: Int) {
        guard generation == self.generation else { return }
        channelWritable = writable
        if writable { markDirty() }
    }

    /// Queues a request that `encode` writes straight into the outbound buffer (split commands build
    /// their per-group parts this way, without a buffer of their own).
    func send(to target: ReplyTarget, encode: (inout ByteBuffer) -> Void) {
        guard admit(target, bytes: 0) else { return }
        let before = outbound.readableBytes
        encode(&outbound)
        let bytes = outbound.readableBytes - before
        waiters[waiters.index(before: waiters.endIndex)].bytes = bytes
        stats.requestBytes += bytes
        pendingBytes += bytes
    }

    /// Registers `target` as the next waiter, or fails it at once if the server is down.
    private func admit(_ target: ReplyTarget, bytes: Int) -> Bool {
        switch state {
        case .down(let reason) where retired:
            stats.errors += 1
            target.fail("ERR shardgate: \(label): \(reason)")
            return false
        case .idle where retired:
            target.fail("ERR shardgate: \(label): retired")
            return false
        case .idle, .down:
            // A server that failed is tried again by the next request rather than answered from the
            // last failure, so one that came back serves at once (as nutcracker does); if it is
            // still gone, the request fails with what this attempt met.
            reconnectTimer?.cancel()
            reconnectTimer = nil
            connect()
        case .connecting, .connected:
            break
        }
        stats.requests += 1
        stats.requestBytes += bytes
        pendingBytes += bytes
        unwrittenRequests += 1
        waiters.append(
            Waiter(target: target, deadline: waitsForever ? .distantFuture : loop.deadline(), bytes: bytes, sentAt: loop.eventTime))
        markDirty()
        armTimeout()
        return true
    }

    /// Writes everything queued since the last flush in one syscall-sized batch (unless the backend's
    /// socket is full: then only what the channel already holds is flushed, and the rest waits for
    /// `writabilityChanged`).
    func flush() {
        isDirty = false
        guard case .connected(let channel) = state else { return }
        guard channelWritable else {
            // Large frames written straight to the channel this tick must still leave, or the
            // channel never drains and never becomes writable again.
            channel.flush()
            return
        }
        while let buffer = queued.popFirst() { channel.write(buffer, promise: nil) }
        queuedBytes = 0
        unwrittenRequests = 0
        if outbound.readableBytes > 0 { channel.write(outbound, promise: nil) }
        channel.flush()
        // The flush normally completes the write, so the storage is ours again and `clear` reuses it
        // without allocating (clearing before the flush would allocate every time).
        outbound.clear()
        if !blockedSessions.isEmpty { resumeBlockedSessions() }
    }

    private func markDirty() {
        guard !isDirty else { return }
        isDirty = true
        loop.markDirty(self)
    }

    // MARK: - Connection lifecycle

    func connect() {
        guard case .idle = state else {
            if case .down = state {} else { return }
            state = .idle
            return connect()
        }
        state = .connecting
        generation += 1
        let generation = self.generation
        writeHandshake()
        let loopBound = NIOLoopBound(self, eventLoop: loop.eventLoop)
        loop.connect(to: endpoint, consumer: loopBound, generation: generation)
            .whenComplete { result in
                let connection = loopBound.value
                guard connection.generation == generation else {
                    if case .success(let channel) = result { channel.close(promise: nil) }
                    return
                }
                switch result {
                case .success(let channel):
                    connection.state = .connected(channel)
                    connection.channelWritable = channel.isWritable
                    connection.failedSinceConnected = false
                    connection.backoff = Self.initialBackoff
                    if let group = connection.masterOf { connection.loop.masterSucceeded(group: group) }
                    connection.flush()
                case .failure(let error):
                    // Background reconnects that fail while nothing waits are not counted (as in
                    // twemproxy, which only connects for requests).
                    if connection.waiters.contains(where: \.isRequest) { connection.stats.serverErrors += 1 }
                    connection.lost(generation, reason: "cannot connect (\(Self.describe(error)))")
                }
            }
    }

    /// AUTH, HELLO 3 (for RESP3 clients) and SELECT go first on every new connection; their replies are
    /// checked, not forwarded.
    private func writeHandshake() {
        let runtime = loop.runtime
        if let auth = runtime.config.auth {
            var arguments = [Array("AUTH".utf8)]
            if let user = auth.username { arguments.append(Array(user.utf8)) }
            arguments.append(Array(auth.password.utf8))
            queueHandshake(RESPRequest(arguments: arguments).frame)
        }
        if protocolVersion == 3 {
            queueHandshake(RESPRequest(arguments: [Array("HELLO".utf8), Array("3".utf8)]).frame)
        }
        if database != 0 {
            queueHandshake(RESPRequest(arguments: [Array("SELECT".utf8), Array(String(database).utf8)]).frame)
        }
    }

    private func queueHandshake(_ frame: ByteBuffer) {
        waiters.append(Waiter(target: .handshake, deadline: loop.deadline(), bytes: frame.readableBytes))
        pendingBytes += frame.readableBytes
        unwrittenRequests += 1
        outbound.writeImmutableBuffer(frame)
    }

    /// A complete reply arrived on channel `generation`.
    func received(_ reply: ByteBuffer, generation: Int) {
        guard generation == self.generation else { return }
        guard let waiter = waiters.popFirst() else {
            lost(generation, reason: "sent a reply nobody asked for")
            return
        }
        stats.responses += 1
        stats.responseBytes += reply.readableBytes
        pendingBytes -= waiter.bytes
        if loop.measures && waiter.isRequest { stats.latency.record(nanoseconds: loop.eventTime &- waiter.sentAt) }
        if case .handshake = waiter.target, RESPReplyReader.isError(reply) {
            // The error line without its `-` and CRLF ("\r\n" is one Character in a Swift String).
            let text = String(decoding: reply.readableBytesView.dropFirst().dropLast(2), as: UTF8.self)
            lost(generation, reason: "handshake refused (\(text))")
            return
        }
        if RESPReplyReader.isError(reply) {
            stats.errorReplies += 1
            if let group = masterOf, loop.runtime.config.usesSentinel, Self.isReadOnlyError(reply) {
                loop.pool.masterInDoubt(group: group)
            }
        }
        waiter.target.deliver(reply, backendNanoseconds: loop.logsSlowRequests ? loop.eventTime &- waiter.sentAt : 0)
        guard waiters.isEmpty else { return }
        if closesWhenIdle { close(reason: Self.replacedByReload) }
        if let whenIdle { whenIdle() }
    }

    /// The channel of `generation` failed or closed: fail everything in flight, reconnect later.
    func lost(_ generation: Int, reason: String) {
        guard generation == self.generation else { return }
        self.generation += 1
        failedSinceConnected = true
        let previous = state
        state = .down(reason: reason)
        if case .connected(let channel) = previous { channel.close(promise: nil) }
        outbound.clear()
        queued.removeAll()
        queuedBytes = 0
        unwrittenRequests = 0
        pendingBytes = 0
        channelWritable = true
        timeoutTimer?.cancel()
        timeoutTimer = nil
        let failed = waiters
        waiters.removeAll(keepingCapacity: true)
        // A lease's holder learns it is idle once everything in flight has failed (after the
        // reconnect is scheduled, so a holder that closes it cancels that too).
        defer { if !failed.isEmpty, waiters.isEmpty, let whenIdle { whenIdle() } }
        stats.errors += failed.count
        loop.logger.warning(
            "backend unavailable", metadata: ["backend": "\(label)", "reason": "\(reason)", "failed": "\(failed.count)"])
        for waiter in failed { waiter.target.fail("ERR shardgate: \(label): \(reason)") }
        resumeBlockedSessions()
        guard !retired else { return }
        // A database a client SELECTed that the server refuses is not retried in the background
        // (the next request to it tries again).
        if database != loop.runtime.config.database && reason.hasPrefix("handshake refused") { return }
        if let group = masterOf, !loop.isStopping {
            loop.masterFailed(group: group)
            // Every reconnect to a Sentinel-managed master starts from resolution.
            if loop.runtime.config.usesSentinel { loop.pool.masterInDoubt(group: group) }
        }
        scheduleReconnect()
    }

    private func scheduleReconnect() {
        reconnectTimer?.cancel()
        let delay = backoff
        backoff = min(backoff * 2, Self.maximumBackoff)
        let loopBound = NIOLoopBound(self, eventLoop: loop.eventLoop)
        reconnectTimer = loop.eventLoop.scheduleTask(in: delay) {
            let connection = loopBound.value
            connection.reconnectTimer = nil
            guard case .down = connection.state, !connection.loop.isStopping else { return }
            connection.state = .idle
            connection.connect()
            connection.flush()
        }
    }

    /// Sentinel replaced this server: fail in-flight requests with `reason`, close, never reconnect.
    func retire(reason: String) {
        retired = true
        reconnectTimer?.cancel()
        reconnectTimer = nil
        lost(generation, reason: reason)
    }

    /// A reload replaced this server, or the settings its connections were made with: nothing new
    /// is sent here (requests that still come are refused), the replies in flight arrive, and then
    /// the connection closes.
    func retireAfterInFlight() {
        retired = true
        reconnectTimer?.cancel()
        reconnectTimer = nil
        closesWhenIdle = true
        if waiters.isEmpty { close(reason: Self.replacedByReload) }
    }

    static let replacedByReload = "replaced by a configuration reload"

    /// Closes for good (proxy shutdown).
    func close(reason: String = "proxy is shutting down") {
        reconnectTimer?.cancel()
        timeoutTimer?.cancel()
        generation += 1
        let previous = state
        state = .down(reason: reason)
        if case .connected(let channel) = previous { channel.close(promise: nil) }
    }

    // MARK: - Timeouts

    private func armTimeout() {
        guard timeoutTimer == nil, !waitsForever, loop.runtime.timeout != nil, let first = waiters.first else { return }
        let loopBound = NIOLoopBound(self, eventLoop: loop.eventLoop)
        timeoutTimer = loop.eventLoop.scheduleTask(deadline: first.deadline) {
            loopBound.value.timeoutFired()
        }
    }

    private func timeoutFired() {
        timeoutTimer = nil
        loop.eventStarted()
        guard let first = waiters.first else { return }
        if first.deadline <= .now() {
            let milliseconds = loop.runtime.config.timeoutMilliseconds
            stats.timeouts += 1
            lost(generation, reason: "timed out after \(milliseconds) ms")
        } else {
            armTimeout()
        }
    }

    /// `-READONLY ...`: a server we believe is a master has become a replica.
    static func isReadOnlyError(_ reply: ByteBuffer) -> Bool {
        reply.readableBytes >= 9 && reply.getString(at: reply.readerIndex, length: 9) == "-READONLY"
    }

    /// The cause in a few words: the system's text for an errno (`Connection refused, errno 111`),
    /// not NIO's description of where it noticed it.
    static func describe(_ error: any Error) -> String {
        if let tls = TLSFailure.describe(error) { return tls }
        if let error = error as? IOError {
            return "\(String(cString: strerror(error.errnoCode))), errno \(error.errnoCode)"
        }
        if let error = error as? NIOConnectionError, let first = error.connectionErrors.first {
            return describe(first.error)
        }
        if let error = error as? ChannelError, case .connectTimeout = error { return "connect timed out" }
        return "\(error)"
    }
}

extension BackendConnection: ReplyFrameConsumer {
    func readStarted() { loop.eventStarted() }

    func channelFailed(_ generation: Int, reason: String) {
        if generation == self.generation {
            if reason == serverClosedConnection { stats.serverEOF += 1 } else { stats.serverErrors += 1 }
        }
        lost(generation, reason: reason)
    }
}

/// Counters of one backend connection, summed across loops for INFO.
/// One backend connection's counters (summed per backend for INFO and the stats port), in
/// twemproxy's terms where it has them.
struct BackendStats: Sendable {
    var requests = 0
    /// Requests failed without a reply from the server (unreachable, lost, timed out).
    var errors = 0
    var errorReplies = 0
    var timeouts = 0
    var responses = 0
    var requestBytes = 0
    var responseBytes = 0
    /// The server closed the connection (`server_eof`).
    var serverEOF = 0
    /// Connecting failed, or the connection failed or sent invalid RESP (`server_err`).
    var serverErrors = 0
    /// Round trips: from the request's queueing to its reply's arrival (when the loop `measures`).
    var latency = LatencyBuckets()
    // Gauges, filled in when a snapshot is taken.
    var connections = 0
    var inQueue = 0
    var inQueueBytes = 0
    var outQueue = 0
    var outQueueBytes = 0

    mutating func add(_ other: BackendStats) {
        requests += other.requests
        errors += other.errors
        errorReplies += other.errorReplies
        timeouts += other.timeouts
        responses += other.responses
        requestBytes += other.requestBytes
        responseBytes += other.responseBytes
        serverEOF += other.serverEOF
        serverErrors += other.serverErrors
        latency.add(other.latency)
        connections += other.connections
        inQueue += other.inQueue
        inQueueBytes += other.inQueueBytes
        outQueue += other.outQueue
        outQueueBytes += other.outQueueBytes
    }
}

extension PoolLoop {
    /// A TCP connection from this loop to `endpoint` (connect timeout: the pool's `timeout`, else
    /// 5 s), whose replies are framed for `consumer` and tagged with `generation`.
    ///
    /// With `backend_tls` it succeeds only once the TLS handshake has (bounded by the same timeout),
    /// and the reply framer joins the pipeline only then: a failed handshake is a failed connect.
    func connect<Consumer: ReplyFrameConsumer>(
        to endpoint: Endpoint, consumer: NIOLoopBound<Consumer>, generation: Int
    ) -> EventLoopFuture<any Channel> {
        let limit = runtime.timeout ?? .seconds(5)
        let tls = runtime.tls.backend
        let addFramer: @Sendable (any Channel) throws -> Void = { channel in
            try channel.pipeline.syncOperations.addHandler(ReplyFrameHandler(consumer: consumer.value, generation: generation))
        }
        let connecting = ClientBootstrap(group: eventLoop)
            .connectTimeout(limit)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            // `tcpkeepalive` (client connections: ProxyServer).
            .channelOption(.socketOption(.so_keepalive), value: runtime.config.tcpKeepalive ? 1 : 0)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try tls.secure(channel, to: endpoint, handshakeLimit: limit)
                    } else {
                        try addFramer(channel)
                    }
                }
            }
            .connect(to: endpoint)
        guard tls != nil else { return connecting }
        return connecting.afterTLSHandshake().flatMapThrowing { channel in
            do {
                try addFramer(channel)
            } catch {
                channel.close(promise: nil)
                throw error
            }
            return channel
        }
    }
}

extension ClientBootstrap {
    /// Connects straight to an IP address (no resolver involved); host names go through NIO's resolver.
    func connect(to endpoint: Endpoint) -> EventLoopFuture<any Channel> {
        if let address = try? SocketAddress(ipAddress: endpoint.host, port: endpoint.port) {
            return connect(to: address)
        }
        return connect(host: endpoint.host, port: endpoint.port)
    }
}
