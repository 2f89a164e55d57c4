import ArgumentParser
import Config

struct OptionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "options",
        abstract: "List every key of a proxy.yml pool: its value, default and what it does."
    )

    @Flag(help: "Print the Markdown tables of README.md's proxy.yml reference.")
    var markdown = false

    func run() {
        print(markdown ? PoolOptions.markdown() : PoolOptions.text(), terminator: "")
    }
}
