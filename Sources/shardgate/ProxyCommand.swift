import ArgumentParser
import CMallocInfo
import Config
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import ShardgateProxy
import UnixSignals
#if canImport(Glibc)
import Glibc
#endif

struct ProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Serve the pools of proxy.yml until SIGINT/SIGTERM; SIGHUP re-reads the file (see `reload`)."
    )

    @OptionGroup var options: ConfigOptions

    @OptionGroup var runtime: RuntimeOptions

    func run() async throws {
        let config = try loadConfigOrExit(options.config)
        try bootstrapLogging(runtime.logLevel.level, format: runtime.logFormat)
        let logger = Logger(label: "shardgate")
        // Buffers of relayed values come and go in bursts: keep their memory for the next.
        shardgate_keep_freed_memory()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, runtime.threads))
        let server = ProxyServer(
            config: config, group: group, logger: logger, configPath: options.config, statsListen: runtime.statsListen.address,
            metricsListen: runtime.metricsListen.address)
        // The proxy starts inside the service group, so SIGTERM is handled from the first moment.
        let secondSignal = await stopOnSecondSignal(logger)
        defer { secondSignal.cancel() }
        let hangup = await reloadOnHangup(server)
        defer { hangup.cancel() }
        let services = ServiceGroup(
            configuration: .init(
                services: [.init(service: server)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        do {
            try await services.run()
        } catch {
            logger.critical("cannot start", metadata: ["error": "\(error)"])
            try? await group.shutdownGracefully()
            throw ExitCode.failure
        }
        try await group.shutdownGracefully()
    }
}

/// The first SIGTERM or SIGINT starts a graceful shutdown (the service group's); a second one
/// ends the process at once, without waiting for the replies in flight (`drain_timeout`).
func stopOnSecondSignal(_ logger: Logger) async -> Task<Void, Never> {
    let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
    return Task {
        var seen = 0
        for await signal in signals {
            seen += 1
            if seen == 2 {
                logger.warning("second signal: exiting without waiting for replies in flight", metadata: ["signal": "\(signal)"])
                exit(0)
            }
        }
    }
}

/// SIGHUP re-reads proxy.yml and applies it (`ProxyServer.reloadFromFile`, which logs the outcome);
/// a change of key placement needs `shardgate reload --force`.
func reloadOnHangup(_ server: ProxyServer) async -> Task<Void, Never> {
    let signals = await UnixSignalsSequence(trapping: .sighup)
    return Task {
        for await _ in signals { _ = await server.reloadFromFile(force: false) }
    }
}

/// Loads and validates the configuration, TLS files included (a missing certificate, a key that
/// does not match: the server loads them again itself, but a bad one should stop `check` and the
/// start alike, before anything listens); on errors prints each one and exits non-zero.
func loadConfigOrExit(_ path: String) throws -> ProxyConfig {
    do throws(ConfigError) {
        let config = try ProxyConfigLoader.load(path: path)
        try ProxyTLSFiles.check(config, configFile: path)
        return config
    } catch {
        printError(error.description)
        throw ExitCode(2)
    }
}

struct LogLevelArgument: ExpressibleByArgument {
    let level: Logger.Level
    init(_ level: Logger.Level) { self.level = level }
    init?(argument: String) {
        guard let level = Logger.Level(rawValue: argument.lowercased()) else { return nil }
        self.level = level
    }
    var defaultValueDescription: String { level.rawValue }
}
