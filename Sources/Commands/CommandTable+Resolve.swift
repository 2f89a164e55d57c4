import RESP

/// The command a request names: its top-level command and, for a container given a second argument,
/// the subcommand that argument names (Redis's `lookupCommand`).
public struct ResolvedCommand: Sendable {
    /// The top-level command (a container such as CONFIG for `CONFIG GET`).
    public let command: CommandSpec
    /// The subcommand, when the command is a container and the second argument names one of its
    /// subcommands.
    public let subcommand: CommandSpec?
    /// True when the command is a container given a second argument that names none of its
    /// subcommands (Redis answers `unknown subcommand`).
    public let subcommandIsUnknown: Bool

    /// What runs: the subcommand when there is one, else the command.
    public var spec: CommandSpec { subcommand ?? command }
}

extension CommandTable {
    /// The one way every part of Shardgate finds the spec a request runs (node dispatch, proxy
    /// policy, AOF replay, MULTI, COMMAND GETKEYS, OOM checks). `argumentCount` counts the command
    /// name; `withArgument(i, body)` lends `body` the bytes of argument `i` (0 = the name).
    /// Nil when the name is no command. No allocation.
    @inline(__always)
    public func resolve(
        argumentCount: Int, _ withArgument: (Int, (UnsafeRawBufferPointer) -> Int?) -> Int?
    ) -> ResolvedCommand? {
        guard argumentCount > 0, let id = withArgument(0, { lookupID($0) }) else { return nil }
        let command = specs[id]
        guard command.hasSubcommands, argumentCount >= 2 else {
            return ResolvedCommand(command: command, subcommand: nil, subcommandIsUnknown: false)
        }
        let sub = withArgument(1, { subcommandID(of: command, named: $0) })
        return ResolvedCommand(command: command, subcommand: sub.map { specs[$0] }, subcommandIsUnknown: sub == nil)
    }

    /// `resolve` for a parsed request.
    @inline(__always)
    public func resolve(_ request: RESPRequest) -> ResolvedCommand? {
        resolve(argumentCount: request.argumentCount) { index, body in request.withArgument(index, body) }
    }
}
