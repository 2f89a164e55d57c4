import ArgumentParser
import Config
import ShardgateNode

struct OptionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "options",
        abstract: "List every key of a proxy.yml pool (or, with --node, every directive of the data node)."
    )

    @Flag(help: "The data node's redis.conf directives instead of proxy.yml's keys (Markdown).")
    var node = false

    @Flag(help: "Print the Markdown tables of README.md's proxy.yml reference.")
    var markdown = false

    func run() {
        if node { return print(NodeSettings.directivesMarkdown(), terminator: "") }
        print(markdown ? PoolOptions.markdown() : PoolOptions.text(), terminator: "")
    }
}
