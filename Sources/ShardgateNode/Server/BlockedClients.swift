import Commands
import NIOCore
import RESP

/// Clients waiting in BLPOP, BZPOPMIN and friends, the keys they wait on, and the keys that became
/// ready since the last time they were served.
///
/// A blocked client keeps its request; when one of its keys gets data of the type it waits for,
/// the request is run again with that key first in line (`serving`), so the command's own code
/// pops, replies and propagates. Clients waiting on one key are served in the order they blocked.
final class BlockedClients {
    enum Kind {
        /// XREAD waits for entries; XREADGROUP (`streamGroup`) also fails when its key or group goes.
        case list, sortedSet, stream, streamGroup
    }

    struct Waiter {
        let client: ClientConnection
        let request: RESPRequest
        let spec: CommandSpec
        let handler: CommandHandler
        let kind: Kind
        let database: Int
        let keys: [[UInt8]]
        /// Unix milliseconds, 0 for no timeout.
        let deadline: Int64
        /// XREAD/XREADGROUP: the IDs to read after, one per stream key, fixed when the client blocked.
        var streamIDs: [StreamID]? = nil
        let token: Int
        var timer: Scheduled<Void>?
    }

    struct Key: Hashable {
        var database: Int
        var key: [UInt8]
    }

    /// Blocked clients by client id.
    var blocked: [Int: Waiter] = [:]
    /// Per key, the ids of the clients waiting on it, oldest first.
    var waiters: [Key: [Int]] = [:]
    /// Keys that may now serve a waiter, in the order they became ready.
    private(set) var readyKeys: [Key] = []
    private var readySet: Set<Key> = []
    /// EXEC in progress: blocking commands answer at once and readiness waits for the end of EXEC.
    var transactionDepth = 0
    /// While a waiter's command is run again: the key that became ready and the original deadline.
    var serving: (key: [UInt8], deadline: Int64, streamIDs: [StreamID]?)?
    var handlingReadyKeys = false
    private var nextToken = 0

    var count: Int { blocked.count }

    func makeToken() -> Int {
        nextToken += 1
        return nextToken
    }

    func add(_ waiter: Waiter) {
        blocked[waiter.client.id] = waiter
        for key in waiter.keys { waiters[Key(database: waiter.database, key: key), default: []].append(waiter.client.id) }
    }

    /// Removes a blocked client everywhere; returns its waiter.
    @discardableResult
    func remove(_ client: ClientConnection) -> Waiter? {
        guard let waiter = blocked.removeValue(forKey: client.id) else { return nil }
        waiter.timer?.cancel()
        for key in waiter.keys {
            let entry = Key(database: waiter.database, key: key)
            guard var ids = waiters[entry] else { continue }
            ids.removeAll { $0 == client.id }
            waiters[entry] = ids.isEmpty ? nil : ids
        }
        client.flags.isBlocked = false
        return waiter
    }

    /// A key may have become ready for the clients waiting on it.
    func signal(database: Int, key: [UInt8]) {
        let entry = Key(database: database, key: key)
        guard waiters[entry] != nil, readySet.insert(entry).inserted else { return }
        readyKeys.append(entry)
    }

    /// Every key waited on in `database` (SWAPDB).
    func signalAll(database: Int) {
        for entry in waiters.keys where entry.database == database { signal(database: database, key: entry.key) }
    }

    func takeReadyKeys() -> [Key] {
        let keys = readyKeys
        readyKeys.removeAll()
        readySet.removeAll()
        return keys
    }

    /// The order in which a blocking command should look at its key arguments: as given, except
    /// that while serving, the key that became ready comes first.
    func order(_ call: CommandCall, _ indices: [Int]) -> [Int] {
        guard let serving else { return indices }
        guard let position = indices.firstIndex(where: { index in call.argument(index) { $0.elementsEqual(serving.key) } })
        else { return indices }
        var ordered = indices
        ordered.remove(at: position)
        ordered.insert(indices[position], at: 0)
        return ordered
    }
}

extension Node {
    /// Blocks the client of `call` on the key arguments `keys` until one holds data of `kind`, or
    /// until `deadline` (Unix ms, 0 = never). Inside EXEC the command cannot block: `denied` replies.
    func block(
        _ call: CommandCall, keys: [Int], kind: BlockedClients.Kind, deadline: Int64, streamIDs: [StreamID]? = nil,
        denied: () -> Void
    ) {
        let client = call.client
        if clients.blocking.transactionDepth > 0 { return denied() }
        let deadline = clients.blocking.serving?.deadline ?? deadline
        var waiter = BlockedClients.Waiter(
            client: client, request: call.request, spec: call.spec, handler: handler(for: call.spec)!,
            kind: kind, database: client.database, keys: keys.map { call.bytes($0) }, deadline: deadline,
            streamIDs: streamIDs, token: clients.blocking.makeToken(), timer: nil)
        if deadline != 0 {
            let node = NIOLoopBound(self, eventLoop: loop)
            let id = client.id
            let token = waiter.token
            let delay = max(0, deadline - now)
            waiter.timer = loop.scheduleTask(in: .milliseconds(delay)) {
                node.value.blockedClientTimedOut(id: id, token: token)
            }
        }
        client.flags.isBlocked = true
        clients.blocking.add(waiter)
    }

    private func blockedClientTimedOut(id: Int, token: Int) {
        guard let waiter = clients.blocking.blocked[id], waiter.token == token else { return }
        clients.blocking.remove(waiter.client)
        waiter.client.nullArray()
        resumeUnblocked(waiter.client)
    }

    /// Ends a client's wait with `reply` (CLIENT UNBLOCK); false when it was not blocked.
    func unblock(_ client: ClientConnection, reply: (ClientConnection) -> Void) -> Bool {
        guard clients.blocking.remove(client) != nil else { return false }
        reply(client)
        resumeUnblocked(client)
        return true
    }

    /// After the unblocked client's reply: writes it and runs the requests it pipelined meanwhile.
    private func resumeUnblocked(_ client: ClientConnection) {
        let bound = NIOLoopBound((node: self, client: client), eventLoop: loop)
        loop.execute {
            let (node, client) = bound.value
            if !client.flags.isBlocked { client.resume?() }
            node.scheduleFlush(client)
        }
    }

    /// Serves the clients waiting on keys that became ready, until no key is ready (a served
    /// BLMOVE can make its destination ready). Deferred to the end of a running EXEC.
    func handleReadyKeys() {
        guard clients.blocking.transactionDepth == 0, !clients.blocking.handlingReadyKeys else { return }
        clients.blocking.handlingReadyKeys = true
        defer { clients.blocking.handlingReadyKeys = false }
        while true {
            let ready = clients.blocking.takeReadyKeys()
            if ready.isEmpty { break }
            for entry in ready {
                guard let ids = clients.blocking.waiters[entry], entry.database < keyspace.databases.count else { continue }
                let database = keyspace.databases[entry.database]
                for id in ids {
                    guard let waiter = clients.blocking.blocked[id] else { continue }
                    let value = database.find(entry.key, now: now).map { database.value(at: $0) }
                    switch (value, waiter.kind) {
                    case (.list?, .list), (.sortedSet?, .sortedSet), (.stream?, .stream), (.stream?, .streamGroup):
                        serve(waiter, key: entry.key)
                    case (_, .streamGroup):
                        // XREADGROUP's key was deleted or now holds another type: its group is gone.
                        stats.commandFailures[waiter.spec.id] += 1
                        _ = unblock(waiter.client) { $0.error("UNBLOCKED the stream key no longer exists") }
                    default: continue
                    }
                }
            }
        }
    }

    /// Runs a waiter's command again now that `key` holds data for it.
    private func serve(_ waiter: BlockedClients.Waiter, key: [UInt8]) {
        let client = waiter.client
        clients.blocking.remove(client)
        var spans: [RESPRequest.ArgumentSpan] = []
        waiter.request.collectSpans(into: &spans)
        var call = CommandCall(node: self, client: client, request: waiter.request, spec: waiter.spec, spans: spans)
        clients.blocking.serving = (key, waiter.deadline, waiter.streamIDs)
        beginPropagationScope(waiter.spec)
        let started = Clock.monotonicMicroseconds()
        do {
            try waiter.handler.run(&call)
        } catch {
            stats.commandFailures[waiter.spec.id] += 1
            client.error(error.message)
        }
        clients.blocking.serving = nil
        if monitorsCommands && !client.flags.isBlocked {
            commandFinished(call, microseconds: Clock.monotonicMicroseconds() - started)
        }
        client.lastInteraction = now
        apply(call.effect, of: call)
        if !client.flags.isBlocked { resumeUnblocked(client) }
    }
}
