import NIOCore
import RESP

/// What a channel of server replies hands its frames and troubles to (a backend connection, a
/// subscriber connection). `generation` tells a connection's current channel from older ones.
protocol ReplyFrameConsumer: AnyObject, SendableMetatype {
    /// Bytes arrived: the frames in them follow (one clock read for all of them, see
    /// `PoolLoop.eventStarted`).
    func readStarted()
    func received(_ frame: ByteBuffer, generation: Int)
    /// The channel closed, failed, or sent bytes that are not RESP: it cannot be trusted any more.
    func channelFailed(_ generation: Int, reason: String)
    func writabilityChanged(_ isWritable: Bool, generation: Int)
}

/// The reason given when a backend server closed the connection (twemproxy counts it as `server_eof`,
/// other failures as `server_err`).
let serverClosedConnection = "connection closed by the server"

/// Frames the replies a server sends on one channel and hands each to its consumer. Generic over
/// the consumer's concrete type, so no existential sits on the reply path.
final class ReplyFrameHandler<Consumer: ReplyFrameConsumer>: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let consumer: Consumer
    private let generation: Int
    private var framer = RESPReplyFramer()
    private var pending: ByteBuffer?

    init(consumer: Consumer, generation: Int) {
        self.consumer = consumer
        self.generation = generation
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        pending.accumulate(&incoming, allocator: context.channel.allocator)
        consumer.readStarted()
        do {
            while let frame = try framer.nextFrame(from: &pending!) {
                consumer.received(frame, generation: generation)
            }
        } catch {
            consumer.channelFailed(generation, reason: "sent invalid RESP (\(error.message))")
        }
        if pending?.readableBytes == 0 { pending = nil }
    }

    func channelInactive(context: ChannelHandlerContext) {
        consumer.channelFailed(generation, reason: serverClosedConnection)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        consumer.writabilityChanged(context.channel.isWritable, generation: generation)
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        consumer.channelFailed(generation, reason: "connection failed (\(BackendConnection.describe(error)))")
        context.close(promise: nil)
    }
}
