import Config
#if canImport(Glibc)
import Glibc
#endif
import NIOConcurrencyHelpers
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// The proxy as a service: one listener per pool, all sharing one event loop group.
///
/// `run()` serves until a graceful shutdown (SIGTERM/SIGINT through `ServiceGroup`), then stops
/// accepting, lets every client receive the replies already in flight, and returns.
public final class ProxyServer: Service, Sendable {
    let pools: [ProxyPool]
    private let group: any EventLoopGroup
    let logger: Logger
    /// The file the configuration came from: what a reload re-reads.
    let configPath: String?
    /// Set while a reload runs (one at a time).
    let reloading = NIOLockedValueBox(false)
    private let serverChannels = NIOLockedValueBox<[any Channel]>([])
    /// Sentinel followers and replica watchers, cancelled and awaited by `stop()`.
    private let controlTasks = NIOLockedValueBox<[Task<Void, Never>]>([])

    /// Where twemproxy's stats port listens (nil: no stats port).
    private let statsListen: (host: String, port: Int)?
    /// The stats port's bound address, once listening.
    public let statsAddress = NIOLockedValueBox<SocketAddress?>(nil)
    /// Where `/metrics` is served over HTTP (nil: not served, and nothing is measured for it).
    private let metricsListen: (host: String, port: Int)?
    /// The metrics port's bound address, once listening.
    public let metricsAddress = NIOLockedValueBox<SocketAddress?>(nil)
    private let startedAt = NIODeadline.now()
    /// The TLS files that could not be loaded (`start()` throws them before listening).
    private let tlsProblems: ConfigError?

    public init(
        config: ProxyConfig, group: any EventLoopGroup, logger: Logger, configPath: String? = nil,
        statsListen: (host: String, port: Int)? = nil, metricsListen: (host: String, port: Int)? = nil
    ) {
        self.group = group
        self.logger = logger
        self.configPath = configPath
        self.statsListen = statsListen
        self.metricsListen = metricsListen
        var tlsIssues: [ConfigIssue] = []
        self.pools = config.pools.map { pool in
            var poolLogger = logger
            poolLogger[metadataKey: "pool"] = "\(pool.name)"
            // Certificates are read here, once per pool, off the event loops (reading them blocks).
            var tls = PoolTLS.plain
            do throws(ConfigError) {
                tls = try PoolTLS.load(pool, configFile: configPath ?? "proxy.yml")
            } catch {
                tlsIssues += error.issues
            }
            return ProxyPool(
                runtime: PoolRuntime(config: pool, tls: tls), logger: poolLogger, configPath: configPath,
                measures: metricsListen != nil)
        }
        self.tlsProblems = tlsIssues.isEmpty ? nil : ConfigError(issues: tlsIssues)
        for pool in pools {
            pool.reloader.withLockedValue { $0 = { [weak self] force in await self?.reloadFromFile(force: force) ?? .init(applied: false, lines: ["the proxy is stopping"]) } }
        }
    }

    /// Binds every pool's listener; returns the bound addresses in pool order (port 0 gets a real port).
    @discardableResult
    public func start() async throws -> [SocketAddress] {
        if let tlsProblems { throw tlsProblems }
        var addresses: [SocketAddress] = []
        for pool in pools {
            try await pool.attach(to: group)
            let config = pool.runtime.config
            if config.usesSentinel {
                // Resolve every group before accepting clients, then follow Sentinel until stopped.
                let follower = SentinelFollower(pool: pool, group: group, logger: pool.logger)
                pool.follower.withLockedValue { $0 = follower }
                await follower.resolveAll()
                let task = Task { await follower.run() }
                controlTasks.withLockedValue { $0.append(task) }
            } else if ReplicaWatcher.isNeeded(for: config) {
                await startWatchingReplicas(of: pool)
            }
            let bootstrap = ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: Int32(config.backlog))
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                // `reuseport`: every proxy that sets it may listen on the port; the kernel spreads
                // new connections over them.
                .serverChannelOption(.socketOption(.so_reuseport), value: config.reusePort ? 1 : 0)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                // `tcpkeepalive`, on client connections as twemproxy does (backends: PoolLoop.connect).
                .childChannelOption(.socketOption(.so_keepalive), value: config.tcpKeepalive ? 1 : 0)
                .childChannelOption(.maxMessagesPerRead, value: 16)
                // Start small: each channel keeps its receive buffer, and idle clients are the common
                // case (10,000 of them should cost well under 40 MB). Busy clients grow it adaptively.
                .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65536))
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try Self.accept(channel, pool: pool)
                    }
                }
            let channel: any Channel
            do {
                channel = try await bootstrap.bind(host: config.listen.host, port: config.listen.port).get()
            } catch {
                throw ListenError(pool: config.name, address: config.listen, reusePort: config.reusePort, underlying: error)
            }
            serverChannels.withLockedValue { $0.append(channel) }
            let address = channel.localAddress!
            pool.listenAddress.withLockedValue { $0 = address }
            addresses.append(address)
            logger.info(
                "pool listening",
                metadata: [
                    "pool": "\(config.name)", "address": "\(address)", "groups": "\(config.groups.count)",
                    "distribution": "\(config.distribution.rawValue)", "tls": "\(config.tls == nil ? "off" : "on")",
                ])
        }
        if let statsListen { await startStats(statsListen) }
        if let metricsListen { try await startMetrics(metricsListen) }
        return addresses
    }

    /// Leaves out the replicas that are not in sync (before clients are accepted, or before a
    /// reload that starts reading from replicas applies), then keeps watching until stopped.
    func startWatchingReplicas(of pool: ProxyPool) async {
        let watcher = ReplicaWatcher(pool: pool, group: group, logger: pool.logger)
        var history = OffsetHistory()
        await watcher.checkAll(&history)
        let checked = history
        let task = Task { await watcher.run(from: checked) }
        pool.replicaWatcher.withLockedValue { $0 = task }
        controlTasks.withLockedValue { $0.append(task) }
    }

    /// Prometheus's `/metrics` (`MetricsHTTPHandler`). Unlike the stats port, a metrics port that
    /// cannot be bound stops the start: it was asked for, and scrapes would fail unnoticed.
    private func startMetrics(_ listen: (host: String, port: Int)) async throws {
        let pools = self.pools
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(pools: pools))
                }
            }
        let channel = try await bootstrap.bind(host: listen.host, port: listen.port).get()
        serverChannels.withLockedValue { $0.append(channel) }
        metricsAddress.withLockedValue { $0 = channel.localAddress }
        logger.info("metrics listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
    }

    /// twemproxy's stats port (`StatsConnectionHandler`). A port that cannot be bound is logged
    /// and left out: the pools serve without it.
    private func startStats(_ listen: (host: String, port: Int)) async {
        let (pools, startedAt) = (self.pools, self.startedAt)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(StatsConnectionHandler(pools: pools, startedAt: startedAt))
                }
            }
        do {
            let channel = try await bootstrap.bind(host: listen.host, port: listen.port).get()
            serverChannels.withLockedValue { $0.append(channel) }
            statsAddress.withLockedValue { $0 = channel.localAddress }
            logger.info("stats port listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
        } catch {
            logger.warning(
                "stats port disabled: cannot listen",
                metadata: ["address": "\(listen.host):\(listen.port)", "error": "\(BackendConnection.describe(error))"])
        }
    }

    private static func accept(_ channel: any Channel, pool: ProxyPool) throws {
        // TLS first, so that even a refusal below reaches the client encrypted.
        if let context = pool.runtime.tls.listener { try ClientTLS.secure(channel, context: context, logger: pool.logger) }
        let loop = pool.loop(for: channel.eventLoop)
        if loop.isStopping || !pool.admitClient(limit: pool.runtime.config.clientConnections) {
            let reason = loop.isStopping ? "ERR shardgate is shutting down" : "ERR max number of clients reached"
            loop.connectionRefused(from: channel.remoteAddress, reason: reason)
            var reply = channel.allocator.buffer(capacity: 64)
            reply.writeRESPError(reason)
            channel.writeAndFlush(reply).whenComplete { _ in channel.close(promise: nil) }
            return
        }
        channel.closeFuture.whenComplete { _ in pool.connectedClients.wrappingDecrement(ordering: .relaxed) }
        let session = ClientSession(
            loop: loop, id: pool.nextClientID(), remoteAddress: channel.remoteAddress, localAddress: channel.localAddress)
        try channel.pipeline.syncOperations.addHandler(session)
    }

    /// Starts (unless `start()` ran already), serves until a graceful shutdown, then stops; a failed
    /// start stops what it had set up (the pools that did listen) and throws.
    public func run() async throws {
        if serverChannels.withLockedValue({ $0.isEmpty }) {
            do {
                try await start()
            } catch {
                await stop()
                throw error
            }
        }
        try? await gracefulShutdown()
        await stop()
    }

    /// Stops accepting, waits for in-flight replies (bounded), closes backend connections.
    public func stop() async {
        logger.info("shutting down: no new connections, finishing in-flight replies")
        let channels = serverChannels.withLockedValue { channels in
            defer { channels.removeAll() }
            return channels
        }
        for channel in channels { try? await channel.close() }
        // Stop following Sentinel and watching replicas, and wait: nothing may still be connecting
        // when the event loops shut down after this returns.
        let tasks = controlTasks.withLockedValue { $0 }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
        for pool in pools {
            await pool.drain(within: .milliseconds(Int64(pool.runtime.config.drainTimeoutMilliseconds)))
        }
        logger.info("shutdown complete")
    }
}

/// A pool could not listen: names the pool and the address, and when the port is taken says what
/// `reuseport` would change.
public struct ListenError: Error, CustomStringConvertible {
    public let pool: String
    public let address: Endpoint
    public let reusePort: Bool
    public let underlying: any Error

    public var description: String {
        var text = "pool '\(pool)' cannot listen on \(address): \(BackendConnection.describe(underlying))"
        if let error = underlying as? IOError, error.errnoCode == EADDRINUSE {
            text +=
                reusePort
                ? "; the socket there does not share it (every proxy on one port needs `reuseport: true`)"
                : "; proxies that share a port all need `reuseport: true`"
        }
        return text
    }
}

extension NIOBSDSocket.Option {
    /// `SO_REUSEPORT`, which NIO does not name.
    static let so_reuseport = NIOBSDSocket.Option(rawValue: SO_REUSEPORT)
}
