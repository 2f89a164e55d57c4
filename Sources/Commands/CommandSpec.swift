/// Everything the proxy needs to know about one Redis command or subcommand.
///
/// Deliberately a small (48-byte) plain value without references: integers
/// only, with the variable-length parts (name, group, key specs,
/// subcommands, raw replies) kept in `CommandTable.redis` and reached through
/// `id`. Returning a spec from `CommandTable.lookup` on every request is then
/// a few register moves: no retain/release (so NIO event loops on different
/// threads never contend on a shared reference count) and no memcpy call.
public struct CommandSpec: Sendable {
    // Compact storage; public accessors below widen to Int.
    let rawID: Int32
    let rawArity: Int16
    let rawFirstKey: Int16
    let rawLastKey: Int16
    let rawStep: Int16
    /// -1 when there is no single key.
    let rawSingleKeyIndex: Int16
    /// Bytes of the name before the subcommand part (`container|`), 0 for top level.
    let subnameOffset: Int16
    /// -1 for top-level commands.
    let parentIndex: Int32
    // Ranges into CommandTable.redis storage.
    let keySpecStart: Int32
    let keySpecEnd: Int32
    let subcommandStart: Int32
    let subcommandEnd: Int32
    public let flags: CommandFlags

    /// Index of this spec in `CommandTable.redis` (`table[id]`); stable for a
    /// given generated table, not across Redis versions.
    public var id: Int { Int(rawID) }
    /// Redis arity: > 0 means exactly that many arguments, < 0 at least
    /// `-arity`; the command name counts as an argument.
    public var arity: Int { Int(rawArity) }
    /// Legacy (pre-key-spec) key range from `COMMAND INFO`; prefer `keyIndices`.
    public var firstKey: Int { Int(rawFirstKey) }
    public var lastKey: Int { Int(rawLastKey) }
    public var step: Int { Int(rawStep) }
    /// Argument index of the only key when the command always has exactly one
    /// key at a fixed position (GET, SET, INCR, HGET: 1; OBJECT ENCODING: 2),
    /// once arity has been checked; nil otherwise. The proxy's fast path: when
    /// non-nil, `keyIndices` would always return `[singleKeyIndex]`.
    public var singleKeyIndex: Int? { rawSingleKeyIndex < 0 ? nil : Int(rawSingleKeyIndex) }

    /// Lowercase name in read-only data; subcommands are `container|sub`
    /// (`config|get`). No allocation.
    public var staticName: StaticString { CommandTable.redis.names[id] }
    /// Command group from `COMMAND DOCS` ("string", "generic", ...). No allocation.
    public var staticGroup: StaticString { CommandTable.redis.groups[id] }
    /// `staticName` as a String (allocates; not for the request path).
    public var name: String { staticName.description }

    /// Whether this is the command `name` (lowercase; `container|sub` for a subcommand), compared in
    /// place without building a String: for the request path.
    public func isNamed(_ name: StaticString) -> Bool {
        let own = staticName
        guard own.utf8CodeUnitCount == name.utf8CodeUnitCount else { return false }
        return UnsafeBufferPointer(start: own.utf8Start, count: own.utf8CodeUnitCount)
            .elementsEqual(UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
    }

    /// Lets `switch spec { case "set": ... }` match commands by name without a String.
    public static func ~= (pattern: StaticString, spec: CommandSpec) -> Bool { spec.isNamed(pattern) }
    /// `staticGroup` as a String (allocates; not for the request path).
    public var group: String { staticGroup.description }

    /// The container command's id when this is a subcommand.
    public var parentID: Int? { parentIndex < 0 ? nil : Int(parentIndex) }
    public var isSubcommand: Bool { parentIndex >= 0 }
    /// True for container commands (CONFIG, OBJECT, CLIENT, ...): the real
    /// command is the subcommand named by the first argument.
    public var hasSubcommands: Bool { subcommandEnd > subcommandStart }

    /// Key specs in Redis order (the order `keyIndices` reports keys in).
    public var keySpecs: ArraySlice<KeySpec> {
        CommandTable.redis.keySpecStorage[Int(keySpecStart)..<Int(keySpecEnd)]
    }

    /// Subcommands sorted by name (empty unless `hasSubcommands`).
    public var subcommands: [CommandSpec] {
        let table = CommandTable.redis
        return table.subcommandIDs[Int(subcommandStart)..<Int(subcommandEnd)].map { table.specs[$0] }
    }

    /// Whether a request with `count` arguments (command name included; for a
    /// subcommand, container and subcommand name included) passes Redis's arity check.
    public func acceptsArgumentCount(_ count: Int) -> Bool {
        rawArity >= 0 ? count == Int(rawArity) : count >= -Int(rawArity)
    }

    public var isWrite: Bool { flags.contains(.write) }
    public var isReadOnly: Bool { flags.contains(.readonly) }
    public var isBlocking: Bool { flags.contains(.blocking) }
    public var isAdmin: Bool { flags.contains(.admin) }
    public var isPubSub: Bool { flags.contains(.pubsub) }
    public var isFast: Bool { flags.contains(.fast) }
    public var isDenyOOM: Bool { flags.contains(.denyOOM) }
    public var isNoScript: Bool { flags.contains(.noScript) }
    public var isNoMulti: Bool { flags.contains(.noMulti) }
    /// Key positions depend on the arguments (EVAL, ZUNIONSTORE, XREAD, SORT ...).
    public var hasMovableKeys: Bool { flags.contains(.movableKeys) }
    /// At least one key spec (not `not_key`) exists.
    public var hasKeys: Bool { keySpecs.contains { !$0.flags.contains(.notKey) } }
    /// Some key spec is `incomplete` or `unknown` (SORT, SORT_RO, MIGRATE):
    /// strict `keyIndices` fails with `.incompleteKeySpecs` whenever such a
    /// spec is reached (always for SORT; for MIGRATE only with KEYS).
    public var hasIncompleteKeySpecs: Bool { keySpecs.contains { $0.isIncomplete } }
}

extension CommandSpec: Equatable {
    /// Specs are equal when they are the same table entry.
    public static func == (lhs: CommandSpec, rhs: CommandSpec) -> Bool { lhs.rawID == rhs.rawID }
}

extension CommandSpec: CustomStringConvertible {
    public var description: String {
        "\(name) arity=\(arity) flags=\(flags) group=\(group)"
    }
}
