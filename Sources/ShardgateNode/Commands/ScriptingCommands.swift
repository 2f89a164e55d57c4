import Commands
import RESP

/// What a script's shebang (`#!lua flags=...`) or a function's registration declares.
struct ScriptFlags: OptionSet, Equatable {
    let rawValue: Int
    static let noWrites = ScriptFlags(rawValue: 1 << 0)
    static let allowOOM = ScriptFlags(rawValue: 1 << 1)
    static let allowStale = ScriptFlags(rawValue: 1 << 2)
    static let noCluster = ScriptFlags(rawValue: 1 << 3)
    static let allowCrossSlotKeys = ScriptFlags(rawValue: 1 << 4)

    static let names: [(String, ScriptFlags)] = [
        ("no-writes", .noWrites), ("allow-oom", .allowOOM), ("allow-stale", .allowStale), ("no-cluster", .noCluster),
        ("allow-cross-slot-keys", .allowCrossSlotKeys),
    ]

    static func named(_ name: String) -> ScriptFlags? { names.first { $0.0 == name }?.1 }

    /// The flags of a script's first line, `#!lua [flags=a,b]`.
    static func parseShebang(_ body: [UInt8]) -> Result<ScriptFlags, CommandError> {
        let line = String(decoding: body.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
        let parts = line.split(separator: " ", omittingEmptySubsequences: true)
        guard let engine = parts.first, engine == "#!lua" else {
            return .failure(CommandError("ERR Unexpected engine in script shebang: \(parts.first.map { String($0.dropFirst(2)) } ?? "")"))
        }
        var flags = ScriptFlags()
        for option in parts.dropFirst() {
            guard option.hasPrefix("flags=") else {
                return .failure(CommandError("ERR Unknown lua shebang option: \(option)"))
            }
            for name in option.dropFirst(6).split(separator: ",") {
                guard let flag = named(String(name)) else {
                    return .failure(CommandError("ERR Unexpected flag in script shebang: \(name)"))
                }
                flags.insert(flag)
            }
        }
        return .success(flags)
    }
}

/// EVAL, EVALSHA, their _RO forms and SCRIPT: Lua scripts run by the node's `ScriptEngine`.
enum ScriptingCommands {
    static var all: [(String, CommandHandler)] {[
        ("eval", .init { (call) throws(CommandError) in try eval(&call, bySHA: false, readOnly: false) }),
        ("evalsha", .init { (call) throws(CommandError) in try eval(&call, bySHA: true, readOnly: false) }),
        ("eval_ro", .init { (call) throws(CommandError) in try eval(&call, bySHA: false, readOnly: true) }),
        ("evalsha_ro", .init { (call) throws(CommandError) in try eval(&call, bySHA: true, readOnly: true) }),
        ("script|load", .init(scriptLoad)), ("script|exists", .init(scriptExists)), ("script|flush", .init(scriptFlush)),
        ("script|kill", .init(scriptKill)), ("script|help", .init(scriptHelp)), ("script|debug", .init(scriptDebug)),
    ]}

    /// Reads `numkeys` at `index`: the argument positions of the keys and of the other arguments.
    static func keysAndArguments(
        _ call: CommandCall, at index: Int, notInteger: CommandError = .notInteger
    ) throws(CommandError) -> (keys: Range<Int>, arguments: Range<Int>) {
        let count = try call.integer(index, error: notInteger)
        guard count >= 0 else { throw CommandError("ERR Number of keys can't be negative") }
        guard count <= call.count - index - 1 else {
            throw CommandError("ERR Number of keys can't be greater than number of args")
        }
        return (index + 1..<index + 1 + count, index + 1 + count..<call.count)
    }

    static func eval(_ call: inout CommandCall, bySHA: Bool, readOnly: Bool) throws(CommandError) {
        let engine = call.node.scripts
        let (keys, arguments) = try keysAndArguments(call, at: 2)
        let sha: String
        let flags: ScriptFlags?
        if bySHA {
            guard let found = call.argument(1, { engine.script(named: $0) }) else {
                throw CommandError("NOSCRIPT No matching script. Please use EVAL.")
            }
            (sha, flags) = found
        } else {
            switch engine.load(call.bytes(1)) {
            case .success(let loaded): (sha, flags) = loaded
            case .failure(let error): throw error
            }
        }
        try checkBeforeRun(call, flags: flags, readOnlyCommand: readOnly)
        call.node.feedMonitorsBeforeScript(call)
        let run = ScriptEngine.Run(call, name: sha, flags: flags ?? [], readOnlyCommand: readOnly)
        engine.runScript(sha: sha, keys: keys, arguments: arguments, run: run)
    }

    /// Redis's checks before a script with declared flags runs (a script without a shebang is
    /// checked command by command instead): a script that may write is refused where writes are.
    static func checkBeforeRun(_ call: CommandCall, flags: ScriptFlags?, readOnlyCommand: Bool) throws(CommandError) {
        guard let flags else { return }
        let node = call.node
        if !flags.contains(.noWrites) {
            if readOnlyCommand { throw CommandError("ERR Can not execute a script with write flag using *_ro command.") }
            if let set = writeSpec {
                if let refusal = node.replicationAdmissionError(set, client: call.client) { throw CommandError(refusal) }
                if let refusal = node.persistenceAdmissionError(set, client: call.client) { throw CommandError(refusal) }
                if !flags.contains(.allowOOM) && node.settings.maxMemory > 0,
                    let refusal = node.memoryAdmissionError(set, client: call.client)
                {
                    throw CommandError(refusal)
                }
            }
        }
        if !flags.contains(.allowStale), let link = node.replication.link, !link.isUp, !node.settings.replicaServeStaleData {
            throw CommandError("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.")
        }
    }

    private static let writeSpec = CommandTable.redis.lookup("set")

    static func scriptLoad(_ call: inout CommandCall) throws(CommandError) {
        switch call.node.scripts.load(call.bytes(2)) {
        case .success(let loaded): call.client.bulk(loaded.sha)
        case .failure(let error): throw error
        }
    }

    static func scriptExists(_ call: inout CommandCall) throws(CommandError) {
        let scripts = call.node.scripts.scripts
        call.client.arrayHeader(call.count - 2)
        for index in 2..<call.count { call.client.integer(scripts[call.string(index).lowercased()] == nil ? 0 : 1) }
    }

    static func scriptFlush(_ call: inout CommandCall) throws(CommandError) {
        if call.count > 3 || (call.count == 3 && !call.matches(2, "sync") && !call.matches(2, "async")) {
            throw CommandError("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
        }
        call.node.scripts.reset()
        call.client.ok()
    }

    static func scriptKill(_ call: inout CommandCall) throws(CommandError) {
        try call.node.scripts.kill(other: call.node.functions)
        call.client.ok()
    }

    static func scriptDebug(_ call: inout CommandCall) throws(CommandError) {
        guard call.matches(2, "no") else { throw CommandError("ERR SCRIPT DEBUG is not supported by this server") }
        call.client.ok()
    }

    static func scriptHelp(_ call: inout CommandCall) throws(CommandError) {
        let lines = [
            "DEBUG (YES|SYNC|NO)",
            "    Set the debug mode for subsequent scripts executed.",
            "EXISTS <sha1> [<sha1> ...]",
            "    Return information about the existence of the scripts in the script cache.",
            "FLUSH [ASYNC|SYNC]",
            "    Flush the Lua scripts cache. Very dangerous on replicas.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the scripts cache.",
            "    * SYNC: Synchronously flush the scripts cache.",
            "KILL",
            "    Kill the currently executing Lua script.",
            "LOAD <script>",
            "    Load a script into the scripts cache without executing it.",
        ]
        call.client.helpReply("SCRIPT", lines)
    }
}
