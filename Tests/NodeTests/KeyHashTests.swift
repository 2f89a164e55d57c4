import Testing

@testable import ShardgateNode

/// The keyspace's key hash (`KeyHash`): keys the benchmark and real apps use (a prefix and a
/// number) spread evenly over the buckets, and near-identical keys differ.
@Suite struct KeyHashTests {
    private func hash(_ text: String) -> UInt32 { Array(text.utf8).withUnsafeBytes { KeyHash.hash($0) } }

    @Test func sequentialKeysSpreadEvenly() {
        let buckets = 1 << 16
        var load = [Int](repeating: 0, count: buckets)
        let keys = 1 << 18
        for index in 0..<keys { load[Int(hash("key:\(index)")) & (buckets - 1)] += 1 }
        // Four keys a bucket on average: a uniform hash puts at most ~17 in the fullest (Poisson
        // tail at 2^16 buckets) and leaves about 1.8% of buckets empty.
        #expect(load.max()! <= 20)
        let empty = load.filter { $0 == 0 }.count
        #expect(empty > buckets / 100 && empty < buckets * 3 / 100)
    }

    @Test func nearIdenticalKeysDiffer() {
        let keys = ["", "a", "a\0", "\0", "\0\0", "abcdefgh", "abcdefgh\0", "abcdefghi", "bbcdefgh", "abcdefgi",
                    "key:000000012345", "key:000000012346", "key:100000012345"]
        #expect(Set(keys.map(hash)).count == keys.count)
        // Every byte position of a 16-byte key matters in the high bits too (the bucket is the low bits).
        let base = Array("key:000000012345".utf8)
        for position in base.indices {
            var changed = base
            changed[position] ^= 1
            let a = base.withUnsafeBytes { KeyHash.hash($0) }, b = changed.withUnsafeBytes { KeyHash.hash($0) }
            #expect((a ^ b) & 0xFFFF != 0 && (a ^ b) >> 16 != 0, "byte \(position)")
        }
    }

    @Test func hashIsStableWithinTheProcess() {
        #expect(hash("bench:hll") == hash("bench:hll"))
    }
}
