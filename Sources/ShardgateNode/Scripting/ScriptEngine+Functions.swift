import CLua
import CLuaShim

/// Function libraries (FUNCTION LOAD): a library's code runs once, in its own restricted
/// globals, and registers callbacks with `redis.register_function`; FCALL runs them.
extension ScriptEngine {
    /// The library a FUNCTION LOAD payload names: `#!lua name=<library>` on its first line.
    static func libraryName(of code: [UInt8]) -> Result<String, CommandError> {
        guard code.starts(with: Array("#!".utf8)) else { return .failure(CommandError("ERR Missing library metadata")) }
        guard let end = code.firstIndex(of: UInt8(ascii: "\n")) else { return .failure(CommandError("ERR Invalid library metadata")) }
        // The engine is what follows `#!` up to the first space; options come after it.
        let line = code[2..<end]
        let engineEnd = line.firstIndex(of: UInt8(ascii: " ")) ?? end
        let engine = String(decoding: code[2..<engineEnd], as: UTF8.self)
        guard let options = InlineArguments.split(String(decoding: code[engineEnd..<end], as: UTF8.self)) else {
            return .failure(CommandError("ERR Invalid library metadata"))
        }
        guard engine.lowercased() == "lua" else { return .failure(CommandError("ERR Engine '\(engine)' not found")) }
        var name: String?
        for option in options {
            guard option.hasPrefix("name=") else { return .failure(CommandError("ERR Invalid metadata value given: \(option)")) }
            guard name == nil else {
                return .failure(CommandError("ERR Invalid metadata value, name argument was given multiple times"))
            }
            name = String(option.dropFirst(5))
        }
        guard let name else { return .failure(CommandError("ERR Library name was not given")) }
        guard validName(name) else {
            return .failure(CommandError(
                "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"))
        }
        return .success(name)
    }

    static func validName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 | 0x20 >= 97 && $0 | 0x20 <= 122) || $0 == 95 }
    }

    /// Loads a library: compiles and runs its code, which must register at least one function.
    /// With `replace`, a library of the same name is replaced. Returns the library's name.
    func loadLibrary(_ code: [UInt8], replace: Bool) -> Result<String, CommandError> {
        let name: String
        switch Self.libraryName(of: code) {
        case .success(let parsed): name = parsed
        case .failure(let error): return .failure(error)
        }
        if libraries[name] != nil && !replace { return .failure(CommandError("ERR Library '\(name)' already exists")) }
        let source = Array("--".utf8) + code.dropFirst(2)
        let base = lua_gettop(state)
        defer { lua_settop(state, base) }
        let status = source.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { sg_lua_loadbuffer(state, $0.baseAddress, $0.count, "@user_function") }
        }
        guard status == 0 else {
            return .failure(CommandError("ERR Error compiling function: \(Self.string(state, -1) ?? "?")"))
        }
        // chunk, then its globals and the switch to the scripts' globals (kept at `switchIndex`).
        lua_getfield(state, sg_lua_registry(), "shardgate.libraryglobals")
        lua_call(state, 0, 2)
        let switchIndex = lua_gettop(state)
        lua_insert(state, switchIndex - 2)
        _ = lua_setfenv(state, -2)
        loading = FunctionLibrary(name: name, code: code)
        loadingCallbacks = []
        loadDeadline = Clock.monotonicMicroseconds() + 500_000
        sg_lua_sethook(state, scriptHook, 100_000)
        let result = lua_pcall(state, 0, 0, 0)
        sg_lua_sethook(state, nil, 0)
        let library = loading!
        let callbacks = loadingCallbacks
        loading = nil
        loadingCallbacks = []
        guard result == 0 else {
            let message: String
            if lua_type(state, -1) == LUA_TTABLE {
                lua_pushstring(state, "err")
                lua_rawget(state, -2)
                message = Self.string(state, -1) ?? "ERR unknown error"
            } else {
                message = "ERR " + (Self.string(state, -1) ?? "unknown error")
            }
            return .failure(CommandError("ERR Error registering functions: \(Self.sanitized(message))"))
        }
        guard !library.functions.isEmpty else { return .failure(CommandError("ERR No functions registered")) }
        lua_pushvalue(state, switchIndex - 2)
        lua_call(state, 0, 0)
        for function in library.functions.keys {
            if let owner = libraries.values.first(where: { $0.function(named: function) != nil }), owner.name != name {
                return .failure(CommandError("ERR Function \(function) already exists"))
            }
        }
        if let old = libraries[name] { removeFunctions(of: old) }
        Self.pushRegistry(state, .functions)
        for (function, reference) in callbacks {
            lua_getfield(state, sg_lua_registry(), "shardgate.loading")
            lua_rawgeti(state, -1, reference)
            lua_remove(state, -2)
            lua_setfield(state, -2, function)
        }
        sg_lua_pop(state, 1)
        lua_pushnil(state)
        lua_setfield(state, sg_lua_registry(), "shardgate.loading")
        libraries[name] = library
        return .success(name)
    }

    private func removeFunctions(of library: FunctionLibrary) {
        Self.pushRegistry(state, .functions)
        for function in library.functions.keys {
            lua_pushnil(state)
            lua_setfield(state, -2, function)
        }
        sg_lua_pop(state, 1)
    }

    /// FUNCTION DELETE.
    func deleteLibrary(_ name: String) -> Bool {
        guard let library = libraries.removeValue(forKey: name) else { return false }
        removeFunctions(of: library)
        return true
    }

    /// FUNCTION FLUSH.
    func flushLibraries() {
        libraries = [:]
        reset()
    }

    /// The registered function of that name (names compare without case, as in Redis).
    func function(named name: String) -> FunctionLibrary.Function? {
        functionIndex[name] ?? functionIndex[name.lowercased()]
    }

    static func index(_ libraries: [String: FunctionLibrary]) -> [String: FunctionLibrary.Function] {
        var index: [String: FunctionLibrary.Function] = [:]
        for library in libraries.values {
            for (name, function) in library.functions {
                index[name] = function
                index[name.lowercased()] = function
            }
        }
        return index
    }

    /// Runs a registered function with its keys and arguments, its reply to `run.caller`.
    func runFunction(_ name: String, keys: Range<Int>, arguments: Range<Int>, run: Run) {
        let base = lua_gettop(state)
        Self.pushRegistry(state, .handler)
        Self.pushRegistry(state, .functions)
        Self.replaceWithField(state, name)
        collectSpans(of: run.command)
        pushArray(run.command, keys)
        pushArray(run.command, arguments)
        execute(argumentCount: 2, handlerIndex: base + 1, run: run)
        lua_settop(state, base)
    }

    /// redis.register_function(name, callback) or redis.register_function{function_name=,
    /// callback=, flags=, description=}, while FUNCTION LOAD runs a library's code.
    func registerFunction() -> Int32 {
        guard loading != nil else {
            return raiseError("ERR redis.register_function can only be called on FUNCTION LOAD command")
        }
        let count = lua_gettop(state)
        var name: String?
        var flags = ScriptFlags()
        var description: String?
        let callbackIndex: Int32
        if count == 1 && lua_type(state, 1) == LUA_TTABLE {
            // Slot 2 keeps the callback while the table is traversed.
            lua_pushnil(state)
            lua_pushnil(state)
            while lua_next(state, 1) != 0 {
                let key = lua_type(state, -2) == LUA_TSTRING ? Self.string(state, -2) ?? "" : ""
                switch key {
                case "function_name":
                    guard lua_type(state, -1) == LUA_TSTRING else {
                        return raiseError("ERR function_name argument given to redis.register_function must be a string")
                    }
                    name = Self.string(state, -1)
                case "description":
                    guard lua_type(state, -1) == LUA_TSTRING || lua_type(state, -1) == LUA_TNUMBER else {
                        return raiseError("ERR description argument given to redis.register_function must be a string")
                    }
                    description = Self.string(state, -1)
                case "callback":
                    guard lua_type(state, -1) == LUA_TFUNCTION else {
                        return raiseError("ERR callback argument given to redis.register_function must be a function")
                    }
                    lua_pushvalue(state, -1)
                    lua_replace(state, 2)
                case "flags":
                    guard lua_type(state, -1) == LUA_TTABLE else {
                        return raiseError("ERR flags argument to redis.register_function must be a table representing function flags")
                    }
                    let table = lua_gettop(state)
                    var position: Int32 = 1
                    while true {
                        lua_rawgeti(state, table, position)
                        if sg_lua_isnil(state, -1) != 0 {
                            sg_lua_pop(state, 1)
                            break
                        }
                        guard lua_type(state, -1) == LUA_TSTRING, let flag = ScriptFlags.named(Self.string(state, -1) ?? "") else {
                            return raiseError("ERR unknown flag given")
                        }
                        flags.insert(flag)
                        sg_lua_pop(state, 1)
                        position += 1
                    }
                default:
                    return raiseError("ERR unknown argument given to redis.register_function")
                }
                sg_lua_pop(state, 1)
            }
            guard lua_type(state, 2) == LUA_TFUNCTION else {
                return raiseError("ERR redis.register_function must get a callback argument")
            }
            callbackIndex = 2
        } else {
            if count == 1 {
                return raiseError(
                    "ERR calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).")
            }
            guard count == 2 else { return raiseError("ERR wrong number of arguments to redis.register_function") }
            guard lua_type(state, 1) == LUA_TSTRING || lua_type(state, 1) == LUA_TNUMBER else {
                return raiseError("ERR first argument to redis.register_function must be a string")
            }
            guard lua_type(state, 2) == LUA_TFUNCTION else {
                return raiseError("ERR second argument to redis.register_function must be a function")
            }
            name = Self.string(state, 1)
            callbackIndex = 2
        }
        guard let name else { return raiseError("ERR redis.register_function must get a function name argument") }
        guard Self.validName(name) else {
            return raiseError(
                "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long")
        }
        guard loading!.function(named: name) == nil else { return raiseError("ERR Function already exists in the library") }
        loading!.functions[name] = FunctionLibrary.Function(name: name, description: description, flags: flags)
        // The callback is kept until the load succeeds.
        lua_pushvalue(state, callbackIndex)
        lua_getfield(state, sg_lua_registry(), "shardgate.loading")
        if sg_lua_isnil(state, -1) != 0 {
            sg_lua_pop(state, 1)
            sg_lua_newtable(state)
            lua_pushvalue(state, -1)
            lua_setfield(state, sg_lua_registry(), "shardgate.loading")
        }
        lua_pushvalue(state, -2)
        let reference = Int32(loadingCallbacks.count + 1)
        lua_rawseti(state, -2, reference)
        sg_lua_pop(state, 2)
        loadingCallbacks.append((name, reference))
        return 0
    }

    /// Pushes `{err = message}` for the trampoline to raise.
    private func raiseError(_ message: String) -> Int32 {
        sg_lua_newtable(state)
        lua_pushstring(state, message)
        lua_setfield(state, -2, "err")
        return -1
    }
}

/// Splits a shebang line into words as Redis's `sdssplitargs` does: spaces separate, double quotes
/// (with backslash escapes) and single quotes group. Nil for unbalanced quotes.
enum InlineArguments {
    static func split(_ line: String) -> [String]? {
        var words: [String] = []
        var characters = Array(line)[...]
        while true {
            while let first = characters.first, first == " " || first == "\t" || first == "\r" { characters.removeFirst() }
            guard !characters.isEmpty else { return words }
            var word = ""
            var quote: Character?
            while let character = characters.first {
                characters.removeFirst()
                if let open = quote {
                    if open == "\"" && character == "\\", let next = characters.first {
                        characters.removeFirst()
                        word.append(next == "n" ? "\n" : next == "t" ? "\t" : next)
                    } else if character == open {
                        // A closing quote must end the word.
                        if let next = characters.first, next != " " && next != "\t" { return nil }
                        quote = nil
                        break
                    } else {
                        word.append(character)
                    }
                } else if character == "\"" || character == "'" {
                    quote = character
                } else if character == " " || character == "\t" {
                    break
                } else {
                    word.append(character)
                }
            }
            if quote != nil { return nil }
            words.append(word)
        }
    }
}

extension Node {
    /// The function libraries' codes, for snapshots (RDB, AOF base, full resynchronization).
    var functionLibraryCodes: [[UInt8]] {
        functions.libraries.values.sorted { $0.name < $1.name }.map(\.code)
    }

    /// Loads the libraries a snapshot held (replacing libraries of the same names unless
    /// `ScriptEngine.replacesOnLoad` is off).
    func loadFunctionLibraries(_ codes: [[UInt8]]) throws {
        for code in codes {
            if case .failure(let error) = functions.loadLibrary(code, replace: functions.replacesOnLoad) {
                throw Snapshot.LoadError(description: "cannot load the function library of the snapshot: \(error.message)")
            }
        }
    }

    /// A full resynchronization: the master's libraries replace ours.
    func replaceFunctionLibraries(with codes: [[UInt8]]) {
        functions.flushLibraries()
        for code in codes { _ = functions.loadLibrary(code, replace: true) }
    }
}
