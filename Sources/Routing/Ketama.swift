/// twemproxy 0.5.0's ketama continuum (`nc_ketama.c`), so keys land on the same servers as under
/// twemproxy.
///
/// Construction, for the nodes with `weight > 0` (twemproxy's live servers; pass weight 0 for an
/// ejected node to rebuild without it while keeping indices stable):
/// - a node gets `floorf(weight / totalWeight * 160 / 4 * liveCount + 1e-10) * 4` points, computed in
///   `float` exactly as twemproxy does (so rounding matches, e.g. weights 1,2,3,4,5 give
///   52,104,160,212,264 points);
/// - point group `i` (0-based) hashes the string `"<name>-<i>"` with MD5 and contributes the four
///   little-endian digest words as four points;
/// - points are sorted by value. A key's hash goes to the first point `>= hash`, wrapping to the
///   first point.
/// `name` is what twemproxy calls the server name: the `name` after the address in
/// `host:port:weight name`, else `host:port`, or just `host` when the port is 11211 (libmemcached
/// compatibility). Computing that is the configuration's job; this type hashes the bytes it is given.
public struct KetamaContinuum: Sendable {
    /// twemproxy's `KETAMA_POINTS_PER_SERVER`.
    static let pointsPerServer = 160
    /// twemproxy formats `"%.*s-%u"` into a 273-byte buffer, so longer host strings are cut to 272.
    static let maxHostLength = 272

    /// Point values, ascending.
    let values: [UInt32]
    /// `owners[i]` is the index (into the `nodes` passed to `init`) owning `values[i]`.
    let owners: [Int32]

    /// Builds the continuum; nodes with `weight <= 0` get no points.
    public init(nodes: [HashedNode]) {
        let live = nodes.indices.filter { nodes[$0].weight > 0 }
        let totalWeight = live.reduce(0) { $0 + nodes[$1].weight }
        var points: [(value: UInt32, owner: Int32)] = []
        points.reserveCapacity(live.count * Self.pointsPerServer)
        for index in live {
            let node = nodes[index]
            let pointCount = Self.pointCount(weight: node.weight, totalWeight: totalWeight, liveCount: live.count)
            let name = node.name.prefix { $0 != 0 }  // "%.*s" stops at a NUL byte
            for group in 0..<(pointCount / 4) {
                var host = Array(name)
                host.append(UInt8(ascii: "-"))
                host.append(contentsOf: String(group).utf8)
                if host.count > Self.maxHostLength { host.removeLast(host.count - Self.maxHostLength) }
                let words = host.withUnsafeBytes { md5Words($0) }
                let owner = Int32(truncatingIfNeeded: index)
                points.append((words.0, owner))
                points.append((words.1, owner))
                points.append((words.2, owner))
                points.append((words.3, owner))
            }
        }
        // Equal values (vanishingly rare) keep insertion order: config order, then digest order.
        let order = points.indices.sorted { (points[$0].value, $0) < (points[$1].value, $1) }
        values = order.map { points[$0].value }
        owners = order.map { points[$0].owner }
    }

    /// Points twemproxy gives one server: proportional to weight, a multiple of 4, in `float` math.
    static func pointCount(weight: Int, totalWeight: Int, liveCount: Int) -> Int {
        let share = Float(weight) / Float(totalWeight)
        let scaled: Float = share * Float(pointsPerServer) / 4 * Float(liveCount)
        // C adds the double literal 0.0000000001 and converts back to float before floorf.
        let nudged = Float(Double(scaled) + 0.000_000_000_1)
        // floorf: the value is never negative, so truncation is the floor (and needs no libm).
        return Int(nudged) * 4
    }

    /// Number of points on the continuum.
    public var pointCount: Int { values.count }

    /// The node index owning `hash`: the first point at or after it, wrapping around.
    /// `nil` only when no node has a positive weight.
    public func owner(forHash hash: UInt32) -> Int? {
        values.withUnsafeBufferPointer { values -> Int? in
            guard !values.isEmpty else { return nil }
            var low = 0
            var high = values.count
            while low < high {
                let middle = low &+ (high &- low) / 2
                if values[middle] < hash { low = middle &+ 1 } else { high = middle }
            }
            let point = low == values.count ? 0 : low
            return owners.withUnsafeBufferPointer { Int($0[point]) }
        }
    }
}
