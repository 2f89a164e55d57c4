import NIOCore
import RESP

/// The pub/sub subscriptions of one event loop's clients, multiplexed onto one subscriber
/// connection per group (`SubscriberConnection`).
///
/// A channel lives in the group its name hashes to, as if it were a key, so PUBLISH (routed the
/// same way) and SUBSCRIBE meet; a pattern is subscribed in every group. Each channel or pattern is
/// subscribed upstream once, while at least one client of the loop wants it, and a client's
/// SUBSCRIBE is confirmed once the subscription is active upstream, as with Redis: a message
/// published after the confirmation reaches it.
final class PubSubHub {
    /// One subscribed channel or pattern and the clients that want it.
    final class Entry {
        let generation: Int
        var subscribers: [ObjectIdentifier: ClientSession] = [:]
        /// Groups whose server has not confirmed the subscription yet.
        var unconfirmed: Set<Int>
        /// Run once every group has confirmed.
        var waiters: [() -> Void] = []

        init(generation: Int, groups: [Int]) {
            self.generation = generation
            self.unconfirmed = Set(groups)
        }
    }

    unowned let loop: PoolLoop
    private var entries: [SubscriptionKey: Entry] = [:]
    private var connections: [SubscriberConnection?]
    private var nextGeneration = 0

    init(loop: PoolLoop) {
        self.loop = loop
        self.connections = Array(repeating: nil, count: loop.groups.count)
    }

    /// Clients' subscriptions now: one per client and channel or pattern.
    var subscriptionCount: Int { entries.values.reduce(0) { $0 + $1.subscribers.count } }

    /// The groups a subscription lives in.
    func groups(of key: SubscriptionKey) -> [Int] {
        if key.kind == .pattern { return Array(loop.groups.indices) }
        return [key.name.withUnsafeBytes { loop.group(forKey: $0) } ?? 0]
    }

    private func connection(_ group: Int) -> SubscriberConnection {
        if let existing = connections[group] { return existing }
        let created = SubscriberConnection(hub: self, group: group)
        connections[group] = created
        return created
    }

    /// Adds `session` to `key`'s subscribers; `whenActive` runs once the subscription is active
    /// upstream (at once when it already is).
    func subscribe(_ session: ClientSession, to key: SubscriptionKey, whenActive: @escaping () -> Void) {
        if let entry = entries[key] {
            entry.subscribers[ObjectIdentifier(session)] = session
            if entry.unconfirmed.isEmpty { whenActive() } else { entry.waiters.append(whenActive) }
            return
        }
        let groups = groups(of: key)
        let entry = Entry(generation: nextGeneration, groups: groups)
        nextGeneration += 1
        entry.subscribers[ObjectIdentifier(session)] = session
        entry.waiters.append(whenActive)
        entries[key] = entry
        for group in groups { connection(group).subscribe(key, generation: entry.generation) }
    }

    /// Removes `session` from `key`'s subscribers; the last one out unsubscribes upstream.
    func unsubscribe(_ session: ClientSession, from key: SubscriptionKey) {
        guard let entry = entries[key] else { return }
        entry.subscribers[ObjectIdentifier(session)] = nil
        guard entry.subscribers.isEmpty else { return }
        entries[key] = nil
        for group in groups(of: key) { connections[group]?.unsubscribe(key) }
        // A client that unsubscribed before the confirmation still gets its SUBSCRIBE answered.
        let waiters = entry.waiters
        entry.waiters = []
        for waiter in waiters { waiter() }
    }

    /// `group` confirmed `key` (subscribed under `generation`).
    func confirmed(_ key: SubscriptionKey, generation: Int, group: Int) {
        guard let entry = entries[key], entry.generation == generation else { return }
        entry.unconfirmed.remove(group)
        guard entry.unconfirmed.isEmpty else { return }
        let waiters = entry.waiters
        entry.waiters = []
        for waiter in waiters { waiter() }
    }

    /// What `group`'s connection subscribes to when it (re)connects; each counts as unconfirmed
    /// there until the server says so.
    func subscriptions(ofGroup group: Int) -> [(SubscriptionKey, Int)] {
        var result: [(SubscriptionKey, Int)] = []
        for (key, entry) in entries where groups(of: key).contains(group) {
            entry.unconfirmed.insert(group)
            result.append((key, entry.generation))
        }
        return result
    }

    func hasSubscriptions(inGroup group: Int) -> Bool {
        entries.keys.contains { groups(of: $0).contains(group) }
    }

    /// The connection to `group` broke: its subscriptions are inactive until it reconnects.
    func disconnected(group: Int) {
        for (key, entry) in entries where groups(of: key).contains(group) { entry.unconfirmed.insert(group) }
    }

    /// A message from a server: to every local subscriber of its channel (or pattern).
    func deliver(_ frame: ByteBuffer, kind: SubscriptionKind, elements: [ByteBuffer]) {
        guard elements.count >= 3, let name = RESPReplyReader.bulkPayload(elements[1]),
            let entry = entries[SubscriptionKey(kind: kind, name: name)]
        else { return }
        for session in entry.subscribers.values { session.deliverPush(frame) }
    }

    /// A Sentinel failover moved `group`'s master.
    func masterChanged(group: Int) {
        connections[group]?.masterChanged()
    }

    func close() {
        for connection in connections { connection?.close() }
    }
}
