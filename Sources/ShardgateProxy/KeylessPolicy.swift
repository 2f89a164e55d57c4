import Commands

/// Where a command without keys goes. With one group there is one possible destination, so every
/// such command goes there (never refused for lack of a key). With several, each command is sent
/// where its answer means what the client expects: to every group with the replies merged (DBSIZE,
/// KEYS, FLUSHALL, SCRIPT LOAD…), to the keyless group (CONFIG GET, LASTSAVE, ROLE…), through a
/// cursor that walks the groups in turn (SCAN), or refused with the reason.
enum KeylessPolicy {
    static func make(for spec: CommandSpec, groupCount: Int) -> CommandPolicy {
        let write = !spec.flags.contains(.readonly)
        if spec.isNamed("scan") { return groupCount == 1 ? .keylessGroup(write: false) : .scan }
        if groupCount == 1 { return .keylessGroup(write: write) }
        if let merge = everyGroup[spec.name] { return .everyGroup(merge, write: merge.write) }
        // Subscribers are on the masters (the proxy subscribes there).
        if let merge = pubSubQueries[spec.name] { return .everyGroup(merge, write: true) }
        if spec.isNamed("pubsub|numpat") { return .keylessGroup(write: true) }
        if keylessGroup.contains(spec.name) || spec.name.hasSuffix("|help") { return .keylessGroup(write: write) }
        if spec.flags.contains(.pubsub) { return .refused("pub/sub needs a dedicated server connection") }
        return .refused("it is answered per server and the pool has several groups; run it on each server")
    }

    /// Sent to every group; the replies merged.
    static let everyGroup: [String: EveryGroupMerge] = [
        "dbsize": .sum, "keys": .concatenate, "randomkey": .anyNonNull,
        "flushall": .same, "flushdb": .same,
        "script|load": .same, "script|flush": .same, "script|exists": .allOnes,
        "function|load": .same, "function|delete": .same, "function|flush": .same, "function|restore": .same,
    ]

    /// PUBSUB questions, asked of every master.
    static let pubSubQueries: [String: EveryGroupMerge] = [
        "pubsub|channels": .concatenate, "pubsub|shardchannels": .concatenate,
        "pubsub|numsub": .sumPairs, "pubsub|shardnumsub": .sumPairs,
    ]

    /// Answered by the keyless group alone: what one server says is what the client asked for.
    static let keylessGroup: Set<String> = [
        "config|get", "lastsave", "role", "lolwut", "memory|stats", "memory|doctor", "memory|malloc-stats",
        "latency|doctor", "latency|graph", "latency|histogram", "latency|history", "latency|latest",
        "function|list", "function|dump", "function|stats", "pfselftest",
    ]
}

/// How the replies of a command sent to every group become one.
enum EveryGroupMerge: Sendable, Equatable {
    /// Integers added up (DBSIZE).
    case sum
    /// The smallest integer (WAIT: replicas that acknowledged in every group).
    case minimum
    /// Arrays joined (KEYS: every key lives in one group).
    case concatenate
    /// One of the non-null replies, picked at random (RANDOMKEY).
    case anyNonNull
    /// Every group must answer the same; that answer (FLUSHALL's `+OK`, SCRIPT LOAD's sha).
    case same
    /// Arrays of name/count pairs, the counts added up name by name (PUBSUB NUMSUB).
    case sumPairs
    /// Arrays of 0/1, element by element: 1 only where every group has 1 (SCRIPT EXISTS).
    case allOnes

    /// Whether the command changes the groups (so goes to their masters).
    var write: Bool {
        switch self {
        case .sum, .minimum, .concatenate, .anyNonNull: return false
        case .same, .allOnes, .sumPairs: return true
        }
    }
}
