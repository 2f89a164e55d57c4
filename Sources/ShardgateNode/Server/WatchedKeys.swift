/// WATCHed keys: which clients watch each (database, key), for optimistic transactions.
///
/// A client whose watched key is touched is marked (`watchTouched`) and stops watching all its keys,
/// so every client still listed here is "clean": the key has not changed since any of them watched it.
/// Hence one `existed` flag per key is enough to know whether FLUSHDB, FLUSHALL or SWAPDB really
/// changed it (Redis touches only keys that exist in the flushed or swapped database).
final class WatchedKeys {
    struct Key: Hashable {
        var database: Int
        var key: [UInt8]
    }

    struct Watchers {
        var clients: [ClientConnection]
        /// Whether the key existed when it was watched (and so still does, unless it expired).
        var existed: Bool
    }

    private(set) var keys: [Key: Watchers] = [:]

    var isEmpty: Bool { keys.isEmpty }

    func watch(_ client: ClientConnection, database: Int, key: [UInt8], exists: Bool) {
        let entry = Key(database: database, key: key)
        if keys[entry]?.clients.contains(where: { $0 === client }) == true { return }
        keys[entry, default: Watchers(clients: [], existed: exists)].clients.append(client)
        client.flags.watchedKeys.append((database, key))
    }

    /// Stops watching every key of `client` (EXEC, DISCARD, UNWATCH, disconnect).
    func unwatchAll(_ client: ClientConnection) {
        for (database, key) in client.flags.watchedKeys {
            let entry = Key(database: database, key: key)
            guard var watchers = keys[entry] else { continue }
            watchers.clients.removeAll { $0 === client }
            keys[entry] = watchers.clients.isEmpty ? nil : watchers
        }
        client.flags.watchedKeys = []
    }

    /// The key changed: every client watching it will have its EXEC fail.
    func touch(database: Int, key: [UInt8], onlyIfExisted: Bool = false) {
        guard let watchers = keys[Key(database: database, key: key)] else { return }
        if onlyIfExisted && !watchers.existed { return }
        for client in watchers.clients {
            client.flags.watchTouched = true
            unwatchAll(client)
        }
    }

    /// FLUSHDB/FLUSHALL emptied `database`: touches the watched keys that existed in it.
    func touchExisting(database: Int) {
        let affected = keys.filter { $0.key.database == database && $0.value.existed }.map(\.key)
        for entry in affected { touch(database: entry.database, key: entry.key) }
    }

    /// SWAPDB: a watched key of either database changes when it existed before in its own database
    /// or exists now (after the swap), having come from the other one.
    func touchSwapped(_ first: Int, _ second: Int, existsNow: (Int, [UInt8]) -> Bool) {
        let affected = keys.filter { entry, watchers in
            (entry.database == first || entry.database == second)
                && (watchers.existed || existsNow(entry.database, entry.key))
        }.map(\.key)
        for entry in affected { touch(database: entry.database, key: entry.key) }
    }
}
