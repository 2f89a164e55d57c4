import Logging
import NIOCore
import RESP
import RedisText

/// A reply: RESP2, or RESP3 after `HELLO 3` (maps, pushes and nulls of their own, as Redis sends).
enum Reply {
    case simple(String)
    case error(String)
    case integer(Int)
    case bulk(String)
    case null
    case nullArray
    case array([Reply])
    case map([(Reply, Reply)])
    /// Pub/sub messages: a push in RESP3, an array in RESP2.
    case push([Reply])

    static let ok = Reply.simple("OK")

    static func fields(_ pairs: [(String, String)]) -> Reply {
        .map(pairs.map { (Reply.bulk($0.0), Reply.bulk($0.1)) })
    }

    func write(to buffer: inout ByteBuffer, resp3: Bool) {
        switch self {
        case .simple(let text): buffer.writeRESPSimpleString(text)
        case .error(let text): buffer.writeRESPError(text)
        case .integer(let value): buffer.writeRESPInteger(value)
        case .bulk(let text): buffer.writeRESPBulkString(text)
        case .null: if resp3 { buffer.writeString("_\r\n") } else { buffer.writeRESPNullBulk() }
        case .nullArray: buffer.writeString(resp3 ? "_\r\n" : "*-1\r\n")
        case .array(let items), .push(let items):
            if case .push = self, resp3 {
                buffer.writeString(">\(items.count)\r\n")
            } else {
                buffer.writeRESPArrayHeader(items.count)
            }
            for item in items { item.write(to: &buffer, resp3: resp3) }
        case .map(let pairs):
            if resp3 {
                buffer.writeString("%\(pairs.count)\r\n")
            } else {
                buffer.writeRESPArrayHeader(pairs.count * 2)
            }
            for (key, value) in pairs {
                key.write(to: &buffer, resp3: resp3)
                value.write(to: &buffer, resp3: resp3)
            }
        }
    }
}

/// One client of the sentinel's port.
final class SentinelClient {
    let id: Int
    let channel: any Channel
    var name = ""
    var authenticated: Bool
    var resp3 = false
    var channels: Set<String> = []
    var patterns: Set<String> = []
    var subscriptions: Int { channels.count + patterns.count }

    init(id: Int, channel: any Channel, authenticated: Bool) {
        self.id = id
        self.channel = channel
        self.authenticated = authenticated
    }

    func send(_ reply: Reply) {
        var buffer = channel.allocator.buffer(capacity: 64)
        reply.write(to: &buffer, resp3: resp3)
        channel.writeAndFlush(buffer, promise: nil)
    }
}

/// The clients of the sentinel's port and their subscriptions; lives on the sentinel's loop.
final class ClientRegistry: @unchecked Sendable {
    let sentinel: Sentinel
    let logger: Logger
    private var clients: [Int: SentinelClient] = [:]
    private var nextID = 1
    private(set) var connectionsReceived = 0

    init(sentinel: Sentinel, logger: Logger) {
        self.sentinel = sentinel
        self.logger = logger
    }

    func add(_ channel: any Channel) -> SentinelClient {
        let client = SentinelClient(id: nextID, channel: channel, authenticated: sentinel.settings.requirepass == nil)
        nextID += 1
        connectionsReceived += 1
        clients[client.id] = client
        return client
    }

    func remove(_ client: SentinelClient) { clients[client.id] = nil }

    var all: [SentinelClient] { clients.values.sorted { $0.id < $1.id } }

    func closeAll() {
        for client in clients.values { client.channel.close(promise: nil) }
    }

    /// Delivers an event to the clients subscribed to its channel or a matching pattern.
    func publish(_ channel: String, _ message: String) {
        for client in clients.values where client.subscriptions > 0 {
            if client.channels.contains(channel) {
                client.send(.push([.bulk("message"), .bulk(channel), .bulk(message)]))
            }
            for pattern in client.patterns where GlobMatch.matches(pattern, channel) {
                client.send(.push([.bulk("pmessage"), .bulk(pattern), .bulk(channel), .bulk(message)]))
            }
        }
    }

    func kill(where predicate: (SentinelClient) -> Bool) -> Int {
        let victims = clients.values.filter(predicate)
        for victim in victims { victim.channel.close(promise: nil) }
        return victims.count
    }
}

/// Reads requests and answers them through `SentinelCommands`.
final class SentinelClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let clients: ClientRegistry
    private var client: SentinelClient?
    private var parser = RESPRequestParser()
    private var pending: ByteBuffer?

    init(clients: ClientRegistry) { self.clients = clients }

    func channelActive(context: ChannelHandlerContext) {
        client = clients.add(context.channel)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let client { clients.remove(client) }
        client = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        pending.accumulate(&incoming, allocator: context.channel.allocator)
        guard let client else { return }
        do {
            while let request = try parser.next(from: &pending!) {
                let arguments = (0..<request.argumentCount).map { request.string($0) }
                guard !arguments.isEmpty else { continue }
                let reply = SentinelCommands.run(arguments, client: client, clients: clients)
                if let reply { client.send(reply) }
                if arguments[0].lowercased() == "quit" {
                    context.close(promise: nil)
                    return
                }
            }
        } catch {
            client.send(.error("ERR Protocol error: \(error)"))
            context.close(promise: nil)
        }
        if pending?.readableBytes == 0 { pending = nil }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
