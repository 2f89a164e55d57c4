/// Command flags as reported in the third element of a `COMMAND INFO` entry.
///
/// Every flag Redis 7 knows is listed, including the ones `COMMAND INFO`
/// deliberately hides (`may_replicate`, `sentinel`, `only_sentinel`,
/// `protected`, `touches_arbitrary_keys`, module-only flags): the generator
/// maps server names to these members and fails on a name it does not know,
/// so a newer server cannot silently drop information.
public struct CommandFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt64

    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    public static let write = CommandFlags(rawValue: 1 << 0)
    public static let readonly = CommandFlags(rawValue: 1 << 1)
    public static let denyOOM = CommandFlags(rawValue: 1 << 2)
    public static let module = CommandFlags(rawValue: 1 << 3)
    public static let admin = CommandFlags(rawValue: 1 << 4)
    public static let pubsub = CommandFlags(rawValue: 1 << 5)
    public static let noScript = CommandFlags(rawValue: 1 << 6)
    public static let blocking = CommandFlags(rawValue: 1 << 7)
    public static let loading = CommandFlags(rawValue: 1 << 8)
    public static let stale = CommandFlags(rawValue: 1 << 9)
    public static let skipMonitor = CommandFlags(rawValue: 1 << 10)
    public static let skipSlowlog = CommandFlags(rawValue: 1 << 11)
    public static let asking = CommandFlags(rawValue: 1 << 12)
    public static let fast = CommandFlags(rawValue: 1 << 13)
    public static let noAuth = CommandFlags(rawValue: 1 << 14)
    public static let mayReplicate = CommandFlags(rawValue: 1 << 15)
    public static let sentinel = CommandFlags(rawValue: 1 << 16)
    public static let onlySentinel = CommandFlags(rawValue: 1 << 17)
    public static let noMandatoryKeys = CommandFlags(rawValue: 1 << 18)
    public static let protected = CommandFlags(rawValue: 1 << 19)
    public static let noAsyncLoading = CommandFlags(rawValue: 1 << 20)
    public static let noMulti = CommandFlags(rawValue: 1 << 21)
    public static let movableKeys = CommandFlags(rawValue: 1 << 22)
    public static let allowBusy = CommandFlags(rawValue: 1 << 23)
    public static let moduleGetKeys = CommandFlags(rawValue: 1 << 24)
    public static let moduleNoCluster = CommandFlags(rawValue: 1 << 25)
    public static let touchesArbitraryKeys = CommandFlags(rawValue: 1 << 26)
    public static let moduleGetChannels = CommandFlags(rawValue: 1 << 27)

    /// Members paired with the names Redis uses in `COMMAND INFO`, in bit order.
    public static let redisNames: [(flag: CommandFlags, name: String)] = [
        (.write, "write"), (.readonly, "readonly"), (.denyOOM, "denyoom"), (.module, "module"),
        (.admin, "admin"), (.pubsub, "pubsub"), (.noScript, "noscript"), (.blocking, "blocking"),
        (.loading, "loading"), (.stale, "stale"), (.skipMonitor, "skip_monitor"),
        (.skipSlowlog, "skip_slowlog"), (.asking, "asking"), (.fast, "fast"), (.noAuth, "no_auth"),
        (.mayReplicate, "may_replicate"), (.sentinel, "sentinel"), (.onlySentinel, "only_sentinel"),
        (.noMandatoryKeys, "no_mandatory_keys"), (.protected, "protected"),
        (.noAsyncLoading, "no_async_loading"), (.noMulti, "no_multi"), (.movableKeys, "movablekeys"),
        (.allowBusy, "allow_busy"), (.moduleGetKeys, "module_getkeys"),
        (.moduleNoCluster, "module_no_cluster"), (.touchesArbitraryKeys, "touches_arbitrary_keys"),
        (.moduleGetChannels, "module_getchannels"),
    ]
}

extension CommandFlags: CustomStringConvertible {
    /// Redis flag names, e.g. `[write, denyoom, fast]`.
    public var description: String {
        "[" + Self.redisNames.filter { contains($0.flag) }.map(\.name).joined(separator: ", ") + "]"
    }
}
