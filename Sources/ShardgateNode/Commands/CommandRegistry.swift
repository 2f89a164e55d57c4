import Commands

/// Maps every command the node implements (by its Redis name, `container|sub` for subcommands) to its
/// handler, indexed by the command table's id so dispatch is an array load.
enum CommandRegistry {
    static func handlers() -> [CommandHandler?] {
        let table = CommandTable.redis
        var handlers = [CommandHandler?](repeating: nil, count: table.count)
        let groups: [[(String, CommandHandler)]] = [
            StringCommands.all, KeyCommands.all, ReplicationCommands.all, ConnectionCommands.all, ACLCommands.all, ServerCommands.all,
            PubSubCommands.all, TransactionCommands.all, BlockingCommands.all, MonitorCommand.all,
            HashCommands.all, ListCommands.all, SetCommands.all, SortedSetCommands.all,
            PersistenceCommands.all, GeoCommands.all, HyperLogLogCommands.all, BitmapCommands.all,
            DumpRestoreCommands.all, SortCommand.all, LCSCommand.all, StreamCommands.all, ClientCommands.all,
            MonitoringCommands.all, ScriptingCommands.all, FunctionCommands.all, MigrateCommand.all, StandaloneCommands.all,
        ]
        for group in groups {
            for (name, handler) in group {
                var name = name
                guard let spec = name.withUTF8({ table.lookup(fullName: UnsafeRawBufferPointer($0)) }) else {
                    preconditionFailure("'\(name)' is not in the Redis command table")
                }
                handlers[spec.id] = handler
            }
        }
        return handlers
    }

    /// Subcommands newer than the generated Redis 7.0 table that clients send anyway
    /// (redis-py 5+ sends CLIENT SETINFO on connect): name, exact arity, handler.
    static var newerSubcommands: [String: (arity: Int, handler: CommandHandler)] {[
        "client|setinfo": (4, .init(ConnectionCommands.clientSetInfo))
    ]}
}
