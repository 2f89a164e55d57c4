import Config
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RESP

/// A small async RESP client for the control plane: Sentinel queries, ROLE/INFO checks, and
/// Sentinel's pub/sub events. Each call has its own timeout; a timeout closes the connection, since
/// a late reply would otherwise answer the next request.
final class ControlConnection: Sendable {
    let endpoint: Endpoint
    private let channel: any Channel
    private let handler: NIOLoopBound<ControlHandler>

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private init(endpoint: Endpoint, channel: any Channel, handler: NIOLoopBound<ControlHandler>) {
        self.endpoint = endpoint
        self.channel = channel
        self.handler = handler
    }

    /// With `tls`, the connection is made once the TLS handshake is done (within `timeout` too).
    static func connect(
        to endpoint: Endpoint, on group: any EventLoopGroup, timeout: TimeAmount, auth: BackendAuth? = nil,
        tls: TLSConnector? = nil
    ) async throws -> ControlConnection {
        let eventLoop = group.next()
        var connecting = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try tls.secure(channel, to: endpoint, handshakeLimit: timeout) }
                    try channel.pipeline.syncOperations.addHandler(ControlHandler())
                }
            }
            .connect(to: endpoint)
        if tls != nil { connecting = connecting.afterTLSHandshake() }
        let channel = try await connecting.get()
        let handler = try await eventLoop.submit {
            NIOLoopBound(try channel.pipeline.syncOperations.handler(type: ControlHandler.self), eventLoop: eventLoop)
        }.get()
        let connection = ControlConnection(endpoint: endpoint, channel: channel, handler: handler)
        if let auth {
            let arguments = (auth.username.map { [$0] } ?? []) + [auth.password]
            let reply = try await connection.command(["AUTH"] + arguments, timeout: timeout)
            if case .error(let text) = reply {
                await connection.close()
                throw Failure(description: "AUTH refused by \(endpoint): \(text)")
            }
        }
        return connection
    }

    /// Sends one command and waits (at most `timeout`) for its reply.
    func command(_ arguments: [String], timeout: TimeAmount) async throws -> RESPValue {
        let frame = RESPRequest(arguments: arguments.map { Array($0.utf8) }).frame
        let eventLoop = channel.eventLoop
        let promise = eventLoop.makePromise(of: RESPValue.self)
        let handler = self.handler
        let channel = self.channel
        let endpoint = self.endpoint
        eventLoop.execute {
            handler.value.waiters.append(promise)
            channel.writeAndFlush(frame, promise: nil)
        }
        let timer = eventLoop.scheduleTask(in: timeout) {
            promise.fail(Failure(description: "\(endpoint) did not answer \(arguments.first ?? "") within \(timeout.nanoseconds / 1_000_000) ms"))
            channel.close(promise: nil)
        }
        defer { timer.cancel() }
        return try await promise.futureResult.get()
    }

    /// Subscribes to `channels`; every message after that arrives as `[kind, channel, payload]`.
    /// The stream ends when the connection closes.
    func subscribe(_ channels: [String]) -> AsyncStream<RESPValue> {
        let (stream, continuation) = AsyncStream.makeStream(of: RESPValue.self)
        let frame = RESPRequest(arguments: [Array("SUBSCRIBE".utf8)] + channels.map { Array($0.utf8) }).frame
        let handler = self.handler
        let channel = self.channel
        channel.eventLoop.execute {
            handler.value.pushes = continuation
            channel.writeAndFlush(frame, promise: nil)
        }
        return stream
    }

    func close() async {
        try? await channel.close()
    }

    /// Connects, runs `body`, and closes before returning; nil if the connection cannot be made.
    static func with<Result: Sendable>(
        _ endpoint: Endpoint, on group: any EventLoopGroup, timeout: TimeAmount, auth: BackendAuth? = nil,
        tls: TLSConnector? = nil, _ body: (ControlConnection) async -> Result
    ) async -> Result? {
        guard let connection = try? await connect(to: endpoint, on: group, timeout: timeout, auth: auth, tls: tls)
        else { return nil }
        let result = await body(connection)
        await connection.close()
        return result
    }

    var isActive: Bool { channel.isActive }
}

/// Frames replies and hands each to the oldest waiter, or, once subscribed, to the push stream.
final class ControlHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    var waiters = CircularBuffer<EventLoopPromise<RESPValue>>()
    var pushes: AsyncStream<RESPValue>.Continuation?
    private var framer = RESPReplyFramer()
    private var pending: ByteBuffer?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if pending == nil { pending = incoming } else { pending!.writeBuffer(&incoming) }
        do {
            while let frame = try framer.nextFrame(from: &pending!) {
                guard let value = RESPValue.decode(frame) else { continue }
                if let waiter = waiters.popFirst() {
                    waiter.succeed(value)
                } else {
                    pushes?.yield(value)
                }
            }
        } catch {
            context.close(promise: nil)
        }
        if pending?.readableBytes == 0 { pending = nil }
    }

    func channelInactive(context: ChannelHandlerContext) {
        while let waiter = waiters.popFirst() {
            waiter.fail(ControlConnection.Failure(description: "connection closed"))
        }
        pushes?.finish()
        pushes = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
