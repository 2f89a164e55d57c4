import Commands

/// What the proxy does with a command, decided once per command at start-up from the generated
/// command table, so the per-request work is one array lookup.
enum CommandPolicy: Sendable {
    /// Answered by the proxy itself.
    case local(LocalCommand)
    /// MULTI, EXEC, DISCARD, WATCH, UNWATCH: the client's transaction state (`Transaction`).
    case transaction(TransactionCommand)
    /// (P|S)SUBSCRIBE and (P|S)UNSUBSCRIBE: the client's subscriptions (`PubSubHub`).
    case pubsub(PubSubCommand)
    /// PUBLISH: to the master of the group its channel hashes to, where the channel's subscribers are.
    case byChannel
    /// Sent to the group owning its key(s): to the master if `write`, else by read policy.
    case forward(write: Bool)
    /// May span groups: split per group and merged (MGET, MSET, DEL, ...).
    case split(SplitKind, write: Bool)
    /// Keyless, sent to every group and the replies merged (DBSIZE, KEYS, FLUSHALL, ...).
    case everyGroup(EveryGroupMerge, write: Bool)
    /// Keyless, answered by the keyless group (the only group, or CONFIG GET, LASTSAVE, ...).
    case keylessGroup(write: Bool)
    /// SCAN over several groups, one after the other (`ScanCursor`).
    case scan
    /// BLPOP and the other blocking commands: on a connection leased to the client (`LeasePool`).
    case blocking
    /// Refused with a clear error naming the reason.
    case refused(String)
    /// Redis closes the connection without a reply (cross-protocol scripting guard).
    case closeSilently

    static func make(for spec: CommandSpec, groupCount: Int) -> CommandPolicy {
        let name = spec.name
        if let local = LocalCommand(rawValue: name) { return .local(local) }
        if let command = TransactionCommand(rawValue: name) { return .transaction(command) }
        if let command = PubSubCommand(rawValue: name) { return .pubsub(command) }
        if name == "publish" { return .byChannel }
        if CrossProtocolGuard.isHTTPLine(name) { return .closeSilently }
        if let kind = SplitKind.forCommand(name) { return .split(kind, write: spec.flags.contains(.write)) }
        if let reason = refusal(for: spec) { return .refused(reason) }
        if spec.flags.contains(.blocking) && !spec.keySpecs.isEmpty && name != "xread" && name != "xreadgroup" {
            return .blocking
        }
        if spec.keySpecs.isEmpty { return KeylessPolicy.make(for: spec, groupCount: groupCount) }
        return .forward(write: !spec.flags.contains(.readonly))
    }

    /// Why a command cannot work through a proxy whatever the pool, or nil if it can: it would
    /// change or hold a backend connection that many clients share.
    private static func refusal(for spec: CommandSpec) -> String? {
        let name = spec.name
        switch name {
        case "sync", "psync", "replconf":
            return "replication runs between servers, not through the proxy"
        case "shutdown":
            return "it would stop a backend server; run it on the server itself"
        case "readonly", "readwrite", "asking", "swapdb":
            return "it changes the state of a backend connection shared by many clients"
        case "xread", "xreadgroup":
            return nil  // blocking only with BLOCK, checked per request
        default:
            break
        }
        if name == "cluster" || name.hasPrefix("cluster|") { return "the proxy is not a cluster node" }
        return nil
    }
}

/// Commands whose keys may live in several groups, and how their replies merge.
enum SplitKind: Sendable {
    /// Values in key order (MGET).
    case values
    /// Key/value pairs; `+OK` when every part succeeded (MSET).
    case pairs
    /// Integer replies added up (DEL, UNLINK, EXISTS, TOUCH).
    case sum

    static func forCommand(_ name: String) -> SplitKind? {
        switch name {
        case "mget": return .values
        case "mset": return .pairs
        case "del", "unlink", "exists", "touch": return .sum
        default: return nil
        }
    }
}

/// The commands of a client's transaction, which the proxy queues itself.
enum TransactionCommand: String, Sendable {
    case multi, exec, discard, watch, unwatch
}

/// Commands the proxy answers itself.
enum LocalCommand: String, Sendable {
    case ping, echo, quit, auth, hello, select, client, command, info, time, reset, wait, slowlog, monitor, latency, acl
}
