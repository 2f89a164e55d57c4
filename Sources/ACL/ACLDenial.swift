import Commands

/// A refused command: what was refused, and the argument (0 for the command itself).
package struct ACLDenial {
    package enum Kind: Int { case command = 1, key = 2, auth = 3, channel = 4 }
    package let kind: Kind
    package let position: Int
}

extension ACLDenial {
    /// ACL DRYRUN's explanation.
    package static func dryrunText(_ denial: ACLDenial, spec: CommandSpec, arguments: ACLArguments) -> String {
        switch denial.kind {
        case .command: return "This user has no permissions to run the '\(spec.name)' command"
        case .key: return "This user has no permissions to access the '\(arguments.string(denial.position))' key"
        case .channel: return "This user has no permissions to access the '\(arguments.string(denial.position))' channel"
        case .auth: return "no permission"
        }
    }

    /// The error a refused command gets.
    package func error(_ spec: CommandSpec) -> String {
        switch kind {
        case .command: return "NOPERM this user has no permissions to run the '\(spec.name)' command"
        case .key: return "NOPERM this user has no permissions to access one of the keys used as arguments"
        case .channel: return "NOPERM this user has no permissions to access one of the channels used as arguments"
        case .auth: return "NOPERM no permission"
        }
    }

    /// ACL LOG's reason.
    package var reason: String {
        switch kind {
        case .command: return "command"
        case .key: return "key"
        case .channel: return "channel"
        case .auth: return "auth"
        }
    }
}
