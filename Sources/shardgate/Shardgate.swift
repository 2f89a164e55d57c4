import ArgumentParser
import NIOCore

/// The `shardgate` command: one binary for the proxy and its tools.
@main
struct Shardgate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shardgate",
        abstract: "A Redis-protocol gateway: one address in front of sharded, replicated Redis groups.",
        subcommands: [ProxyCommand.self, NodeCommand.self, CheckCommand.self, OptionsCommand.self, UpCommand.self, SentinelCommand.self]
    )
}

/// How the proxy runs: logging and event loops (`proxy` and `up`).
struct RuntimeOptions: ParsableArguments {
    @Option(help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: LogLevelArgument = .init(.info)

    @Option(help: "Event loop threads (default: one per core).")
    var threads: Int = System.coreCount
}

/// Options every subcommand that reads `proxy.yml` shares.
struct ConfigOptions: ParsableArguments {
    @Option(name: [.short, .long], help: "Path to proxy.yml (or a twemproxy nutcracker.yml).")
    var config: String = "proxy.yml"
}
