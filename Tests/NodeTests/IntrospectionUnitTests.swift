import Testing

@testable import ShardgateNode

@Suite struct IntrospectionUnitTests {
    @Test(arguments: [
        ("", ""), ("KEA", "AKE"), ("AKE", "AKE"), ("gK", "gK"), ("Ex$lshz", "$lshzxE"), ("KEg$lshzxetd", "AKE"),
        ("KEAn", "AKE"), ("nE", "nE"), ("Km", "Km"), ("m", "m"), ("g$lshzxetdn", "A"),
    ])
    func keyspaceEventFlagsHaveRedisCanonicalForm(input: String, canonical: String) throws {
        let flags = try #require(KeyspaceEvents(parsing: input))
        #expect(flags.canonical == canonical)
    }

    @Test func unknownEventLetterIsRefused() {
        #expect(KeyspaceEvents(parsing: "KEQ") == nil)
        #expect(KeyspaceEvents(parsing: "a") == nil)
    }

    @Test func histogramBucketsFollowHdrHistogramsLogIteration() {
        // 1024 ns, then doubling, each reported as its highest equivalent value in µs.
        #expect((0..<8).map { LatencyHistogram.upperBound($0) / 1000 } == [1, 2, 4, 8, 16, 33, 66, 132])
        var histogram = LatencyHistogram()
        for micros in [1, 3, 3, 7, 100] { histogram.record(nanoseconds: Int64(micros) * 1000) }
        #expect(histogram.total == 5)
        #expect(histogram.cumulative.map(\.0) == [1, 4, 8, 132])
        #expect(histogram.cumulative.map(\.1) == [1, 3, 4, 5])
        #expect(histogram.value(atPercentile: 50) == 4.127)
        #expect(histogram.value(atPercentile: 100) == 132.095)
    }

    @Test func percentileNamesAndValuesPrintAsInRedis() {
        #expect(Node.formatPercentile(50) == "50")
        #expect(Node.formatPercentile(99.9) == "99.9")
        #expect(Node.threeDecimals(3.007) == "3.007")
        #expect(Node.threeDecimals(12) == "12.000")
    }
}
