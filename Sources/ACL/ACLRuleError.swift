/// Why a rule of ACL SETUSER was refused (Redis's texts).
package struct ACLRuleError: Error {
    package let message: String

    package static let unknownCommand = ACLRuleError(message: "Unknown command or category name in ACL")
    package static let syntax = ACLRuleError(message: "Syntax error")
    package static let keyAfterAll = ACLRuleError(message:
        "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns")
    package static let channelAfterAll = ACLRuleError(message:
        "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels")
    package static let noSuchPassword = ACLRuleError(message: "The password you are trying to remove from the user does not exist")
    package static let badHash = ACLRuleError(message:
        "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters")
    package static let subcommandFirstArg = ACLRuleError(message: "Allowing first-arg of a subcommand is not supported")
}
