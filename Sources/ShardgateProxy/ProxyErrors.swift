/// The error replies the proxy writes itself. Redis's own texts where Redis has one; otherwise a
/// `shardgate:` prefix and a sentence that names the command, group or backend, so a user can act on it.
enum ProxyErrors {
    /// As Redis 7 writes it: arguments are listed until the list reaches 128 characters, each cut to
    /// what is left of that budget.
    static func unknownCommand(_ name: String, arguments: [String]) -> String {
        var list = ""
        for argument in arguments {
            guard list.count < 128 else { break }
            list += "'\(argument.prefix(128 - list.count))' "
        }
        return "ERR unknown command '\(name.prefix(128))', with args beginning with: \(list)"
    }
    static func unknownSubcommand(_ sub: String, of container: String) -> String {
        "ERR unknown subcommand '\(sub.prefix(128))'. Try \(container.uppercased()) HELP."
    }
    static func wrongArity(_ name: String) -> String {
        "ERR wrong number of arguments for '\(name)' command"
    }
    static let noAuth = "NOAUTH Authentication required."
    static let wrongPass = "WRONGPASS invalid username-password pair or user is disabled."
    static let authWithoutPassword =
        "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
    static let crossSlot = "CROSSSLOT Keys in request don't hash to the same slot"
    static let noProto = "NOPROTO unsupported protocol version"
    static let notInteger = "ERR value is not an integer or out of range"
    static let syntax = "ERR syntax error"
    static let badClientName = "ERR Client names cannot contain spaces, newlines or special characters."

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
    static func noReplica(_ group: String) -> String {
        "ERR shardgate: group '\(group)' has no replica available for reads (read_policy: replica)"
    }
    static func badSubReply(_ group: String) -> String {
        "ERR shardgate: unexpected reply from group '\(group)' while merging"
    }
}
