/// The connected clients and what they listen to or wait for: their ids, pub/sub subscriptions,
/// WATCHed keys, clients blocked on keys and MONITOR clients. Lives on the node's event loop.
final class ClientRegistry {
    /// Connected clients by id (the link to this replica's master included).
    var connected: [Int: ClientConnection] = [:]
    /// The next client id (ids are never reused; Redis starts at 3 too, after its own internal clients).
    private var nextID = 3
    let pubsub = PubSubRegistry()
    let watches = WatchedKeys()
    let blocking = BlockedClients()
    var monitors: [ClientConnection] = []
    /// CLIENT PAUSE's state.
    var pause = ClientPause()
    /// Clients with replies to write at the end of this event-loop tick, in the order they got them.
    private var flushQueue: [ClientConnection] = []
    /// The end-of-tick flush is scheduled.
    private var flushScheduled = false

    init() {
        flushQueue.reserveCapacity(64)
    }

    /// A new client id.
    func allocateID() -> Int {
        defer { nextID += 1 }
        return nextID
    }

    /// Drops the client from pub/sub, WATCH, blocking and MONITOR (disconnect or RESET).
    func removeFromEventRegistries(_ client: ClientConnection) {
        pubsub.removeAll(client)
        watches.unwatchAll(client)
        blocking.remove(client)
        if client.flags.isMonitor {
            monitors.removeAll { $0 === client }
            client.flags.isMonitor = false
        }
    }

    /// Queues `client` for the end-of-tick flush (once per tick); true when the flush must be
    /// scheduled (the first client queued this tick).
    func queueFlush(_ client: ClientConnection) -> Bool {
        guard !client.flushQueued else { return false }
        client.flushQueued = true
        flushQueue.append(client)
        guard !flushScheduled else { return false }
        flushScheduled = true
        return true
    }

    /// The end-of-tick flush: `prepare` (feeding the AOF and replicas), then `flush` for each queued
    /// client, including those queued meanwhile (a client queued from here on schedules another flush).
    ///
    /// Replicas go first, as in Redis: a write reaches them before its reply reaches the client,
    /// so a client that reads a replica right after a write's reply is less likely to miss it.
    func flushQueued(prepare: () -> Void, _ flush: (ClientConnection) -> Void) {
        flushScheduled = false
        prepare()
        for index in 0..<flushQueue.count where flushQueue[index].flags.isReplica && flushQueue[index].flushQueued {
            flushQueue[index].flushQueued = false
            flush(flushQueue[index])
        }
        var index = 0
        while index < flushQueue.count {
            let client = flushQueue[index]
            if client.flushQueued {
                client.flushQueued = false
                flush(client)
            }
            index += 1
        }
        flushQueue.removeAll(keepingCapacity: true)
    }
}
