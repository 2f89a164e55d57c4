/// SAVE, BGSAVE and BGREWRITEAOF with Redis 7.0's replies (LASTSAVE is with the server commands).
enum PersistenceCommands {
    static var all: [(String, CommandHandler)] {[
        ("save", .init(save)), ("bgsave", .init(bgsave)), ("bgrewriteaof", .init(bgrewriteaof)),
    ]}

    static func save(_ call: inout CommandCall) throws(CommandError) {
        if call.node.persistence.child?.kind == .snapshot {
            throw CommandError("ERR Background save already in progress")
        }
        guard call.node.saveSnapshot() else { throw CommandError("ERR") }
        call.client.ok()
    }

    /// BGSAVE [SCHEDULE]: forks a child that writes the dump; with an AOF rewrite running, SCHEDULE
    /// starts it when the rewrite is done.
    static func bgsave(_ call: inout CommandCall) throws(CommandError) {
        var schedule = false
        if call.count > 1 {
            guard call.count == 2, call.matches(1, "schedule") else { throw .syntax }
            schedule = true
        }
        let node = call.node
        if let child = node.persistence.child {
            if child.kind == .snapshot { throw CommandError("ERR Background save already in progress") }
            guard schedule else {
                throw CommandError(
                    "ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.")
            }
            node.persistence.backgroundSaveScheduled = true
            return call.client.simple("Background saving scheduled")
        }
        guard node.startBackgroundSave() else { throw CommandError("ERR") }
        call.client.simple("Background saving started")
    }

    static func bgrewriteaof(_ call: inout CommandCall) throws(CommandError) {
        let node = call.node
        if let child = node.persistence.child {
            if child.kind == .aofRewrite {
                throw CommandError("ERR Background append only file rewriting already in progress")
            }
            node.persistence.aofRewriteScheduled = true
            node.persistence.rewriteFailuresInARow = 0
            return call.client.simple("Background append only file rewriting scheduled")
        }
        guard node.startAOFRewrite() else {
            throw CommandError(
                "ERR Can't execute an AOF background rewriting. Please check the server logs for more information.")
        }
        call.client.simple("Background append only file rewriting started")
    }
}
