import Foundation
import NIOCore
import Testing

/// The geo commands against a real redis-server and a shardgate node: the same random sequences
/// (points clustered around hubs at the date line, near the latitude limits and the corners of the
/// map, radii and boxes in every unit, every option, bad arguments, wrong types, odd scores added
/// with ZADD), compared reply by reply, byte for byte. Only searches whose order Redis leaves
/// unspecified (no ASC/DESC, no COUNT without ANY) have their elements sorted. Even seeds run in
/// RESP3.
@Suite(.serialized)
struct NodeGeoTests {
    typealias Generator = NodeDifferentialTests.Generator

    static let keys = ["g1", "g1", "g1", "g2"]
    /// Where results are stored: usually a key of its own, sometimes a source or a string.
    static let stores = ["dst", "dst", "dst", "g2", "str"]
    static let members = (0..<14).map { "m\($0)" }
    static let hubs: [(Double, Double)] = [
        (13.361389, 38.115556), (179.9, 0.3), (-179.9, -0.4), (2.5, 84.8), (-73.98, -84.9), (-0.1, 51.5), (0, 0),
    ]
    static let corners: [(String, String, String)] = [
        ("180", "85.05112878", "ne"), ("-180", "85.05112878", "nw"), ("180", "-85.05112878", "se"),
        ("-180", "-85.05112878", "sw"), ("0", "0", "origin"),
    ]
    static let badNumbers = ["abc", "", "1e", "nan", " 1", "180.000001", "-180.1", "85.05112879", "-90", "inf", "-inf", "1e400"]
    static let units = ["m", "km", "ft", "mi", "KM", "Mi", "M", "fT"]
    static let badUnits = ["yd", "meters", ""]
    static let radii = ["0", "1", "10", "50", "120", "200.5", "500", "1000", "20000000", "3e-2", "inf", "1e6"]
    static let badRadii = ["-1", "x", "", "nan"]

    static func text(_ value: Double) -> String { String(format: "%.6f", value) }

    /// A position near a hub, a corner, or (`bad`, sometimes) a bad pair.
    static func position(_ g: inout Generator, bad: Bool = false) -> [String] {
        if bad && g.chance(30) { return [g.pick(badNumbers), text(Double(g.int(-850...850)) / 10)] }
        if bad && g.chance(30) { return [text(Double(g.int(-1800...1800)) / 10), g.pick(badNumbers)] }
        if g.chance(5) {
            let corner = g.pick(corners)
            return [corner.0, corner.1]
        }
        let hub = g.pick(hubs)
        var longitude = hub.0 + Double(g.int(-1_500_000...1_500_000)) / 1_000_000 + Double(g.int(0...999)) / 1e10
        var latitude = hub.1 + Double(g.int(-1_500_000...1_500_000)) / 1_000_000 + Double(g.int(0...999)) / 1e10
        if longitude > 180 { longitude -= 360 }
        if longitude < -180 { longitude += 360 }
        latitude = min(max(latitude, -85.05), 85.05)
        return [text(longitude), text(latitude)]
    }

    static func options(_ g: inout Generator, search: Bool, bad: Bool) -> [String] {
        var groups: [[String]] = []
        if g.chance(40) { groups.append([g.pick(["ASC", "DESC", "asc", "desc"])]) }
        if g.chance(40) {
            groups.append(["COUNT", g.pick(["1", "2", "3", "5", "100"] + (bad ? ["0", "-1", "x"] : []))] + (g.chance(30) ? ["ANY"] : []))
        }
        if g.chance(35) { groups.append(["WITHDIST"]) }
        if g.chance(35) { groups.append(["WITHCOORD"]) }
        if g.chance(30) { groups.append(["WITHHASH"]) }
        if bad && g.chance(30) { groups.append([g.pick(["BOGUS", "COUNT", "STORE", "ANY", "STOREDIST"])]) }
        if bad && g.chance(20) && search { groups.append(["STORE", "dst"]) }
        // Options in any order.
        for index in groups.indices.reversed() where index > 0 { groups.swapAt(index, g.int(0...index)) }
        return groups.flatMap { $0 }
    }

    static func radius(_ g: inout Generator, bad: Bool) -> String { bad && g.chance(30) ? g.pick(badRadii) : g.pick(radii) }
    static func unit(_ g: inout Generator, bad: Bool) -> String { bad && g.chance(30) ? g.pick(badUnits) : g.pick(units) }
    static func distance(_ g: inout Generator, bad: Bool) -> [String] { [radius(&g, bad: bad), unit(&g, bad: bad)] }

    static func searchArguments(_ g: inout Generator, bad: Bool) -> [String] {
        var from: [String] = g.chance(50)
            ? ["FROMMEMBER", g.pick(members + ["ne", "sw", "origin"] + (bad ? ["nosuch"] : []))]
            : ["FROMLONLAT"] + position(&g, bad: bad)
        var by: [String] = g.chance(50)
            ? ["BYRADIUS"] + distance(&g, bad: bad)
            : ["BYBOX", radius(&g, bad: bad), radius(&g, bad: bad), unit(&g, bad: bad)]
        if bad && g.chance(15) { from = [] }
        if bad && g.chance(15) { by = [] }
        if bad && g.chance(15) { by += [g.pick(["BYRADIUS", "BYBOX"]), "1", "1", "km"] }
        if bad && g.chance(15) { from += [g.pick(["FROMLONLAT", "FROMMEMBER"]), "1", "1"] }
        return g.chance(50) ? from + by : by + from
    }

    static func command(_ g: inout Generator) -> [String] {
        // One command in five may carry bad arguments; the others should mostly succeed.
        let bad = g.chance(20)
        let key = bad ? g.pick(keys + ["str", "none"]) : g.pick(keys)
        let member = g.pick(members)
        switch g.int(0...23) {
        case 0...4:
            var command = ["GEOADD", key]
            if g.chance(30) { command += [g.pick(["NX", "XX", "CH", "nx", "ch"])] }
            if g.chance(15) { command += [g.pick(["CH", "XX", "NX"] + (bad ? ["GT", "INCR"] : []))] }
            for _ in 0..<g.int(1...3) { command += position(&g, bad: bad) + [g.pick(members)] }
            if bad && g.chance(20) { command.removeLast() }
            return command
        case 5:
            let corner = g.pick(corners)
            return ["GEOADD", key, corner.0, corner.1, corner.2]
        case 6: return ["GEOPOS", key, member, g.pick(members + ["ne", "sw", "origin", "odd", "nosuch"])]
        case 7: return ["GEOHASH", key, member, g.pick(members + ["ne", "se", "origin", "odd", "nosuch"])]
        case 8:
            var command = ["GEODIST", key, member, g.pick(members + ["ne", "sw", "odd"])]
            if g.chance(60) { command.append(unit(&g, bad: bad)) }
            if bad && g.chance(20) { command.append("extra") }
            return command
        case 9...11:
            var command = ["GEOSEARCH", key] + searchArguments(&g, bad: bad) + options(&g, search: false, bad: bad)
            if g.chance(3) { command[0] = "geosearch" }
            return command
        case 12:
            let options = options(&g, search: false, bad: bad).filter { bad || !$0.hasPrefix("WITH") }
            return ["GEOSEARCHSTORE", g.pick(stores), key] + searchArguments(&g, bad: bad) + options + (g.chance(40) ? ["STOREDIST"] : [])
        case 13, 14:
            let name = g.pick(["GEORADIUS", "GEORADIUS_RO"])
            var command = [name, key] + position(&g, bad: bad) + distance(&g, bad: bad) + options(&g, search: true, bad: bad)
            if g.chance(20) {
                command = command.filter { bad || !$0.hasPrefix("WITH") } + [g.pick(["STORE", "STOREDIST"]), g.pick(stores)]
            }
            return command
        case 15, 16:
            let name = g.pick(["GEORADIUSBYMEMBER", "GEORADIUSBYMEMBER_RO"])
            var command = [name, key, g.pick(members + ["ne", "origin"] + (bad ? ["nosuch"] : []))]
                + distance(&g, bad: bad) + options(&g, search: true, bad: bad)
            if g.chance(20) {
                command = command.filter { bad || !$0.hasPrefix("WITH") } + [g.pick(["STORE", "STOREDIST"]), g.pick(stores)]
            }
            return command
        case 17: return ["ZRANGE", g.pick(["g1", "g2", "dst"]), "0", "-1", "WITHSCORES"]
        case 18: return ["ZREM", key, member]
        case 19: return g.chance(70) ? ["SET", "str", "x"] : ["DEL", g.pick(["g2", "dst", "str"])]
        case 20: return ["ZADD", key, g.pick(["-5", "1e30", "inf", "-inf", "3.5", "4503599627370496", "3479099956230698"]), "odd"]
        case 21:
            // Past the listpack limit: the skiplist encoding.
            var command = ["GEOADD", key]
            for index in 0..<g.int(120...160) { command += position(&g) + ["b\(index)"] }
            return command
        case 22:
            // A store replaces the destination's TTL; the encoding it picks is Redis's.
            return g.pick([["EXPIRE", "dst", "100000"], ["PERSIST", "dst"], ["OBJECT", "ENCODING", g.pick(["dst", "g1", "g2"])]])
        default: return ["ZCARD", key]
        }
    }

    /// Whether Redis leaves the order of the command's reply unspecified: a search that is not
    /// sorted (no ASC/DESC, and no COUNT unless with ANY).
    static func isUnordered(_ command: [String]) -> Bool {
        let name = command[0].uppercased()
        guard name.hasPrefix("GEORADIUS") || name == "GEOSEARCH" else { return false }
        let words = Set(command.dropFirst().map { $0.uppercased() })
        if words.contains("ASC") || words.contains("DESC") { return false }
        return !words.contains("COUNT") || words.contains("ANY")
    }

    /// The end of the RESP2/RESP3 element starting at `start`.
    static func elementEnd(_ bytes: [UInt8], _ start: Int) -> Int {
        var lineEnd = start
        while bytes[lineEnd] != UInt8(ascii: "\r") { lineEnd += 1 }
        let header = String(decoding: bytes[(start + 1)..<lineEnd], as: UTF8.self)
        var end = lineEnd + 2
        switch bytes[start] {
        case UInt8(ascii: "$"), UInt8(ascii: "="), UInt8(ascii: "!"):
            if let length = Int(header), length >= 0 { end += length + 2 }
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "%"):
            let count = (Int(header) ?? 0) * (bytes[start] == UInt8(ascii: "%") ? 2 : 1)
            for _ in 0..<max(count, 0) { end = elementEnd(bytes, end) }
        default: break
        }
        return end
    }

    /// The reply as compared: raw bytes, with the top-level elements sorted for unordered searches.
    static func normalized(_ frame: ByteBuffer, for command: [String]) -> String {
        let bytes = Array(frame.readableBytesView)
        guard isUnordered(command), bytes.first == UInt8(ascii: "*") else { return String(decoding: bytes, as: UTF8.self) }
        var lineEnd = 0
        while bytes[lineEnd] != UInt8(ascii: "\r") { lineEnd += 1 }
        var elements: [String] = []
        var position = lineEnd + 2
        while position < bytes.count {
            let end = elementEnd(bytes, position)
            elements.append(String(decoding: bytes[position..<end], as: UTF8.self))
            position = end
        }
        return String(decoding: bytes[0..<(lineEnd + 2)], as: UTF8.self) + elements.sorted().joined()
    }

    @Test func normalizationSortsOnlyUnorderedSearches() {
        let frame = ByteBuffer(string: "*2\r\n*2\r\n$1\r\nb\r\n,1.5\r\n$1\r\na\r\n")
        #expect(Self.normalized(frame, for: ["GEOSEARCH", "k", "FROMLONLAT", "1", "2", "BYRADIUS", "1", "m"])
            == "*2\r\n$1\r\na\r\n*2\r\n$1\r\nb\r\n,1.5\r\n")
        #expect(Self.normalized(frame, for: ["GEOSEARCH", "k", "COUNT", "1"]) == String(buffer: frame))
        #expect(Self.normalized(frame, for: ["GEORADIUS", "k", "DESC"]) == String(buffer: frame))
        #expect(Self.isUnordered(["GEORADIUS_RO", "k", "COUNT", "2", "ANY"]))
        #expect(!Self.isUnordered(["GEOPOS", "k", "m"]))
    }

    /// Paths the random sequences reach rarely: each error in Redis's order of checks, missing
    /// keys and members, the edges of the map, huge and zero areas, RESP3.
    static let edgeCases: [[String]] = [
        ["GEOADD", "g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania", "180", "85.05112878", "ne",
         "-180", "-85.05112878", "sw", "0", "0", "origin", "-0.0", "-0.0", "negzero"],
        ["GEOADD", "g", "NX", "XX", "1", "1", "a"], ["GEOADD", "g", "CH", "NX", "CH"], ["GEOADD", "g", "1", "1"],
        ["GEOADD", "g", "GT", "1", "1", "a"], ["GEOADD", "g", "1", "x", "a", "200", "1", "b"], ["GEOADD", "g", "200", "1", "b", "1", "x", "a"],
        ["GEOADD", "g", "1e400", "1", "a"], ["GEOADD", "g", "nan", "1", "a"], ["GEOADD", "g", "-inf", "1", "a"],
        ["GEOADD", "g", "XX", "1", "1", "Palermo", "1", "1", "new"], ["GEOADD", "g", "CH", "XX", "13.361389", "38.115556", "Palermo"],
        ["GEOADD", "g", "CH", "2", "2", "x", "3", "3", "x"], ["GEOADD", "missing", "XX", "1", "1", "a"], ["EXISTS", "missing"],
        ["SET", "str", "v"], ["GEOADD", "str", "1", "1", "a"], ["GEOADD", "str", "200", "1", "a"],
        ["GEOPOS", "str", "a"], ["GEOHASH", "str", "a"], ["GEODIST", "str", "a", "b"], ["GEODIST", "str", "a", "b", "yd"],
        ["GEODIST", "g", "Palermo", "Catania", "km", "x"], ["GEODIST", "missing", "a", "b"], ["GEODIST", "g", "Palermo", "nosuch"],
        ["GEODIST", "g", "ne", "sw"], ["GEODIST", "g", "origin", "negzero", "MI"], ["GEOPOS", "missing", "a"], ["GEOHASH", "missing", "a", "b"],
        ["GEOPOS", "g", "ne", "sw", "origin", "negzero", "nosuch"], ["GEOHASH", "g", "ne", "sw", "origin", "Palermo"],
        ["GEORADIUS", "str", "200", "1", "1", "m"], ["GEORADIUS", "missing", "200", "1", "1", "m"],
        ["GEORADIUS", "missing", "1", "1", "-1", "m"], ["GEORADIUS", "missing", "1", "1", "x", "yd"], ["GEORADIUS", "missing", "1", "1", "1", "yd"],
        ["GEORADIUS", "missing", "1", "1", "1", "m", "STORE", "dst"], ["GEORADIUS_RO", "g", "1", "1", "1", "m", "STORE", "dst"],
        ["GEORADIUS", "g", "15", "37", "200", "km", "STORE", "dst", "WITHDIST"], ["GEORADIUS", "g", "15", "37", "200", "km", "ANY"],
        ["GEORADIUS", "g", "15", "37", "200", "km", "COUNT"], ["GEORADIUS", "g", "15", "37", "200", "km", "COUNT", "0"],
        ["GEORADIUS", "g", "15", "37", "200", "km", "COUNT", "x", "BOGUS"], ["GEORADIUS", "g", "15", "37", "200", "km", "BOGUS", "COUNT", "x"],
        ["GEORADIUS", "g", "15", "37", "200", "km", "STORE"], ["GEORADIUS", "g", "15", "37", "200", "km", "FROMMEMBER", "Palermo"],
        ["GEORADIUS", "g", "15", "37", "200", "km", "WITHDIST", "WITHHASH", "WITHCOORD", "ASC"],
        ["GEORADIUS", "g", "15", "37", "200", "km", "STOREDIST", "dst", "DESC"], ["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
        ["GEORADIUS", "g", "15", "37", "0", "km", "STORE", "dst"], ["EXISTS", "dst"],
        ["GEORADIUSBYMEMBER", "missing", "a", "x", "yd"], ["GEORADIUSBYMEMBER", "missing", "a", "1", "m", "STORE", "dst", "WITHDIST"],
        ["GEORADIUSBYMEMBER", "g", "nosuch", "x", "yd"], ["GEORADIUSBYMEMBER", "g", "Palermo", "x", "yd"],
        ["GEORADIUSBYMEMBER", "g", "Palermo", "1", "yd"], ["GEORADIUSBYMEMBER", "g", "Palermo", "0", "m", "WITHDIST", "WITHCOORD"],
        ["GEORADIUSBYMEMBER_RO", "g", "ne", "20000", "km", "WITHDIST", "ASC"], ["GEORADIUSBYMEMBER", "g", "sw", "inf", "km", "DESC", "COUNT", "2"],
        ["GEOSEARCH", "g", "FROMLONLAT", "15", "37", "ASC", "WITHDIST"], ["geosearch", "g", "BYRADIUS", "1", "m", "WITHDIST", "ASC"],
        ["GeoSearch", "missing", "BYBOX", "1", "1", "m", "ASC"], ["GEOSEARCH", "g", "FROMLONLAT", "15", "37"],
        ["GEOSEARCH", "g", "FROMMEMBER", "Palermo", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "m"],
        ["GEOSEARCH", "g", "FROMLONLAT", "1", "1", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "m"],
        ["GEOSEARCH", "g", "FROMMEMBER", "nosuch", "BYRADIUS", "x", "m"], ["GEOSEARCH", "missing", "FROMMEMBER", "nosuch", "BYRADIUS", "1", "m"],
        ["GEOSEARCH", "g", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "m", "BYBOX", "1", "1", "m"],
        ["GEOSEARCH", "g", "FROMLONLAT", "1", "1", "BYBOX", "1", "-1", "m"], ["GEOSEARCH", "g", "FROMLONLAT", "1", "1", "BYBOX", "x", "y", "m"],
        ["GEOSEARCH", "g", "FROMLONLAT", "1", "1", "BYBOX", "1", "y", "m"], ["GEOSEARCH", "g", "FROMLONLAT", "1", "1", "BYBOX", "1", "1"],
        ["GEOSEARCH", "g", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "m", "STORE", "dst"],
        ["GEOSEARCH", "g", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "m", "STOREDIST"],
        ["GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km", "ASC", "WITHCOORD", "WITHDIST", "WITHHASH"],
        ["GEOSEARCH", "g", "FROMLONLAT", "0", "0", "BYBOX", "0", "0", "m", "WITHDIST"],
        ["GEOSEARCH", "g", "FROMMEMBER", "ne", "BYBOX", "1e9", "1e9", "km", "DESC", "COUNT", "3", "ANY"],
        ["GEOSEARCHSTORE", "dst", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "WITHDIST"],
        ["GEOSEARCHSTORE", "dst", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "STORE", "x"],
        ["GEOSEARCHSTORE", "dst", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "STOREDIST", "ASC", "COUNT", "1"],
        ["ZRANGE", "dst", "0", "-1", "WITHSCORES"], ["GEOSEARCHSTORE", "dst", "missing", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"],
        ["EXISTS", "dst"], ["GEOSEARCHSTORE", "str", "g", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "m"], ["TYPE", "str"],
        ["GEOSEARCHSTORE", "g", "g", "FROMMEMBER", "Palermo", "BYRADIUS", "1000", "km"], ["ZRANGE", "g", "0", "-1", "WITHSCORES"],
    ]

    @Test(arguments: [2, 3])
    func edgeCasesMatchRedis(protocolVersion: Int) async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        let servers = try await RedisAndNode()
        defer { servers.stop() }
        let redisClient = try servers.redis.client()
        let nodeClient = try servers.node.client()
        _ = try redisClient.rawFrames([["HELLO", "\(protocolVersion)"]])
        _ = try nodeClient.rawFrames([["HELLO", "\(protocolVersion)"]])
        let expected = try redisClient.rawFrames(Self.edgeCases)
        let actual = try nodeClient.rawFrames(Self.edgeCases)
        for (index, command) in Self.edgeCases.enumerated() {
            #expect(Self.normalized(actual[index], for: command) == Self.normalized(expected[index], for: command), "\(command)")
        }
    }

    @Test(arguments: Array(1...24) as [UInt64])
    func randomGeoSequencesMatchRedis(seed: UInt64) async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        let servers = try await RedisAndNode()
        defer { servers.stop() }
        let redisClient = try servers.redis.client()
        let nodeClient = try servers.node.client()
        if seed % 2 == 0 {
            _ = try redisClient.rawFrames([["HELLO", "3"]])
            _ = try nodeClient.rawFrames([["HELLO", "3"]])
        }
        var generator = Generator(seed: seed &+ 7919)
        let batches = (0..<8).map { _ in (0..<60).map { _ in Self.command(&generator) } }
        guard try NodeDifferentialTests.compareReplies(
            batches, redis: redisClient, node: nodeClient, seed: seed, normalized: Self.normalized)
        else { return }
        let final = ["g1", "g2", "dst", "str"].map { ["ZRANGE", $0, "0", "-1", "WITHSCORES"] }
        #expect(try redisClient.rawFrames(final).map { String(buffer: $0) } == nodeClient.rawFrames(final).map { String(buffer: $0) })
    }

    /// Replication both ways: a redis-server replica of a node master, and a node replica of a
    /// redis-server master, end up with the same geo sets as the masters after the same random
    /// sequence (GEOADD reaches them as ZADD, the stores as sent).
    @Test func replicasHoldTheSameGeoSets() async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        let nodeMaster = try await startNode(["--repl-diskless-sync-delay", "0"])
        defer { nodeMaster.stop() }
        let redisReplica = try await RedisServer(["--replicaof", "127.0.0.1", "\(nodeMaster.port)"])
        defer { redisReplica.stop() }
        let redisMaster = try await RedisServer(["--repl-diskless-sync-delay", "0"])
        defer { redisMaster.stop() }
        let nodeReplica = try await startNode(["--replicaof", "127.0.0.1", "\(redisMaster.port)"])
        defer { nodeReplica.stop() }
        try await NodeReplicationTests.waitForLink(redisReplica.port)
        try await NodeReplicationTests.waitForLink(nodeReplica.port)
        var generator = Generator(seed: 4242)
        let nodeClient = try nodeMaster.client()
        let redisClient = try redisMaster.client()
        for _ in 0..<6 {
            let commands = (0..<60).map { _ in Self.command(&generator) }
            _ = try nodeClient.rawFrames(commands)
            _ = try redisClient.rawFrames(commands)
        }
        let masters = (node: try NodeReplicationTests.dataset(nodeMaster.port), redis: try NodeReplicationTests.dataset(redisMaster.port))
        #expect(masters.node == masters.redis)
        #expect(masters.node["g1"]?.hasPrefix("zset [") == true)
        try await waitUntil("replicas caught up", seconds: 15) {
            try NodeReplicationTests.dataset(redisReplica.port) == masters.node && NodeReplicationTests.dataset(nodeReplica.port) == masters.redis
        }
    }
}
