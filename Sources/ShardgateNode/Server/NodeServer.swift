#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// A Redis-compatible data node: one event loop thread serving every client, as Redis does.
///
/// `start()` loads persisted data and binds; `run()` serves until SHUTDOWN or a graceful shutdown
/// (SIGTERM/SIGINT through `ServiceGroup`).
public final class NodeServer: Service, Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let loop: any EventLoop
    private let node: NIOLoopBound<Node>
    private let logger: Logger
    private let stopped: EventLoopPromise<Void>
    private let listeners: NIOLoopBoundBox<[any Channel]>

    /// Throws only if its fresh event loop refuses work (it is being shut down).
    public init(settings: NodeSettings, configFile: String? = nil, logger: Logger) throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        loop = group.next()
        self.logger = logger
        let loop = self.loop
        node = try loop.submit { NIOLoopBound(Node(settings: settings, configFile: configFile, loop: loop, logger: logger), eventLoop: loop) }.wait()
        stopped = loop.makePromise()
        listeners = try loop.submit { NIOLoopBoundBox([any Channel](), eventLoop: loop) }.wait()
    }

    /// Loads the dataset, binds every `bind` address; returns the first bound address.
    @discardableResult
    public func start() async throws -> SocketAddress {
        let node = self.node
        try await loop.submit { try node.value.loadPersistedData() }.get()
        let settings = try await loop.submit { node.value.settings }.get()
        var bound: [any Channel] = []
        let addresses = settings.bind.isEmpty ? ["*"] : settings.bind
        for address in addresses {
            let optional = address.hasPrefix("-")
            var host = optional ? String(address.dropFirst()) : address
            if host == "*" { host = "0.0.0.0" }
            if host == "::*" { host = "::" }
            do {
                let channel = try await ServerBootstrap(group: group)
                    .serverChannelOption(.backlog, value: 511)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                    .childChannelOption(.maxMessagesPerRead, value: 16)
                    .childChannelOption(
                        .recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65536))
                    .childChannelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try Self.applyKeepalive(node.value.settings.tcpKeepalive, to: channel)
                            try channel.pipeline.syncOperations.addHandler(NodeClientHandler(node: node.value))
                        }
                    }
                    .bind(host: host, port: settings.port)
                    .get()
                bound.append(channel)
            } catch where optional {
                continue
            }
        }
        guard let first = bound.first, let address = first.localAddress else {
            throw NodeConfigError("could not bind any of \(addresses)")
        }
        let listeners = self.listeners
        let stopped = self.stopped
        let channels = bound
        let logger = self.logger
        try await loop.submit {
            listeners.value = channels
            let node = node.value
            node.boundPort = address.port ?? settings.port
            node.shutdownHandler = { stopped.succeed() }
            node.startCron()
            node.startReplicationIfConfigured()
            logger.info("node ready to accept connections", metadata: ["address": "\(address)"])
        }.get()
        return address
    }

    /// Starts (unless `start()` ran already) and serves until SHUTDOWN or a graceful shutdown; a
    /// failed start stops what was set up and throws.
    public func run() async throws {
        let isStarted = try await loop.submit { [listeners] in !listeners.value.isEmpty }.get()
        if !isStarted {
            do {
                try await start()
            } catch {
                await stop()
                throw error
            }
        }
        let stopped = self.stopped
        try? await withGracefulShutdownHandler {
            try await stopped.futureResult.get()
        } onGracefulShutdown: {
            stopped.succeed()
        }
        await stop()
    }

    /// Closes the listeners and every client, saves if configured (as SHUTDOWN does), stops the loop.
    public func stop() async {
        let node = self.node
        let listeners = self.listeners
        let channels = try? await loop.submit {
            node.value.prepareShutdown()
            let channels = listeners.value + node.value.clients.connected.values.map(\.channel)
            listeners.value = []
            return channels
        }.get()
        for channel in channels ?? [] { try? await channel.close() }
        stopped.succeed()
        try? await group.shutdownGracefully()
        logger.info("node stopped")
    }

    /// `tcp-keepalive` on a new client connection, as Redis sets it: SO_KEEPALIVE, the first probe
    /// after `seconds` idle, then every third of that, giving up after 3; 0 leaves it off. Read per
    /// connection, so CONFIG SET applies to the next ones.
    static func applyKeepalive(_ seconds: Int, to channel: any Channel) throws {
        guard seconds > 0, let options = channel.syncOptions else { return }
        let idle = min(seconds, Int(Int32.max))
        try options.setOption(.socketOption(.so_keepalive), value: 1)
        try options.setOption(.tcpOption(NIOBSDSocket.Option(rawValue: TCP_KEEPIDLE)), value: idle)
        try options.setOption(.tcpOption(NIOBSDSocket.Option(rawValue: TCP_KEEPINTVL)), value: max(1, idle / 3))
        try options.setOption(.tcpOption(NIOBSDSocket.Option(rawValue: TCP_KEEPCNT)), value: 3)
    }
}
