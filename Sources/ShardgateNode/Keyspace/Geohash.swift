#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// The geo math of Redis 7.0 (geohash.c, geohash_helper.c), reproduced operation for operation so
/// scores, decoded positions, search boxes and distances come out bit for bit as redis-server's:
/// a position is a 52-bit interleaved geohash (26 steps of latitude and longitude bits) inside
/// Redis's Web Mercator limits, a search is nine neighbouring boxes of one step, and distances
/// are haversine on Redis's earth radius. No I/O and no keyspace here.
enum Geohash {
    static let longitudeLimit = 180.0
    static let latitudeLimit = 85.05112878
    /// 26 bits per coordinate: 52-bit scores, exact in a double.
    static let maxStep: UInt8 = 26
    /// Redis's quadratic mean radius of WGS-84, in meters.
    static let earthRadius = 6372797.560856
    static let mercatorMax = 20037726.37
    /// `M_PI / 180.0`, as the degrees/radians conversions of geohash_helper.c use it.
    static let degreesToRadians = Double.pi / 180.0

    /// A geohash of `step` bits per coordinate; latitude bits at even positions, longitude at odd.
    struct Bits: Equatable {
        var bits: UInt64
        var step: UInt8
        static let zero = Bits(bits: 0, step: 0)
        var isZero: Bool { bits == 0 && step == 0 }
    }

    struct Interval: Equatable {
        var min: Double
        var max: Double
        var isZero: Bool { min == 0 && max == 0 }
    }

    /// A geohash cell and the coordinates it spans.
    struct Area: Equatable {
        var hash: Bits
        var longitude: Interval
        var latitude: Interval
    }

    static let longitudes = Interval(min: -longitudeLimit, max: longitudeLimit)
    static let latitudes = Interval(min: -latitudeLimit, max: latitudeLimit)
    /// The usual geohash ranges GEOHASH re-encodes into (standard 11-character strings).
    static let standardLatitudes = Interval(min: -90, max: 90)

    // MARK: - Bit interleaving

    /// Spreads the 32 bits of `value` to the even bit positions of a 64-bit word.
    @inline(__always)
    static func spread(_ value: UInt32) -> UInt64 {
        var word = UInt64(value)
        word = (word | (word << 16)) & 0x0000_FFFF_0000_FFFF
        word = (word | (word << 8)) & 0x00FF_00FF_00FF_00FF
        word = (word | (word << 4)) & 0x0F0F_0F0F_0F0F_0F0F
        word = (word | (word << 2)) & 0x3333_3333_3333_3333
        word = (word | (word << 1)) & 0x5555_5555_5555_5555
        return word
    }

    /// Gathers the even bit positions of `word` into 32 bits (the inverse of `spread`).
    @inline(__always)
    static func gather(_ word: UInt64) -> UInt32 {
        var value = word & 0x5555_5555_5555_5555
        value = (value | (value >> 1)) & 0x3333_3333_3333_3333
        value = (value | (value >> 2)) & 0x0F0F_0F0F_0F0F_0F0F
        value = (value | (value >> 4)) & 0x00FF_00FF_00FF_00FF
        value = (value | (value >> 8)) & 0x0000_FFFF_0000_FFFF
        value = (value | (value >> 16)) & 0x0000_0000_FFFF_FFFF
        return UInt32(value)
    }

    /// Latitude cell index on even bits, longitude cell index on odd bits.
    static func interleave(latitude: UInt32, longitude: UInt32) -> UInt64 {
        spread(latitude) | (spread(longitude) << 1)
    }

    static func deinterleave(_ bits: UInt64) -> (latitude: UInt32, longitude: UInt32) {
        (gather(bits), gather(bits >> 1))
    }

    // MARK: - Encoding and decoding

    /// The cell of `step` bits holding the position in the given ranges; nil outside Redis's
    /// limits or the ranges (a position exactly on the upper limit gets the index 2^step, one
    /// past the last cell, as in Redis).
    static func encode(
        longitude: Double, latitude: Double, step: UInt8,
        longitudes: Interval = longitudes, latitudes: Interval = latitudes
    ) -> Bits? {
        guard step > 0, step <= 32, !longitudes.isZero, !latitudes.isZero else { return nil }
        guard longitude <= longitudeLimit, longitude >= -longitudeLimit,
            latitude <= latitudeLimit, latitude >= -latitudeLimit
        else { return nil }
        guard latitude >= latitudes.min, latitude <= latitudes.max,
            longitude >= longitudes.min, longitude <= longitudes.max
        else { return nil }
        let cells = Double(UInt64(1) << step)
        let latitudeOffset = (latitude - latitudes.min) / (latitudes.max - latitudes.min) * cells
        let longitudeOffset = (longitude - longitudes.min) / (longitudes.max - longitudes.min) * cells
        return Bits(bits: interleave(latitude: UInt32(latitudeOffset), longitude: UInt32(longitudeOffset)), step: step)
    }

    /// The coordinates a cell spans.
    static func decode(_ hash: Bits, longitudes: Interval = longitudes, latitudes: Interval = latitudes) -> Area? {
        guard !hash.isZero, !longitudes.isZero, !latitudes.isZero else { return nil }
        let (latitudeIndex, longitudeIndex) = deinterleave(hash.bits)
        let cells = Double(UInt64(1) << hash.step)
        let latitudeScale = latitudes.max - latitudes.min
        let longitudeScale = longitudes.max - longitudes.min
        // The index after the last wraps around in 32 bits, as Redis's `uint32_t + 1` does.
        return Area(
            hash: hash,
            longitude: Interval(
                min: longitudes.min + (Double(longitudeIndex) * 1.0 / cells) * longitudeScale,
                max: longitudes.min + (Double(longitudeIndex &+ 1) * 1.0 / cells) * longitudeScale),
            latitude: Interval(
                min: latitudes.min + (Double(latitudeIndex) * 1.0 / cells) * latitudeScale,
                max: latitudes.min + (Double(latitudeIndex &+ 1) * 1.0 / cells) * latitudeScale))
    }

    /// The centre of a cell, clamped to Redis's limits: (longitude, latitude).
    static func centre(of area: Area) -> (longitude: Double, latitude: Double) {
        var longitude = (area.longitude.min + area.longitude.max) / 2
        longitude = Swift.min(Swift.max(longitude, -longitudeLimit), longitudeLimit)
        var latitude = (area.latitude.min + area.latitude.max) / 2
        latitude = Swift.min(Swift.max(latitude, -latitudeLimit), latitudeLimit)
        return (longitude, latitude)
    }

    /// The 52-bit sorted-set score of a position (GEOADD), nil outside the limits.
    static func score(longitude: Double, latitude: Double) -> UInt64? {
        encode(longitude: longitude, latitude: latitude, step: maxStep).map(align52)
    }

    /// The position a sorted-set score stands for: the centre of its cell (GEOPOS, searches).
    static func position(score: Double) -> (longitude: Double, latitude: Double)? {
        decode(Bits(bits: cUInt64(score), step: maxStep)).map(centre)
    }

    /// C's `(uint64_t)double` as gcc compiles it for x86-64 (a geo command reading a score that
    /// ZADD made negative, huge or infinite sees the same garbage as Redis): below 2^63 a signed
    /// truncation, where NaN and out-of-range give 0x8000000000000000; from 2^63 on, the
    /// truncation of the value less 2^63 with the top bit flipped.
    static func cUInt64(_ value: Double) -> UInt64 {
        let twoTo63 = 9_223_372_036_854_775_808.0
        func truncate(_ value: Double) -> UInt64 {
            guard value >= -twoTo63, value < twoTo63 else { return 1 << 63 }
            return UInt64(bitPattern: Int64(value))
        }
        if !(value >= twoTo63) { return truncate(value) }
        return truncate(value - twoTo63) ^ (1 << 63)
    }

    /// The 11-character geohash string GEOHASH replies: the position re-encoded in the usual
    /// ±90 latitude range, the eleventh character always '0' (only 52 bits exist).
    static func standardString(longitude: Double, latitude: Double) -> [UInt8] {
        let alphabet = Array("0123456789bcdefghjkmnpqrstuvwxyz".utf8)
        let bits = encode(longitude: longitude, latitude: latitude, step: maxStep, latitudes: standardLatitudes)?.bits ?? 0
        var text: [UInt8] = []
        text.reserveCapacity(11)
        for index in 0..<11 {
            let digit = index == 10 ? 0 : Int((bits >> UInt64(52 - (index + 1) * 5)) & 0x1F)
            text.append(alphabet[digit])
        }
        return text
    }

    /// A hash shifted to fill 52 bits (the sorted-set score of its first position).
    static func align52(_ hash: Bits) -> UInt64 {
        hash.bits << UInt64(52 - Int(hash.step) * 2)
    }

    /// The score range [min, max) of the members inside a cell.
    static func scoreRange(of hash: Bits) -> (min: UInt64, max: UInt64) {
        (align52(hash), align52(Bits(bits: hash.bits &+ 1, step: hash.step)))
    }

    // MARK: - Neighbours

    /// Moves a hash one cell east (+1) or west (-1), wrapping around within its step.
    static func movedInLongitude(_ hash: Bits, _ direction: Int) -> Bits {
        moved(hash, direction, moving: 0xAAAA_AAAA_AAAA_AAAA)
    }

    /// Moves a hash one cell north (+1) or south (-1), wrapping around within its step.
    static func movedInLatitude(_ hash: Bits, _ direction: Int) -> Bits {
        moved(hash, direction, moving: 0x5555_5555_5555_5555)
    }

    /// Adds ±1 to the coordinate on the `moving` bit positions: the other positions are filled
    /// with ones so a carry (or borrow) runs through them, then cleared again.
    private static func moved(_ hash: Bits, _ direction: Int, moving: UInt64) -> Bits {
        guard direction != 0 else { return hash }
        let kept = ~moving
        let width = UInt64(64 - Int(hash.step) * 2)
        var coordinate = hash.bits & moving
        let gaps = kept >> width
        if direction > 0 {
            coordinate = coordinate &+ (gaps &+ 1)
        } else {
            coordinate = (coordinate | gaps) &- (gaps &+ 1)
        }
        coordinate &= moving >> width
        return Bits(bits: coordinate | (hash.bits & kept), step: hash.step)
    }

    /// The eight cells around a hash, in the order Redis searches them after the cell itself.
    struct Neighbours: Equatable {
        var north, south, east, west, northEast, northWest, southEast, southWest: Bits

        init(of hash: Bits) {
            north = movedInLatitude(hash, 1)
            south = movedInLatitude(hash, -1)
            east = movedInLongitude(hash, 1)
            west = movedInLongitude(hash, -1)
            northEast = movedInLatitude(movedInLongitude(hash, 1), 1)
            northWest = movedInLatitude(movedInLongitude(hash, -1), 1)
            southEast = movedInLatitude(movedInLongitude(hash, 1), -1)
            southWest = movedInLatitude(movedInLongitude(hash, -1), -1)
        }
    }

    // MARK: - Search areas

    /// What GEOSEARCH looks for: a circle or an axis-aligned box around a centre, in a unit
    /// `toMeters` meters long.
    struct Shape: Equatable {
        enum Kind: Equatable {
            case radius(Double)
            case box(width: Double, height: Double)
        }

        var longitude: Double
        var latitude: Double
        var kind: Kind
        var toMeters: Double

        /// The extent in meters from the centre the step estimate covers (to a box's corner).
        var radiusMeters: Double {
            switch kind {
            case .radius(let radius): radius * toMeters
            case .box(let width, let height): (((width / 2) * (width / 2) + (height / 2) * (height / 2)).squareRoot()) * toMeters
            }
        }

        /// (min longitude, min latitude, max longitude, max latitude) around the centre; the
        /// longitudes widen on the side nearer a pole.
        var boundingBox: (minLongitude: Double, minLatitude: Double, maxLongitude: Double, maxLatitude: Double) {
            let halfHeight: Double
            let halfWidth: Double
            switch kind {
            case .radius(let radius): (halfHeight, halfWidth) = (toMeters * radius, toMeters * radius)
            case .box(let width, let height): (halfHeight, halfWidth) = (toMeters * (height / 2), toMeters * (width / 2))
            }
            let latitudeDelta = (halfHeight / earthRadius) / degreesToRadians
            let longitudeDeltaTop = (halfWidth / earthRadius / cos((latitude + latitudeDelta) * degreesToRadians)) / degreesToRadians
            let longitudeDeltaBottom = (halfWidth / earthRadius / cos((latitude - latitudeDelta) * degreesToRadians)) / degreesToRadians
            let longitudeDelta = latitude < 0 ? longitudeDeltaBottom : longitudeDeltaTop
            return (longitude - longitudeDelta, latitude - latitudeDelta, longitude + longitudeDelta, latitude + latitudeDelta)
        }

        /// The distance from the centre to a position when the position is inside the shape.
        func distanceIfInside(longitude: Double, latitude: Double) -> Double? {
            switch kind {
            case .radius(let radius):
                let distance = Geohash.distance(self.longitude, self.latitude, longitude, latitude)
                return distance > radius * toMeters ? nil : distance
            case .box(let width, let height):
                let widthMeters = width * toMeters
                let heightMeters = height * toMeters
                if latitudeDistance(latitude, self.latitude) > heightMeters / 2 { return nil }
                if Geohash.distance(longitude, latitude, self.longitude, latitude) > widthMeters / 2 { return nil }
                return Geohash.distance(self.longitude, self.latitude, longitude, latitude)
            }
        }
    }

    /// The step whose cells are about as large as a search of `meters` around `latitude` needs.
    static func estimatedStep(radiusMeters meters: Double, latitude: Double) -> UInt8 {
        if meters == 0 { return 26 }
        var range = meters
        var step = 1
        while range < mercatorMax {
            range *= 2
            step += 1
        }
        step -= 2
        if latitude > 66 || latitude < -66 {
            step -= 1
            if latitude > 80 || latitude < -80 { step -= 1 }
        }
        return UInt8(Swift.min(Swift.max(step, 1), 26))
    }

    /// The cell holding the centre and its neighbours (zero where a neighbour cannot hold a
    /// match), in Redis's search order: the cell, N, S, E, W, NE, NW, SE, SW.
    static func searchCells(_ shape: Shape) -> [Bits] {
        let bounds = shape.boundingBox
        var step = estimatedStep(radiusMeters: shape.radiusMeters, latitude: shape.latitude)
        func cells(_ step: UInt8) -> (Bits, Neighbours, Area) {
            // The centre is within the limits (checked when parsed), so encoding succeeds.
            let hash = encode(longitude: shape.longitude, latitude: shape.latitude, step: step) ?? .zero
            let area = decode(hash) ?? Area(hash: hash, longitude: Interval(min: 0, max: 0), latitude: Interval(min: 0, max: 0))
            return (hash, Neighbours(of: hash), area)
        }
        var (hash, neighbours, area) = cells(step)
        // A neighbour that does not reach the far side of the bounding box: one step coarser.
        var tooSmall = false
        if let north = decode(neighbours.north), north.latitude.max < bounds.maxLatitude { tooSmall = true }
        if let south = decode(neighbours.south), south.latitude.min > bounds.minLatitude { tooSmall = true }
        if let east = decode(neighbours.east), east.longitude.max < bounds.maxLongitude { tooSmall = true }
        if let west = decode(neighbours.west), west.longitude.min > bounds.minLongitude { tooSmall = true }
        if step > 1 && tooSmall {
            step -= 1
            (hash, neighbours, area) = cells(step)
        }
        if step >= 2 {
            if area.latitude.min < bounds.minLatitude {
                neighbours.south = .zero
                neighbours.southWest = .zero
                neighbours.southEast = .zero
            }
            if area.latitude.max > bounds.maxLatitude {
                neighbours.north = .zero
                neighbours.northEast = .zero
                neighbours.northWest = .zero
            }
            if area.longitude.min < bounds.minLongitude {
                neighbours.west = .zero
                neighbours.southWest = .zero
                neighbours.northWest = .zero
            }
            if area.longitude.max > bounds.maxLongitude {
                neighbours.east = .zero
                neighbours.southEast = .zero
                neighbours.northEast = .zero
            }
        }
        return [
            hash, neighbours.north, neighbours.south, neighbours.east, neighbours.west,
            neighbours.northEast, neighbours.northWest, neighbours.southEast, neighbours.southWest,
        ]
    }

    /// The score ranges [min, max) to scan for a search, in order: the search cells, minus the
    /// zero ones and any equal to the last one scanned (huge radii make neighbours coincide).
    static func scoreRanges(_ shape: Shape) -> [(min: Double, max: Double)] {
        var ranges: [(min: Double, max: Double)] = []
        var last: Bits?
        for cell in searchCells(shape) where !cell.isZero {
            if let last, last == cell { continue }
            let range = scoreRange(of: cell)
            ranges.append((Double(range.min), Double(range.max)))
            last = cell
        }
        return ranges
    }

    // MARK: - Distances

    /// Meters along a meridian between two latitudes.
    static func latitudeDistance(_ latitude1: Double, _ latitude2: Double) -> Double {
        earthRadius * fabs(latitude2 * degreesToRadians - latitude1 * degreesToRadians)
    }

    /// Haversine great-circle distance in meters.
    static func distance(_ longitude1: Double, _ latitude1: Double, _ longitude2: Double, _ latitude2: Double) -> Double {
        let longitude1r = longitude1 * degreesToRadians
        let longitude2r = longitude2 * degreesToRadians
        let v = sin((longitude2r - longitude1r) / 2)
        if v == 0 { return latitudeDistance(latitude1, latitude2) }
        let latitude1r = latitude1 * degreesToRadians
        let latitude2r = latitude2 * degreesToRadians
        let u = sin((latitude2r - latitude1r) / 2)
        let a = u * u + cos(latitude1r) * cos(latitude2r) * v * v
        return 2.0 * earthRadius * asin(sqrt(a))
    }

    /// A distance as geo replies print it: rounded (half to even) to 4 decimals, fixed point.
    static func formatDistance(_ value: Double) -> String {
        if value == 0 { return "0.0000" }
        let scaled = llrint(value * 10000)
        let magnitude = scaled.magnitude
        var digits = String(magnitude)
        if digits.count < 5 { digits = String(repeating: "0", count: 5 - digits.count) + digits }
        let split = digits.index(digits.endIndex, offsetBy: -4)
        return (scaled < 0 ? "-" : "") + digits[..<split] + "." + digits[split...]
    }
}
