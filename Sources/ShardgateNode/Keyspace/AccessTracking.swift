/// What each key's access word (`Entry.access`, Redis's `robj.lru`) records, chosen by the
/// eviction policy: the last access (LRU) or a decaying access frequency (LFU).
enum AccessMode {
    case recency
    case frequency
}

/// The per-key access word, as Redis 7.0 keeps it in 24 bits of every object, with 32 here.
///
/// - Recency: the node's clock in milliseconds modulo 2^32, stamped on every lookup. The clock is
///   advanced by the cron (so its resolution is one cron tick, 100 ms at `hz 10`; Redis's is 1 s);
///   idle times are computed modulo 2^32, so a key untouched for more than 49.7 days looks recent
///   again (Redis's 24-bit seconds clock wraps after 194 days the same way).
/// - Frequency: Redis's LFU word, `minutes << 8 | counter`: an 8-bit logarithmic counter that starts
///   at 5, grows with probability 1 / ((counter - 5) * 10 + 1) per access (`lfu-log-factor 10`) and
///   loses one per minute without access (`lfu-decay-time 1`), with the 16-bit minute of the last
///   decrement. Both factors are Redis's defaults, fixed here.
enum AccessWord {
    static let initialFrequency: UInt32 = 5
    static let logFactor = 10.0
    static let decayMinutes: UInt32 = 1

    @inline(__always)
    static func recencyStamp(_ now: Int64) -> UInt32 { UInt32(truncatingIfNeeded: now) }

    @inline(__always)
    static func minutes(_ now: Int64) -> UInt32 { UInt32(truncatingIfNeeded: now / 60_000) & 0xFFFF }

    /// A new key's word in `mode`.
    @inline(__always)
    static func initial(_ mode: AccessMode, now: Int64) -> UInt32 {
        switch mode {
        case .recency: recencyStamp(now)
        case .frequency: minutes(now) << 8 | initialFrequency
        }
    }

    /// The counter after the decay owed since the word's minute.
    static func decayedCounter(_ word: UInt32, now: Int64) -> UInt32 {
        let counter = word & 0xFF
        // Masked: a word stamped in recency mode (before a policy change) is any 32-bit value.
        let then = (word >> 8) & 0xFFFF
        let current = minutes(now)
        let elapsed = current >= then ? current - then : 65535 - then + current
        let periods = elapsed / decayMinutes
        return periods > counter ? 0 : counter - periods
    }

    /// The word after one access at `now`, in frequency mode.
    static func accessed(_ word: UInt32, now: Int64, random: inout UInt64) -> UInt32 {
        var counter = decayedCounter(word, now: now)
        if counter < 255 {
            let base = Double(counter > initialFrequency ? counter - initialFrequency : 0)
            let probability = 1.0 / (base * logFactor + 1)
            if Double(next(&random) >> 11) * 0x1p-53 < probability { counter += 1 }
        }
        return minutes(now) << 8 | counter
    }

    /// How evictable a key is: larger is evicted first (Redis's eviction-pool `idle`).
    static func evictionScore(_ word: UInt32, mode: AccessMode, now: Int64) -> UInt64 {
        switch mode {
        case .recency: UInt64(recencyStamp(now) &- word)
        case .frequency: UInt64(255 - decayedCounter(word, now: now))
        }
    }

    /// splitmix64: cheap randomness for the LFU counter, no system call per access.
    @inline(__always)
    static func next(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A `RandomNumberGenerator` over splitmix64, for eviction sampling (the system generator costs a
/// system call per number on Linux).
struct FastRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 { AccessWord.next(&state) }
}
