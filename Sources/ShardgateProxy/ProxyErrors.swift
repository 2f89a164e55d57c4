/// The error replies the proxy writes itself. Redis's own texts where Redis has one; otherwise a
/// `shardgate:` prefix and a sentence that names the command, group or backend, so a user can act on it.
enum ProxyErrors {
    /// Redis Cluster's CROSSSLOT (clients recognise the code), naming the groups and the two ways to
    /// keep such keys together.
    static func crossSlot(_ groups: [String]) -> String {
        let names = groups.map { "'\($0)'" }.joined(separator: " and ")
        return "CROSSSLOT Keys in request don't hash to the same slot (shardgate: they live in groups \(names); "
            + "keep them in one group with a hash tag (`hash_tag`) or a prefix route (`routes:`))"
    }

    static func unsupported(_ name: String, because reason: String) -> String {
        "ERR shardgate: '\(name)' is not supported through the proxy: \(reason)"
    }
    static func badKeyArguments(_ name: String) -> String {
        "ERR shardgate: the key arguments of '\(name)' are invalid (a key count that is not a number, negative, or larger than the arguments)"
    }
    static func noGroup(_ name: String) -> String {
        "ERR shardgate: no group owns the key of '\(name)'"
    }
    /// A Sentinel-managed group whose master is unknown, with Sentinel's reason.
    static func noMaster(_ group: String, problem: String?) -> String {
        "ERR shardgate: group '\(group)': \(problem ?? "no master")"
    }
    /// EXEC after the leased connection that held the client's WATCH was lost (failover, restart).
    static func watchLost(_ group: String) -> String {
        "ERR shardgate: group '\(group)': the connection holding WATCH was lost; the transaction was not run"
    }
    static func noReplica(_ group: String) -> String {
        "ERR shardgate: group '\(group)' has no replica available for reads (read_policy: replica)"
    }
    static func badSubReply(_ group: String) -> String {
        "ERR shardgate: unexpected reply from group '\(group)' while merging"
    }
}
