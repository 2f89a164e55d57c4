import ArgumentParser
import Config
import Foundation

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate proxy.yml; print every error with its line and exit non-zero if any.",
        discussion: "For a valid file, prints each pool and the keys it sets away from their defaults."
    )

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config = try loadConfigOrExit(options.config)
        for pool in config.pools {
            let replicas = pool.groups.reduce(0) { $0 + $1.replicas.count }
            print(
                "\(options.config): pool '\(pool.name)' listen \(pool.listen): \(pool.groups.count) groups, "
                    + "\(replicas) replicas, \(pool.distribution.rawValue)/\(pool.hash.rawValue), read_policy \(pool.readPolicy.rawValue)"
            )
            for setting in PoolOptions.changedSettings(of: pool) {
                print("  \(setting.key): \(setting.value)")
            }
        }
        print("\(options.config): OK")
    }
}

/// Writes a line to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
