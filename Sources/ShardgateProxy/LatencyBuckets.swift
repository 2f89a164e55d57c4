/// A latency histogram with Prometheus's default bucket bounds (5 ms to 10 s, plus finer ones
/// below a millisecond, where a proxy's requests live), counted by one event loop: plain integers,
/// no atomics. `/metrics` adds every loop's copy together when it is scraped.
struct LatencyBuckets: Sendable {
    /// Upper bounds, in nanoseconds, of every bucket but the last (`+Inf`).
    static let bounds: [UInt64] = [
        50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000, 25_000_000,
        50_000_000, 100_000_000, 250_000_000, 500_000_000, 1_000_000_000, 2_500_000_000, 5_000_000_000, 10_000_000_000,
    ]

    /// Observations per bucket (not cumulative); the last is `+Inf`.
    private(set) var counts = [Int](repeating: 0, count: LatencyBuckets.bounds.count + 1)
    private(set) var count = 0
    private(set) var sumNanoseconds: UInt64 = 0

    mutating func record(nanoseconds: UInt64) {
        var bucket = 0
        while bucket < Self.bounds.count && nanoseconds > Self.bounds[bucket] { bucket += 1 }
        counts[bucket] += 1
        count += 1
        sumNanoseconds &+= nanoseconds
    }

    mutating func add(_ other: LatencyBuckets) {
        for index in counts.indices { counts[index] += other.counts[index] }
        count += other.count
        sumNanoseconds &+= other.sumNanoseconds
    }

    /// Observations at or below each bound, then the total (Prometheus's cumulative `le` buckets).
    var cumulative: [Int] {
        var running = 0
        return counts.map { count in
            running += count
            return running
        }
    }
}
