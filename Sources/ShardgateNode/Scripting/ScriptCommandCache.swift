import CLua
import CLuaShim
import Commands

/// `redis.call`'s command lookup by the Lua string that names the command, so a script's
/// `redis.call('SET', ...)` finds SET's handler without hashing the name each time.
///
/// Lua interns its strings: while a string lives, its bytes stay at one address and no other
/// string has the same content. The cache keeps every name it holds alive (anchored in a registry
/// table), so the address alone identifies the name. Only top-level commands without subcommands
/// are kept (the name alone decides them: `OBJECT ENCODING` must not answer for `OBJECT`); the
/// caller still checks the arity.
struct ScriptCommandCache {
    struct Entry {
        let name: UnsafeRawPointer
        let handler: CommandHandler
        let spec: CommandSpec
    }

    private var slots = [Entry?](repeating: nil, count: 64)
    private var anchored = 0
    /// At most this many names are anchored (case variants of one command are different strings).
    private static let anchorLimit = 512
    static let anchorTable = "shardgate.commandnames"

    private static func slot(_ name: UnsafeRawPointer) -> Int {
        let address = UInt(bitPattern: name)
        return Int(truncatingIfNeeded: (address >> 4) ^ (address >> 10)) & 63
    }

    /// The command named by the string at `index` of the stack, if cached.
    func lookup(_ state: OpaquePointer, at index: Int32) -> Entry? {
        guard lua_type(state, index) == LUA_TSTRING, let name = lua_tolstring(state, index, nil) else { return nil }
        let pointer = UnsafeRawPointer(name)
        guard let entry = slots[Self.slot(pointer)], entry.name == pointer else { return nil }
        return entry
    }

    /// Caches the command named by the string at `index`, anchoring that string.
    mutating func insert(_ state: OpaquePointer, at index: Int32, handler: CommandHandler, spec: CommandSpec) {
        guard !spec.hasSubcommands, !spec.isSubcommand, anchored < Self.anchorLimit, lua_type(state, index) == LUA_TSTRING,
            let name = lua_tolstring(state, index, nil)
        else { return }
        lua_getfield(state, sg_lua_registry(), Self.anchorTable)
        lua_pushvalue(state, index)
        lua_pushboolean(state, 1)
        lua_rawset(state, -3)
        sg_lua_pop(state, 1)
        anchored += 1
        let pointer = UnsafeRawPointer(name)
        slots[Self.slot(pointer)] = Entry(name: pointer, handler: handler, spec: spec)
    }

    /// A new Lua state: its strings are not the old ones.
    mutating func removeAll() {
        slots = [Entry?](repeating: nil, count: 64)
        anchored = 0
    }
}
