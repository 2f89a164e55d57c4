#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Logging
import ServiceLifecycle
import ShardgateNode

/// `shardgate node`: the Redis-compatible data node, started like redis-server.
struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Run a Redis-compatible data node: shardgate node [redis.conf] [--directive value ...]."
    )

    @Argument(parsing: .captureForPassthrough, help: "An optional redis.conf, then --directive value pairs.")
    var arguments: [String] = []

    func run() async throws {
        var overrides = arguments
        var file: String?
        if let first = overrides.first, !first.hasPrefix("--") {
            file = first
            overrides.removeFirst()
        }
        let settings: NodeSettings
        do {
            settings = try NodeSettings.load(file: file, overrides: overrides)
        } catch {
            printError("shardgate node: \(error.description)")
            throw ExitCode(1)
        }
        do {
            try bootstrapLogging(settings.swiftLogLevel, file: settings.logFile)
        } catch {
            printError("shardgate node: \(error.description)")
            throw ExitCode(1)
        }
        let logger = Logger(label: "shardgate-node")
        let server: NodeServer
        do {
            server = try NodeServer(settings: settings, configFile: file, logger: logger)
        } catch {
            logger.critical("cannot start", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
        // The node starts inside the service group, so SIGTERM is handled from the first moment
        // (a signal during start-up stops the node once it has started, as in Redis).
        try await runUntilSignalled(server, pidFile: settings.pidFile, logger: logger)
    }
}

/// Runs `server` (a node or a sentinel) in a service group until SIGTERM/SIGINT or until it stops
/// by itself (SHUTDOWN), with its `pidfile` written meanwhile; an error stops the process non-zero.
func runUntilSignalled(_ server: some Service, pidFile path: String?, logger: Logger) async throws {
    let pidFile = path.flatMap { PIDFile(path: $0, logger: logger) }
    defer { pidFile?.remove() }
    let services = ServiceGroup(
        configuration: .init(
            services: [.init(service: server, successTerminationBehavior: .gracefullyShutdownGroup)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
    do {
        try await services.run()
    } catch {
        logger.critical("stopped by an error", metadata: ["error": "\(error)"])
        throw ExitCode.failure
    }
}

/// The node's `pidfile`: written as the node starts, removed when it stops (as redis-server
/// does). A file that cannot be written is logged, not fatal, as in Redis.
struct PIDFile {
    let path: String

    init?(path: String, logger: Logger) {
        guard !path.isEmpty else { return nil }
        self.path = path
        guard let stream = fopen(path, "w") else {
            logger.warning("failed to write PID file", metadata: ["path": "\(path)", "error": "\(String(cString: strerror(errno)))"])
            return nil
        }
        fputs("\(getpid())\n", stream)
        fclose(stream)
    }

    func remove() { unlink(path) }
}
