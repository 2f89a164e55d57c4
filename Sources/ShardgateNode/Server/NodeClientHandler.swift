import NIOCore
import RESP

/// Reads requests from one client, runs them on the node and writes the replies once per read burst.
final class NodeClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let node: Node
    private var client: ClientConnection?
    private var parser = RESPRequestParser()
    private var input: ByteBuffer?

    init(node: Node) {
        self.node = node
    }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        guard let client = node.register(channel: channel) else {
            node.stats.rejectedConnections += 1
            var reply = channel.allocator.buffer(capacity: 64)
            reply.writeRESPError("ERR max number of clients reached")
            channel.writeAndFlush(reply).whenComplete { _ in channel.close(promise: nil) }
            return
        }
        self.client = client
        parser.authenticated = client.authenticated
        client.resume = { [weak self] in self?.processInput() }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard client != nil else { return }
        var incoming = unwrapInboundIn(data)
        if input == nil {
            input = incoming
        } else {
            input!.writeBuffer(&incoming)
        }
        processInput()
    }

    /// Runs every complete request buffered, unless the client is blocked or closing.
    private func processInput() {
        guard let client, input != nil else { return }
        do {
            while !client.flags.isBlocked && !client.closeAfterReply, let request = try parser.next(from: &input!) {
                node.execute(request, from: client)
                parser.authenticated = client.authenticated
            }
        } catch {
            client.error("ERR \(error.message)")
            client.closeAfterReply = true
        }
        if input?.readableBytes == 0 { input = nil }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        node.beforeReplies()
        client?.flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let client {
            node.unregister(client)
            client.resume = nil
        }
        client = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
