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
    private let listeners: NIOLoopBoundBox<[NodeListeners.Listener]>

    /// Throws only if its fresh event loop refuses work (it is being shut down).
    public init(settings: NodeSettings, configFile: String? = nil, logger: Logger) throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        loop = group.next()
        self.logger = logger
        let loop = self.loop
        node = try loop.submit { NIOLoopBound(Node(settings: settings, configFile: configFile, loop: loop, logger: logger), eventLoop: loop) }.wait()
        stopped = loop.makePromise()
        listeners = try loop.submit { NIOLoopBoundBox([NodeListeners.Listener](), eventLoop: loop) }.wait()
    }

    /// Loads the dataset, binds every `bind` address; returns the first bound address.
    @discardableResult
    public func start() async throws -> SocketAddress {
        let node = self.node
        try await loop.submit { try node.value.loadPersistedData() }.get()
        let settings = try await loop.submit { node.value.settings }.get()
        let sockets: [Int32]
        switch NodeListeners.bind(settings.bind, port: settings.port) {
        case .success(let bound): sockets = bound
        case .failure(let error): throw NodeConfigError("cannot listen: \(error.message)")
        }
        let served = NodeListeners.serve(sockets, group: group, node: node)
        var address: SocketAddress?
        do {
            for listener in served {
                let local = try await listener.channel.get().localAddress
                if address == nil { address = local }
            }
        } catch {
            for listener in served { listener.stop() }
            throw error
        }
        guard let address else { throw NodeConfigError("cannot listen on \(settings.bind)") }
        let listeners = self.listeners
        let stopped = self.stopped
        let logger = self.logger
        let group = self.group
        try await loop.submit {
            listeners.value = served
            let node = node.value
            node.boundPort = address.port ?? settings.port
            node.shutdownHandler = { stopped.succeed() }
            node.rebindListeners = { [group] node, new, old in
                Self.rebind(to: new, from: old, listeners: listeners, group: group, node: NIOLoopBound(node, eventLoop: node.loop))
            }
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
            for listener in listeners.value { listener.stop() }
            let channels = node.value.clients.connected.values.map(\.channel)
            listeners.value = []
            return channels
        }.get()
        for channel in channels ?? [] { try? await channel.close() }
        stopped.succeed()
        try? await group.shutdownGracefully()
        logger.info("node stopped")
    }

    /// CONFIG SET port/bind, as Redis's `changeBindAddr`: closes the listeners (the connected clients
    /// stay), listens on the new addresses, and if any of them cannot be bound listens on the old ones
    /// again; nil, or why nothing changed.
    private static func rebind(
        to new: (port: Int, bind: [String]), from old: (port: Int, bind: [String]),
        listeners: NIOLoopBoundBox<[NodeListeners.Listener]>, group: any EventLoopGroup, node: NIOLoopBound<Node>
    ) -> String? {
        for listener in listeners.value { listener.stop() }
        listeners.value = []
        var failure: String?
        var sockets: [Int32] = []
        // Port 0 listens nowhere, as in Redis.
        if new.port != 0 {
            switch NodeListeners.bind(new.bind, port: new.port) {
            case .success(let bound): sockets = bound
            case .failure(let error): failure = error.message
            }
        }
        if failure != nil && old.port != 0 {
            switch NodeListeners.bind(old.bind, port: old.port) {
            case .success(let bound): sockets = bound
            case .failure(let error): node.value.logger.error("could not listen on the old addresses again: \(error.message)")
            }
        }
        node.value.boundPort = failure == nil ? new.port : old.port
        listeners.value = NodeListeners.serve(sockets, group: group, node: node)
        return failure
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
