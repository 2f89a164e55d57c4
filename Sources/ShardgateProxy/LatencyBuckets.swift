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
        counts[Self.bucket(nanoseconds)] += 1
        count += 1
        sumNanoseconds &+= nanoseconds
    }

    /// The bucket of `nanoseconds`: `bounds` as comparisons the compiler lays out (no array read
    /// on the request path). `bucketsMatchBounds` in the tests keeps the two in step.
    @inline(__always)
    static func bucket(_ nanoseconds: UInt64) -> Int {
        switch nanoseconds {
        case ...50_000: 0
        case ...100_000: 1
        case ...250_000: 2
        case ...500_000: 3
        case ...1_000_000: 4
        case ...2_500_000: 5
        case ...5_000_000: 6
        case ...10_000_000: 7
        case ...25_000_000: 8
        case ...50_000_000: 9
        case ...100_000_000: 10
        case ...250_000_000: 11
        case ...500_000_000: 12
        case ...1_000_000_000: 13
        case ...2_500_000_000: 14
        case ...5_000_000_000: 15
        case ...10_000_000_000: 16
        default: 17
        }
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
