import Commands
import NIOCore
import RESP

/// MULTI/EXEC/DISCARD and optimistic locking with WATCH/UNWATCH.
///
/// The dispatcher queues requests while `client.flags.queued` is set and marks the transaction
/// failed on queue-time errors; EXEC runs the queue through `Node.run`, so each command is counted,
/// monitored and propagated like a standalone one.
enum TransactionCommands {
    static var all: [(String, CommandHandler)] {[
        ("multi", .init(multi)), ("exec", .init(exec)), ("discard", .init(discard)), ("watch", .init(watch)), ("unwatch", .init(unwatch)),
    ]}

    static func multi(_ call: inout CommandCall) throws(CommandError) {
        guard call.client.flags.queued == nil else { throw CommandError("ERR MULTI calls can not be nested") }
        call.client.flags.queued = []
        call.client.flags.transactionFailed = false
        call.client.ok()
    }

    static func discard(_ call: inout CommandCall) throws(CommandError) {
        guard call.client.flags.queued != nil else { throw CommandError("ERR DISCARD without MULTI") }
        endTransaction(call)
        call.client.ok()
    }

    private static func endTransaction(_ call: CommandCall) {
        call.client.flags.queued = nil
        call.client.flags.transactionFailed = false
        call.node.clients.watches.unwatchAll(call.client)
        call.client.flags.watchTouched = false
    }

    static func exec(_ call: inout CommandCall) throws(CommandError) {
        let client = call.client
        let node = call.node
        guard let queue = client.flags.queued else { throw CommandError("ERR EXEC without MULTI") }
        if client.flags.transactionFailed {
            endTransaction(call)
            throw CommandError("EXECABORT Transaction discarded because of previous errors.")
        }
        // A watched key whose TTL passed since WATCH counts as changed: reading it deletes it,
        // which touches its watchers.
        for (database, key) in client.flags.watchedKeys where database < node.keyspace.databases.count {
            _ = node.keyspace.databases[database].find(key, now: node.now)
        }
        if client.flags.watchTouched {
            endTransaction(call)
            return client.nullArray()
        }
        endTransaction(call)
        client.arrayHeader(queue.count)
        node.clients.blocking.transactionDepth += 1
        let user = node.user(of: client)
        for request in queue {
            switch node.resolve(request) {
            case .run(_, let spec) where !user.unrestricted && node.aclRefusedAtExec(spec, request: request, client: client):
                continue
            case .run(let handler, let spec): node.run(handler, spec: spec, request: request, client: client)
            case .refuse(let message, _): client.error(message)
            }
        }
        node.clients.blocking.transactionDepth -= 1
    }

    static func watch(_ call: inout CommandCall) throws(CommandError) {
        guard call.client.flags.queued == nil else { throw CommandError("ERR WATCH inside MULTI is not allowed") }
        let node = call.node
        for index in 1..<call.count {
            // `find` deletes a key already expired, so the key is watched as missing.
            let exists = call.find(index) != nil
            node.clients.watches.watch(call.client, database: call.client.database, key: call.bytes(index), exists: exists)
        }
        call.client.ok()
    }

    static func unwatch(_ call: inout CommandCall) throws(CommandError) {
        call.node.clients.watches.unwatchAll(call.client)
        call.client.flags.watchTouched = false
        call.client.ok()
    }
}
