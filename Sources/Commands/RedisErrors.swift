/// Redis 7's own error texts, shared by the proxy and the data node so both answer exactly as Redis.
public enum RedisErrors {
    /// As Redis 7 writes it: arguments are listed until the list reaches 128 characters, each cut to
    /// what is left of that budget.
    public static func unknownCommand(_ name: String, arguments: [String]) -> String {
        var list = ""
        for argument in arguments {
            guard list.count < 128 else { break }
            list += "'\(argument.prefix(128 - list.count))' "
        }
        return "ERR unknown command '\(name.prefix(128))', with args beginning with: \(list)"
    }
    public static func unknownSubcommand(_ sub: String, of container: String) -> String {
        "ERR unknown subcommand '\(sub.prefix(128))'. Try \(container.uppercased()) HELP."
    }
    /// `addReplySubcommandSyntaxError`: a subcommand's handler refusing its arguments.
    public static func subcommandSyntax(_ sub: String, of container: String) -> String {
        "ERR unknown subcommand or wrong number of arguments for '\(sub.prefix(128))'. Try \(container.uppercased()) HELP."
    }
    public static func wrongArity(_ name: String) -> String {
        "ERR wrong number of arguments for '\(name)' command"
    }
    public static let noAuth = "NOAUTH Authentication required."
    /// A MONITOR client sent a command that reads or writes keys.
    public static let monitorTouchesKeyspace = "ERR Replica can't interact with the keyspace"
    public static let wrongPass = "WRONGPASS invalid username-password pair or user is disabled."
    public static let authWithoutPassword =
        "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
    public static let noProto = "NOPROTO unsupported protocol version"
    public static let notInteger = "ERR value is not an integer or out of range"
    public static let notFloat = "ERR value is not a valid float"
    public static let syntax = "ERR syntax error"
    public static let wrongType = "WRONGTYPE Operation against a key holding the wrong kind of value"
    public static let badClientName = "ERR Client names cannot contain spaces, newlines or special characters."
    public static let dbIndexOutOfRange = "ERR DB index is out of range"
}
