import NIOCore
import RESP

/// Reads requests from one client and runs them on the node; the node writes the replies at the end
/// of the event-loop tick (`Node.scheduleFlush`).
final class NodeClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let node: Node
    private var client: ClientConnection?
    private var parser = RESPRequestParser()
    private var input: ByteBuffer?
    /// Parsed requests not yet run, from `next` on, and the hash of each one's key argument
    /// (`Node.prefetchKeys`; empty for a batch of one).
    private var batch: [RESPRequest] = []
    private var keyHashes: [UInt32?] = []
    private var next = 0
    /// Bytes of the batch's requests not yet run (CLIENT LIST `qbuf`).
    private var batchBytes = 0
    /// The big argument of the batch's last request (`RESPRequestParser.takeBigArgument`).
    private var bigArgument: RESPBigArgument?
    /// A bulk argument this large is collected into an array of exactly its size as it arrives, and
    /// each read buffer dropped once copied, so the value a SET stores is that array: held once,
    /// as Redis does for arguments of `PROTO_MBULK_BIG_ARG` (32 KB) and more.
    static let bigArgumentThreshold = 32 * 1024
    /// A malformed request that ended the current batch, answered once the batch has run.
    private var protocolError: RESPProtocolError?
    static let batchLimit = 32

    init(node: Node) {
        self.node = node
        parser.bigArgumentThreshold = Self.bigArgumentThreshold
    }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        if let refusal = node.admissionRefusal(channel) {
            var reply = channel.allocator.buffer(capacity: refusal.utf8.count)
            reply.writeString(refusal)
            channel.writeAndFlush(reply).whenComplete { _ in channel.close(promise: nil) }
            return
        }
        let client = node.register(channel: channel)
        client.handlerContext = context
        self.client = client
        parser.authenticated = client.authenticated
        // Unowned, not weak: a weak reference would give the handler a side table, and NIO's
        // retain of it on every read would take the slow path. `channelInactive` clears it.
        client.resume = { [unowned self] in self.processInput() }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let client else { return }
        var incoming = unwrapInboundIn(data)
        if client.flags.servedWhileBusy > 0 {
            // Requests a busy script's hook already ran (`Node.serveClientsWhileBusy`).
            let served = min(client.flags.servedWhileBusy, incoming.readableBytes)
            incoming.moveReaderIndex(forwardBy: served)
            client.flags.servedWhileBusy -= served
            guard incoming.readableBytes > 0 else { return }
        }
        input.accumulate(&incoming, allocator: context.channel.allocator)
        client.noteInput(pending: input?.readableBytes ?? 0)
        processInput()
    }

    /// Runs every complete request buffered, unless the client is blocked or closing.
    ///
    /// Requests are parsed in batches (one request at a time before AUTH, whose parsing limits
    /// differ) so the node can prefetch all their keys before running the first. What a blocked
    /// client leaves of a batch waits here until it is resumed.
    private func processInput() {
        guard let client else { return }
        node.beginBatch()
        defer { node.endBatch() }
        while !client.flags.isBlocked && !client.closeAfterReply && !client.closedForOutputLimit {
            if next == batch.count {
                parseBatch()
                if batch.isEmpty {
                    if let error = protocolError {
                        client.error("ERR \(error.message)")
                        client.closeAfterReply = true
                    }
                    break
                }
                if batch.count > 1 { node.prefetchKeys(of: batch, database: client.database, hashes: &keyHashes) }
            }
            let request = batch[next]
            let keyHash = next < keyHashes.count ? keyHashes[next] : nil
            next += 1
            client.runningRequestBytes = request.frame.readableBytes
            batchBytes -= client.runningRequestBytes
            client.pendingInputBytes = batchBytes + (input?.readableBytes ?? 0)
            if bigArgument != nil && next == batch.count {
                let big = bigArgument
                bigArgument = nil
                node.process(request, from: client, keyHash: keyHash, big: big)
            } else {
                node.process(request, from: client, keyHash: keyHash)
            }
            parser.authenticated = client.authenticated
            node.repliesGrew(client)
        }
        if input?.readableBytes == 0 { input = nil }
        client.pendingInputBytes = input?.readableBytes ?? 0
    }

    /// Replaces the finished batch with up to `batchLimit` newly parsed requests. A protocol error
    /// ends the batch; it is answered after the requests before it have run, as Redis does.
    private func parseBatch() {
        batch.removeAll(keepingCapacity: true)
        keyHashes.removeAll(keepingCapacity: true)
        next = 0
        defer { batchBytes = batch.reduce(0) { $0 + $1.frame.readableBytes } }
        guard input != nil, protocolError == nil else { return }
        let limit = parser.authenticated ? Self.batchLimit : 1
        do {
            while batch.count < limit, let request = try parser.next(from: &input!) {
                batch.append(request)
                // A request with a big argument ends its batch, which then carries that argument.
                if let big = parser.takeBigArgument() {
                    bigArgument = big
                    break
                }
            }
        } catch {
            protocolError = error
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if let client { node.scheduleFlush(client) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let client {
            node.unregister(client)
            client.resume = nil
            client.handlerContext = nil
        }
        client = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
