import Testing

@testable import ShardgateNode

/// The pure geo math against vectors read from redis-server 7.0.15 (GEOADD then ZSCORE, GEOPOS,
/// GEOHASH, GEODIST; ZADD of odd scores then GEOPOS).
@Suite struct GeohashTests {
    struct Vector: Sendable {
        var longitude: Double
        var latitude: Double
        var score: UInt64
        var position: (String, String)
        var hash: String
    }

    static let vectors: [Vector] = [
        Vector(longitude: -180, latitude: -85.05112878, score: 0,
               position: ("-179.99999731779098511", "-85.05112751263942528"), hash: "00bh0hbj200"),
        Vector(longitude: 180, latitude: -85.05112878, score: 9_007_199_254_740_992,
               position: ("180", "-85.05112751263942528"), hash: "00bh0hbj200"),
        Vector(longitude: -180, latitude: 85.05112878, score: 4_503_599_627_370_496,
               position: ("-179.99999731779098511", "85.0511287799999991"), hash: "bp05b5048p0"),
        Vector(longitude: 180, latitude: 85.05112878, score: 13_510_798_882_111_488,
               position: ("180", "85.0511287799999991"), hash: "bp05b5048p0"),
        Vector(longitude: 0, latitude: 0, score: 3_377_699_720_527_872,
               position: ("0.00000268220901489", "0.00000126736058093"), hash: "s0000000000"),
        Vector(longitude: -0.1275, latitude: 51.507222, score: 2_163_557_714_840_001,
               position: ("-0.1274988055229187", "51.50722081469902491"), hash: "gcpvj0e5m10"),
        Vector(longitude: -122.4194, latitude: 37.7749, score: 1_367_859_919_124_626,
               position: ("-122.41940170526504517", "37.77490001056577995"), hash: "9q8yyk8ytp0"),
        Vector(longitude: 151.2093, latitude: -33.8688, score: 3_252_046_221_964_352,
               position: ("151.20929986238479614", "-33.86880091934155956"), hash: "r3gx2f77bj0"),
        Vector(longitude: 13.361389, latitude: 38.115556, score: 3_479_099_956_230_698,
               position: ("13.36138933897018433", "38.11555639549629859"), hash: "sqc8b49rny0"),
    ]

    static func human(_ value: Double) -> String { DoubleFormat.incrByFloat(Float80(value)) }

    @Test(arguments: vectors)
    func encodesDecodesAndHashesAsRedis(vector: Vector) throws {
        #expect(Geohash.score(longitude: vector.longitude, latitude: vector.latitude) == vector.score)
        let position = try #require(Geohash.position(score: Double(vector.score)))
        #expect(Self.human(position.longitude) == vector.position.0)
        #expect(Self.human(position.latitude) == vector.position.1)
        #expect(String(decoding: Geohash.standardString(longitude: position.longitude, latitude: position.latitude), as: UTF8.self) == vector.hash)
    }

    @Test func refusesPositionsOutsideTheLimits() {
        #expect(Geohash.score(longitude: 180.0000001, latitude: 0) == nil)
        #expect(Geohash.score(longitude: 0, latitude: 85.05112879) == nil)
        #expect(Geohash.score(longitude: -180.0000001, latitude: 0) == nil)
        #expect(Geohash.score(longitude: 0, latitude: -85.0511288) == nil)
    }

    /// Scores no GEOADD makes (ZADD put them there) decode as Redis's `(uint64_t)` cast makes them.
    @Test func decodesOddScoresAsRedis() throws {
        let cases: [(Double, String, String)] = [
            (-5, "180", "85.0511287799999991"),
            (1e30, "-179.99999731779098511", "-85.05112751263942528"),
            (.infinity, "-179.99999731779098511", "-85.05112751263942528"),
            (-.infinity, "180", "-85.05112751263942528"),
            (4_503_599_627_370_496, "-179.99999731779098511", "85.0511287799999991"),
            (9.3e18, "180", "85.0511287799999991"),
        ]
        for (score, longitude, latitude) in cases {
            let position = try #require(Geohash.position(score: score))
            #expect(Self.human(position.longitude) == longitude, "score \(score)")
            #expect(Self.human(position.latitude) == latitude, "score \(score)")
        }
    }

    @Test func distancesAsGeodistPrintsThem() throws {
        func distance(_ a: Vector, _ b: Vector, _ toMeters: Double) throws -> String {
            let p = try #require(Geohash.position(score: Double(a.score)))
            let q = try #require(Geohash.position(score: Double(b.score)))
            return Geohash.formatDistance(Geohash.distance(p.longitude, p.latitude, q.longitude, q.latitude) / toMeters)
        }
        let v = Self.vectors
        #expect(try distance(v[5], v[7], 1000) == "16998.7199")
        #expect(try distance(v[6], v[7], 1609.34) == "7426.0451")
        #expect(try distance(v[4], v[5], 0.3048) == "18795833.3387")
        #expect(try distance(v[0], v[1], 1) == "0.0257")
        #expect(try distance(v[2], v[1], 1) == "18919844.5891")
        #expect(Geohash.formatDistance(0) == "0.0000")
        #expect(Geohash.formatDistance(0.00004) == "0.0000")
        #expect(Geohash.formatDistance(1.23456) == "1.2346")
        #expect(Geohash.formatDistance(0.0123) == "0.0123")
        #expect(Geohash.formatDistance(12.5) == "12.5000")
    }

    @Test func neighboursWrapAroundWithinTheirStep() {
        let hash = Geohash.Bits(bits: 0, step: 2)
        let neighbours = Geohash.Neighbours(of: hash)
        // Step 2: latitude on bits 0 and 2, longitude on bits 1 and 3.
        #expect(neighbours.north == Geohash.Bits(bits: 0b0001, step: 2))
        #expect(neighbours.east == Geohash.Bits(bits: 0b0010, step: 2))
        #expect(neighbours.south == Geohash.Bits(bits: 0b0101, step: 2))
        #expect(neighbours.west == Geohash.Bits(bits: 0b1010, step: 2))
        #expect(neighbours.southWest == Geohash.Bits(bits: 0b1111, step: 2))
        for bits in [UInt64(0x5A5A5), 0x12345, 0xFFFFF] {
            let cell = Geohash.Bits(bits: bits, step: 10)
            let around = Geohash.Neighbours(of: cell)
            #expect(Geohash.movedInLongitude(around.east, -1) == cell)
            #expect(Geohash.movedInLatitude(around.north, -1) == cell)
            #expect(Geohash.movedInLatitude(around.southWest, 1) == around.west)
        }
    }

    @Test func interleavingRoundTrips() {
        for (latitude, longitude) in [(UInt32(0), UInt32(0)), (1, 0), (0, 1), (0x3FF_FFFF, 0x2AA_AAAA), (UInt32.max, 12345)] {
            let bits = Geohash.interleave(latitude: latitude, longitude: longitude)
            #expect(Geohash.deinterleave(bits) == (latitude, longitude))
        }
        #expect(Geohash.interleave(latitude: 1, longitude: 0) == 1)
        #expect(Geohash.interleave(latitude: 0, longitude: 1) == 2)
    }

    @Test func stepEstimateAndSearchCells() {
        #expect(Geohash.estimatedStep(radiusMeters: 0, latitude: 0) == 26)
        #expect(Geohash.estimatedStep(radiusMeters: 1000, latitude: 0) == 14)
        #expect(Geohash.estimatedStep(radiusMeters: 1000, latitude: 70) == 13)
        #expect(Geohash.estimatedStep(radiusMeters: 1000, latitude: -81) == 12)
        #expect(Geohash.estimatedStep(radiusMeters: .infinity, latitude: 0) == 1)
        let shape = Geohash.Shape(longitude: 15, latitude: 37, kind: .radius(200), toMeters: 1000)
        let cells = Geohash.searchCells(shape)
        #expect(cells.count == 9)
        // The centre's cell comes first and holds the centre.
        let centre = Geohash.decode(cells[0])!
        #expect(centre.longitude.min <= 15 && centre.longitude.max >= 15)
        #expect(centre.latitude.min <= 37 && centre.latitude.max >= 37)
        // Palermo and Catania (both within 200 km of 15,37) are inside some scanned range.
        for score in [3_479_099_956_230_698.0, 3_479_447_370_796_909.0] {
            #expect(Geohash.scoreRanges(shape).contains { score >= $0.min && score < $0.max })
        }
    }
}
