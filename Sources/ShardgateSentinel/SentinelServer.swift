import Logging
import NIOCore
import NIOPosix
import RESP
import ServiceLifecycle

/// `shardgate sentinel`: serves Sentinel's commands and events on its port while `Sentinel`
/// monitors the masters. One event loop thread runs it all, as one thread runs redis-sentinel.
public final class SentinelServer: Service, @unchecked Sendable {
    private let settings: SentinelSettings
    private let configPath: String?
    private let logger: Logger
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    public init(settings: SentinelSettings, configPath: String?, logger: Logger) {
        self.settings = settings
        self.configPath = configPath
        self.logger = logger
    }

    public func run() async throws {
        let loop = group.next()
        let sentinel = Sentinel(settings: settings, configPath: configPath, loop: loop, logger: logger)
        let clients = ClientRegistry(sentinel: sentinel, logger: logger)
        sentinel.publish = { [clients] channel, message in clients.publish(channel, message) }
        let hosts = settings.bind.isEmpty ? ["0.0.0.0"] : settings.bind
        var channels: [any Channel] = []
        do {
            for host in hosts {
                let channel = try await ServerBootstrap(group: loop)
                    .serverChannelOption(.backlog, value: 511)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                    .childChannelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(SentinelClientHandler(clients: clients))
                        }
                    }
                    .bind(host: host, port: settings.port)
                    .get()
                channels.append(channel)
            }
        } catch {
            for channel in channels { try? await channel.close() }
            try? await group.shutdownGracefully()
            throw error
        }
        try await loop.submit { sentinel.start() }.get()
        logger.notice(
            "Sentinel ID is \(sentinel.myID)",
            metadata: ["port": "\(settings.port)", "masters": "\(settings.masters.map(\.name).joined(separator: ","))"])
        for master in settings.masters {
            logger.notice("+monitor master \(master.name) \(master.host) \(master.port) quorum \(master.quorum)")
        }
        let listening = channels
        await withGracefulShutdownHandler {
            for channel in listening { try? await channel.closeFuture.get() }
        } onGracefulShutdown: {
            for channel in listening { channel.close(promise: nil) }
        }
        try? await loop.submit {
            sentinel.flushConfig()
            sentinel.stop()
            clients.closeAll()
        }.get()
        try? await group.shutdownGracefully()
    }
}
