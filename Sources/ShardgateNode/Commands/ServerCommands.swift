#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import Commands
import Config

/// Server-wide commands: INFO, CONFIG, TIME, DEBUG, SHUTDOWN, LASTSAVE.
enum ServerCommands {
    static var all: [(String, CommandHandler)] {[
        ("info", info), ("config|get", configGet), ("config|set", configSet), ("config|resetstat", configResetStat),
        ("config|rewrite", configRewrite), ("time", time), ("debug", debug), ("shutdown", shutdown),
        ("lastsave", lastsave),
    ]}

    static func info(_ call: CommandCall) throws(CommandError) {
        let sections = (1..<call.count).map { call.string($0) }
        call.client.verbatim(NodeInfo.report(call.node, sections: sections))
    }

    static func configGet(_ call: CommandCall) throws(CommandError) {
        var pairs: [(String, String)] = []
        var seen: Set<String> = []
        for index in 2..<call.count {
            let pattern = call.bytes(index).map { $0 >= 65 && $0 <= 90 ? $0 | 0x20 : $0 }
            for parameter in NodeSettings.parameters {
                for name in [parameter.name] + (parameter.alias.map { [$0] } ?? [])
                where GlobMatch.matches(pattern, Array(name.utf8), noCase: true) && seen.insert(name).inserted {
                    pairs.append((name, parameter.get(call.node.settings)))
                }
            }
        }
        call.client.mapHeader(pairs.count)
        for (name, value) in pairs {
            call.client.bulk(name)
            call.client.bulk(value)
        }
    }

    static func configSet(_ call: CommandCall) throws(CommandError) {
        guard call.count % 2 == 0 else { throw CommandError(RedisErrors.wrongArity("config|set")) }
        var updated = call.node.settings
        var names: Set<String> = []
        for index in stride(from: 2, to: call.count, by: 2) {
            let name = call.string(index)
            guard let parameter = NodeSettings.parameter(named: name) else {
                throw CommandError("ERR Unknown option or number of arguments for CONFIG SET - '\(name)'")
            }
            guard names.insert(parameter.name).inserted else {
                throw CommandError("ERR Duplicate parameter - '\(name)'")
            }
            guard parameter.mutable else {
                throw CommandError("ERR CONFIG SET failed (possibly related to argument '\(name)') - can't set immutable config")
            }
            do {
                try parameter.set(&updated, call.string(index + 1))
            } catch {
                throw CommandError("ERR CONFIG SET failed (possibly related to argument '\(name)') - \(error.description)")
            }
        }
        let previous = call.node.settings
        call.node.settings = updated
        call.node.settingsChanged(from: previous)
        call.client.ok()
    }

    static func configResetStat(_ call: CommandCall) throws(CommandError) {
        let count = CommandTable.redis.count
        var stats = NodeStats()
        stats.commandCalls = [Int](repeating: 0, count: count)
        stats.commandMicroseconds = [Int](repeating: 0, count: count)
        stats.commandFailures = [Int](repeating: 0, count: count)
        stats.commandRejections = [Int](repeating: 0, count: count)
        call.node.stats = stats
        call.client.ok()
    }

    /// Rewrites the config file: directives the node knows are updated in place, others kept,
    /// missing non-default ones appended (as Redis does).
    static func configRewrite(_ call: CommandCall) throws(CommandError) {
        guard let path = call.node.configFile else { throw CommandError("ERR The server is running without a config file") }
        do {
            try ConfigRewriter.rewrite(path: path, settings: call.node.settings)
        } catch {
            throw CommandError("ERR Rewriting config file: \(error)")
        }
        call.client.ok()
    }

    static func time(_ call: CommandCall) throws(CommandError) {
        let micros = Clock.microseconds()
        call.client.arrayHeader(2)
        call.client.bulk(String(micros / 1_000_000))
        call.client.bulk(String(micros % 1_000_000))
    }

    static func lastsave(_ call: CommandCall) throws(CommandError) {
        call.client.integer(Int(call.node.lastSaveTime / 1000))
    }

    /// DEBUG SLEEP (blocks the node, as in Redis) and DEBUG JMAP-free basics.
    static func debug(_ call: CommandCall) throws(CommandError) {
        guard call.count >= 2 else { throw CommandError(RedisErrors.wrongArity("debug")) }
        if call.matches(1, "sleep") && call.count == 3 {
            guard let seconds = call.argument(2, { RedisNumber.parseDouble($0) }), seconds >= 0 else { throw .notFloat }
            var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
            var remaining = timespec()
            while nanosleep(&request, &remaining) == -1 && errno == EINTR { request = remaining }
            return call.client.ok()
        }
        if call.matches(1, "set-active-expire") && call.count == 3 {
            return call.client.ok()
        }
        throw CommandError("ERR DEBUG subcommand '\(call.string(1))' is not supported by shardgate")
    }

    /// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]: saves unless NOSAVE (or no save points), then stops.
    static func shutdown(_ call: CommandCall) throws(CommandError) {
        var save: Bool?
        for index in 1..<call.count {
            if call.matches(index, "nosave") { save = false }
            else if call.matches(index, "save") { save = true }
            else if call.matches(index, "now") || call.matches(index, "force") { continue }
            else if call.matches(index, "abort") { throw CommandError("ERR No shutdown in progress.") }
            else { throw .syntax }
        }
        if let message = call.node.shutdown(save: save) { throw CommandError(message) }
    }
}
