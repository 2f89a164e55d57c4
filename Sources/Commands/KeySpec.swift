/// One Redis 7 key specification (`COMMAND INFO` element 9).
///
/// A key spec says where a command's keys are in the argument vector in two
/// steps: `beginSearch` finds the first argument to look at, `findKeys` says
/// how many keys follow from there. See "Command key specifications" in the
/// Redis docs; `CommandSpec.keyIndices` implements the search exactly as
/// `getKeysUsingKeySpecs` in Redis's db.c does.
///
/// Plain value with no references (the keyword is a `StaticString` pointing at
/// read-only data), so specs are free to copy on the request path.
public struct KeySpec: Sendable, Equatable {
    /// Key-spec flags (`RW`, `access`, ...). Redis names in `redisNames`.
    public struct Flags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt16

        public init(rawValue: UInt16) {
            self.rawValue = rawValue
        }

        /// `RO`: the command only reads the key's value.
        public static let readOnly = Flags(rawValue: 1 << 0)
        /// `RW`: reads and modifies the key's value.
        public static let readWrite = Flags(rawValue: 1 << 1)
        /// `OW`: overwrites the key's value without reading it.
        public static let overwrite = Flags(rawValue: 1 << 2)
        /// `RM`: deletes the key.
        public static let remove = Flags(rawValue: 1 << 3)
        /// `access`: returns, copies or uses user data from the key.
        public static let access = Flags(rawValue: 1 << 4)
        /// `update`: updates data in the value.
        public static let update = Flags(rawValue: 1 << 5)
        /// `insert`: adds data to the value, changing nothing existing.
        public static let insert = Flags(rawValue: 1 << 6)
        /// `delete`: explicitly deletes some content from the value.
        public static let delete = Flags(rawValue: 1 << 7)
        /// `not_key`: the argument is not a key but hashes like one (sharded pub/sub channels).
        public static let notKey = Flags(rawValue: 1 << 8)
        /// `incomplete`: the spec may miss some keys; Redis then uses a hand-written getkeys function.
        public static let incomplete = Flags(rawValue: 1 << 9)
        /// `variable_flags`: the flags above depend on other arguments.
        public static let variableFlags = Flags(rawValue: 1 << 10)

        /// Members paired with the names Redis uses, in bit order.
        public static let redisNames: [(flag: Flags, name: String)] = [
            (.readOnly, "RO"), (.readWrite, "RW"), (.overwrite, "OW"), (.remove, "RM"),
            (.access, "access"), (.update, "update"), (.insert, "insert"), (.delete, "delete"),
            (.notKey, "not_key"), (.incomplete, "incomplete"), (.variableFlags, "variable_flags"),
        ]
    }

    /// Where the search for the first key starts.
    public enum BeginSearch: Sendable, Equatable {
        /// The first key is at argument `pos` (0 is the command name).
        case index(Int)
        /// The first key follows the first argument equal (case-insensitively) to
        /// `keyword`, searched from `startFrom` forward, or backward from
        /// `argc + startFrom` if `startFrom` is negative.
        case keyword(StaticString, startFrom: Int)
        /// Keys cannot be located from the arguments (e.g. SORT ... STORE).
        case unknown

        public static func == (lhs: BeginSearch, rhs: BeginSearch) -> Bool {
            switch (lhs, rhs) {
            case let (.index(a), .index(b)): return a == b
            case let (.keyword(a, s1), .keyword(b, s2)): return s1 == s2 && a.description == b.description
            case (.unknown, .unknown): return true
            default: return false
            }
        }
    }

    /// How many keys follow the begin-search position.
    public enum FindKeys: Sendable, Hashable {
        /// Keys from the start position up to `lastKey` (relative to the start if
        /// >= 0; if negative, relative to the end of the arguments, or with a
        /// non-zero `limit`, to `1/limit` of the remaining arguments), every
        /// `keyStep` arguments.
        case range(lastKey: Int, keyStep: Int, limit: Int)
        /// The argument at `keyNumIndex` (relative to the start) holds the key
        /// count; keys begin `firstKey` after the start, every `keyStep` arguments.
        case keyNum(keyNumIndex: Int, firstKey: Int, keyStep: Int)
        /// Keys cannot be located from the arguments.
        case unknown
    }

    public let flags: Flags
    public let beginSearch: BeginSearch
    public let findKeys: FindKeys

    public init(flags: Flags, beginSearch: BeginSearch, findKeys: FindKeys) {
        self.flags = flags
        self.beginSearch = beginSearch
        self.findKeys = findKeys
    }

    /// True when the spec alone cannot give every key: Redis itself falls back
    /// to a hand-written getkeys function for such commands.
    public var isIncomplete: Bool {
        if flags.contains(.incomplete) { return true }
        if case .unknown = beginSearch { return true }
        if case .unknown = findKeys { return true }
        return false
    }
}
