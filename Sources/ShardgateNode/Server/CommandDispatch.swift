#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import Commands
import RESP

/// The node's command lookup: a request's name (and subcommand) to the handler registered for it
/// (`CommandRegistry`), with the checks Redis makes before anything else: unknown commands and
/// subcommands, arity. One table per node, indexed by the command table's ids.
struct CommandDispatch {
    private let handlers: [CommandHandler?] = CommandRegistry.handlers()
    /// The last name that resolved to a top-level command without subcommands, byte for byte as
    /// sent, and its command: clients send the same few names over and over, and comparing a few
    /// bytes costs less than finding the name in the command table.
    private var recentName: [UInt8] = []
    private var recent: Recent?

    /// (A struct, not a tuple: an optional tuple is copied through the runtime's generic path.)
    private struct Recent {
        let handler: CommandHandler
        let spec: CommandSpec
    }

    /// What a request names: the handler to run, or Redis's error for it.
    enum Resolution {
        case run(CommandHandler, CommandSpec)
        /// `rejected`: the command whose commandstats count the refusal, when there is one.
        case refuse(String, rejected: Int?)
    }

    /// Finds the command (and subcommand) a request names and checks its arity, as Redis does before
    /// anything else. Commands of the table the node does not implement are unknown commands.
    mutating func resolve(_ request: RESPRequest) -> Resolution {
        if let recent, request.withArgument(0, { name in
            name.count == recentName.count && recentName.withUnsafeBytes { memcmp($0.baseAddress!, name.baseAddress!, name.count) == 0 }
        }) {
            guard recent.spec.acceptsArgumentCount(request.argumentCount) else {
                return .refuse(RedisErrors.wrongArity(recent.spec.name), rejected: recent.spec.id)
            }
            return .run(recent.handler, recent.spec)
        }
        let resolution = resolveInTable(request)
        if case .run(let handler, let spec) = resolution, !spec.hasSubcommands, !spec.isSubcommand, request.span(0).length <= 32 {
            recentName = request.withArgument(0) { Array($0) }
            recent = Recent(handler: handler, spec: spec)
        }
        return resolution
    }

    private func resolveInTable(_ request: RESPRequest) -> Resolution {
        guard let resolved = CommandTable.redis.resolve(request) else {
            return .refuse(Self.unknownCommand(request), rejected: nil)
        }
        let spec = resolved.spec
        if resolved.subcommandIsUnknown {
            let fullName = "\(spec.name)|\(request.string(1).lowercased())"
            guard let newer = CommandRegistry.newerSubcommands[fullName] else {
                return .refuse(RedisErrors.unknownSubcommand(request.string(1), of: spec.name), rejected: nil)
            }
            guard request.argumentCount == newer.arity else {
                return .refuse(RedisErrors.wrongArity(fullName), rejected: nil)
            }
            return .run(newer.handler, spec)
        }
        guard spec.acceptsArgumentCount(request.argumentCount) else {
            return .refuse(RedisErrors.wrongArity(spec.name), rejected: spec.id)
        }
        guard let handler = handlers[spec.id] else { return .refuse(Self.unknownCommand(request), rejected: nil) }
        return .run(handler, spec)
    }

    static func unknownCommand(_ request: RESPRequest) -> String {
        RedisErrors.unknownCommand(request.string(0), arguments: (1..<min(request.argumentCount, 128)).map { request.string($0) })
    }

    func handler(for spec: CommandSpec) -> CommandHandler? { handlers[spec.id] }
}
