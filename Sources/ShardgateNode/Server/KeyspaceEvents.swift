/// Keyspace notification classes (`notify-keyspace-events`), with Redis's bit values and letters.
public struct KeyspaceEvents: OptionSet, Sendable, Equatable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// `K`: publish to `__keyspace@<db>__:<key>`.
    static let keyspace = KeyspaceEvents(rawValue: 1 << 0)
    /// `E`: publish to `__keyevent@<db>__:<event>`.
    static let keyevent = KeyspaceEvents(rawValue: 1 << 1)
    static let generic = KeyspaceEvents(rawValue: 1 << 2)
    static let string = KeyspaceEvents(rawValue: 1 << 3)
    static let list = KeyspaceEvents(rawValue: 1 << 4)
    static let set = KeyspaceEvents(rawValue: 1 << 5)
    static let hash = KeyspaceEvents(rawValue: 1 << 6)
    static let zset = KeyspaceEvents(rawValue: 1 << 7)
    static let expired = KeyspaceEvents(rawValue: 1 << 8)
    static let evicted = KeyspaceEvents(rawValue: 1 << 9)
    static let stream = KeyspaceEvents(rawValue: 1 << 10)
    static let keyMiss = KeyspaceEvents(rawValue: 1 << 11)
    static let module = KeyspaceEvents(rawValue: 1 << 13)
    static let newKey = KeyspaceEvents(rawValue: 1 << 14)
    /// `A`: every class but key misses and new keys.
    static let all: KeyspaceEvents = [.generic, .string, .list, .set, .hash, .zset, .expired, .evicted, .stream, .module]

    /// Letters of the classes `A` abbreviates, in the order the canonical form lists them.
    private static let classLetters: [(Character, KeyspaceEvents)] = [
        ("g", .generic), ("$", .string), ("l", .list), ("s", .set), ("h", .hash), ("z", .zset),
        ("x", .expired), ("e", .evicted), ("t", .stream), ("d", .module), ("n", .newKey),
    ]

    /// Reads a directive value such as `KEA` or `Elg`; nil for an unknown letter.
    init?(parsing text: String) {
        var flags: KeyspaceEvents = []
        for letter in text {
            switch letter {
            case "A": flags.formUnion(.all)
            case "K": flags.insert(.keyspace)
            case "E": flags.insert(.keyevent)
            case "m": flags.insert(.keyMiss)
            default:
                guard let entry = Self.classLetters.first(where: { $0.0 == letter }) else { return nil }
                flags.insert(entry.1)
            }
        }
        self = flags
    }

    /// The form CONFIG GET answers with: `A` when every class is on (then not `n`), the class
    /// letters otherwise, then `K`, `E` and `m`.
    var canonical: String {
        var text = ""
        if isSuperset(of: .all) {
            text = "A"
        } else {
            for (letter, flag) in Self.classLetters where contains(flag) { text.append(letter) }
        }
        if contains(.keyspace) { text += "K" }
        if contains(.keyevent) { text += "E" }
        if contains(.keyMiss) { text += "m" }
        return text
    }
}

extension Node {
    /// Whether an event of `type` would be published: its class is on, and so is K or E. The one
    /// check a command pays when notifications are off.
    @inline(__always)
    func notifies(_ type: KeyspaceEvents) -> Bool {
        settings.keyspaceEvents.rawValue & type.rawValue != 0
    }

    /// Publishes `event` on `key` of `database` as Redis's `notifyKeyspaceEvent` does: to
    /// `__keyspace@<db>__:<key>` (message: the event) when `K` is on, then to
    /// `__keyevent@<db>__:<event>` (message: the key) when `E` is on.
    func notifyKeyspaceEvent(_ type: KeyspaceEvents, _ event: StaticString, key: [UInt8], database: Int) {
        let flags = settings.keyspaceEvents
        guard flags.rawValue & type.rawValue != 0 else { return }
        let eventBytes = Array(UnsafeRawBufferPointer(start: event.utf8Start, count: event.utf8CodeUnitCount))
        if flags.contains(.keyspace) {
            let channel = Array("__keyspace@\(database)__:".utf8) + key
            _ = clients.pubsub.publish(channel, eventBytes, shard: false, node: self)
        }
        if flags.contains(.keyevent) {
            let channel = Array("__keyevent@\(database)__:".utf8) + eventBytes
            _ = clients.pubsub.publish(channel, key, shard: false, node: self)
        }
    }

    /// Installs or removes the databases' `new` key hook as the flags ask (it costs a closure call
    /// per added key only while `n` is on).
    func updateNewKeyHook(_ database: Database) {
        if notifies(.newKey) {
            database.onAdded = { [unowned self] database, key in
                // Keys loaded from an RDB or AOF are not new (Redis's dbAddRDBLoad).
                guard !persistence.loading else { return }
                notifyKeyspaceEvent(.newKey, "new", key: Array(key), database: database.index)
            }
        } else {
            database.onAdded = nil
        }
    }
}

extension CommandCall {
    /// Notifies `event` of class `type` on key argument `index` in the client's database; nothing
    /// but one test when that class is off.
    @inline(__always)
    func notify(_ type: KeyspaceEvents, _ event: StaticString, _ index: Int) {
        guard node.notifies(type) else { return }
        node.notifyKeyspaceEvent(type, event, key: bytes(index), database: client.database)
    }

    /// Notifies `event` on `key` (in `database`, the client's by default).
    @inline(__always)
    func notify(_ type: KeyspaceEvents, _ event: StaticString, key: [UInt8], database: Int? = nil) {
        guard node.notifies(type) else { return }
        node.notifyKeyspaceEvent(type, event, key: key, database: database ?? client.database)
    }

    /// `event` on key argument `index` when the key still exists, `del` when the command emptied
    /// and removed it (the pattern of every command that removes elements).
    @inline(__always)
    func notifyOrDeleted(_ type: KeyspaceEvents, _ event: StaticString, _ index: Int, deleted: Bool) {
        guard node.notifies(type.union(.generic)) else { return }
        notify(type, event, index)
        if deleted { notify(.generic, "del", index) }
    }
}
