import CMallocInfo

/// The node's memory as INFO reports it and `maxmemory` enforces it.
///
/// `used` is what the C allocator has handed out (glibc `mallinfo2()`: in-use chunks of every arena
/// plus mmapped chunks), the counterpart of Redis's zmalloc counter. It covers the whole process
/// (keys, client buffers, the replication backlog, Swift and NIO runtime), where Redis leaves
/// replica output buffers and the AOF buffer out of the eviction decision.
///
/// Unlike zmalloc's counter, `mallinfo2()` is not free: it walks the free lists of every arena, from
/// about a microsecond to milliseconds on a fragmented heap. So commands read a cached figure,
/// measured again when it is older than `MemoryState.minimumInterval` (sooner after a write close
/// to the limit) and at most 5% of the time (the next measurement waits 20 times what the last one
/// cost); INFO always measures. Evictions lower the cached figure by an estimate of each evicted
/// key's size (Redis measures the exact delta), and the next measurement corrects it.
final class MemoryState {
    /// Heap bytes in use at the last measurement, less the estimated size of keys evicted since.
    var used = 0
    /// `used` holds estimated growth (`addEstimate`) since the last measurement.
    private(set) var estimated = false
    var peak = 0
    /// The allocator's bytes in use when the node had started, before loading its data (MEMORY
    /// STATS's `startup.allocated`).
    var startup = 0
    /// Monotonic microseconds after which `used` is measured again.
    var nextMeasurement = 0
    /// Monotonic microseconds after which a measurement keeps within 5% of the time.
    private var budgetEnd = 0
    /// The change count (`PersistenceState.dirty`) at the last measurement.
    private var dirtyAtMeasurement = 0
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

    /// The allocator's bytes in use; the resident set size where the platform has no such figure.
    static func heapInUse() -> Int {
        let heap = Int(shardgate_heap_in_use())
        return heap > 0 ? heap : NodeInfo.memoryUsage().rss
    }

    /// Measures now (INFO, and when the cached figure is due); tracks the peak.
    @discardableResult
    func measure(dirty: Int? = nil) -> Int {
        let started = Clock.monotonicMicroseconds()
        let used = Self.heapInUse()
        let finished = Clock.monotonicMicroseconds()
        self.used = used
        estimated = false
        peak = max(peak, used)
        budgetEnd = finished + 20 * (finished - started)
        nextMeasurement = max(budgetEnd, finished + Self.minimumInterval)
        if let dirty { dirtyAtMeasurement = dirty }
        return used
    }

    /// Adds what a write is expected to allocate to the cached figure, until the next measurement.
    func addEstimate(_ bytes: Int) {
        used += bytes
        estimated = true
    }

    /// Inserts into the pool (kept ascending by score, best last); a key sampled again with the
    /// same score is not added twice. Only an entry of equal score can be the same untouched key,
    /// so scores are compared first: comparing every pooled key on each offer was a tenth of the
    /// node's time while it evicts. A key touched since it was pooled may sit there twice, as in
    /// Redis's pool (which never checks); the pop skips an entry whose key is gone.
    func offer(_ candidate: EvictionCandidate) {
        if let existing = pool.firstIndex(where: {
            $0.score == candidate.score && $0.database == candidate.database && $0.key == candidate.key
        }) {
            pool.remove(at: existing)
        }
        if pool.count >= Self.poolSize {
            guard candidate.score > pool[0].score else { return }
            pool.removeFirst()
        }
        let position = pool.firstIndex { $0.score > candidate.score } ?? pool.count
        pool.insert(candidate, at: position)
    }

    /// The cached figure, measured again when due.
    func current() -> Int {
        Clock.monotonicMicroseconds() >= nextMeasurement ? measure() : used
    }

    /// The figure `maxmemory` is checked against. Within an eighth of `limit`, a write since the last
    /// measurement (`dirty`, the change count, moved) may have crossed it, so the figure is measured
    /// again as soon as the 5% budget allows rather than after the usual interval: Redis knows its
    /// exact figure before every command, and evicts before the next reply.
    func current(limit: Int, dirty: Int) -> Int {
        let now = Clock.monotonicMicroseconds()
        if now >= nextMeasurement || (dirty != dirtyAtMeasurement && used >= limit - limit / 8 && now >= budgetEnd) {
            return measure(dirty: dirty)
        }
        return used
    }
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
