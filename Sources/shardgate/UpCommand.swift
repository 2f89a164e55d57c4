import ArgumentParser
import CMallocInfo
import Config
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import ShardgateProxy

/// `shardgate up`: the whole system from one command, the data nodes of `backends/` plus the proxy.
struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Start the data nodes and sentinels described in backends/ and the proxy from proxy.yml; Ctrl-C stops all."
    )

    @OptionGroup var options: ConfigOptions

    @Option(help: "Folder with one redis.conf-style file per data node.")
    var backends: String = "backends"

    @Option(help: "Where the nodes keep their data (one folder per node).")
    var data: String = "data"

    @Option(help: "A program that runs a data node from its config file, e.g. redis-server (default: this binary's own `shardgate node`).")
    var nodeBinary: String?

    @Option(help: "A program that runs a sentinel from its config file, e.g. redis-sentinel (default: this binary's own `shardgate sentinel`).")
    var sentinelBinary: String?

    @OptionGroup var runtime: RuntimeOptions

    func run() async throws {
        let config = try loadConfigOrExit(options.config)
        try bootstrapLogging(runtime.logLevel.level, format: runtime.logFormat)
        let logger = Logger(label: "shardgate")
        let nodes = try loadNodes()
        let command = nodeBinary.map { [$0] } ?? [Self.ownExecutable(), "node"]
        let sentinelCommand = sentinelBinary.map { [$0] } ?? [Self.ownExecutable(), "sentinel"]
        let supervisor = NodeSupervisor(
            nodes: nodes, command: command, sentinelCommand: sentinelCommand, dataDirectory: data, logger: logger)
        do {
            try await supervisor.start()
        } catch {
            printError("shardgate up: \(error)")
            supervisor.stopAll()
            throw ExitCode.failure
        }
        shardgate_keep_freed_memory()  // as `proxy` does
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, runtime.threads))
        let proxy = ProxyServer(
            config: config, group: group, logger: logger, configPath: options.config, statsListen: runtime.statsListen.address,
            metricsListen: runtime.metricsListen.address)
        let addresses: [SocketAddress]
        do {
            addresses = try await proxy.start()
        } catch {
            printError("shardgate up: the proxy cannot start: \(error)")
            supervisor.stopAll()
            try? await group.shutdownGracefully()
            throw ExitCode.failure
        }
        FileHandle.standardOutput.write(Data((Self.topology(config: config, addresses: addresses, nodes: nodes) + "\n").utf8))
        let hangup = await reloadOnHangup(proxy)
        defer { hangup.cancel() }
        let services = ServiceGroup(
            configuration: .init(
                services: [.init(service: supervisor), .init(service: proxy)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await services.run()
        try await group.shutdownGracefully()
    }

    /// This very program, so each node runs as `shardgate node <file>` from the same build.
    static func ownExecutable() -> String {
        let resolved = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        return FileManager.default.isExecutableFile(atPath: resolved) ? resolved : CommandLine.arguments[0]
    }

    private func loadNodes() throws -> [NodeDescription] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: backends)) ?? []
        let configs = files.filter { $0.hasSuffix(".conf") }.sorted()
        guard !configs.isEmpty else {
            printError("shardgate up: no *.conf files in '\(backends)'")
            throw ExitCode.failure
        }
        let described = try configs.map { try NodeDescription.load("\(backends)/\($0)") }
        guard described.contains(where: \.isSentinel) else { return described }
        // Sentinels rewrite their config file, and have the nodes rewrite theirs (REPLICAOF then
        // CONFIG REWRITE) as they fail over. So with sentinels every child runs from a working
        // copy of its file in data/<name>/, made once: backends/ stays as written, and a second
        // `up` starts from the topology the last failover left.
        return try described.map { node in
            let directory = "\(data)/\(node.name)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let working = "\(directory)/\(node.isSentinel ? "sentinel" : node.name).conf"
            if !FileManager.default.fileExists(atPath: working) {
                try FileManager.default.copyItem(atPath: node.configPath, toPath: working)
            }
            var copy = try NodeDescription.load(working)
            copy.name = node.name
            return copy
        }
    }

    /// What is running where, so a newcomer knows what to point redis-cli at.
    static func topology(config: ProxyConfig, addresses: [SocketAddress], nodes: [NodeDescription]) -> String {
        func nodeName(_ endpoint: Endpoint) -> String {
            nodes.first { $0.port == endpoint.port }.map { " (\($0.name))" } ?? ""
        }
        var lines = ["", "Shardgate is up."]
        for (pool, address) in zip(config.pools, addresses) {
            let port = address.port ?? pool.listen.port
            lines.append("  pool '\(pool.name)' on \(pool.listen.host):\(port), \(pool.distribution.rawValue), reads: \(pool.readPolicy.rawValue)  ->  redis-cli -p \(port)")
            for group in pool.groups {
                if let master = group.master {
                    lines.append("    group '\(group.name)': master \(master)\(nodeName(master))")
                } else {
                    lines.append("    group '\(group.name)': master found through Sentinel")
                }
                for replica in group.replicas { lines.append("      replica \(replica)\(nodeName(replica))") }
            }
        }
        let sentinels = nodes.filter(\.isSentinel)
        if !sentinels.isEmpty {
            lines.append(
                "  sentinels: " + sentinels.map { "\($0.name) on 127.0.0.1:\($0.port)" }.joined(separator: ", ")
                    + "  ->  redis-cli -p \(sentinels[0].port) sentinel masters")
            lines.append("  a child that exits is restarted; a killed master is failed over by the sentinels")
        }
        lines.append("Ctrl-C stops the proxy and every node; data stays in the data folder.")
        return lines.joined(separator: "\n")
    }
}
