import Commands

/// ACL DRYRUN's answer: whether a user may run a command with its arguments, and if not why, in
/// Redis's words (the node and the proxy both answer it).
package enum ACLDryrun: Equatable {
    case allowed
    /// Refused: the explanation (a bulk reply, not an error).
    case denied(String)
    /// No such user or command, or the wrong number of arguments.
    case error(String)

    /// `user` (nil when no user is `name`) running `arguments` (the command's name first).
    package init(user: ACLUser?, named name: String, _ arguments: ACLArguments) {
        guard let user else {
            self = .error("ERR User '\(name)' not found")
            return
        }
        guard let spec = CommandTable.redis.resolve(argumentCount: arguments.count, { index, body in
            arguments.values[index].withUnsafeBytes { body($0) }
        })?.spec else {
            self = .error("ERR Command '\(arguments.string(0))' not found")
            return
        }
        guard spec.acceptsArgumentCount(arguments.count) else {
            self = .error(RedisErrors.wrongArity(spec.name))
            return
        }
        guard let denial = user.check(spec, arguments) else {
            self = .allowed
            return
        }
        self = .denied(ACLDenial.dryrunText(denial, spec: spec, arguments: arguments))
    }
}
