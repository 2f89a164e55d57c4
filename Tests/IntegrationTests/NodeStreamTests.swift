import Foundation
import NIOCore
import Testing

/// Streams against a real redis-server: edge cases and random sequences compared reply by reply
/// (explicit and `ms-*` IDs, so both servers generate the same ones); replication both ways,
/// DUMP/RESTORE across servers and the AOF ending with the same XINFO STREAM FULL; blocked readers
/// woken, or failed, as Redis does.
@Suite(.serialized)
struct NodeStreamTests {
    typealias Generator = NodeDifferentialTests.Generator

    /// A reply as text, with Unix-millisecond integers (delivery and seen times, idle times of
    /// consumers created in another millisecond) replaced: they depend on when each server ran.
    static func normalized(_ frame: ByteBuffer, _ command: [String] = []) -> String {
        let text = String(buffer: frame)
        var lines = text.components(separatedBy: "\r\n")
        for index in lines.indices where lines[index].hasPrefix(":") && lines[index].count >= 13 {
            lines[index] = ":T"
        }
        // XPENDING's extended form: [id, consumer, idle milliseconds, deliveries].
        if command.first?.uppercased() == "XPENDING" && command.count > 3 {
            for index in lines.indices where lines[index] == "*4" && index + 5 < lines.count && lines[index + 5].hasPrefix(":") {
                lines[index + 5] = ":idle"
            }
        }
        return lines.joined(separator: "\r\n")
    }

    static let edgeCases: [[String]] = [
        ["XADD", "s", "1-1", "a", "1"], ["XADD", "s", "1-1", "a", "1"], ["XADD", "s", "0-0", "a", "1"], ["XADD", "s", "1-*", "b", "2"],
        ["XADD", "s", "2", "c", "3"], ["XADD", "s", "x-1", "a", "1"], ["XADD", "s", "1-x", "a", "1"], ["XADD", "s", "-", "a", "1"],
        ["XADD", "s", "3-0", "a"], ["XADD", "s", "3-0"], ["XADD", "s", "MAXLEN", "-1", "3-0", "a", "1"],
        ["XADD", "s", "MAXLEN", "1", "MINID", "1", "3-0", "a", "1"], ["XADD", "s", "LIMIT", "10", "3-0", "a", "1"],
        ["XADD", "s", "MAXLEN", "1", "LIMIT", "10", "3-0", "a", "1"], ["XADD", "s", "MAXLEN", "~", "1", "LIMIT", "-1", "3-0", "a", "1"],
        ["XADD", "missing", "NOMKSTREAM", "1-0", "a", "1"], ["EXISTS", "missing"], ["XADD", "s", "18446744073709551615-18446744073709551615", "a", "1"],
        ["XADD", "s", "*", "a", "1"], ["XADD", "s", "18446744073709551615-*", "a", "1"], ["XLEN", "s"],
        ["XADD", "t", "5-5", "f", "v"], ["XADD", "t", "5-*", "f", "v"], ["XADD", "t", "4-*", "f", "v"], ["XADD", "t", "00006-0001", "f", "v"],
        ["XRANGE", "s", "-", "+"], ["XRANGE", "s", "(1-1", "+"], ["XRANGE", "s", "-", "(2-0"], ["XRANGE", "s", "(-", "+"],
        ["XRANGE", "s", "(18446744073709551615-18446744073709551615", "+"], ["XRANGE", "s", "-", "(0-0"],
        ["XRANGE", "s", "-", "+", "COUNT", "0"], ["XRANGE", "s", "-", "+", "COUNT", "-5"], ["XRANGE", "s", "-", "+", "COUNT"],
        ["XRANGE", "s", "-", "+", "COUNT", "x"], ["XRANGE", "missing", "x", "+"], ["XRANGE", "missing", "-", "+"],
        ["XREVRANGE", "s", "+", "-", "COUNT", "2"], ["XREVRANGE", "s", "1", "0"], ["XRANGE", "s", "1", "1"],
        ["SET", "str", "v"], ["XADD", "str", "1-0", "a", "1"], ["XLEN", "str"], ["XRANGE", "str", "-", "+"],
        ["XDEL", "s", "1-1", "9-9", "1-1"], ["XDEL", "s", "bad"], ["XDEL", "missing", "bad"], ["XLEN", "s"],
        ["XTRIM", "s"], ["XTRIM", "s", "MAXLEN", "x"], ["XTRIM", "s", "MAXLEN", "1", "junk"], ["XTRIM", "missing", "bad"],
        ["XTRIM", "t", "MINID", "6"], ["XTRIM", "t", "MAXLEN", "=", "1"], ["XRANGE", "t", "-", "+"],
        ["XSETID", "t", "1-0"], ["XSETID", "t", "99-0", "ENTRIESADDED", "0"], ["XSETID", "t", "99-0", "MAXDELETEDID", "100-0"],
        ["XSETID", "t", "99-0", "ENTRIESADDED", "-1"], ["XSETID", "t", "99-0", "BOGUS", "1"], ["XSETID", "missing", "1-0"],
        ["XSETID", "t", "99-0", "ENTRIESADDED", "10", "MAXDELETEDID", "50-0"], ["XINFO", "STREAM", "t"],
        ["XGROUP", "CREATE", "missing", "g", "$"], ["XGROUP", "CREATE", "new", "g", "$", "MKSTREAM"], ["XINFO", "STREAM", "new"],
        ["XGROUP", "CREATE", "t", "g", "0"], ["XGROUP", "CREATE", "t", "g", "0"], ["XGROUP", "CREATE", "t", "g2", "bad"],
        ["XGROUP", "CREATE", "t", "g3", "$", "ENTRIESREAD", "-5"], ["XGROUP", "CREATE", "t", "g3", "$", "BOGUS"],
        ["XGROUP", "SETID", "t", "nogroup", "0"], ["XGROUP", "CREATECONSUMER", "t", "nogroup", "c"],
        ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "t", ">"], ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "t", "0"],
        ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "t", "$"], ["XREADGROUP", "GROUP", "nog", "alice", "STREAMS", "t", ">"],
        ["XREADGROUP", "STREAMS", "t", ">"], ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "t"], ["XREAD", "STREAMS", "t", ">"],
        ["XREAD", "GROUP", "g", "c", "STREAMS", "t", "0"], ["XREAD", "NOACK", "STREAMS", "t", "0"], ["XREAD", "COUNT", "1", "STREAMS", "t", "s", "0", "0"],
        ["XREAD", "BLOCK", "-1", "STREAMS", "t", "0"], ["XREAD", "BLOCK", "x", "STREAMS", "t", "0"], ["XREAD", "STREAMS", "str", "0"],
        ["XPENDING", "t", "g"], ["XPENDING", "t", "g", "-", "+", "10"], ["XPENDING", "t", "g", "IDLE", "0", "-", "+", "10", "alice"],
        ["XPENDING", "t", "g", "-", "+"], ["XPENDING", "t", "nog"], ["XPENDING", "t", "g", "-", "+", "10", "nobody"],
        ["XPENDING", "t", "g", "(5-5", "+", "10"], ["XPENDING", "t", "g", "IDLE", "x", "-", "+", "10"],
        ["XACK", "t", "g", "5-5", "bad"], ["XACK", "t", "g", "5-5", "5-5"], ["XACK", "t", "nog", "5-5"],
        ["XCLAIM", "t", "g", "bob", "0", "5-6", "TIME", "1000", "RETRYCOUNT", "7"], ["XCLAIM", "t", "g", "bob", "x", "5-6"],
        ["XCLAIM", "t", "g", "bob", "0", "5-6", "BOGUS"], ["XCLAIM", "t", "nog", "bob", "0", "5-6"],
        ["XCLAIM", "t", "g", "carol", "0", "5-5", "FORCE", "JUSTID", "LASTID", "99-0", "TIME", "1000"],
        ["XAUTOCLAIM", "t", "g", "dave", "0", "0", "COUNT", "0"], ["XAUTOCLAIM", "t", "g", "dave", "0", "0", "JUSTID", "BOGUS"],
        ["XAUTOCLAIM", "t", "g", "dave", "0", "0", "COUNT", "1", "JUSTID"], ["XAUTOCLAIM", "t", "nog", "dave", "0", "0"],
        ["XINFO", "GROUPS", "t"], ["XINFO", "GROUPS", "missing"], ["XINFO", "STREAM", "str"], ["XINFO", "STREAM", "t", "FULL", "COUNT", "x"],
        ["XINFO", "STREAM", "t", "BOGUS"], ["XGROUP", "DELCONSUMER", "t", "g", "carol"], ["XGROUP", "DESTROY", "t", "g"],
        ["XGROUP", "DESTROY", "t", "g"], ["XGROUP", "DESTROY", "missing", "g"], ["XGROUP", "HELP"], ["XINFO", "HELP"],
        ["XGROUP", "CREATE", "t", "g", "0", "MKSTREAM", "ENTRIESREAD", "3", "X"], ["TYPE", "t"], ["OBJECT", "ENCODING", "t"],
        ["COPY", "t", "t2"], ["XRANGE", "t2", "-", "+"], ["RENAME", "t2", "t3"], ["XLEN", "t3"], ["DEL", "t3"],
        ["MEMORY", "USAGE", "s"], ["MEMORY", "USAGE", "t"], ["MEMORY", "USAGE", "new"],
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
            // A `*` ID is the servers' own clock.
            if command.contains("*") && command[0] == "XADD" { continue }
            #expect(Self.normalized(actual[index], command) == Self.normalized(expected[index], command), "\(command)")
        }
    }

    static let keys = ["x1", "x1", "x1", "x2"]
    static let groups = ["g1", "g1", "g2"]
    static let consumers = ["alice", "bob", "carol"]
    static let fields = ["f", "f", "f", "g", "h", "12", "long-field-name"]

    static func id(_ g: inout Generator, bad: Bool = false) -> String {
        if bad && g.chance(20) { return g.pick(["x", "1-x", "-1", "", "(", "18446744073709551616"]) }
        let ms = g.int(0...60)
        switch g.int(0...5) {
        case 0: return "\(ms)"
        case 1: return g.pick(["-", "+", "0", "0-0", "60-1"])
        default: return "\(ms)-\(g.int(0...3))"
        }
    }

    static func pairs(_ g: inout Generator) -> [String] {
        (0..<g.int(1...3)).flatMap { _ in [g.pick(fields), g.pick(["1", "v", "", "12345", "-7", "x y z", String(repeating: "q", count: 70)])] }
    }

    static func trim(_ g: inout Generator) -> [String] {
        var arguments = g.chance(50) ? ["MAXLEN"] : ["MINID"]
        let approximate = g.chance(40)
        if approximate { arguments.append("~") } else if g.chance(40) { arguments.append("=") }
        arguments.append(arguments[0] == "MAXLEN" ? "\(g.int(0...30))" : "\(g.int(0...60))-\(g.int(0...2))")
        if approximate && g.chance(40) { arguments += ["LIMIT", "\(g.int(0...30))"] }
        return arguments
    }

    static func command(_ g: inout Generator) -> [String] {
        let bad = g.chance(10)
        let key = bad ? g.pick(keys + ["str", "none"]) : g.pick(keys)
        let group = g.pick(groups)
        let consumer = g.pick(consumers)
        switch g.int(0...29) {
        case 0...6:
            var command = ["XADD", key]
            if g.chance(5) { command.append("NOMKSTREAM") }
            if g.chance(25) { command += trim(&g) }
            command.append(g.chance(70) ? "\(g.int(0...60))-*" : id(&g, bad: bad))
            return command + pairs(&g)
        case 7:
            return ["XRANGE", key, id(&g, bad: bad), g.pick(["+", id(&g, bad: bad)])] + (g.chance(40) ? ["COUNT", "\(g.int(-1...5))"] : [])
        case 8:
            return ["XREVRANGE", key, g.pick(["+", id(&g, bad: bad)]), id(&g, bad: bad)] + (g.chance(40) ? ["COUNT", "\(g.int(0...5))"] : [])
        case 9: return ["XDEL", key, id(&g, bad: bad), id(&g)]
        case 10: return ["XTRIM", key] + trim(&g)
        case 11: return ["XLEN", key]
        case 12: return ["XREAD", "COUNT", "\(g.int(0...4))", "STREAMS", key, g.pick(keys), id(&g, bad: bad), g.pick(["$", id(&g)])]
        case 13, 14:
            var command = ["XREADGROUP", "GROUP", group, consumer]
            if g.chance(40) { command += ["COUNT", "\(g.int(1...4))"] }
            if g.chance(20) { command.append("NOACK") }
            return command + ["STREAMS", key, g.chance(70) ? ">" : id(&g, bad: bad)]
        case 15: return ["XGROUP", "CREATE", key, group, g.pick(["$", "0", id(&g, bad: bad)])] + (g.chance(30) ? ["MKSTREAM"] : [])
        case 16:
            return ["XGROUP", "SETID", key, group, g.pick(["$", "0", id(&g, bad: bad)])]
                + (g.chance(30) ? ["ENTRIESREAD", "\(g.int(-1...10))"] : [])
        case 17: return ["XGROUP", g.pick(["CREATECONSUMER", "DELCONSUMER"]), key, group, consumer]
        case 18: return ["XGROUP", "DESTROY", key, group]
        case 19: return ["XACK", key, group, id(&g, bad: bad), id(&g)]
        case 20: return ["XPENDING", key, group]
        case 21:
            return ["XPENDING", key, group, id(&g, bad: bad), "+", "\(g.int(0...5))"] + (g.chance(30) ? [consumer] : [])
        case 22:
            var command = ["XCLAIM", key, group, consumer, "0", id(&g, bad: bad), id(&g)]
            if g.chance(50) { command.append("JUSTID") }
            if g.chance(30) { command.append("FORCE") }
            if g.chance(30) { command += ["RETRYCOUNT", "\(g.int(0...5))"] }
            if g.chance(20) { command += ["LASTID", id(&g)] }
            return command + ["TIME", "1000"]
        case 23:
            return ["XAUTOCLAIM", key, group, consumer, "0", id(&g, bad: bad), "COUNT", "\(g.int(1...4))"] + (g.chance(50) ? ["JUSTID"] : [])
        case 24: return ["XINFO", "GROUPS", key]
        case 25: return ["XINFO", "STREAM", key]
        case 26: return ["XSETID", key, "\(g.int(0...80))-\(g.int(0...3))"] + (g.chance(30) ? ["ENTRIESADDED", "\(g.int(0...90))"] : [])
        case 27: return g.pick([["DEL", key], ["SET", "str", "v"], ["COPY", "x1", "x2", "REPLACE"], ["RENAME", "x2", "x3"]])
        case 28: return ["CONFIG", "SET", "stream-node-max-entries", g.pick(["2", "3", "100", "0"])]
        default: return ["XRANGE", key, "-", "+"]
        }
    }

    @Test(arguments: Array(1...16) as [UInt64])
    func randomStreamSequencesMatchRedis(seed: UInt64) async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        let servers = try await RedisAndNode()
        defer { servers.stop() }
        let redisClient = try servers.redis.client()
        let nodeClient = try servers.node.client()
        if seed % 2 == 0 {
            _ = try redisClient.rawFrames([["HELLO", "3"]])
            _ = try nodeClient.rawFrames([["HELLO", "3"]])
        }
        var generator = Generator(seed: seed &+ 104_729)
        let batches = (0..<8).map { _ in (0..<60).map { _ in Self.command(&generator) } }
        guard try NodeDifferentialTests.compareReplies(
            batches, redis: redisClient, node: nodeClient, seed: seed, normalized: Self.normalized)
        else { return }
        let final = ["x1", "x2", "x3"].map { ["XINFO", "STREAM", $0, "FULL"] }
        #expect(try redisClient.rawFrames(final).map { Self.normalized($0) } == nodeClient.rawFrames(final).map { Self.normalized($0) })
    }

    /// Every stream's XINFO STREAM FULL (times normalized) and its entries. For replicas
    /// (`replicated`), the groups' entries-read and lag are left out: Redis 7.0 does not propagate
    /// them after XREADGROUP without NOACK, so its own replicas differ from their master there.
    static func streams(_ port: Int, keys: [String] = ["x1", "x2", "x3", "e"], replicated: Bool = false) throws -> [String] {
        let client = try RedisTestClient(port: port)
        defer { client.disconnect() }
        return try client.rawFrames(keys.flatMap { [["XINFO", "STREAM", $0, "FULL", "COUNT", "0"], ["XRANGE", $0, "-", "+"]] })
            .map { frame in
                var lines = normalized(frame).components(separatedBy: "\r\n")
                if replicated {
                    for index in lines.indices.dropLast(2) where lines[index] == "entries-read" || lines[index] == "lag" {
                        lines[index + 1] = "?"
                    }
                }
                return lines.joined(separator: "\r\n")
            }
    }

    static func scenario(_ seed: UInt64) -> [[String]] {
        var generator = Generator(seed: seed)
        var commands: [[String]] = [["XGROUP", "CREATE", "e", "g", "$", "MKSTREAM"], ["XGROUP", "CREATECONSUMER", "e", "g", "idle"]]
        for _ in 0..<240 {
            let command = Self.command(&generator)
            if command[0] == "CONFIG" || command.contains("e") { continue }
            commands.append(command)
        }
        // `*` IDs and `~` trimming, which propagate rewritten.
        for index in 0..<40 { commands.append(["XADD", "x1", "MAXLEN", "~", "20", "*", "n", "\(index)"]) }
        commands.append(["XTRIM", "x1", "MINID", "~", "0"])
        commands.append(["XREADGROUP", "GROUP", "g1", "zed", "NOACK", "STREAMS", "x1", ">"])
        commands += [
            ["XGROUP", "CREATE", "x1", "gz", "0"], ["XREADGROUP", "GROUP", "gz", "alice", "COUNT", "4", "STREAMS", "x1", ">"],
            ["XAUTOCLAIM", "x1", "gz", "bob", "0", "0", "COUNT", "1"], ["XGROUP", "CREATECONSUMER", "x1", "gz", "nobody"],
        ]
        return commands
    }

    /// A redis-server replica of a node master, and a node replica of a redis-server master, hold
    /// the same streams, groups and PELs as the masters (the PELs reach them as XCLAIM, the groups'
    /// positions as XGROUP SETID).
    @Test func replicasHoldTheSameStreams() async throws {
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
        let commands = Self.scenario(77)
        _ = try nodeMaster.client().rawFrames(commands)
        _ = try redisMaster.client().rawFrames(commands)
        let nodeStreams = try Self.streams(nodeMaster.port, replicated: true)
        #expect(nodeStreams.contains { $0.contains("pel-count") && $0.contains("alice") })
        do {
            try await waitUntil("replicas caught up", seconds: 15) {
                try Self.streams(redisReplica.port, replicated: true) == nodeStreams && Self.streams(nodeReplica.port, replicated: true) == Self.streams(redisMaster.port, replicated: true)
            }
        } catch {
            for (a, b) in [(nodeStreams, try Self.streams(redisReplica.port, replicated: true)), (try Self.streams(redisMaster.port, replicated: true), try Self.streams(nodeReplica.port, replicated: true))] {
                for (x, y) in zip(a, b) where x != y {
                    let same = zip(x, y).prefix { $0 == $1 }.count
                    Issue.record("master: …\(String(x.dropFirst(max(0, same - 200)).prefix(400)).debugDescription)\nreplica: …\(String(y.dropFirst(max(0, same - 200)).prefix(400)).debugDescription)")
                }
            }
            throw error
        }
        // A full synchronization from a redis-server master holding streams.
        let lateReplica = try await startNode(["--replicaof", "127.0.0.1", "\(redisMaster.port)"])
        defer { lateReplica.stop() }
        try await NodeReplicationTests.waitForLink(lateReplica.port)
        try await waitUntil("full sync loaded", seconds: 15) { try Self.streams(lateReplica.port, replicated: true) == Self.streams(redisMaster.port, replicated: true) }
        let lateRedisReplica = try await RedisServer(["--replicaof", "127.0.0.1", "\(nodeMaster.port)"])
        defer { lateRedisReplica.stop() }
        try await NodeReplicationTests.waitForLink(lateRedisReplica.port)
        try await waitUntil("full sync from the node loaded", seconds: 15) { try Self.streams(lateRedisReplica.port, replicated: true) == nodeStreams }
    }

    /// DUMP from either server RESTOREs on the other into the same stream, groups and PELs; a
    /// payload from Redis 5/6 (type 15, no 7.0 counters) loads with Redis's estimates.
    @Test func dumpRestoreAcrossServers() async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        let servers = try await RedisAndNode(["--enable-debug-command", "yes"])
        defer { servers.stop() }
        let redis = try servers.redis.client()
        let node = try servers.node.client()
        let commands = Self.scenario(5)
        _ = try redis.rawFrames(commands)
        _ = try node.rawFrames(commands)
        for key in ["x1", "x2", "e"] {
            guard case .bulk(let fromRedis?) = try redis.command([Array("DUMP".utf8), Array(key.utf8)]),
                  case .bulk(let fromNode?) = try node.command([Array("DUMP".utf8), Array(key.utf8)])
            else { continue }
            let restoredOnNode = try node.command([Array("RESTORE".utf8), Array("r-\(key)".utf8), Array("0".utf8), fromRedis])
            let restoredOnRedis = try redis.command([Array("RESTORE".utf8), Array("n-\(key)".utf8), Array("0".utf8), fromNode])
            #expect(restoredOnNode == .status("OK"))
            #expect(restoredOnRedis == .status("OK"))
            #expect(try Self.streams(servers.node.port, keys: ["r-\(key)"]) == Self.streams(servers.redis.port, keys: [key]))
            #expect(try Self.streams(servers.redis.port, keys: ["n-\(key)"]) == Self.streams(servers.node.port, keys: [key]))
            // Redis's digest of a stream (its entries) is the same on both.
            let digest = try redis.command("DEBUG", "DIGEST-VALUE", key)
            #expect(digest.isError == false)
            #expect(try node.command("DEBUG", "DIGEST-VALUE", "r-\(key)") == digest)
        }
        // Redis's own pre-7.0 payload (unit/type/stream-cgroups.tcl, "Loading from legacy").
        let legacy = Self.legacyPayload
        for client in [redis, node] {
            #expect(try client.command([Array("RESTORE".utf8), Array("legacy".utf8), Array("0".utf8), legacy]) == .status("OK"))
        }
        #expect(try Self.streams(servers.node.port, keys: ["legacy"]) == Self.streams(servers.redis.port, keys: ["legacy"]))
        // A damaged payload is refused, not loaded.
        if case .bulk(var payload?) = try node.command([Array("DUMP".utf8), Array("x1".utf8)]), payload.count > 40 {
            payload[30] ^= 0x5A
            let reply = try node.command([Array("RESTORE".utf8), Array("bad".utf8), Array("0".utf8), payload])
            #expect(reply != .status("OK"))
        }
    }

    static let legacyPayload: [UInt8] = {
        let hex = """
        0F011000000000000000010000000000000000C3404A4057165700000023000201040101018464617461050001030100\
        20010381610204200A0001400A0062600A0002400A0063600A4022018164200A4039200A0065600A0005400A0066200A\
        00FF02060002026731050004000000000000000100000000000000003EF783437A010000010000000000000002000000\
        00000000003EF783437A01000001000000000000000400000000000000003EF783437A01000001000000000000000500\
        000000000000003EF783437A0100000101036331313EF783437A01000004000000000000000100000000000000000000\
        000000000002000000000000000000000000000000040000000000000000000000000000000500000000000000000267\
        320000000009003D52EF6867521DFA
        """
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }()

    /// The AOF replays streams as they were (XCLAIM and XGROUP SETID for the PELs; entries-read as
    /// Redis 7.0 replays it), and a rewrite keeps them, empty streams and consumers without pending
    /// entries included.
    @Test func appendOnlyFileKeepsStreams() async throws {
        let directory = try TemporaryDirectory()
        let node = try await startNode(["--appendonly", "yes", "--enable-debug-command", "yes"], directory: directory)
        defer { node.stop() }
        let client = try node.client()
        _ = try client.rawFrames(Self.scenario(11))
        let before = try Self.streams(node.port, replicated: true)
        #expect(try client.command("DEBUG", "LOADAOF") == .status("OK"))
        #expect(try Self.streams(node.port, replicated: true) == before)
        _ = try client.command("BGREWRITEAOF")
        try await waitUntil("rewrite finished", seconds: 20) {
            guard case .bulk(let info?) = try client.command("INFO", "persistence") else { return false }
            return String(decoding: info, as: UTF8.self).contains("aof_rewrite_in_progress:0")
                && String(decoding: info, as: UTF8.self).contains("aof_last_bgrewrite_status:ok")
        }
        #expect(try client.command("DEBUG", "LOADAOF") == .status("OK"))
        #expect(try Self.streams(node.port, replicated: true) == before)
    }

    /// XREAD BLOCK is served by XADD; XREADGROUP BLOCK fails when its group is destroyed or its key
    /// deleted; a timeout answers a null array.
    @Test func blockedReadersAreServedOrFailed() async throws {
        let node = try await startNode()
        defer { node.stop() }
        let client = try node.client()
        let reader = try node.client()
        _ = try client.command("XADD", "b", "5-0", "f", "v")
        try reader.sendRaw(RedisTestClient.encode(["XREAD", "BLOCK", "0", "STREAMS", "b", "$"].map { Array($0.utf8) }))
        try await waitForBlocked(client, 1)
        _ = try client.command("XADD", "b", "6-0", "g", "w")
        #expect(try reader.readReply() == .array([.array([.bulk("b"), .array([.array([.bulk("6-0"), .array([.bulk("g"), .bulk("w")])])])])]))

        _ = try client.command("XGROUP", "CREATE", "b", "grp", "$")
        try reader.sendRaw(RedisTestClient.encode(["XREADGROUP", "GROUP", "grp", "c", "BLOCK", "0", "STREAMS", "b", ">"].map { Array($0.utf8) }))
        try await waitForBlocked(client, 1)
        _ = try client.command("XGROUP", "DESTROY", "b", "grp")
        guard case .error(let destroyed) = try reader.readReply() else { Issue.record("no error"); return }
        #expect(destroyed.hasPrefix("NOGROUP"))

        _ = try client.command("XGROUP", "CREATE", "b", "grp", "$")
        try reader.sendRaw(RedisTestClient.encode(["XREADGROUP", "GROUP", "grp", "c", "BLOCK", "0", "STREAMS", "b", ">"].map { Array($0.utf8) }))
        try await waitForBlocked(client, 1)
        _ = try client.command("DEL", "b")
        guard case .error(let deleted) = try reader.readReply() else { Issue.record("no error"); return }
        #expect(deleted.contains("no longer exists"))

        #expect(try reader.command("XREAD", "BLOCK", "50", "STREAMS", "b", "$") == .array(nil))

        // Woken by one of two streams written in one transaction: answered with that stream only.
        try reader.sendRaw(RedisTestClient.encode(["XREAD", "BLOCK", "0", "STREAMS", "s1", "s2", "$", "$"].map { Array($0.utf8) }))
        try await waitForBlocked(client, 1)
        _ = try client.pipeline([["MULTI"], ["SET", "s1", "now a string"], ["XADD", "s2", "1-0", "f", "v"], ["EXEC"]])
        #expect(try reader.readReply() == .array([.array([.bulk("s2"), .array([.array([.bulk("1-0"), .array([.bulk("f"), .bulk("v")])])])])]))
    }

    func waitForBlocked(_ client: RedisTestClient, _ count: Int) async throws {
        try await waitUntil("\(count) blocked", seconds: 5) {
            guard case .bulk(let info?) = try client.command("INFO", "clients") else { return false }
            return String(decoding: info, as: UTF8.self).contains("blocked_clients:\(count)")
        }
    }
}
