import Testing

@testable import ShardgateNode

/// What the geo commands propagate and count, as redis-server 7.0.15's AOF shows it: GEOADD as
/// the ZADD it ran (the options as sent, scores as integers), stores as sent, reads nothing.
@Suite struct GeoCommandTests {
    typealias Harness = CommandEffectTests.Harness

    @Test func propagatesAsRedis() throws {
        let harness = Harness()
        harness.execute("GEOADD", "g", "ch", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania")
        harness.execute("GEOADD", "g", "NX", "13.361389", "38.115556", "Palermo")
        harness.execute("GEOADD", "g", "13.361389", "38.115556", "Palermo")
        harness.execute("GEORADIUS", "g", "15", "37", "200", "km", "STORE", "dst")
        harness.execute("GEOSEARCHSTORE", "d2", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "STOREDIST")
        harness.execute("GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km")
        harness.execute("GEORADIUS_RO", "g", "15", "37", "200", "km")
        harness.execute("GEOADD", "g", "200", "10", "bad")
        harness.execute("GEOADD", "g", "180", "85.05112878", "edge")
        harness.execute("GEOSEARCHSTORE", "dst", "missing", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km")
        harness.execute("GEOSEARCHSTORE", "dst", "missing", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km")
        let stream = harness.propagated().filter { $0.first?.lowercased() != "select" }
        #expect(stream == [
            ["zadd", "g", "ch", "3479099956230698", "Palermo", "3479447370796909", "Catania"],
            ["GEORADIUS", "g", "15", "37", "200", "km", "STORE", "dst"],
            ["GEOSEARCHSTORE", "d2", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "STOREDIST"],
            ["zadd", "g", "13510798882111488", "edge"],
            ["GEOSEARCHSTORE", "dst", "missing", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"],
        ])
    }

    @Test func storesCountOneChangePerMember() throws {
        let harness = Harness()
        let add = try #require(harness.effect("GEOADD", "g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"))
        #expect(add.dirty == 2)
        let store = try #require(harness.effect("GEORADIUS", "g", "15", "37", "200", "km", "STOREDIST", "dst"))
        #expect(store.dirty == 2)
        #expect(harness.effect("GEOSEARCH", "g", "FROMMEMBER", "Palermo", "BYBOX", "400", "400", "km") == CommandEffect())
        // A failed argument check changes nothing.
        #expect(harness.effect("GEORADIUS", "g", "15", "37", "200", "km", "STORE", "dst", "WITHDIST") == nil)
    }

    /// The sorts Redis uses: the full one keeps equal distances in the order found (glibc's
    /// merge sort); the partial one (pqsort) orders the first ranks and keeps every match.
    @Test func sortsOrderByDistance() {
        var generator = SystemRandomNumberGenerator()
        for size in [0, 1, 2, 6, 7, 8, 40, 41, 200] {
            let matches = (0..<size).map { index in
                GeoCommands.Match(longitude: 0, latitude: 0, distance: Double(Int.random(in: 0..<(size / 3 + 1), using: &generator)), score: 0, member: Array("\(index)".utf8))
            }
            for descending in [false, true] {
                var full = matches
                GeoCommands.sortByDistance(&full, descending: descending)
                #expect(full.count == size)
                for pair in zip(full, full.dropFirst()) {
                    let ordered = descending ? pair.0.distance >= pair.1.distance : pair.0.distance <= pair.1.distance
                    #expect(ordered)
                    // Stable: equal distances keep the order they were found in.
                    if pair.0.distance == pair.1.distance {
                        #expect(Int(String(decoding: pair.0.member, as: UTF8.self))! < Int(String(decoding: pair.1.member, as: UTF8.self))!)
                    }
                }
                guard size > 1 else { continue }
                let last = Int.random(in: 0..<size, using: &generator)
                var partial = matches
                GeoCommands.partialSortByDistance(&partial, descending: descending, through: last)
                #expect(Set(partial.map(\.member)) == Set(matches.map(\.member)))
                #expect(partial.prefix(last + 1).map(\.distance) == full.prefix(last + 1).map(\.distance))
            }
        }
    }
}
