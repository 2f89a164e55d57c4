import Commands
import Config
import RedisText

/// Server-wide commands: INFO, CONFIG, TIME, SHUTDOWN, LASTSAVE; DEBUG (`DebugCommands`), MEMORY USAGE
/// (`MemoryUsage`) and its other subcommands (`MemoryCommands`), and OBJECT REFCOUNT/IDLETIME/FREQ
/// (`ObjectCommands`) are registered here too.
enum ServerCommands {
    static var all: [(String, CommandHandler)] {[
        ("info", .init(info)), ("config|get", .init(configGet)), ("config|set", .init(configSet)), ("config|resetstat", .init(configResetStat)),
        ("config|rewrite", .init(configRewrite)), ("time", .init(time)), ("debug", .init(DebugCommands.run)), ("shutdown", .init(shutdown)),
        ("lastsave", .init(lastsave)), ("memory|usage", .init(MemoryUsage.command)),
        ("object|refcount", .init(ObjectCommands.objectRefcount)), ("object|idletime", .init(ObjectCommands.objectIdletime)),
        ("object|freq", .init(ObjectCommands.objectFreq)),
    ] + MemoryCommands.all}

    static func info(_ call: inout CommandCall) throws(CommandError) {
        let sections = (1..<call.count).map { call.string($0) }
        call.client.verbatim(NodeInfo.report(call.node, sections: sections))
    }

    static func configGet(_ call: inout CommandCall) throws(CommandError) {
        var pairs: [(String, String)] = []
        var seen: Set<String> = []
        for index in 2..<call.count {
            let pattern = call.bytes(index).map { $0 >= 65 && $0 <= 90 ? $0 | 0x20 : $0 }
            // A hidden directive answers only to its exact name, never to a pattern.
            let isPattern = pattern.contains { $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "[") }
            for parameter in NodeSettings.parameters where !(parameter.hidden && isPattern) {
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

    /// CONFIG SET name value [name value ...], checked as Redis's `configSetCommand` checks it: every
    /// name first (unknown, immutable, protected, duplicate: the first problem wins), then each value
    /// in order; nothing changes unless all are valid.
    static func configSet(_ call: inout CommandCall) throws(CommandError) {
        guard call.count % 2 == 0 else { throw .syntax }
        var parameters: [ConfigParameter] = []
        var names: Set<String> = []
        for index in stride(from: 2, to: call.count, by: 2) {
            let name = call.string(index)
            guard let parameter = NodeSettings.parameter(named: name) else {
                throw CommandError("ERR Unknown option or number of arguments for CONFIG SET - '\(name)'")
            }
            let failed = { (reason: String) in
                CommandError("ERR CONFIG SET failed (possibly related to argument '\(name)') - \(reason)")
            }
            if parameter.isProtected
                && !Node.allowsProtectedAction(call.node.settings.enableProtectedConfigs, client: call.client)
            {
                throw failed("can't set protected config")
            }
            guard parameter.mutable else { throw failed("can't set immutable config") }
            // An alias counts as a directive of its own, as in Redis (set twice, the last wins).
            guard names.insert(name.lowercased()).inserted else { throw failed("duplicate parameter") }
            parameters.append(parameter)
        }
        var updated = call.node.settings
        for (offset, parameter) in parameters.enumerated() {
            do {
                try parameter.set(&updated, call.string(3 + offset * 2))
            } catch {
                // Named as given when it is an alias (Redis registers aliases as configs of their own).
                let given = call.string(2 + offset * 2).lowercased()
                let name = given == parameter.alias ? given : parameter.name
                throw CommandError("ERR CONFIG SET failed (possibly related to argument '\(name)') - \(error.description)")
            }
        }
        let previous = call.node.settings
        // Applied before anything is committed: a port or address that cannot be bound leaves every
        // setting as it was (Redis's rollback on an apply error).
        if updated.port != previous.port || updated.bind != previous.bind, let rebind = call.node.rebindListeners,
            let failure = rebind(call.node, (updated.port, updated.bind), (previous.port, previous.bind))
        {
            call.node.logger.warning("CONFIG SET port/bind refused: \(failure)")
            throw updated.port != previous.port
                ? CommandError("ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs.")
                : CommandError("ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to specified addresses.")
        }
        call.node.settings = updated
        call.node.settingsChanged(from: previous)
        call.client.ok()
    }

    static func configResetStat(_ call: inout CommandCall) throws(CommandError) {
        call.node.stats = NodeStats()
        call.node.errorReplies.reset()
        call.client.ok()
    }

    /// Rewrites the config file: directives the node knows are updated in place, others kept,
    /// missing non-default ones appended (as Redis does).
    static func configRewrite(_ call: inout CommandCall) throws(CommandError) {
        guard let path = call.node.configFile else { throw CommandError("ERR The server is running without a config file") }
        do {
            try ConfigRewriter.rewrite(path: path, settings: call.node.settings)
        } catch {
            throw CommandError("ERR Rewriting config file: \(error)")
        }
        call.client.ok()
    }

    static func time(_ call: inout CommandCall) throws(CommandError) {
        let micros = Clock.microseconds()
        call.client.arrayHeader(2)
        call.client.bulk(String(micros / 1_000_000))
        call.client.bulk(String(micros % 1_000_000))
    }

    static func lastsave(_ call: inout CommandCall) throws(CommandError) {
        call.client.integer(Int(call.node.persistence.lastSaveTime / 1000))
    }

    /// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]: saves unless NOSAVE (or no save points), then stops.
    static func shutdown(_ call: inout CommandCall) throws(CommandError) {
        var nosave = false, save = false, other = false, abort = false
        for index in 1..<call.count {
            if call.matches(index, "nosave") { nosave = true }
            else if call.matches(index, "save") { save = true }
            else if call.matches(index, "now") || call.matches(index, "force") { other = true }
            else if call.matches(index, "abort") { abort = true }
            else { throw .syntax }
        }
        // Contradictory flags are refused as a whole, as Redis does (never a shutdown).
        if (abort && (nosave || save || other)) || (nosave && save) { throw .syntax }
        if abort { throw CommandError("ERR No shutdown in progress.") }
        let choice: Bool? = nosave ? false : save ? true : nil
        if let message = call.node.shutdown(save: choice) { throw CommandError(message) }
    }
}
