import Commands
import RDB
import RESP
import RedisText

/// FCALL, FCALL_RO and FUNCTION: function libraries in the node's function engine
/// (`Node.functions`, a Lua state apart from EVAL's, as in Redis).
enum FunctionCommands {
    static var all: [(String, CommandHandler)] {[
        ("fcall", .init { (call) throws(CommandError) in try fcall(&call, readOnly: false) }),
        ("fcall_ro", .init { (call) throws(CommandError) in try fcall(&call, readOnly: true) }),
        ("function|load", .init(load)), ("function|delete", .init(delete)), ("function|flush", .init(flush)), ("function|list", .init(list)),
        ("function|stats", .init(stats)), ("function|kill", .init(kill)), ("function|help", .init(help)), ("function|dump", .init(dump)),
        ("function|restore", .init(restore)),
    ]}

    static func fcall(_ call: inout CommandCall, readOnly: Bool) throws(CommandError) {
        let engine = call.node.functions
        guard let function = engine.function(named: call.string(1)) else { throw CommandError("ERR Function not found") }
        let name = function.name
        let (keys, arguments) = try ScriptingCommands.keysAndArguments(
            call, at: 2, notInteger: CommandError("ERR Bad number of keys provided"))
        try ScriptingCommands.checkBeforeRun(call, flags: function.flags, readOnlyCommand: readOnly)
        call.node.feedMonitorsBeforeScript(call)
        let run = ScriptEngine.Run(call, name: name, flags: function.flags, readOnlyCommand: readOnly)
        engine.runFunction(name, keys: keys, arguments: arguments, run: run)
    }

    static func load(_ call: inout CommandCall) throws(CommandError) {
        var replace = false
        var index = 2
        while index < call.count - 1 {
            guard call.matches(index, "replace") else { throw CommandError("ERR Unknown option given: \(call.string(index))") }
            replace = true
            index += 1
        }
        guard index == call.count - 1 else { throw CommandError("ERR Function code is missing") }
        switch call.node.functions.loadLibrary(call.bytes(index), replace: replace) {
        case .success(let name):
            call.effect.dirty += 1
            call.client.bulk(name)
        case .failure(let error): throw error
        }
    }

    static func delete(_ call: inout CommandCall) throws(CommandError) {
        guard call.node.functions.deleteLibrary(call.string(2)) else { throw CommandError("ERR Library not found") }
        call.effect.dirty += 1
        call.client.ok()
    }

    static func flush(_ call: inout CommandCall) throws(CommandError) {
        if call.count > 3 { throw CommandError("ERR unknown subcommand or wrong number of arguments for '\(call.string(1))'. Try FUNCTION HELP.") }
        if call.count == 3 && !call.matches(2, "sync") && !call.matches(2, "async") {
            throw CommandError("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
        }
        call.node.functions.flushLibraries()
        call.effect.dirty += 1
        call.client.ok()
    }

    static func list(_ call: inout CommandCall) throws(CommandError) {
        var pattern: [UInt8]?
        var withCode = false
        var index = 2
        while index < call.count {
            if call.matches(index, "withcode") && !withCode {
                withCode = true
                index += 1
            } else if call.matches(index, "libraryname") && pattern == nil {
                guard index + 1 < call.count else { throw CommandError("ERR library name argument was not given") }
                pattern = call.bytes(index + 1)
                index += 2
            } else {
                throw CommandError("ERR Unknown argument \(call.string(index))")
            }
        }
        let libraries = call.node.functions.libraries.values
            .filter { library in pattern.map { GlobMatch.matches($0, Array(library.name.utf8)) } ?? true }
            .sorted { $0.name < $1.name }
        let client = call.client
        client.arrayHeader(libraries.count)
        for library in libraries {
            client.mapHeader(withCode ? 4 : 3)
            client.bulk("library_name")
            client.bulk(library.name)
            client.bulk("engine")
            client.bulk("LUA")
            client.bulk("functions")
            let functions = library.functions.values.sorted { $0.name < $1.name }
            client.arrayHeader(functions.count)
            for function in functions {
                client.mapHeader(3)
                client.bulk("name")
                client.bulk(function.name)
                client.bulk("description")
                if let description = function.description { client.bulk(description) } else { client.null() }
                client.bulk("flags")
                let names = ScriptFlags.names.filter { function.flags.contains($0.1) }
                client.setHeader(names.count)
                for (name, _) in names { client.simple(name) }
            }
            if withCode {
                client.bulk("library_code")
                client.bulk(library.code)
            }
        }
    }

    static func stats(_ call: inout CommandCall) throws(CommandError) {
        let engine = call.node.functions
        let client = call.client
        client.mapHeader(2)
        client.bulk("running_script")
        if let run = engine.running {
            client.mapHeader(3)
            client.bulk("name")
            client.bulk(run.name)
            client.bulk("command")
            client.arrayHeader(run.command.argumentCount)
            for index in 0..<run.command.argumentCount { run.command.withArgument(index) { client.bulk($0) } }
            client.bulk("duration_ms")
            client.integer((Clock.monotonicMicroseconds() - run.startedAt) / 1000)
        } else {
            client.null()
        }
        client.bulk("engines")
        client.mapHeader(1)
        client.bulk("LUA")
        client.mapHeader(2)
        client.bulk("libraries_count")
        client.integer(engine.libraries.count)
        client.bulk("functions_count")
        client.integer(engine.libraries.values.reduce(0) { $0 + $1.functions.count })
    }

    static func kill(_ call: inout CommandCall) throws(CommandError) {
        try call.node.functions.kill(other: call.node.scripts)
        call.client.ok()
    }

    /// FUNCTION DUMP: each library as an RDB FUNCTION2 record, then the RDB version and a CRC64,
    /// as Redis makes it (redis-server restores it, and the other way round).
    static func dump(_ call: inout CommandCall) throws(CommandError) {
        call.client.bulk(dumpPayload(call.node.functions.libraries.values.sorted { $0.name < $1.name }.map(\.code)))
    }

    static func dumpPayload(_ codes: [[UInt8]]) -> [UInt8] {
        var writer = RDBWriter(compression: false, checksum: false)
        for code in codes { writer.writeFunctionLibrary(code) }
        var payload = Array(writer.take().dropFirst(9))  // without the file's "REDIS0010"
        let version = RDBFormat.version
        payload.append(UInt8(truncatingIfNeeded: version))
        payload.append(UInt8(truncatingIfNeeded: version >> 8))
        let crc = CRC64.checksum(payload)
        for shift in stride(from: 0, to: 64, by: 8) { payload.append(UInt8(truncatingIfNeeded: crc >> UInt64(shift))) }
        return payload
    }

    /// The library codes of a FUNCTION DUMP payload; nil when it is not one.
    static func libraries(inPayload payload: [UInt8]) -> [[UInt8]]? {
        guard payload.count >= 10 else { return nil }
        let footer = payload.count - 10
        let version = Int(payload[footer]) | Int(payload[footer + 1]) << 8
        guard version <= RDBFormat.version else { return nil }
        let crc = payload[(footer + 2)...].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << UInt64($1.offset * 8) }
        guard crc == 0 || CRC64.checksum(Array(payload[..<(footer + 2)])) == crc else { return nil }
        // The records read as the body of an RDB file.
        var file = Array("REDIS0010".utf8)
        file += payload[..<footer]
        file.append(0xFF)
        file += [UInt8](repeating: 0, count: 8)
        var codes: [[UInt8]] = []
        do {
            try RDBReader.read(file, functionLibrary: { codes.append($0) }, verifyChecksum: false) { _ in
                throw RDBError.badMagic
            }
        } catch {
            return nil
        }
        return codes
    }

    static func restore(_ call: inout CommandCall) throws(CommandError) {
        guard call.count <= 4 else {
            throw CommandError("ERR unknown subcommand or wrong number of arguments for '\(call.string(1))'. Try FUNCTION HELP.")
        }
        var policy = "append"
        if call.count == 4 {
            policy = call.string(3).lowercased()
            guard ["flush", "append", "replace"].contains(policy) else {
                throw CommandError("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
            }
        }
        guard let codes = libraries(inPayload: call.bytes(2)) else {
            throw CommandError("ERR payload version or checksum are wrong")
        }
        let engine = call.node.functions
        let previous = engine.libraries.values.map(\.code)
        if policy == "flush" { engine.flushLibraries() }
        if policy == "append" {
            for code in codes {
                if case .success(let name) = ScriptEngine.libraryName(of: code), engine.libraries[name] != nil {
                    throw CommandError("ERR Library \(name) already exists")
                }
            }
        }
        for code in codes {
            if case .failure(let error) = engine.loadLibrary(code, replace: policy != "append") {
                // Put back what was there.
                engine.flushLibraries()
                for old in previous { _ = engine.loadLibrary(old, replace: true) }
                throw error
            }
        }
        call.effect.dirty += 1
        call.client.ok()
    }

    static func help(_ call: inout CommandCall) throws(CommandError) {
        let lines = [
            "LOAD [REPLACE] <FUNCTION CODE>",
            "    Create a new library with the given library name and code.",
            "DELETE <LIBRARY NAME>",
            "    Delete the given library.",
            "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
            "    Return general information on all the libraries:",
            "    * Library name",
            "    * The engine used to run the Library",
            "    * Library description",
            "    * Functions list",
            "    * Library code (if WITHCODE is given)",
            "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
            "STATS",
            "    Return information about the current function running:",
            "    * Function name",
            "    * Command used to run the function",
            "    * Duration in MS that the function is running",
            "    If no function is running, return nil",
            "    In addition, returns a list of available engines.",
            "KILL",
            "    Kill the current running function.",
            "FLUSH [ASYNC|SYNC]",
            "    Delete all the libraries.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the libraries.",
            "    * SYNC: Synchronously flush the libraries.",
            "DUMP",
            "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
            "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
            "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
            "    control how to handle existing libraries (default APPEND):",
            "    * FLUSH: delete all existing libraries.",
            "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
            "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
            "      libraries with the new libraries (notice that even on this option there is a chance of failure",
            "      in case of functions name collision with another library).",
        ]
        call.client.helpReply("FUNCTION", lines)
    }
}
