import Commands
import NIOCore
import RESP

extension Node {
    static let outOfMemoryError = "OOM command not allowed when used memory > 'maxmemory'."

    // MARK: - Admission

    /// Redis's `processCommand` maxmemory step, run before every command while `maxmemory` is set:
    /// evicts what the policy allows, then refuses commands that may grow memory (`denyoom`), EXEC
    /// of a transaction holding one (aborting it), and anything but EXEC/DISCARD/QUIT/RESET inside
    /// MULTI, when memory is still over the limit.
    ///
    /// `requestBytes`: the size of the command's request. A command that may grow memory adds it to
    /// the cached figure as an estimate of that growth (a new key costs about its request: the
    /// value's buffer, the key when it is longer than a slot holds). Redis's counter knows its
    /// exact figure before every command; without the estimate, writes between two measurements
    /// would go unnoticed and the next measurement find them all at once, to be evicted in one burst
    /// (the slow replies of a p99). The next measurement corrects what the estimate got wrong.
    func memoryAdmissionError(_ spec: CommandSpec, client: ClientConnection, requestBytes: Int = 0) -> String? {
        guard !performEvictions() else {
            if spec.flags.contains(.denyOOM) { memory.addEstimate(requestBytes) }
            return nil
        }
        if spec.flags.contains(.denyOOM) { return Self.outOfMemoryError }
        switch spec {
        case "exec":
            guard let queue = client.flags.queued, queue.contains(where: Self.deniesOOM) else { return nil }
            client.flags.queued = nil
            client.flags.transactionFailed = false
            clients.watches.unwatchAll(client)
            client.flags.watchTouched = false
            return "EXECABORT Transaction discarded because of: " + Self.outOfMemoryError
        case "discard", "quit", "reset":
            return nil
        default:
            return client.flags.queued != nil ? Self.outOfMemoryError : nil
        }
    }

    private static func deniesOOM(_ request: RESPRequest) -> Bool {
        CommandTable.redis.resolve(request)?.spec.flags.contains(.denyOOM) ?? false
    }

    // MARK: - Evicting

    /// Redis's `performEvictions`: false when memory is over `maxmemory` and nothing (more) may be
    /// evicted (noeviction, or no candidate key left); true when within the limit or when this
    /// round's time budget (500 µs) ran out while keys were still being evicted: the rest runs in
    /// further rounds from the event loop, between other work, as Redis's eviction timer does.
    /// Replicas and loading never evict.
    func performEvictions() -> Bool {
        let limit = settings.maxMemory
        guard limit > 0, replication.link == nil, !persistence.loading, !clientsArePaused else { return true }
        let used = memory.current(limit: limit, dirty: persistence.dirty)
        guard used > limit else { return true }
        let policy = EvictionPolicy(settings.maxMemoryPolicy)
        // Nothing to evict: a write is refused only on a measured figure, never on an estimate.
        guard policy != .noEviction else { return memory.estimated && memory.measure() <= limit }
        let toFree = used - limit
        var freed = 0
        var evicted = 0
        let started = Clock.monotonicMicroseconds()
        while freed < toFree {
            guard let (database, slot) = evictionCandidate(policy) else {
                // Nothing left to evict: only a fresh measurement can still show room.
                return memory.measure() <= limit
            }
            freed += evict(database, slot: slot)
            evicted += 1
            if evicted % 16 == 0 && Clock.monotonicMicroseconds() - started > MemoryState.evictionTimeLimit {
                scheduleEvictions()
                break
            }
        }
        memory.used = max(0, used - freed)
        return true
    }

    private func scheduleEvictions() {
        guard !memory.continuationScheduled else { return }
        memory.continuationScheduled = true
        let node = NIOLoopBound(self, eventLoop: loop)
        loop.execute {
            node.value.memory.continuationScheduled = false
            _ = node.value.performEvictions()
            node.value.beforeReplies()
        }
    }

    /// The next key to evict under `policy`, as (database index, slot).
    private func evictionCandidate(_ policy: EvictionPolicy) -> (Int, Int)? {
        switch policy {
        case .noEviction:
            return nil
        case .allKeysRandom, .volatileRandom:
            for step in 0..<keyspace.databases.count {
                let index = (memory.nextDatabase + step) % keyspace.databases.count
                let database = keyspace.databases[index]
                let slot = policy == .volatileRandom
                    ? database.randomVolatileSlot(using: &memory.random)
                    : database.table.randomSlot(using: &memory.random)
                if let slot {
                    memory.nextDatabase = (index + 1) % keyspace.databases.count
                    return (index, slot)
                }
            }
            return nil
        case .volatileTTL:
            // Exact rather than sampled: the expiry queue knows the soonest deadline of each database.
            var best: (Int, Int, Int64)?
            for (index, database) in keyspace.databases.enumerated() where database.expiresCount > 0 {
                guard let slot = database.soonestExpiringSlot() else { continue }
                let deadline = database.expireAt(slot: slot)
                if best == nil || deadline < best!.2 { best = (index, slot, deadline) }
            }
            return best.map { ($0.0, $0.1) }
        case .allKeysLRU, .volatileLRU, .allKeysLFU, .volatileLFU:
            return pooledCandidate(policy)
        }
    }

    /// Redis's eviction pool: samples `maxmemory-samples` keys of every database into a pool of the
    /// 16 most evictable seen so far, then takes the best one that still exists.
    private func pooledCandidate(_ policy: EvictionPolicy) -> (Int, Int)? {
        let samples = settings.maxMemorySamples
        let mode = policy.accessMode
        for (index, database) in keyspace.databases.enumerated() {
            guard policy.isVolatile ? database.expiresCount > 0 : database.count > 0 else { continue }
            let consider = { (slot: Int) in
                let score = AccessWord.evictionScore(database.access(slot: slot), mode: mode, now: database.clock)
                // Copy the key only for a candidate the full pool would take.
                if self.memory.pool.count >= MemoryState.poolSize && score <= self.memory.pool[0].score { return }
                self.memory.offer(EvictionCandidate(score: score, database: index, key: database.key(at: slot)))
            }
            if policy.isVolatile {
                // As dictGetSomeKeys: never more samples than keys (maxmemory-samples may be 2^31-1).
                for _ in 0..<min(samples, database.expiresCount) {
                    guard let slot = database.randomVolatileSlot(using: &memory.random) else { break }
                    consider(slot)
                }
            } else {
                database.table.sampleSlots(samples, using: &memory.random, consider)
            }
        }
        while let best = memory.pool.popLast() {
            guard best.database < keyspace.databases.count else { continue }
            let database = keyspace.databases[best.database]
            guard let slot = database.table.find(best.key) else { continue }
            if policy.isVolatile && database.expireAt(slot: slot) == 0 { continue }
            return (best.database, slot)
        }
        return nil
    }

    /// Deletes an evicted key like any deletion (WATCH touched, DEL propagated), counts it and
    /// returns an estimate of the bytes it freed.
    private func evict(_ index: Int, slot: Int) -> Int {
        let database = keyspace.databases[index]
        let key = database.key(at: slot)
        let volatile = database.expireAt(slot: slot) != 0
        let value = database.remove(slot: slot)
        memory.evictedKeys += 1
        notifyKeyspaceEvent(.evicted, "evicted", key: key, database: index)
        if !clients.watches.isEmpty { clients.watches.touch(database: index, key: key) }
        if tracking.hasKeysOrPrefixes { invalidateTrackedKey(key, modifiedBy: nil) }
        propagate(database: index, arguments: [Array("DEL".utf8), key])
        return Self.estimatedSize(key: key, value: value, volatile: volatile)
    }

    /// What deleting a key gives back to the heap, roughly: the glibc chunks of its value's buffers
    /// and of its key when too long for the slot, and its expiry-queue pair; collections by element
    /// count. Not the slot: it stays allocated for the next key (`KeyTable`'s free list), so
    /// counting it would make the cached figure fall below the truth and let writes overshoot.
    static func estimatedSize(key: [UInt8], value: Value, volatile: Bool) -> Int {
        func chunk(_ bytes: Int) -> Int { max(32, (bytes + 8 + 15) & ~15) }
        var size = (key.count > StoredKey.inlineCapacity ? chunk(32 + key.count) : 0) + (volatile ? 16 : 0)
        switch value {
        case .string(let bytes): size += bytes.isEmpty ? 0 : chunk(32 + bytes.count)
        case .list(let list): size += 64 + list.elements.count * 56
        case .hash(let hash): size += 64 + hash.count * 96
        case .set(let set): size += 64 + set.count * 64
        case .sortedSet(let sortedSet): size += 96 + sortedSet.count * 112
        case .stream(let stream): size += 128 + stream.nodes.count * 96 + stream.listpackBytes
        }
        return size
    }

    // MARK: - Cron

    /// What the keys' access words record (`maxmemory-policy`: recency or frequency) and the clock
    /// they are stamped with. Also run at once when CONFIG SET changes the policy, so a RESTORE
    /// FREQ right after it records a frequency.
    func updateAccessTracking(now: Int64) {
        let mode = EvictionPolicy(settings.maxMemoryPolicy).accessMode
        for database in keyspace.databases {
            database.clock = now
            database.accessMode = mode
        }
    }

    /// Once per cron tick: the access clock and mode of the databases, the peak, and evictions
    /// still owed (after CONFIG SET maxmemory lowered the limit, or a round that ran out of time).
    func memoryCron(now: Int64) {
        updateAccessTracking(now: now)
        if settings.maxMemory > 0 {
            _ = performEvictions()
            flushPropagation()
        } else {
            _ = memory.current()
        }
    }
}
