#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import ShardgateSentinel

/// `shardgate sentinel sentinel.conf`: a Redis Sentinel that monitors masters and fails them over,
/// started like redis-sentinel.
struct SentinelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sentinel",
        abstract: "Run a Redis Sentinel (monitoring and automatic failover): shardgate sentinel sentinel.conf [--port N]."
    )

    @Argument(help: "sentinel.conf (Redis Sentinel's directives; rewritten on every state change, so it must be writable).")
    var config: String

    @Option(help: "Listen on this port instead of the file's `port`.")
    var port: Int?

    func run() async throws {
        var settings: SentinelSettings
        do {
            settings = try SentinelSettings.load(path: config)
        } catch {
            printError("shardgate sentinel: \(error.description)")
            throw ExitCode(1)
        }
        if let port { settings.port = port }
        // The file's path is fixed before `dir` is entered, as redis-sentinel does.
        let configPath = URL(fileURLWithPath: config).standardizedFileURL.path
        if let directory = settings.directory, chdir(directory) != 0 {
            printError("shardgate sentinel: \(config): can't chdir to '\(directory)': \(String(cString: strerror(errno)))")
            throw ExitCode(1)
        }
        let level: Logger.Level =
            switch settings.logLevel {
            case "debug": .debug
            case "verbose": .info
            case "warning": .warning
            case "nothing": .critical
            default: .notice
            }
        do {
            try bootstrapLogging(level, file: settings.logFile)
        } catch {
            printError("shardgate sentinel: \(error.description)")
            throw ExitCode(1)
        }
        let logger = Logger(label: "shardgate-sentinel")
        let pidFile = settings.pidFile.flatMap { PIDFile(path: $0, logger: logger) }
        defer { pidFile?.remove() }
        let server = SentinelServer(settings: settings, configPath: configPath, logger: logger)
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
}
