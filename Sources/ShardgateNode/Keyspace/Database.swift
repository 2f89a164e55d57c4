import HeapModule

/// One of the numbered databases SELECT chooses: the keys, their expiry times and the queue the
/// active expiry cycle works from.
///
/// Expiry is lazy (a read of an expired key deletes it first) plus active: `expiryQueue` holds
/// (deadline, key) pairs in deadline order, so each cycle pops exactly the keys that are due instead
/// of sampling. Pairs go stale when a key's TTL changes or the key goes; they are checked against the
/// table when popped and the heap is rebuilt when stale pairs dominate.
final class Database {
    /// Its number: SWAPDB moves a database's contents to another number.
    var index: Int
    private(set) var table = KeyTable<Entry>()
    private(set) var expiresCount = 0
    private var expiryQueue = Heap<ExpiryItem>()
    /// Called with each key removed because it expired (for propagation as DEL, and keyspace stats).
    var onExpired: ((Database, [UInt8]) -> Void)?
    /// Called with each key added, while `new` key notifications are on (nil otherwise).
    var onAdded: ((Database, UnsafeRawBufferPointer) -> Void)?
    /// Replicas leave expiry to their master: an expired key reads as missing but is not deleted.
    var deletesExpiredKeys = true
    /// What lookups record in each key's access word (set from `maxmemory-policy` by the cron).
    var accessMode = AccessMode.recency
    /// The clock (Unix milliseconds) lookups stamp keys with, advanced by the cron.
    var clock: Int64
    private var accessRandom: UInt64

    init(index: Int) {
        self.index = index
        clock = Clock.milliseconds()
        accessRandom = UInt64(truncatingIfNeeded: clock) &+ UInt64(index)
    }

    var count: Int { table.count }
    /// The key table's arrays and the expiry queue's entries, in bytes (MEMORY STATS's overheads).
    var tableBytes: Int { table.tableBytes }
    var expiryQueueBytes: Int { expiryQueue.count * MemoryLayout<ExpiryItem>.stride }

    /// The slot of a live key, deleting it first if it has expired. `hash`: the key's table hash,
    /// when already known.
    /// `touch: false` leaves the key's access word alone (Redis's LOOKUP_NOTOUCH: TYPE, TTL, EXISTS...).
    func find(_ key: UnsafeRawBufferPointer, hash: UInt32? = nil, now: Int64, touch: Bool = true) -> Int? {
        let hash = hash ?? KeyTable<Entry>.hash(key)
        guard let slot = inPlace({ $0.find(key, hash: hash) }) else { return nil }
        let expireAt = inPlace { $0.expireAt(at: slot) }
        if expireAt != 0 && expireAt <= now {
            if deletesExpiredKeys { expire(slot: slot) }
            return nil
        }
        if touch { self.touch(slot) }
        return slot
    }

    /// Lends `body` the table in place, for reads on the lookup path. A method called on the stored
    /// property directly runs on a copy of the table (two retains and releases): for all the
    /// compiler knows, what the method calls could change the property meanwhile, which `inout`
    /// rules out.
    @inline(__always)
    private func inPlace<R>(_ body: (inout KeyTable<Entry>) -> R) -> R { body(&table) }

    /// Starts loading the table memory, and string values, that looking up keys with these hashes
    /// will read (`KeyTable.prefetch`).
    func prefetch(hashes: [UInt32?]) {
        inPlace { $0.prefetch(hashes: hashes, payloadOffset: Self.valuePayloadOffset) }
    }

    private static let valuePayloadOffset = KeyTable<Entry>.valuePayloadOffset

    /// Records an access in the key's word (Redis's `lookupKey` updating `robj.lru`).
    @inline(__always)
    private func touch(_ slot: Int) {
        switch accessMode {
        case .recency:
            table.setAccess(AccessWord.recencyStamp(clock), at: slot)
        case .frequency:
            let word = inPlace { $0.access(at: slot) }
            table.setAccess(AccessWord.accessed(word, now: clock, random: &accessRandom), at: slot)
        }
    }

    func access(slot: Int) -> UInt32 { inPlace { $0.access(at: slot) } }

    /// Sets the key's access word (RESTORE's IDLETIME and FREQ).
    func setAccess(slot: Int, _ word: UInt32) { table.setAccess(word, at: slot) }

    func find(_ key: [UInt8], now: Int64) -> Int? {
        key.withUnsafeBytes { find($0, now: now) }
    }

    func value(at slot: Int) -> Value { table[slot: slot].value }

    /// The bytes of a string value, lent to `body` in place; nil when the value is not a string.
    @inline(__always)
    func withStringBytes<R>(slot: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R? {
        inPlace { table in
            table.withValue(slot: slot) { entry in
                guard case .string(let bytes) = entry.value else { return nil }
                return bytes.withUnsafeBytes(body)
            }
        }
    }
    func expireAt(slot: Int) -> Int64 { inPlace { $0.expireAt(at: slot) } }
    func key(at slot: Int) -> [UInt8] { inPlace { $0.key(at: slot) } }

    /// Replaces the value in `slot`; `keepTTL: false` also clears its expiry (as SET does).
    func replace(slot: Int, with value: Value, keepTTL: Bool = false) {
        if !keepTTL { setExpiry(slot: slot, 0) }
        table[slot: slot].value = value
    }

    /// Mutates the value in `slot` in place.
    func modify<R, E: Error>(slot: Int, _ body: (inout Value) throws(E) -> R) throws(E) -> R {
        try body(&table[slot: slot].value)
    }

    /// Adds a key that is not present.
    @discardableResult
    func add(_ key: [UInt8], _ value: Value, expireAt: Int64 = 0) -> Int {
        key.withUnsafeBytes { add($0, value, expireAt: expireAt) }
    }

    /// Adds a key that is not present, from bytes in place (short keys never touch the heap).
    @discardableResult
    func add(_ key: UnsafeRawBufferPointer, _ value: Value, expireAt: Int64 = 0) -> Int {
        let slot = table.insert(key, Entry(value: value, expireAt: 0, access: AccessWord.initial(accessMode, now: clock)))
        if expireAt != 0 { setExpiry(slot: slot, expireAt) }
        onAdded?(self, key)
        return slot
    }

    /// Sets a key to a value (no expiry), adding or replacing it.
    func set(_ key: UnsafeRawBufferPointer, _ value: Value, now: Int64) {
        if let slot = find(key, now: now) {
            replace(slot: slot, with: value)
        } else {
            add(key, value)
        }
    }

    func setExpiry(slot: Int, _ expireAt: Int64) {
        let previous = inPlace { $0.expireAt(at: slot) }
        guard previous != expireAt else { return }
        if previous == 0 { expiresCount += 1 }
        if expireAt == 0 { expiresCount -= 1 }
        table[slot: slot].expireAt = expireAt
        if expireAt != 0 {
            expiryQueue.insert(ExpiryItem(deadline: expireAt, key: table.key(at: slot)))
            if expiryQueue.count > 1024 && expiryQueue.count > 4 * expiresCount { rebuildExpiryQueue() }
        }
    }

    /// Removes the key in `slot`, returning its value. Slot indices are invalid afterwards.
    @discardableResult
    func remove(slot: Int) -> Value {
        if inPlace({ $0.expireAt(at: slot) }) != 0 { expiresCount -= 1 }
        return table.remove(at: slot).value
    }

    @discardableResult
    func remove(_ key: UnsafeRawBufferPointer, now: Int64) -> Value? {
        guard let slot = find(key, now: now) else { return nil }
        return remove(slot: slot)
    }

    func removeAll() {
        table.removeAll()
        expiresCount = 0
        expiryQueue = Heap()
    }

    private func expire(slot: Int) {
        let key = table.key(at: slot)
        remove(slot: slot)
        onExpired?(self, key)
    }

    /// Deletes keys whose deadline has passed, at most `limit` of them; returns how many it deleted.
    func expireDueKeys(now: Int64, limit: Int) -> Int {
        guard deletesExpiredKeys else { return 0 }
        var deleted = 0
        while deleted < limit, let first = expiryQueue.min, first.deadline <= now {
            let item = expiryQueue.removeMin()
            guard let slot = currentSlot(of: item) else { continue }
            expire(slot: slot)
            deleted += 1
        }
        return deleted
    }

    private func rebuildExpiryQueue() {
        var items: [ExpiryItem] = []
        items.reserveCapacity(expiresCount)
        inPlace { table in
            for slot in table.occupied where table.expireAt(at: slot) != 0 {
                items.append(ExpiryItem(deadline: table.expireAt(at: slot), key: table.key(at: slot)))
            }
        }
        expiryQueue = Heap(items)
    }

    /// Every live slot (for KEYS, saving, FLUSH). The table must not change during the walk.
    var slots: some Sequence<Int> { table.occupied }

    func scan(cursor: UInt64, _ body: (Int) -> Void) -> UInt64 { table.scan(cursor: cursor, body) }

    /// A random key with a TTL (volatile-* eviction), nil when none has one: a random pair of the
    /// expiry queue that is still current.
    func randomVolatileSlot<G: RandomNumberGenerator>(using generator: inout G) -> Int? {
        guard expiresCount > 0 else { return nil }
        for attempt in 0..<32 {
            let items = expiryQueue.unordered
            guard !items.isEmpty else { break }
            let item = items[Int.random(in: 0..<items.count, using: &generator)]
            if let slot = currentSlot(of: item) { return slot }
            if attempt == 7 { rebuildExpiryQueue() }
        }
        return nil
    }

    /// The slot of an expiry queue pair's key while the pair is current (the key is there, with
    /// that deadline); nil for a stale pair.
    private func currentSlot(of item: ExpiryItem) -> Int? {
        inPlace { table in
            guard let slot = table.find(item.key), table.expireAt(at: slot) == item.deadline else { return nil }
            return slot
        }
    }

    /// The key whose TTL ends first (volatile-ttl eviction), nil when none has one.
    func soonestExpiringSlot() -> Int? {
        while let first = expiryQueue.min {
            if let slot = currentSlot(of: first) { return slot }
            expiryQueue.removeMin()
        }
        return nil
    }

    func randomSlot() -> Int? {
        var generator = SystemRandomNumberGenerator()
        return table.randomSlot(using: &generator)
    }
}

struct ExpiryItem: Comparable {
    var deadline: Int64
    var key: [UInt8]
    static func < (a: ExpiryItem, b: ExpiryItem) -> Bool { a.deadline < b.deadline }
    static func == (a: ExpiryItem, b: ExpiryItem) -> Bool { a.deadline == b.deadline }
}
