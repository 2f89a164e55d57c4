import Testing

@testable import ShardgateProxy

@Suite struct MetricsUnitTests {
    /// The bucket chosen for a value is the first whose bound is at or above it, as the bounds list
    /// (which `/metrics` prints as `le`) says.
    @Test func bucketsMatchBounds() {
        for (index, bound) in LatencyBuckets.bounds.enumerated() {
            #expect(LatencyBuckets.bucket(bound) == index)
            #expect(LatencyBuckets.bucket(bound + 1) == index + 1)
            if index > 0 { #expect(LatencyBuckets.bucket(LatencyBuckets.bounds[index - 1] + 1) == index) }
        }
        #expect(LatencyBuckets.bucket(0) == 0)
        #expect(LatencyBuckets.bucket(.max) == LatencyBuckets.bounds.count)
    }

    @Test func cumulativeCountsAndSum() {
        var buckets = LatencyBuckets()
        for value: UInt64 in [10, 60_000, 60_000, 3_000_000, 20_000_000_000] { buckets.record(nanoseconds: value) }
        var other = LatencyBuckets()
        other.record(nanoseconds: 40_000)
        buckets.add(other)
        let cumulative = buckets.cumulative
        #expect(cumulative[0] == 2)
        #expect(cumulative[1] == 4)
        #expect(cumulative[6] == 5)
        #expect(cumulative.last == 6)
        #expect(buckets.count == 6)
        #expect(buckets.sumNanoseconds == 20_003_160_010)
    }

    /// Label values are escaped as the exposition format requires; a histogram ends with `+Inf`,
    /// `_sum` (seconds) and `_count`.
    @Test func textFormat() {
        #expect(PrometheusText.labels([("a", #"x"y\z"#), ("b", "line\nbreak")]) == #"{a="x\"y\\z",b="line\nbreak"}"#)
        var buckets = LatencyBuckets()
        buckets.record(nanoseconds: 1_500_000)
        var text = PrometheusText()
        text.family("t_seconds", .histogram, "help")
        text.histogram("t_seconds", [("pool", "p")], buckets)
        let lines = text.text.split(separator: "\n")
        #expect(lines[0] == "# HELP t_seconds help")
        #expect(lines[1] == "# TYPE t_seconds histogram")
        #expect(lines.contains(#"t_seconds_bucket{pool="p",le="0.001"} 0"#))
        #expect(lines.contains(#"t_seconds_bucket{pool="p",le="0.0025"} 1"#))
        #expect(lines.contains(#"t_seconds_bucket{pool="p",le="+Inf"} 1"#))
        #expect(lines.contains(#"t_seconds_sum{pool="p"} 0.0015"#))
        #expect(lines.last == #"t_seconds_count{pool="p"} 1"#)
    }
}
