import ACL
import CLua
import CLuaShim
import Commands
import NIOCore
import RESP
import RedisText

/// The node's Lua interpreter (one state, like Redis's): the scripts EVAL cached, the functions
/// FUNCTION LOAD registered, and the client their `redis.call`s run as.
///
/// Everything here runs on the node's event loop. Lua errors are raised only from C (the shim's
/// trampoline), never through a Swift frame; the Swift code reads tables with raw accesses, which
/// cannot fail.
final class ScriptEngine {
    /// Unretained: the node owns its engines and outlives them (no retain per `redis.call`).
    unowned(unsafe) let node: Node
    private(set) var state: OpaquePointer
    /// EVAL's cache: body and shebang flags by lowercase SHA1.
    var scripts: [String: (body: [UInt8], flags: ScriptFlags?)] = [:]
    /// EVAL scripts (`@user_script`) or function libraries (`@user_function`).
    let chunkName: String
    /// The client `redis.call` runs commands as (Redis's Lua client): never registered.
    let client: ClientConnection
    /// The script or function running now, nil between them.
    var running: Run?
    /// The function libraries (FUNCTION LOAD), by name.
    var libraries: [String: FunctionLibrary] = [:] {
        didSet { functionIndex = Self.index(libraries) }
    }
    /// Every library's functions under their name and its lowercase form, for FCALL: one lookup
    /// instead of a walk over the libraries (names compare without case, as in Redis).
    private(set) var functionIndex: [String: FunctionLibrary.Function] = [:]
    /// While FUNCTION LOAD runs a library's code: what it registers, the callbacks it gave (by
    /// their slot in the registry's loading table) and when it must have finished.
    var loading: FunctionLibrary?
    var loadingCallbacks: [(String, Int32)] = []
    var loadDeadline = 0

    /// What the running script is and may do. A class: `redis.call` reads it and marks a write on
    /// it for every command, which copying its fields would make cost several retains each time.
    final class Run {
        let caller: ClientConnection
        /// The SHA1 of an EVAL script, or the function's name.
        let name: String
        let flags: ScriptFlags
        /// EVAL_RO, FCALL_RO or the `no-writes` flag.
        let readOnly: Bool
        /// Whether it ran a write (it then cannot be killed).
        var wrote = false
        let startedAt: Int
        /// The command that runs it (FUNCTION STATS, the ACL log).
        let command: RESPRequest
        /// The caller's user may run anything: its commands skip the ACL check. (Fixed for the run:
        /// the ACL commands that could change it cannot run inside a script.)
        let callerUnrestricted: Bool

        /// The script or function `name` that `call` (EVAL..., FCALL..., `readOnlyCommand` for the
        /// `_RO` forms) runs; it starts when the command did.
        init(_ call: CommandCall, name: String, flags: ScriptFlags, readOnlyCommand: Bool) {
            self.caller = call.client
            self.callerUnrestricted = call.node.user(of: call.client).unrestricted
            self.name = name
            self.flags = flags
            self.readOnly = readOnlyCommand || flags.contains(.noWrites)
            self.startedAt = call.node.clock.commandStarted
            self.command = call.request
        }
    }

    /// DEBUG SET-DISABLE-DENY-SCRIPTS: scripts may run commands flagged noscript.
    var allowsDeniedCommands = false
    /// Whether a library loaded from a snapshot replaces one of the same name (DEBUG RELOAD
    /// without MERGE turns it off).
    var replacesOnLoad = true
    /// SCRIPT KILL, FUNCTION KILL or SHUTDOWN NOSAVE asked the running script to stop.
    var killRequested = false
    /// The running script passed `busy-reply-threshold`: other clients get -BUSY.
    var busy = false

    /// Which of its C functions a script calls (the shim's callback argument).
    enum Function: Int32 {
        case call, pcall, sha1hex, log, setresp, setRepl, registerFunction, aclCheck
    }

    init(node: Node, chunkName: String) {
        self.node = node
        self.chunkName = chunkName
        self.client = ClientConnection(
            id: node.clients.allocateID(), channel: DetachedChannel(eventLoop: node.loop), authenticated: true, now: node.now)
        self.state = Self.makeState()
        client.flags.isScript = true
        // Errors of the commands scripts run count in INFO errorstats, as in Redis.
        client.errorStats = node.errorReplies
        bind()
    }

    deinit { sg_lua_close(state) }

    /// SCRIPT FLUSH, FUNCTION FLUSH: a new state with nothing loaded.
    func reset() {
        scripts = [:]
        lastEvalSHA = nil
        commands.removeAll()
        sg_lua_close(state)
        state = Self.makeState()
        bind()
    }

    private func bind() {
        lua_pushlightuserdata(state, Unmanaged.passUnretained(self).toOpaque())
        Self.setRegistry(state, .engine)
    }

    /// What the node keeps in the registry, under negative integer keys (`luaL_ref` takes positive
    /// ones): `lua_rawgeti` reads them without interning a name, as `lua_getfield` would on every
    /// script call.
    enum RegistrySlot: Int32 {
        case engine = -1, handler = -2, scripts = -3, globals = -4, functions = -5, keysName = -6, argvName = -7
    }

    static func pushRegistry(_ state: OpaquePointer, _ slot: RegistrySlot) {
        lua_rawgeti(state, sg_lua_registry(), slot.rawValue)
    }

    /// Replaces the table on top of the stack (one without a metatable) with its entry `name`,
    /// pushed from the String's own bytes: `lua_getfield` takes a C string, which a Swift String
    /// becomes by copying.
    static func replaceWithField(_ state: OpaquePointer, _ name: String) {
        var name = name
        name.withUTF8 { lua_pushlstring(state, UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), $0.count) }
        lua_rawget(state, -2)
        lua_remove(state, -2)
    }

    /// Pops the value on top of the stack into `slot`.
    static func setRegistry(_ state: OpaquePointer, _ slot: RegistrySlot) {
        lua_rawseti(state, sg_lua_registry(), slot.rawValue)
    }

    /// Calls `body` with the engine a state belongs to (`bind`), for the shim's callbacks and the
    /// hook; nil for a state without one. Unretained: the node owns its engines, which outlive
    /// every call their scripts make.
    static func withEngine<R>(of state: OpaquePointer, _ body: (ScriptEngine) -> R) -> R? {
        pushRegistry(state, .engine)
        let pointer = lua_touserdata(state, -1)
        sg_lua_pop(state, 1)
        guard let pointer else { return nil }
        return Unmanaged<ScriptEngine>.fromOpaque(pointer)._withUnsafeGuaranteedRef(body)
    }

    private static func makeState() -> OpaquePointer {
        guard let state = sg_lua_open() else { fatalError("Lua: out of memory creating the scripting state") }
        sg_lua_set_callback(scriptCallback)
        // The `redis` table with the node's C functions and constants.
        sg_lua_newtable(state)
        let functions: [(String, Function)] = [
            ("call", .call), ("pcall", .pcall), ("sha1hex", .sha1hex), ("log", .log), ("setresp", .setresp),
            ("set_repl", .setRepl), ("acl_check_cmd", .aclCheck),
        ]
        for (name, function) in functions {
            sg_lua_pushfunction(state, function.rawValue)
            lua_setfield(state, -2, name)
        }
        let constants: [(String, Int)] = [
            ("LOG_DEBUG", 0), ("LOG_VERBOSE", 1), ("LOG_NOTICE", 2), ("LOG_WARNING", 3),
            ("REPL_NONE", 0), ("REPL_AOF", 1), ("REPL_SLAVE", 2), ("REPL_REPLICA", 2), ("REPL_ALL", 3),
            ("REDIS_VERSION_NUM", 0x07_00_0f),
        ]
        for (name, value) in constants {
            lua_pushinteger(state, value)
            lua_setfield(state, -2, name)
        }
        lua_pushstring(state, "7.0.15")
        lua_setfield(state, -2, "REDIS_VERSION")
        lua_setfield(state, sg_lua_globals(), "redis")
        // The `redis` of library code run by FUNCTION LOAD.
        sg_lua_newtable(state)
        for (name, function) in [("register_function", Function.registerFunction), ("log", .log)] {
            sg_lua_pushfunction(state, function.rawValue)
            lua_setfield(state, -2, name)
        }
        for (name, value) in constants {
            lua_pushinteger(state, value)
            lua_setfield(state, -2, name)
        }
        lua_pushstring(state, "7.0.15")
        lua_setfield(state, -2, "REDIS_VERSION")
        lua_setfield(state, sg_lua_globals(), "__load_redis")
        // The real globals, for KEYS and ARGV.
        lua_pushvalue(state, sg_lua_globals())
        setRegistry(state, .globals)
        guard sg_lua_loadbuffer(state, LuaPrelude.sandbox, LuaPrelude.sandbox.utf8.count, "=shardgate") == 0, lua_pcall(state, 0, 3, 0) == 0 else {
            fatalError("Lua: the sandbox prelude failed: \(string(state, -1) ?? "?")")
        }
        lua_setfield(state, sg_lua_registry(), "shardgate.libraryglobals")
        setRegistry(state, .handler)
        lua_replace(state, sg_lua_globals())
        sg_lua_newtable(state)
        setRegistry(state, .scripts)
        sg_lua_newtable(state)
        setRegistry(state, .functions)
        lua_pushstring(state, "KEYS")
        setRegistry(state, .keysName)
        lua_pushstring(state, "ARGV")
        setRegistry(state, .argvName)
        sg_lua_newtable(state)
        lua_setfield(state, sg_lua_registry(), ScriptCommandCache.anchorTable)
        return state
    }

    /// Lua's memory in bytes (INFO used_memory_lua).
    var memoryBytes: Int { Int(lua_gc(state, LUA_GCCOUNT, 0)) * 1024 + Int(lua_gc(state, LUA_GCCOUNTB, 0)) }
    /// Bytes of the cached scripts' bodies (INFO's `used_memory_scripts_eval`, MEMORY STATS's `lua.caches`).
    var scriptBodyBytes: Int { scripts.values.reduce(0) { $0 + $1.body.count } }

    // MARK: - EVAL

    /// Compiles `body` into the cache under its SHA1 (when new); the compile error otherwise.
    func load(_ body: [UInt8]) -> Result<(sha: String, flags: ScriptFlags?), CommandError> {
        let sha = SHA1.hex(body)
        if let cached = scripts[sha] { return .success((sha, cached.flags)) }
        var flags: ScriptFlags?
        if body.starts(with: Array("#!".utf8)) {
            switch ScriptFlags.parseShebang(body) {
            case .success(let parsed): flags = parsed
            case .failure(let error): return .failure(error)
            }
        }
        let source: [UInt8]
        if body.starts(with: Array("#!".utf8)) {
            // The shebang line becomes a comment: same line numbers.
            source = Array("--".utf8) + body.dropFirst(2)
        } else {
            source = body
        }
        let status = source.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { sg_lua_loadbuffer(state, $0.baseAddress, $0.count, "@" + chunkName) }
        }
        guard status == 0 else {
            let message = Self.string(state, -1) ?? "?"
            sg_lua_pop(state, 1)
            return .failure(CommandError("ERR Error compiling script (new function): \(message)"))
        }
        Self.pushRegistry(state, .scripts)
        lua_pushvalue(state, -2)
        lua_setfield(state, -2, sha)
        sg_lua_pop(state, 2)
        scripts[sha] = (body, flags)
        return .success((sha, flags))
    }

    /// The cached script EVALSHA names with `argument` (a SHA1 in any case), nil when none is.
    func script(named argument: UnsafeRawBufferPointer) -> (sha: String, flags: ScriptFlags?)? {
        if let last = lastEvalSHA, last.argument.withUnsafeBytes({ $0.sameBytes(as: argument) }) { return (last.sha, last.flags) }
        // Lowercased as the String is made (SHA1s are hex; `lowercased()` would make two).
        let sha = String(unsafeUninitializedCapacity: argument.count) { out in
            for index in 0..<argument.count { out[index] = ASCII.lower(argument[index]) }
            return argument.count
        }
        guard let cached = scripts[sha] else { return nil }
        lastEvalSHA = (Array(argument), sha, cached.flags)
        return (sha, cached.flags)
    }

    /// EVALSHA's last script, by its argument as sent: clients repeat one SHA1, which then costs
    /// neither a String nor a hash. Cleared with the cache (`reset`).
    private var lastEvalSHA: (argument: [UInt8], sha: String, flags: ScriptFlags?)?

    /// Runs a cached script with its keys and arguments, its reply (or error) to `run.caller`.
    func runScript(sha: String, keys: Range<Int>, arguments: Range<Int>, run: Run) {
        let base = lua_gettop(state)
        Self.pushRegistry(state, .handler)
        Self.pushRegistry(state, .scripts)
        Self.replaceWithField(state, sha)
        // KEYS and ARGV in the real globals (which have no __newindex: a raw set is the same).
        Self.pushRegistry(state, .globals)
        Self.pushRegistry(state, .keysName)
        collectSpans(of: run.command)
        pushArray(run.command, keys)
        lua_rawset(state, -3)
        Self.pushRegistry(state, .argvName)
        pushArray(run.command, arguments)
        lua_rawset(state, -3)
        sg_lua_pop(state, 1)
        execute(argumentCount: 0, handlerIndex: base + 1, run: run)
        lua_settop(state, base)
    }

    /// Calls the function on top of the stack (its `argumentCount` arguments above it) under the
    /// error handler at `handlerIndex`, as `run`; writes its reply to the caller.
    func execute(argumentCount: Int32, handlerIndex: Int32, run: Run) {
        let caller = run.caller
        client.database = caller.database
        client.protocolVersion = 2
        client.flags.isMaster = caller.flags.isMaster
        // Its commands run as the caller's user where a command asks (SORT's BY and GET).
        client.user = caller.user
        client.reply.clear()
        replicationFlags = 3
        running = run
        node.clients.blocking.transactionDepth += 1
        // The commands it runs see the time it started (keys do not expire while it runs).
        node.freezeCommandTime()
        startHook()
        let status = lua_pcall(state, argumentCount, 1, handlerIndex)
        stopHook()
        node.thawCommandTime()
        node.clients.blocking.transactionDepth -= 1
        let finished = running!
        running = nil
        if status == 0 {
            reply(to: caller, index: lua_gettop(state), depth: 0, scriptProtocol: client.protocolVersion)
        } else {
            let index = lua_gettop(state)
            caller.error(errorMessage(at: index, name: finished.name), counted: !alreadyCounted(index))
        }
        client.reply.clear()
        // A garbage-collection step every 50 scripts, of 50 units, as Redis paces it: a step after
        // every script costs more than the garbage it collects.
        scriptsSinceCollection += 1
        if scriptsSinceCollection == Self.collectionPeriod {
            lua_gc(state, LUA_GCSTEP, Self.collectionPeriod)
            scriptsSinceCollection = 0
        }
    }

    private static let collectionPeriod: Int32 = 50
    private var scriptsSinceCollection: Int32 = 0

    /// Marks the error table on top of the stack as the error of a command, counted in INFO
    /// errorstats where it happened: the script's reply that repeats it is not counted again.
    private func markCounted() {
        lua_pushboolean(state, 1)
        lua_setfield(state, -2, Self.countedField)
    }

    /// Whether the error table at `index` repeats an error counted already (`markCounted`).
    private func alreadyCounted(_ index: Int32) -> Bool {
        guard lua_type(state, index) == LUA_TTABLE else { return false }
        lua_getfield(state, index, Self.countedField)
        defer { sg_lua_pop(state, 1) }
        return lua_toboolean(state, -1) != 0
    }

    static let countedField = "ignore_error_stats_update"

    /// The error reply for what a failed script raised (the handler's table).
    private func errorMessage(at index: Int32, name: String) -> String {
        guard lua_type(state, index) == LUA_TTABLE else {
            return Self.sanitized("ERR " + (Self.string(state, index) ?? "unknown error") + " script: \(name)")
        }
        let text = rawString(index, "err") ?? "ERR unknown error"
        var message = "\(text) script: \(name)"
        if let source = rawString(index, "source") {
            lua_pushstring(state, "line")
            lua_rawget(state, index)
            let line = lua_tointeger(state, -1)
            sg_lua_pop(state, 1)
            message += ", on \(source):\(line)."
        }
        return Self.sanitized(message)
    }

    static func sanitized(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == 13 || $0 == 10 }) else { return text }
        return String(decoding: text.utf8.map { $0 == 13 || $0 == 10 ? 32 : $0 }, as: UTF8.self)
    }

    // MARK: - The C functions scripts call

    fileprivate func callback(_ function: Function) -> Int32 {
        switch function {
        case .call: return redisCall(raising: true)
        case .pcall: return redisCall(raising: false)
        case .sha1hex:
            guard lua_gettop(state) == 1, let bytes = bytes(at: 1) else {
                return raise("wrong number of arguments")
            }
            lua_pushstring(state, SHA1.hex(bytes))
            return 1
        case .log:
            let count = lua_gettop(state)
            guard count >= 2 else { return raise("redis.log() requires two arguments or more.") }
            guard lua_type(state, 1) == LUA_TNUMBER else { return raise("First argument must be a number (log level).") }
            let level = lua_tointeger(state, 1)
            guard (0...3).contains(level) else { return raise("Invalid debug level.") }
            var parts: [String] = []
            for index in 2...count { parts.append(bytes(at: index).map { String(decoding: $0, as: UTF8.self) } ?? "") }
            let text = parts.joined(separator: " ")
            switch level {
            case 0: node.logger.debug("\(text)")
            case 1: node.logger.info("\(text)")
            case 2: node.logger.notice("\(text)")
            default: node.logger.warning("\(text)")
            }
            return 0
        case .setresp:
            guard lua_gettop(state) == 1 else { return raise("redis.setresp() requires one argument.") }
            let version = lua_tointeger(state, 1)
            guard version == 2 || version == 3 else { return raise("RESP version must be 2 or 3.") }
            client.protocolVersion = version
            return 0
        case .setRepl:
            guard running != nil else { return raise("redis.set_repl() can only be called inside a script invocation") }
            guard lua_gettop(state) == 1 else { return raise("redis.set_repl() requires one argument.") }
            let flags = lua_tointeger(state, 1)
            guard (0...3).contains(flags) else { return raise("Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.") }
            replicationFlags = flags
            return 0
        case .registerFunction:
            return registerFunction()
        case .aclCheck:
            let count = lua_gettop(state)
            guard count >= 1 else { return raise("Please specify at least one argument for this redis lib call") }
            var arguments: [[UInt8]] = []
            for index in 1...count {
                guard let argument = bytes(at: index) else { return raise("Lua redis lib command arguments must be strings or integers") }
                arguments.append(argument)
            }
            let request = RESPRequest(arguments: arguments)
            guard case .run(_, let spec) = node.resolve(request) else { return raise("Invalid command passed to redis.acl_check_cmd()") }
            let user = running.map { node.user(of: $0.caller) } ?? node.access.defaultUser
            lua_pushboolean(state, user.unrestricted || user.check(spec, ACLArguments(arguments)) == nil ? 1 : 0)
            return 1
        }
    }

    /// `redis.set_repl` flags of the running script (REPL_ALL by default): where its writes go.
    var replicationFlags = 3

    /// Pushes `ERR <message>` as an error table and tells the trampoline to raise it.
    private func raise(_ message: String, code: Bool = true) -> Int32 {
        sg_lua_newtable(state)
        lua_pushstring(state, code ? "ERR " + message : message)
        lua_setfield(state, -2, "err")
        return -1
    }

    /// Raises a plain string error (position added by Lua's `error`-like formatting is not wanted
    /// here: the handler adds where it happened).
    func raiseString(_ message: String) -> Int32 {
        lua_pushstring(state, message)
        return -1
    }

    /// redis.call / redis.pcall: runs a command through the node as the script client.
    private func redisCall(raising: Bool) -> Int32 {
        let count = lua_gettop(state)
        guard count > 0 else { return raise("Please specify at least one argument for this redis lib call") }
        guard let run = running else { return raise("redis.call() can only be called inside a script invocation") }
        // Encoded straight from the Lua stack into the last call's buffer, noting each argument's
        // span for the command as it goes; the stack is then free for the reply.
        var builder: RESPRequest.Builder
        if requestStorage != nil {
            builder = RESPRequest.Builder(argumentCount: Int(count), reusing: requestStorage.take()!)
        } else {
            var capacity = 16
            for index in 1...count { capacity += (lua_type(state, index) == LUA_TSTRING ? Int(lua_objlen(state, index)) : 32) + 16 }
            builder = RESPRequest.Builder(argumentCount: Int(count), capacity: capacity)
        }
        client.spans.removeAll(keepingCapacity: true)
        for index in 1...count {
            guard let span = appendArgument(at: index, to: &builder) else {
                return raise("Lua redis lib command arguments must be strings or integers")
            }
            client.spans.append(span)
        }
        let request = builder.request
        defer {
            // Kept for the next call unless one call made it large.
            if request.frame.capacity <= Self.requestStorageLimit { requestStorage = request.frame }
        }
        // A cached command skips the dispatcher (and its `Resolution`) entirely.
        let handler: CommandHandler
        let spec: CommandSpec
        if let cached = commands.lookup(state, at: 1), cached.spec.acceptsArgumentCount(Int(count)) {
            (handler, spec) = (cached.handler, cached.spec)
        } else {
            switch node.resolve(request) {
            case .run(let resolvedHandler, let resolvedSpec):
                commands.insert(state, at: 1, handler: resolvedHandler, spec: resolvedSpec)
                (handler, spec) = (resolvedHandler, resolvedSpec)
            case .refuse(let message, _):
                lua_settop(state, 0)
                return refuse(request, because: Self.scriptRefusal(message, of: request, allowsDeniedCommands), raising: raising)
            }
        }
        lua_settop(state, 0)
        if let refusal = refusal(spec, request: request, run: run) {
            return refuse(request, because: refusal, raising: raising)
        }
        let dirty = node.persistence.dirty
        node.run(handler, spec: spec, request: request, client: client, spansCollected: true)
        if spec.isWrite || node.persistence.dirty != dirty { run.wrote = true }
        // Read in place and cleared after: a copy would make the clear allocate a new buffer.
        defer { client.reply.clear() }
        guard lua_checkstack(state, 64) != 0 else { return raise("reached lua stack limit") }
        if let error = pushReply(&client.reply, depth: 0), raising {
            // The command failed: raised as its error table (pushed by pushReply).
            _ = error
            return -1
        }
        return 1
    }

    /// Why the script may not run `spec` (resolved, arity checked) now; nil when it may.
    private func refusal(_ spec: CommandSpec, request: RESPRequest, run: Run) -> String? {
        if spec.isNoScript && !allowsDeniedCommands { return "ERR This Redis command is not allowed from script" }
        if let refusal = aclRefusal(spec, request: request, run: run) { return refusal }
        if let refusal = admissionError(spec, run: run) { return refusal }
        // A script cannot wait (Redis refuses XREAD's BLOCK option rather than ignoring it).
        if spec.flags.contains(.blocking), spec.id == Self.xreadID || spec.id == Self.xreadgroupID,
            case let words = (0..<request.argumentCount).map({ request.string($0).lowercased() }),
            let streams = words.firstIndex(of: "streams"), words[..<streams].contains("block")
        {
            return "ERR \(spec.name) command is not allowed with BLOCK option from scripts"
        }
        return nil
    }

    /// The error a script gets for a command the dispatcher refused (`message`), in the words Redis
    /// uses for scripts.
    private static func scriptRefusal(_ message: String, of request: RESPRequest, _ allowsDeniedCommands: Bool) -> String {
        // Refused for what it is, even where the node does not implement it (CLUSTER).
        if !allowsDeniedCommands && CommandTable.redis.resolve(request)?.spec.isNoScript == true {
            return "ERR This Redis command is not allowed from script"
        }
        // (Redis's lookup finds no command for a container's unknown subcommand either.)
        if message.hasPrefix("ERR unknown command") || message.hasPrefix("ERR unknown subcommand") {
            return "ERR Unknown Redis command called from script"
        }
        if message.hasPrefix("ERR wrong number of arguments") { return "ERR Wrong number of args calling Redis command from script" }
        return message
    }

    /// A command refused before it ran: an error of the script's command, counted once here, pushed
    /// as an error table (raised by `redis.call`, returned by `redis.pcall`).
    private func refuse(_ request: RESPRequest, because failure: String, raising: Bool) -> Int32 {
        node.errorReplies.record(failure)
        if let spec = CommandTable.redis.resolve(request)?.spec { node.stats.commandRejections[spec.id] += 1 }
        sg_lua_newtable(state)
        lua_pushstring(state, failure)
        lua_setfield(state, -2, "err")
        markCounted()
        return raising ? -1 : 1
    }

    /// `redis.call`'s command lookup (`ScriptCommandCache`).
    private var commands = ScriptCommandCache()
    /// The frame of the last `redis.call`'s request, reused by the next.
    private var requestStorage: ByteBuffer?
    private static let requestStorageLimit = 16 * 1024
    private static let xreadID = CommandTable.redis.lookup("xread")?.id
    private static let xreadgroupID = CommandTable.redis.lookup("xreadgroup")?.id

    /// The error for a command the script's caller may not run (logged with the `lua` context).
    private func aclRefusal(_ spec: CommandSpec, request: RESPRequest, run: Run) -> String? {
        if run.callerUnrestricted { return nil }
        let user = node.user(of: run.caller)
        let values = ACLArguments(request)
        guard let denial = user.check(spec, values) else { return nil }
        // The log shows the caller running its EVAL or FCALL.
        let running = run.command.string(0).lowercased()
        node.logDenial(denial, spec: spec, arguments: values, user: user, client: run.caller, context: "lua", running: running)
        switch denial.kind {
        case .key: return "ERR The user executing the script can't access at least one of the keys mentioned in the command arguments"
        case .channel: return "ERR The user executing the script can't publish to the channel mentioned in the command"
        default: return "ERR The user executing the script can't run this command or subcommand"
        }
    }

    /// Why the running script may not run `spec` now, as Redis's `scriptCall` checks.
    private func admissionError(_ spec: CommandSpec, run: Run) -> String? {
        // A read-only script may not run what writes or may replicate (PUBLISH, PFCOUNT...).
        if run.readOnly && Node.writesOrMayReplicate(spec) { return "ERR Write commands are not allowed from read-only scripts." }
        if spec.isWrite, let refusal = node.admissionError(spec, client: client) { return refusal }
        if node.settings.maxMemory > 0 && spec.isDenyOOM && !run.wrote && !run.flags.contains(.allowOOM),
            let refusal = node.memoryAdmissionError(spec, client: client)
        {
            return refusal
        }
        return nil
    }

    /// Appends argument `index` of `redis.call` to the request: a string as it is, a number as
    /// Redis spells it (an integral value as an integer, others with 17 significant digits).
    /// Returns where it sits in the request; nil (nothing appended) for any other type.
    private func appendArgument(at index: Int32, to builder: inout RESPRequest.Builder) -> RESPRequest.ArgumentSpan? {
        switch lua_type(state, index) {
        case LUA_TSTRING:
            var length = 0
            guard let pointer = sg_lua_tostring(state, index, &length) else { return nil }
            return builder.append(UnsafeRawBufferPointer(start: pointer, count: length))
        case LUA_TNUMBER:
            let value = lua_tonumber(state, index)
            var text = value == value.rounded(.towardZero) && abs(value) < 9.2e18 ? String(Int64(value)) : DoubleFormat.reply(value)
            return text.withUTF8 { builder.append(UnsafeRawBufferPointer($0)) }
        default:
            return nil
        }
    }

    // MARK: - Conversions

    private func bytes(at index: Int32) -> [UInt8]? {
        let type = lua_type(state, index)
        guard type == LUA_TSTRING || type == LUA_TNUMBER else { return nil }
        var length = 0
        guard let pointer = sg_lua_tostring(state, index, &length) else { return nil }
        return Array(UnsafeRawBufferPointer(start: pointer, count: length))
    }

    static func string(_ state: OpaquePointer, _ index: Int32) -> String? {
        var length = 0
        guard let pointer = sg_lua_tostring(state, index, &length) else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
    }

    private func rawString(_ index: Int32, _ field: String) -> String? {
        let table = index < 0 ? lua_gettop(state) + index + 1 : index
        lua_pushstring(state, field)
        lua_rawget(state, table)
        defer { sg_lua_pop(state, 1) }
        guard lua_type(state, -1) == LUA_TSTRING else { return nil }
        return Self.string(state, -1)
    }

    /// Finds the spans of `request`'s arguments for the `pushArray` calls that follow (one walk of
    /// the frame for KEYS and ARGV both; `RESPRequest.span` would walk it for each argument).
    func collectSpans(of request: RESPRequest) {
        spans.removeAll(keepingCapacity: true)
        request.collectSpans(into: &spans)
    }

    /// Arguments `range` of `request` (whose spans `collectSpans(of:)` found) as a Lua array of
    /// strings (KEYS, ARGV), read in place.
    func pushArray(_ request: RESPRequest, _ range: Range<Int>) {
        lua_createtable(state, Int32(range.count), 0)
        request.frame.withUnsafeReadableBytes { bytes in
            for (position, index) in range.enumerated() {
                let span = spans[index].range
                lua_pushlstring(state, (bytes.baseAddress! + span.lowerBound).assumingMemoryBound(to: CChar.self), span.count)
                lua_rawseti(state, -2, Int32(position + 1))
            }
        }
    }

    /// `pushArray`'s spans, kept between scripts.
    private var spans: [RESPRequest.ArgumentSpan] = []

    /// Pushes one RESP reply read from `buffer` as Lua value, the way Redis converts replies for
    /// scripts; returns the error text when the reply was an error (pushed as `{err=...}`). Read in
    /// place: nothing is copied out of the buffer on the way to Lua.
    @discardableResult
    private func pushReply(_ buffer: inout ByteBuffer, depth: Int) -> String? {
        var position = 0
        let error = buffer.withUnsafeReadableBytes { bytes in pushReply(bytes, at: &position, depth: depth) }
        buffer.moveReaderIndex(forwardBy: position)
        return error
    }

    /// `pushReply` of the reply at `position` in `bytes`, moving `position` past it.
    @discardableResult
    private func pushReply(_ bytes: UnsafeRawBufferPointer, at position: inout Int, depth: Int) -> String? {
        guard position < bytes.count else {
            lua_pushnil(state)
            return nil
        }
        let type = bytes[position]
        position += 1
        // The rest of the line, up to its CR; `position` moves past its CRLF.
        func line() -> UnsafeRawBufferPointer {
            var end = position
            while end < bytes.count && bytes[end] != 13 { end += 1 }
            let text = UnsafeRawBufferPointer(rebasing: bytes[position..<end])
            position = min(end + 2, bytes.count)
            return text
        }
        func number() -> Int { RedisInteger.parse(line()).map { Int($0) } ?? 0 }
        func push(_ text: UnsafeRawBufferPointer) {
            guard let base = text.baseAddress, text.count > 0 else { return lua_pushstring(state, "") }
            lua_pushlstring(state, base.assumingMemoryBound(to: CChar.self), text.count)
        }
        if depth > 0 && depth % 32 == 0 { _ = lua_checkstack(state, 64) }
        switch type {
        case UInt8(ascii: "+"):
            sg_lua_newtable(state)
            push(line())
            lua_setfield(state, -2, "ok")
        case UInt8(ascii: "-"):
            let text = String(decoding: line(), as: UTF8.self)
            sg_lua_newtable(state)
            lua_pushstring(state, text)
            lua_setfield(state, -2, "err")
            // (Counted when the command wrote it.)
            markCounted()
            return text
        case UInt8(ascii: ":"):
            lua_pushnumber(state, Double(number()))
        case UInt8(ascii: "$"), UInt8(ascii: "="):
            let length = number()
            guard length >= 0, length <= bytes.count - position else {
                lua_pushboolean(state, 0)
                return nil
            }
            let payload = UnsafeRawBufferPointer(rebasing: bytes[position..<(position + length)])
            position = min(position + length + 2, bytes.count)
            if type == UInt8(ascii: "=") {
                sg_lua_newtable(state)
                sg_lua_newtable(state)
                push(UnsafeRawBufferPointer(rebasing: payload.dropFirst(4)))
                lua_setfield(state, -2, "string")
                push(UnsafeRawBufferPointer(rebasing: payload.prefix(3)))
                lua_setfield(state, -2, "format")
                lua_setfield(state, -2, "verbatim_string")
            } else {
                push(payload)
            }
        case UInt8(ascii: "*"), UInt8(ascii: ">"):
            let count = number()
            guard count >= 0 else {
                lua_pushboolean(state, 0)
                return nil
            }
            lua_createtable(state, Int32(count), 0)
            for index in 0..<count {
                pushReply(bytes, at: &position, depth: depth + 1)
                lua_rawseti(state, -2, Int32(index + 1))
            }
        case UInt8(ascii: "%"):
            let count = number()
            sg_lua_newtable(state)
            sg_lua_newtable(state)
            for _ in 0..<count {
                pushReply(bytes, at: &position, depth: depth + 1)
                pushReply(bytes, at: &position, depth: depth + 1)
                lua_rawset(state, -3)
            }
            lua_setfield(state, -2, "map")
        case UInt8(ascii: "~"):
            let count = number()
            sg_lua_newtable(state)
            sg_lua_newtable(state)
            for _ in 0..<count {
                pushReply(bytes, at: &position, depth: depth + 1)
                lua_pushboolean(state, 1)
                lua_rawset(state, -3)
            }
            lua_setfield(state, -2, "set")
        case UInt8(ascii: "_"):
            _ = line()
            lua_pushnil(state)
        case UInt8(ascii: "|"):
            // Attributes are not shown to scripts: skipped, the reply after them is the value.
            let count = number()
            for _ in 0..<(2 * count) {
                pushReply(bytes, at: &position, depth: depth + 1)
                sg_lua_pop(state, 1)
            }
            return pushReply(bytes, at: &position, depth: depth)
        case UInt8(ascii: "#"):
            let value = line()
            lua_pushboolean(state, value.first == UInt8(ascii: "t") ? 1 : 0)
        case UInt8(ascii: ","):
            let text = String(decoding: line(), as: UTF8.self)
            sg_lua_newtable(state)
            lua_pushnumber(state, Double(text) ?? (text == "inf" ? .infinity : text == "-inf" ? -.infinity : 0))
            lua_setfield(state, -2, "double")
        case UInt8(ascii: "("):
            sg_lua_newtable(state)
            push(line())
            lua_setfield(state, -2, "big_number")
        default:
            _ = line()
            lua_pushnil(state)
        }
        return nil
    }

    /// Writes the Lua value at `index` as the reply to `client`, as Redis converts a script's
    /// result: numbers truncated to integers, true as 1, false and nil as null, a table as an
    /// array up to its first nil, or an error/status/double/map/set/big number/verbatim string
    /// when it has that field. `scriptProtocol`: the RESP version the script chose (setresp).
    func reply(to client: ClientConnection, index: Int32, depth: Int, scriptProtocol: Int) {
        let absolute = index < 0 ? lua_gettop(state) + index + 1 : index
        switch lua_type(state, absolute) {
        case LUA_TSTRING:
            var length = 0
            let pointer = sg_lua_tostring(state, absolute, &length)!
            client.bulk(UnsafeRawBufferPointer(start: pointer, count: length))
        case LUA_TBOOLEAN:
            let value = lua_toboolean(state, absolute) != 0
            if scriptProtocol == 2 {
                if value { client.integer(1) } else { client.null() }
            } else {
                client.boolean(value)
            }
        case LUA_TNUMBER:
            let value = lua_tonumber(state, absolute)
            client.integer(value.isNaN ? 0 : Int(max(min(value, 9.2e18), -9.2e18)))
        case LUA_TTABLE:
            guard depth < 400, lua_checkstack(state, 8) != 0 else {
                client.error("ERR reached lua stack limit")
                return
            }
            replyTable(to: client, index: absolute, depth: depth, scriptProtocol: scriptProtocol)
        default:
            client.null()
        }
    }

    private func replyTable(to client: ClientConnection, index: Int32, depth: Int, scriptProtocol: Int) {
        if let text = rawString(index, "err") {
            client.error(Self.sanitized(text), counted: !alreadyCounted(index))
            return
        }
        if let text = rawString(index, "ok") {
            client.reply.writeRESPSimpleString(Self.sanitized(text))
            return
        }
        lua_pushstring(state, "double")
        lua_rawget(state, index)
        if lua_type(state, -1) == LUA_TNUMBER {
            let value = lua_tonumber(state, -1)
            sg_lua_pop(state, 1)
            client.double(value)
            return
        }
        sg_lua_pop(state, 1)
        if let text = rawString(index, "big_number") {
            if client.protocolVersion == 3 {
                client.reply.writeString("(\(Self.sanitized(text))\r\n")
            } else {
                client.bulk(Self.sanitized(text))
            }
            return
        }
        lua_pushstring(state, "verbatim_string")
        lua_rawget(state, index)
        if lua_type(state, -1) == LUA_TTABLE {
            let table = lua_gettop(state)
            let format = rawString(table, "format")
            let text = rawString(table, "string")
            sg_lua_pop(state, 1)
            if let format, let text {
                if client.protocolVersion == 3 {
                    let body = "\(format):\(text)"
                    client.reply.writeString("=\(body.utf8.count)\r\n\(body)\r\n")
                } else {
                    client.bulk(text)
                }
                return
            }
        } else {
            sg_lua_pop(state, 1)
        }
        for (field, isMap) in [("map", true), ("set", false)] {
            lua_pushstring(state, field)
            lua_rawget(state, index)
            guard lua_type(state, -1) == LUA_TTABLE else {
                sg_lua_pop(state, 1)
                continue
            }
            let table = lua_gettop(state)
            var count = 0
            lua_pushnil(state)
            while lua_next(state, table) != 0 {
                count += 1
                sg_lua_pop(state, 1)
            }
            if isMap { client.mapHeader(count) } else { client.setHeader(count) }
            lua_pushnil(state)
            while lua_next(state, table) != 0 {
                // Key at -2, value at -1; the key stays for lua_next.
                lua_pushvalue(state, -2)
                reply(to: client, index: lua_gettop(state), depth: depth + 1, scriptProtocol: scriptProtocol)
                sg_lua_pop(state, 1)
                if isMap { reply(to: client, index: lua_gettop(state), depth: depth + 1, scriptProtocol: scriptProtocol) }
                sg_lua_pop(state, 1)
            }
            sg_lua_pop(state, 1)
            return
        }
        // An array: up to the first nil.
        var count: Int32 = 0
        while true {
            lua_rawgeti(state, index, count + 1)
            defer { sg_lua_pop(state, 1) }
            if sg_lua_isnil(state, -1) != 0 { break }
            count += 1
        }
        client.arrayHeader(Int(count))
        for position in 0..<count {
            lua_rawgeti(state, index, position + 1)
            reply(to: client, index: lua_gettop(state), depth: depth + 1, scriptProtocol: scriptProtocol)
            sg_lua_pop(state, 1)
        }
    }
}

/// The shim's callback: finds the engine of the state and runs the function it names.
private let scriptCallback: sg_lua_callback = { state, function in
    guard let state, let which = ScriptEngine.Function(rawValue: function) else { return 0 }
    return ScriptEngine.withEngine(of: state) { $0.callback(which) } ?? 0
}


extension Node {
    /// EVAL and FCALL (flagged skip-monitor) show in MONITOR when they start, before the commands
    /// their script runs, as in Redis.
    func feedMonitorsBeforeScript(_ call: CommandCall) {
        guard !clients.monitors.isEmpty else { return }
        sendToMonitors(MonitorCommand.line(call, microseconds: Clock.microseconds()), from: call.client)
    }
}
