/// The databases (SELECT's numbered keyspaces), each holding its keys, values and expiry deadlines.
/// Lives on the node's event loop.
final class Keyspace {
    var databases: [Database]
    /// Whether the cron deletes keys whose TTL passed without anyone reading them (Redis's
    /// `active_expire_enabled`, switched by DEBUG SET-ACTIVE-EXPIRE); lookups expire keys either way.
    var activeExpiry = true

    init(count: Int) {
        databases = (0..<count).map { Database(index: $0) }
    }

    /// The number of `database` in the keyspace (nil for one not part of it, like a staged one).
    func number(of database: Database) -> Int? {
        databases.firstIndex { $0 === database }
    }

    /// SWAPDB: the two databases trade numbers.
    func swap(_ first: Int, _ second: Int) {
        databases.swapAt(first, second)
        databases[first].index = first
        databases[second].index = second
    }
}
