import Commands

/// What the proxy does with a command, decided once per command at start-up from the generated
/// command table, so the per-request work is one array lookup.
enum CommandPolicy: Sendable {
    /// Answered by the proxy itself.
    case local(LocalCommand)
    /// MULTI, EXEC, DISCARD, WATCH, UNWATCH: the client's transaction state (`Transaction`).
    case transaction(TransactionCommand)
    /// Sent to the group owning its key(s): to the master if `write`, else by read policy.
    case forward(write: Bool)
    /// May span groups: split per group and merged (MGET, MSET, DEL, ...).
    case split(SplitKind, write: Bool)
    /// Refused with a clear error naming the reason.
    case refused(String)
    /// Redis closes the connection without a reply (cross-protocol scripting guard).
    case closeSilently

    static func make(for spec: CommandSpec) -> CommandPolicy {
        let name = spec.name
        if let local = LocalCommand(rawValue: name) { return .local(local) }
        if let command = TransactionCommand(rawValue: name) { return .transaction(command) }
        if CrossProtocolGuard.isHTTPLine(name) { return .closeSilently }
        if let kind = SplitKind.forCommand(name) { return .split(kind, write: spec.flags.contains(.write)) }
        if let reason = refusal(for: spec) { return .refused(reason) }
        return .forward(write: !spec.flags.contains(.readonly))
    }

    /// Why a command cannot work through a proxy, or nil if it can.
    private static func refusal(for spec: CommandSpec) -> String? {
        if spec.flags.contains(.pubsub) {
            return "pub/sub needs a dedicated server connection"
        }
        if spec.flags.contains(.blocking) {
            return "blocking commands would stall a backend connection shared by many clients"
        }
        if spec.keySpecs.isEmpty {
            return "it has no key to route by (it would need every shard)"
        }
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
    case ping, echo, quit, auth, hello, select, client, command, info
}
