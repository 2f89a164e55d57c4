#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import Config
import NIOCore
import NIOPosix

/// twemproxy's stats port: every connection gets one JSON document with the counters of every pool
/// and server, in nutcracker's layout and names, then is closed. Collectors and dashboards written
/// for nutcracker (`nc -q1 host 22222`, its Prometheus exporters) read it unchanged.
///
/// nutcracker aggregates every `stats-interval`; here each connection gathers the loops' counters
/// at that moment.
enum TwemproxyStats {
    /// One pool's part: its name, its listener's loops' snapshots.
    struct Pool {
        var name: String
        var snapshots: [LoopSnapshot]
    }

    /// The document. `source` is the host name, `uptime` seconds since the start, `timestamp` Unix
    /// seconds now.
    static func render(pools: [Pool], source: String, uptime: Int64, timestamp: Int64) -> String {
        var clientsNow = 0
        var clientsEver = 0
        var serverConnections = 0
        var body = ""
        for pool in pools {
            var loop = LoopStats()
            var clients = 0
            for snapshot in pool.snapshots {
                loop.add(snapshot.stats)
                clients += snapshot.connectedClients
            }
            let servers = servers(of: pool.snapshots)
            clientsNow += clients
            clientsEver += loop.connectionsReceived
            serverConnections += servers.reduce(0) { $0 + $1.stats.connections }
            var fields: [(String, String)] = [
                ("client_eof", "\(loop.clientEOF)"), ("client_err", "\(loop.clientErrors)"),
                ("client_connections", "\(clients)"), ("server_ejects", "\(loop.serverEjects)"),
                ("forward_error", "\(servers.reduce(0) { $0 + $1.stats.errors })"), ("fragments", "\(loop.fragments)"),
            ]
            for server in servers { fields.append((server.name, object(serverFields(server)))) }
            body += ", \(JSONText.quoted(pool.name)): \(object(fields.map { (JSONText.quoted($0.0), $0.1) }))"
        }
        let listeners = pools.count
        let head: [(String, String)] = [
            ("service", JSONText.quoted("shardgate")), ("source", JSONText.quoted(source)),
            ("version", JSONText.quoted(ShardgateVersion.current)),
            ("uptime", "\(uptime)"), ("timestamp", "\(timestamp)"),
            ("total_connections", "\(listeners + clientsEver + serverConnections)"),
            ("curr_connections", "\(listeners + clientsNow + serverConnections)"),
        ]
        var text = "{"
        text += head.map { "\(JSONText.quoted($0.0)):\($0.1)" }.joined(separator: ", ")
        text += body
        text += "}\n"
        return text
    }

    /// A backend as nutcracker names it: a group's master by the group's name (for twemproxy pools,
    /// the server's name, or `host:port`), a replica by `group/host:port`.
    struct Server {
        var name: String
        var stats: BackendStats
        var ejectedAt: Int64
    }

    /// Every backend of the pool, summed over the loops, in group order (master first).
    static func servers(of snapshots: [LoopSnapshot]) -> [Server] {
        func name(_ backend: BackendSnapshot) -> String {
            backend.role == "master" ? backend.group : "\(backend.group)/\(backend.endpoint)"
        }
        return snapshots.mergedBackends(by: name).map { Server(name: name($0), stats: $0.stats, ejectedAt: $0.ejectedAt) }
    }

    private static func serverFields(_ server: Server) -> [(String, String)] {
        let stats = server.stats
        return [
            ("server_eof", stats.serverEOF), ("server_err", stats.serverErrors), ("server_timedout", stats.timeouts),
            ("server_connections", stats.connections), ("server_ejected_at", Int(server.ejectedAt)),
            ("requests", stats.requests), ("request_bytes", stats.requestBytes), ("responses", stats.responses),
            ("response_bytes", stats.responseBytes), ("in_queue", stats.inQueue), ("in_queue_bytes", stats.inQueueBytes),
            ("out_queue", stats.outQueue), ("out_queue_bytes", stats.outQueueBytes),
        ].map { (JSONText.quoted($0.0), "\($0.1)") }
    }

    /// `{"key":value, ...}` from already quoted keys and rendered values.
    private static func object(_ fields: [(String, String)]) -> String {
        "{" + fields.map { "\($0.0):\($0.1)" }.joined(separator: ", ") + "}"
    }

    /// The machine's host name (`source`).
    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Answers each connection to the stats port with the document, then closes it.
final class StatsConnectionHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let pools: [ProxyPool]
    private let startedAt: NIODeadline

    init(pools: [ProxyPool], startedAt: NIODeadline) {
        self.pools = pools
        self.startedAt = startedAt
    }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        let loop = context.eventLoop
        let pools = self.pools
        let startedAt = self.startedAt
        let gathered = pools.map { pool in
            pool.snapshots(on: loop).map { TwemproxyStats.Pool(name: pool.runtime.config.name, snapshots: $0) }
        }
        EventLoopFuture.whenAllSucceed(gathered, on: loop).whenComplete { result in
            guard case .success(let parts) = result else {
                channel.close(promise: nil)
                return
            }
            let text = TwemproxyStats.render(
                pools: parts, source: TwemproxyStats.hostName(),
                uptime: (NIODeadline.now() - startedAt).nanoseconds / 1_000_000_000, timestamp: Int64(time(nil)))
            var buffer = channel.allocator.buffer(capacity: text.utf8.count)
            buffer.writeString(text)
            channel.writeAndFlush(buffer).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
