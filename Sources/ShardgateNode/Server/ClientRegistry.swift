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
}
