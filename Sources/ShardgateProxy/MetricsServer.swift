import NIOCore
import NIOHTTP1

/// `GET /metrics` over HTTP/1.1 (`--metrics-listen`): gathers every pool's loop snapshots when it
/// is asked, renders `MetricsReport`, answers and closes. Any other path gets 404, any other
/// method 405.
final class MetricsHTTPHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let pools: [ProxyPool]

    init(pools: [ProxyPool]) {
        self.pools = pools
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let request) = unwrapInboundIn(data) else { return }
        let channel = context.channel
        let path = request.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.uri
        guard path == "/metrics" else { return Self.respond(channel, status: .notFound, body: "try /metrics\n") }
        guard request.method == .GET || request.method == .HEAD else {
            return Self.respond(channel, status: .methodNotAllowed, body: "GET /metrics\n")
        }
        let headOnly = request.method == .HEAD
        let loop = context.eventLoop
        let gathered = pools.map { pool in
            pool.snapshots(on: loop).map { snapshots in
                MetricsReport.Pool(
                    name: pool.runtime.config.name, snapshots: snapshots,
                    masterChanges: pool.masterChanges.load(ordering: .relaxed))
            }
        }
        EventLoopFuture.whenAllSucceed(gathered, on: loop).whenComplete { result in
            switch result {
            case .success(let parts):
                Self.respond(
                    channel, status: .ok, body: MetricsReport.render(parts),
                    contentType: "text/plain; version=0.0.4; charset=utf-8", headOnly: headOnly)
            case .failure:
                Self.respond(channel, status: .serviceUnavailable, body: "shutting down\n")
            }
        }
    }

    private static func respond(
        _ channel: any Channel, status: HTTPResponseStatus, body: String, contentType: String = "text/plain; charset=utf-8",
        headOnly: Bool = false
    ) {
        var buffer = channel.allocator.buffer(capacity: body.utf8.count)
        buffer.writeString(body)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: "\(buffer.readableBytes)")
        headers.add(name: "Connection", value: "close")
        channel.write(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers)), promise: nil)
        if !headOnly { channel.write(HTTPServerResponsePart.body(.byteBuffer(buffer)), promise: nil) }
        channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in channel.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
