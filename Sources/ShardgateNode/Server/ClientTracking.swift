import Commands
import RESP

/// What CLIENT TRACKING ON chose for one client (kept in its `ClientFlags` while tracking is on).
struct TrackingMode {
    /// The client id invalidations go to; 0 for the client itself.
    var redirect = 0
    var broadcast = false
    var optIn = false
    var optOut = false
    var noLoop = false
    /// CLIENT CACHING YES (OPTIN) or NO (OPTOUT) was given for the next command or transaction.
    var caching = false
    /// The redirect client went away (CLIENT LIST `R`, TRACKINGINFO `broken_redirect`).
    var brokenRedirect = false
    /// BCAST prefixes ("" when none was given), sorted.
    var prefixes: [[UInt8]] = []
}

/// Client-side caching (CLIENT TRACKING), as Redis's tracking table: the keys clients read while
/// tracking (key → client ids), the BCAST prefixes with the keys changed under them this tick,
/// and the invalidations the running client gets once its command has answered.
final class TrackingTable {
    /// Key → ids of the clients that may cache it (ids of clients gone are dropped lazily).
    private(set) var keys: [[UInt8]: Set<Int>] = [:]
    /// Ids stored over all keys (INFO `tracking_total_items`).
    private(set) var totalItems = 0
    /// One BCAST prefix: its clients and the keys changed under it since the last broadcast, each
    /// with the id of the client that changed it last (0: no client, e.g. expiry).
    struct Prefix {
        var clients: [ClientConnection] = []
        var changed: [[UInt8]: Int] = [:]
    }
    private(set) var prefixes: [[UInt8]: Prefix] = [:]
    /// Clients with tracking on (INFO `tracking_clients`).
    var clientCount = 0
    /// The client whose command runs now (not a script's own client): NOLOOP compares with it,
    /// and its own invalidations wait in `pending` until its reply is written.
    var actor: ClientConnection?
    /// The last command a client (not a script) ran: the keys a script's reads track are its keys.
    var outerRequest: RESPRequest?
    var outerSpec: CommandSpec?
    /// Invalidations for `actor` held back until its reply is out: keys, or nil for a flush.
    var pending: [(client: ClientConnection, keys: [UInt8]?)] = []
    /// Rounds in a row the table stayed over `tracking-table-max-keys` (each tries harder).
    var limitRounds = 0

    var isEmpty: Bool { clientCount == 0 }
    /// Whether a change can concern anyone: keys are tracked, or BCAST prefixes exist.
    var hasKeysOrPrefixes: Bool { !keys.isEmpty || !prefixes.isEmpty }

    /// `client` may cache `key`.
    func remember(_ key: [UInt8], client: Int) {
        if keys[key, default: []].insert(client).inserted { totalItems += 1 }
    }

    /// Forgets `key` and returns the ids that tracked it.
    func take(_ key: [UInt8]) -> Set<Int>? {
        guard let ids = keys.removeValue(forKey: key) else { return nil }
        totalItems -= ids.count
        return ids
    }

    /// Any key of the table (eviction over `tracking-table-max-keys`).
    var someKey: [UInt8]? { keys.first?.key }

    /// FLUSHALL/FLUSHDB: the whole table goes.
    func removeAllKeys() {
        keys = [:]
        totalItems = 0
    }

    func addPrefix(_ prefix: [UInt8], client: ClientConnection) -> Bool {
        var entry = prefixes[prefix] ?? Prefix()
        guard !entry.clients.contains(where: { $0 === client }) else { return false }
        entry.clients.append(client)
        prefixes[prefix] = entry
        return true
    }

    func removePrefix(_ prefix: [UInt8], client: ClientConnection) {
        guard var entry = prefixes[prefix] else { return }
        entry.clients.removeAll { $0 === client }
        prefixes[prefix] = entry.clients.isEmpty ? nil : entry
    }

    /// A key changed: every prefix it starts with notes it for the next broadcast.
    func noteChanged(_ key: [UInt8], by client: Int) {
        for prefix in Array(prefixes.keys) where key.starts(with: prefix) {
            prefixes[prefix]!.changed[key] = client
        }
    }

    /// Takes the keys changed under each prefix since the last call, prefixes in byte order.
    func takeBroadcasts() -> [(clients: [ClientConnection], changed: [[UInt8]: Int])] {
        var result: [(clients: [ClientConnection], changed: [[UInt8]: Int])] = []
        for prefix in prefixes.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            guard var entry = prefixes[prefix], !entry.changed.isEmpty else { continue }
            result.append((entry.clients, entry.changed))
            entry.changed = [:]
            prefixes[prefix] = entry
        }
        return result
    }

    var hasBroadcasts: Bool { prefixes.values.contains { !$0.changed.isEmpty } }
}
