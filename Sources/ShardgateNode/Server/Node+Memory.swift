import CMallocInfo
import Commands
import NIOCore
import RESP

/// The node's memory as INFO reports it and `maxmemory` enforces it.
///
/// `used` is what the C allocator has handed out (glibc `mallinfo2()`: in-use chunks of every arena
/// plus mmapped chunks), the counterpart of Redis's zmalloc counter. It covers the whole process
/// (keys, client buffers, the replication backlog, Swift and NIO runtime), where Redis leaves
/// replica output buffers and the AOF buffer out of the eviction decision.
///
/// Unlike zmalloc's counter, `mallinfo2()` is not free: it walks the free lists of every arena, from
/// about a microsecond to milliseconds on a fragmented heap. So commands read a cached figure,
/// measured again when it is older than `MemoryState.minimumInterval` and at most 5% of the time
/// (the next measurement waits 20 times what the last one cost); INFO always measures. Evictions
/// lower the cached figure by an estimate of each evicted key's size (Redis measures the exact
/// delta), and the next measurement corrects it.
final class MemoryState {
    /// Heap bytes in use at the last measurement, less the estimated size of keys evicted since.
    var used = 0
    var peak = 0
    /// Monotonic microseconds after which `used` is measured again.
    var nextMeasurement = 0
    /// Keys evicted (INFO stats `evicted_keys`).
    var evictedKeys = 0
    /// The best candidates seen by the LRU/LFU sampling, kept across evictions (Redis's eviction pool).
    var pool: [EvictionCandidate] = []
    /// Where the random policies start (they take one key per database in turn).
    var nextDatabase = 0
    /// A round ran out of time and the rest is scheduled on the event loop (Redis's eviction timer).
    var continuationScheduled = false
    var random = FastRandom(seed: UInt64(truncatingIfNeeded: Clock.monotonicMicroseconds()))

    static let minimumInterval = 1000
    static let poolSize = 16
    /// Redis 7.0's eviction time limit at the default `maxmemory-eviction-tenacity 10`.
    static let evictionTimeLimit = 500
}

/// A key the LRU/LFU sampling found, by name (its slot may move before it is evicted).
struct EvictionCandidate {
    var score: UInt64
    var database: Int
    var key: [UInt8]
}

/// `maxmemory-policy`.
enum EvictionPolicy {
    case noEviction, allKeysRandom, volatileRandom, volatileTTL, allKeysLRU, volatileLRU, allKeysLFU, volatileLFU

    init(_ name: String) {
        switch name {
        case "allkeys-random": self = .allKeysRandom
        case "volatile-random": self = .volatileRandom
        case "volatile-ttl": self = .volatileTTL
        case "allkeys-lru": self = .allKeysLRU
        case "volatile-lru": self = .volatileLRU
        case "allkeys-lfu": self = .allKeysLFU
        case "volatile-lfu": self = .volatileLFU
        default: self = .noEviction
        }
    }

    /// Only keys with a TTL are candidates.
    var isVolatile: Bool {
        switch self {
        case .volatileRandom, .volatileTTL, .volatileLRU, .volatileLFU: true
        default: false
        }
    }

    var accessMode: AccessMode {
        switch self {
        case .allKeysLFU, .volatileLFU: .frequency
        default: .recency
        }
    }
}

extension Node {
    static let outOfMemoryError = "OOM command not allowed when used memory > 'maxmemory'."

    // MARK: - Measuring

    /// The allocator's bytes in use; the resident set size where the platform has no such figure.
    static func heapInUse() -> Int {
        let heap = Int(shardgate_heap_in_use())
        return heap > 0 ? heap : NodeInfo.memoryUsage().rss
    }

    /// Measures now (INFO, and when the cached figure is due); tracks the peak.
    @discardableResult
    func measureMemory() -> Int {
        let started = Clock.monotonicMicroseconds()
        let used = Self.heapInUse()
        let finished = Clock.monotonicMicroseconds()
        memory.used = used
        memory.peak = max(memory.peak, used)
        memory.nextMeasurement = finished + max(MemoryState.minimumInterval, 20 * (finished - started))
        return used
    }

    /// The cached figure, measured again when due.
    func currentMemory() -> Int {
        Clock.monotonicMicroseconds() >= memory.nextMeasurement ? measureMemory() : memory.used
    }

    // MARK: - Admission

    /// Redis's `processCommand` maxmemory step, run before every command while `maxmemory` is set:
    /// evicts what the policy allows, then refuses commands that may grow memory (`denyoom`), EXEC
    /// of a transaction holding one (aborting it), and anything but EXEC/DISCARD/QUIT/RESET inside
    /// MULTI, when memory is still over the limit.
    func memoryAdmissionError(_ spec: CommandSpec, client: ClientConnection) -> String? {
        guard !performEvictions() else { return nil }
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
        let used = currentMemory()
        guard used > limit else { return true }
        let policy = EvictionPolicy(settings.maxMemoryPolicy)
        guard policy != .noEviction else { return false }
        let toFree = used - limit
        var freed = 0
        var evicted = 0
        let started = Clock.monotonicMicroseconds()
        while freed < toFree {
            guard let (database, slot) = evictionCandidate(policy) else {
                // Nothing left to evict: only a fresh measurement can still show room.
                return measureMemory() <= limit
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
                self.addToPool(EvictionCandidate(score: score, database: index, key: database.key(at: slot)))
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

    /// Inserts into the pool (kept ascending by score, best last); a key already there is updated.
    private func addToPool(_ candidate: EvictionCandidate) {
        if let existing = memory.pool.firstIndex(where: { $0.database == candidate.database && $0.key == candidate.key }) {
            memory.pool.remove(at: existing)
        }
        if memory.pool.count >= MemoryState.poolSize {
            guard candidate.score > memory.pool[0].score else { return }
            memory.pool.removeFirst()
        }
        let position = memory.pool.firstIndex { $0.score > candidate.score } ?? memory.pool.count
        memory.pool.insert(candidate, at: position)
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
        propagate(database: index, arguments: [Array("DEL".utf8), key])
        return Self.estimatedSize(key: key, value: value, volatile: volatile)
    }

    /// What a key costs on the heap, roughly: glibc chunks of the key and value buffers, the slot
    /// (40 bytes) and bucket, the expiry-queue pair; collections by element count.
    static func estimatedSize(key: [UInt8], value: Value, volatile: Bool) -> Int {
        func chunk(_ bytes: Int) -> Int { max(32, (bytes + 8 + 15) & ~15) }
        var size = chunk(32 + key.count) + 44 + (volatile ? 16 : 0)
        switch value {
        case .string(let bytes): size += bytes.isEmpty ? 0 : chunk(32 + bytes.count)
        case .list(let list): size += 64 + list.elements.count * 56
        case .hash(let hash): size += 64 + hash.count * 96
        case .set(let set): size += 64 + set.count * 64
        case .sortedSet(let sortedSet): size += 96 + sortedSet.count * 112
        }
        return size
    }

    // MARK: - Cron

    /// Once per cron tick: the access clock and mode of the databases, the peak, and evictions
    /// still owed (after CONFIG SET maxmemory lowered the limit, or a round that ran out of time).
    func memoryCron(now: Int64) {
        let mode = EvictionPolicy(settings.maxMemoryPolicy).accessMode
        for database in keyspace.databases {
            database.clock = now
            database.accessMode = mode
        }
        if settings.maxMemory > 0 {
            _ = performEvictions()
            flushPropagation()
        } else {
            _ = currentMemory()
        }
    }
}
