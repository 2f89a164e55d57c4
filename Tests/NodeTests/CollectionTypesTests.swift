import Testing

@testable import ShardgateNode

/// The collection encodings: order, ranks and ranges against a plain model, one-way conversions at
/// Redis's thresholds, SCAN completeness while a table grows.
@Suite struct CollectionTypesTests {
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state ^ (state >> 29)
        }
    }

    static func sortedModel(_ model: [String: Double]) -> [(String, Double)] {
        model.sorted { a, b in a.value != b.value ? a.value < b.value : Array(a.key.utf8).lexicographicallyPrecedes(Array(b.key.utf8)) }
            .map { ($0.key, $0.value) }
    }

    @Test func listpackEntriesRoundTrip() {
        var pack = Listpack()
        let long = [UInt8](repeating: 7, count: 300)
        pack.append(Self.bytes("a"))
        pack.append(long)
        pack.append([])
        #expect(pack.count == 3)
        let offsets = pack.offsets()
        #expect(pack.element(at: offsets[0]) == Self.bytes("a"))
        #expect(pack.element(at: offsets[1]) == long)
        #expect(pack.element(at: offsets[2]).isEmpty)
        pack.remove(at: offsets[1], entries: 1)
        #expect(pack.count == 2)
        #expect(pack.element(at: pack.next(0)).isEmpty)
    }

    @Test(arguments: [false, true])
    func sortedSetMatchesModel(large: Bool) {
        var settings = NodeSettings()
        if large { settings.zsetMaxListpackEntries = 0 }
        let set = SortedSetObject(firstMemberLength: 1, settings: settings)
        var model: [String: Double] = [:]
        var generator = Generator(state: large ? 7 : 9)
        for step in 0..<(large ? 5000 : 400) {
            let member = "m\(Int.random(in: 0..<(large ? 800 : 100), using: &generator))"
            let score = Double(Int.random(in: 0..<40, using: &generator))
            let current = Self.bytes(member).withUnsafeBytes { set.score($0) }
            Self.bytes(member).withUnsafeBytes { key in
                if step % 3 == 0 {
                    #expect(set.remove(key) == (model.removeValue(forKey: member) != nil))
                } else if let current {
                    set.update(key, from: current, to: score)
                    model[member] = score
                } else {
                    set.insert(key, score: score, settings: settings)
                    model[member] = score
                }
            }
        }
        if !large { #expect(set.encodingName == "listpack") } else { #expect(set.encodingName == "skiplist") }
        let expected = Self.sortedModel(model)
        #expect(set.count == expected.count)
        #expect(set.entries.map { String(decoding: $0.0, as: UTF8.self) } == expected.map(\.0))
        let scores: [Double] = set.entries.map { $0.1 }
        #expect(scores == expected.map { $0.1 })
        for (rank, (member, _)) in expected.enumerated() where rank % 7 == 0 {
            #expect(Self.bytes(member).withUnsafeBytes { set.rank($0) } == rank)
            #expect(String(decoding: set.entry(atRank: rank).0, as: UTF8.self) == member)
        }
        var reversed: [String] = []
        set.forEach(ranks: 3..<(expected.count - 2), reverse: true) { member, _ in reversed.append(String(decoding: member, as: UTF8.self)) }
        #expect(reversed == expected[3..<(expected.count - 2)].reversed().map(\.0))
        let inRange = set.lowerBound { score, _ in score < 10 }..<set.lowerBound { score, _ in score <= 20 }
        #expect(inRange.count == expected.filter { $0.1 >= 10 && $0.1 <= 20 }.count)
        let removed = set.removeRanks(inRange)
        #expect(removed == inRange.count)
        let remaining: [Double] = set.entries.map { $0.1 }
        let kept: [Double] = expected.map { $0.1 }.filter { $0 < 10 || $0 > 20 }
        #expect(remaining == kept)
    }

    @Test func scoreIndexKeepsRanksThroughSplitsAndMerges() {
        var index = ScoreIndex()
        var model: [(Double, [UInt8])] = []
        var generator = Generator(state: 3)
        for step in 0..<20_000 {
            if step % 4 == 3, !model.isEmpty {
                let victim = model.remove(at: Int.random(in: 0..<model.count, using: &generator))
                victim.1.withUnsafeBytes { index.remove(score: victim.0, member: $0) }
            } else {
                let item = (Double(Int.random(in: 0..<1000, using: &generator)), Self.bytes("x\(step)"))
                index.insert(score: item.0, member: item.1)
                model.append(item)
            }
        }
        model.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1.lexicographicallyPrecedes($1.1) }
        #expect(index.count == model.count)
        for rank in Swift.stride(from: 0, to: model.count, by: 97) {
            #expect(index.item(atRank: rank).member == model[rank].1)
            #expect(model[rank].1.withUnsafeBytes { index.rank(score: model[rank].0, member: $0) } == rank)
        }
        let removed = index.removeRanks(100..<5000)
        #expect(removed.map(\.member) == model[100..<5000].map(\.1))
        #expect(index.item(atRank: 100).member == model[5000].1)
    }

    @Test func sortedSetConvertsOnceAtThresholds() {
        var settings = NodeSettings()
        settings.zsetMaxListpackEntries = 4
        settings.zsetMaxListpackValue = 5
        let set = SortedSetObject(firstMemberLength: 1, settings: settings)
        for index in 0..<4 { Self.bytes("m\(index)").withUnsafeBytes { set.insert($0, score: Double(index), settings: settings) } }
        #expect(set.encodingName == "listpack")
        Self.bytes("m4").withUnsafeBytes { set.insert($0, score: 4, settings: settings) }
        #expect(set.encodingName == "skiplist")
        for index in 0..<4 { _ = Self.bytes("m\(index)").withUnsafeBytes { set.remove($0) } }
        #expect(set.encodingName == "skiplist")
        let long = SortedSetObject(entries: [(Self.bytes("toolong"), 1)], settings: settings)
        #expect(long.encodingName == "skiplist")
        let rebuilt = SortedSetObject(entries: [(Self.bytes("b"), 2), (Self.bytes("a"), 2), (Self.bytes("c"), -0.0)], settings: settings)
        #expect(rebuilt.encodingName == "listpack")
        #expect(rebuilt.entries.map { String(decoding: $0.0, as: UTF8.self) } == ["c", "a", "b"])
    }

    @Test func hashKeepsInsertionOrderThenConverts() {
        var settings = NodeSettings()
        settings.hashMaxListpackEntries = 3
        let hash = HashObject(pairs: [("b", "1"), ("a", "2"), ("b", "3")].map { (Self.bytes($0.0), Self.bytes($0.1)) }, settings: settings)
        #expect(hash.encodingName == "listpack")
        #expect(hash.pairs.map { String(decoding: $0.0, as: UTF8.self) + "=" + String(decoding: $0.1, as: UTF8.self) } == ["b=3", "a=2"])
        Self.bytes("c").withUnsafeBytes { f in Self.bytes("4").withUnsafeBytes { _ = hash.set(f, $0, settings: settings) } }
        #expect(hash.encodingName == "listpack")
        Self.bytes("d").withUnsafeBytes { f in Self.bytes("5").withUnsafeBytes { _ = hash.set(f, $0, settings: settings) } }
        #expect(hash.encodingName == "hashtable")
        #expect(hash.count == 4)
        #expect(Self.bytes("a").withUnsafeBytes { hash.value($0) } == Self.bytes("2"))
        let long = [UInt8](repeating: 65, count: 65)
        let other = HashObject(pairs: [(Self.bytes("f"), long)], settings: NodeSettings())
        #expect(other.encodingName == "hashtable")
    }

    @Test func setIsAnIntsetOnlyForCanonicalIntegers() {
        var settings = NodeSettings()
        settings.setMaxIntsetEntries = 3
        let set = SetObject(members: ["3", "-1", "2"].map(Self.bytes), settings: settings)
        #expect(set.encodingName == "intset")
        #expect(set.members.map { String(decoding: $0, as: UTF8.self) } == ["-1", "2", "3"])
        #expect(Self.bytes("02").withUnsafeBytes { set.contains($0) } == false)
        #expect(SetObject(members: ["1", "01"].map(Self.bytes), settings: settings).encodingName == "hashtable")
        Self.bytes("4").withUnsafeBytes { _ = set.add($0, maxIntset: settings.setMaxIntsetEntries) }
        #expect(set.encodingName == "hashtable")
        #expect(Set(set.members) == Set(["-1", "2", "3", "4"].map(Self.bytes)))
    }

    @Test func scanSeesEveryMemberPresentThroughoutWhileTheTableGrows() {
        let set = SetObject(members: (0..<50).map { Self.bytes("s\($0)") }, settings: NodeSettings())
        var seen = Set<[UInt8]>()
        var cursor: UInt64 = 0
        var added = 0
        repeat {
            cursor = set.scan(cursor: cursor) { seen.insert(Array($0)) }
            // Grow (several resizes) during the first steps only, so the scan can finish.
            for _ in 0..<(added < 2000 ? 40 : 0) {
                Self.bytes("new\(added)").withUnsafeBytes { _ = set.add($0, maxIntset: 512) }
                added += 1
            }
        } while cursor != 0
        #expect(set.count == 50 + added)
        for index in 0..<50 { #expect(seen.contains(Self.bytes("s\(index)"))) }
        let small = SetObject(members: [Self.bytes("5")], settings: NodeSettings())
        var once: [[UInt8]] = []
        #expect(small.scan(cursor: 0) { once.append(Array($0)) } == 0)
        #expect(once == [Self.bytes("5")])
    }
}
