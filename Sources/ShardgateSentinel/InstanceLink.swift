import NIOCore
import NIOPosix
import RESP

/// One outgoing connection of a link (commands or pub/sub). Everything runs on the sentinel's single
/// event loop: replies call their callbacks there, in order.
final class LinkConnection: @unchecked Sendable {
    typealias Callback = (RESPValue?) -> Void

    private(set) var channel: (any Channel)?
    private(set) var connecting = false
    /// Bumped by `close()`: a connection attempt begun before it is dropped when it completes.
    private var generation = 0
    var waiters = CircularBuffer<Callback>()
    /// Messages that answer no command (pub/sub).
    var onPush: ((RESPValue) -> Void)?
    /// Called once when an established connection closes.
    var onClose: (() -> Void)?
    /// When the connection was established (ms, monotonic).
    var connectedAt: Int64 = 0
    /// Last time anything arrived on it.
    var lastActivity: Int64 = 0
    /// The address this side of the connection uses (for the hello message).
    var localIP: String?
    /// The address the other side resolved to (a hostname's IP).
    var remoteIP: String?
    /// Renamed commands (`rename-command`), applied to the first argument of what is sent.
    var renamed: [String: String] = [:]

    private func frame(_ arguments: [String]) -> ByteBuffer {
        var words = arguments
        if let first = words.first, let name = renamed[first.uppercased()] { words[0] = name }
        return RESPRequest(arguments: words.map { Array($0.utf8) }).frame
    }

    var isConnected: Bool { channel != nil }
    var pending: Int { waiters.count }

    func connect(
        host: String, port: Int, on loop: any EventLoop, timeout: TimeAmount, then done: @escaping (Bool) -> Void
    ) {
        guard channel == nil, !connecting else { return }
        connecting = true
        let started = generation
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(LinkHandler(owner: self))
                }
            }
        let future: EventLoopFuture<any Channel>
        // A hostname resolves to its first address (getaddrinfo, on this loop: sentinels name
        // few hosts), so every link to it, and what is announced for it, use the same IP.
        if let address = (try? SocketAddress(ipAddress: host, port: port))
            ?? (try? SocketAddress.makeAddressResolvingHost(host, port: port))
        {
            future = bootstrap.connect(to: address)
        } else {
            future = bootstrap.connect(host: host, port: port)
        }
        future.hop(to: loop).assumeIsolated().whenComplete { result in
            self.connecting = false
            switch result {
            case .success(let channel):
                guard channel.isActive, started == self.generation else {
                    channel.close(promise: nil)
                    return done(false)
                }
                self.channel = channel
                self.connectedAt = SentinelClock.now
                self.lastActivity = self.connectedAt
                self.localIP = channel.localAddress?.ipAddress
                self.remoteIP = channel.remoteAddress?.ipAddress
                done(true)
            case .failure:
                done(false)
            }
        }
    }

    /// Sends a command; `callback` gets the reply, or nil if the connection closes first.
    func send(_ arguments: [String], _ callback: @escaping Callback = { _ in }) {
        guard let channel else { return callback(nil) }
        waiters.append(callback)
        channel.writeAndFlush(frame(arguments), promise: nil)
    }

    /// Sends a command whose replies arrive as pushes (SUBSCRIBE).
    func sendWithoutReply(_ arguments: [String]) {
        channel?.writeAndFlush(frame(arguments), promise: nil)
    }

    /// Closes at once: waiters get nil now, and nothing the old connection still delivers reaches
    /// this link (a reset master's link must not take a reply from its old address).
    func close() {
        generation += 1
        guard let channel else { return }
        self.channel = nil
        channel.close(promise: nil)
        let failed = waiters
        waiters.removeAll()
        for waiter in failed { waiter(nil) }
    }

    fileprivate func received(_ value: RESPValue, on source: any Channel) {
        guard channel === source else { return }
        lastActivity = SentinelClock.now
        if let waiter = waiters.popFirst() {
            waiter(value)
        } else {
            onPush?(value)
        }
    }

    fileprivate func closed(_ source: any Channel) {
        guard channel === source else { return }
        channel = nil
        let failed = waiters
        waiters.removeAll()
        for waiter in failed { waiter(nil) }
        onClose?()
    }
}

private final class LinkHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let owner: LinkConnection
    private var framer = RESPReplyFramer()
    private var pending: ByteBuffer?

    init(owner: LinkConnection) { self.owner = owner }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        pending.accumulate(&incoming, allocator: context.channel.allocator)
        do {
            while let frame = try framer.nextFrame(from: &pending!) {
                if let value = RESPValue.decode(frame) { owner.received(value, on: context.channel) }
            }
        } catch {
            context.close(promise: nil)
        }
        if pending?.readableBytes == 0 { pending = nil }
    }

    func channelInactive(context: ChannelHandlerContext) {
        owner.closed(context.channel)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// Milliseconds on a monotonic clock.
enum SentinelClock {
    static var now: Int64 { Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000) }
}
