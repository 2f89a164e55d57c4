import RedisText
import Testing

@testable import ShardgateNode

/// The pure pieces behind the node's hardening: glob matching bounded like Redis 7.0.9+, long
/// double printing of any length, and Redis's memory-value parsing.
@Suite struct HardeningUnitTests {
    func glob(_ pattern: String, _ string: String, noCase: Bool = false) -> Bool {
        GlobMatch.matches(Array(pattern.utf8), Array(string.utf8), noCase: noCase)
    }

    /// CVE-2022-36021: `*a` × 20 + `b` against 60 `a`s explores ~C(60,20) paths without the
    /// skip-longer-matches rule; with it, the answer comes at once.
    @Test(.timeLimit(.minutes(1))) func pathologicalPatternsEndQuickly() {
        let key = String(repeating: "a", count: 60)
        #expect(!glob(String(repeating: "*a", count: 20) + "b", key))
        #expect(!glob(String(repeating: "*a", count: 40) + "b", String(repeating: "a", count: 200)))
        #expect(glob(String(repeating: "*a", count: 20), key))
        // Deep nesting is capped instead of recursing once per star.
        #expect(!glob(String(repeating: "a*", count: 5000) + "b", String(repeating: "a", count: 6000)))
    }

    /// Redis's `stringmatchlen` edge cases.
    @Test func matchesLikeStringmatchlen() {
        #expect(glob("h?llo", "hello"))
        #expect(glob("h[ae]llo", "hallo"))
        #expect(!glob("h[^e]llo", "hello"))
        #expect(glob("h[a-b]llo", "hbllo"))
        #expect(glob("h[b-a]llo", "hallo"))
        #expect(glob("H[A-Z]LLO", "hello", noCase: true))
        #expect(glob("a\\*", "a*"))
        #expect(!glob("a\\*", "ab"))
        #expect(glob("a*", "a"))
        // An empty string matches no pattern, not even `*` (the loop never starts).
        #expect(!glob("*", ""))
        #expect(!glob("**", ""))
        #expect(glob("", ""))
        // Bytes above 0x7f compare as signed C chars in ranges: [a-\xff] is [\xff-a].
        #expect(!GlobMatch.matches([0x5b, 0x61, 0x2d, 0xff, 0x5d], [0x62]))
        #expect(GlobMatch.matches([0x5b, 0x61, 0x2d, 0xff, 0x5d], [0x30]))
    }

    /// INCRBYFLOAT's `%.17Lf` printing needs as many digits as the value has: 1e200 is 201.
    @Test func longDoublesPrintInFull() {
        func parsed(_ text: String) -> Float80 { Array(text.utf8).withUnsafeBytes { RedisNumber.parseLongDouble($0)! } }
        // What redis-server 7.0.15 prints on x86-64 (1e200 is not exact in a long double).
        let text = DoubleFormat.incrByFloat(parsed("1e200"))
        #expect(text.count == 201)
        #expect(text.hasPrefix("10000000000000000000245858653416102566150806804005"))
        #expect(text.hasSuffix("9081145212928"))
        #expect(DoubleFormat.incrByFloat(parsed("1e118")).hasPrefix("99999999999999999997525471538788306"))
        #expect(DoubleFormat.incrByFloat(parsed("-0.0")) == "0")
        #expect(DoubleFormat.incrByFloat(parsed("1.5")) == "1.5")
        let huge = DoubleFormat.incrByFloat(parsed("1e4000"))
        #expect(huge.count == 4000 && huge.hasPrefix("999999999999999999996546387309"))
    }

    /// `memtoull`: units, saturation of the digits, wrap-around of the product, and refusals.
    @Test func memoryValuesParseLikeMemtoull() {
        #expect(NodeSettings.parseMemory("9223372036854775807gb") == UInt64(9_223_372_036_854_775_807) &* (1 << 30))
        #expect(NodeSettings.parseMemory("99999999999999999999999") == UInt64.max)
        #expect(NodeSettings.parseMemory("1KB") == 1024)
        #expect(NodeSettings.parseMemory("") == 0)
        #expect(NodeSettings.parseMemory("+1") == nil)
        #expect(NodeSettings.parseMemory(" 1") == nil)
        #expect(NodeSettings.parseMemory("1.5gb") == nil)
        #expect(NodeSettings.parseMemory("1tb") == nil)
    }

    /// `repl-backlog-size` may be set to Int64.max: the backlog grows with the stream instead of
    /// allocating its capacity up front, and still wraps around correctly once full.
    @Test func backlogGrowsWithTheStream() {
        var huge = ReplicationBacklog(capacity: Int.max, endOffset: 100)
        let data: [UInt8] = Array(0..<10)
        data.withUnsafeBytes { huge.append($0) }
        #expect(huge.endOffset == 110)
        #expect(huge.bytes(from: 101) == data)
        #expect(huge.bytes(from: 106) == Array(data[5...]))
        #expect(!huge.canServe(from: 100))

        var ring = ReplicationBacklog(capacity: 16 * 1024, endOffset: 7)
        var stream: [UInt8] = []
        for piece in 0..<50 {
            let bytes = (0..<997).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ piece) }
            stream += bytes
            bytes.withUnsafeBytes { ring.append($0) }
        }
        #expect(ring.endOffset == 7 + stream.count)
        #expect(ring.firstOffset == ring.endOffset - 16 * 1024 + 1)
        #expect(ring.bytes(from: ring.firstOffset) == Array(stream.suffix(16 * 1024)))
        #expect(ring.bytes(from: ring.endOffset - 99) == Array(stream.suffix(100)))
        // One write larger than the whole backlog keeps its last `capacity` bytes.
        let big = (0..<40_000).map { UInt8(truncatingIfNeeded: $0) }
        big.withUnsafeBytes { ring.append($0) }
        #expect(ring.bytes(from: ring.firstOffset) == Array(big.suffix(16 * 1024)))
    }
}
