import Foundation
import NIOCore
import RESP
import Testing

/// Bitmap commands against a real redis-server and a node, reply by reply, byte for byte (errors
/// included): random sequences of SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD and BITFIELD_RO
/// with odd arguments, mixed with string writes, wrong types and TTLs on the same keys. Both run
/// with an AOF written on every command, and what each propagated is compared too.
@Suite(.serialized)
struct NodeBitmapTests {
    typealias Generator = NodeDifferentialTests.Generator

    static let keys = ["b1", "b2", "b3", "b4", "l1"]
    static let values = ["", "a", "foobar", "\u{00ff}\u{00f0}", "123", "-1", "\u{0000}\u{0001}", "zzzzzzzzzzzzzzzzzz", "xyz"]
    static let offsets = ["0", "1", "7", "8", "15", "17", "63", "64", "100", "1000", "-1", "x", "", "4294967296", "#1", "01"]
    static let bits = ["0", "1", "2", "-1", "x", "", "01"]
    static let indices = ["0", "1", "-1", "-2", "2", "3", "5", "-5", "-100", "100", "x", "9223372036854775807", "-9223372036854775808"]
    static let units = ["BYTE", "BIT", "bit", "byte", "bits"]
    static let types = ["i1", "u1", "i5", "u7", "i8", "u8", "i16", "u15", "i32", "u31", "i63", "i64", "u63", "u64", "x8", "i0", "I8", "i"]
    /// (Offsets near 2^32, which make 512 MB strings, are `offsetsAtTheLimitMatchRedis`'s.)
    static let fieldOffsets = ["0", "1", "7", "13", "31", "#0", "#1", "#3", "100", "-1", "#", "#-1", "x", "4294967296"]
    static let fieldValues = ["0", "1", "-1", "100", "255", "256", "-129", "127", "-128", "9223372036854775807",
                              "-9223372036854775808", "x", "1.5"]

    /// One random command.
    static func command(_ g: inout Generator) -> [String] {
        let key = g.pick(keys)
        switch g.int(0...21) {
        case 0, 1: return ["SETBIT", key, offset(&g), g.chance(90) ? g.pick(["0", "1"]) : g.pick(bits)]
        case 2: return ["GETBIT", key, offset(&g)]
        case 3, 4:
            var command = ["BITCOUNT", key]
            // 0, 2 or 3 range arguments mostly, sometimes a wrong count.
            switch g.int(0...9) {
            case 0, 1: break
            case 2...5: command += [g.pick(indices), g.pick(indices)]
            case 6...8: command += [g.pick(indices), g.pick(indices), g.pick(units)]
            default: command += g.chance(50) ? [g.pick(indices)] : [g.pick(indices), g.pick(indices), "BIT", "x"]
            }
            return command
        case 5, 6:
            var command = ["BITPOS", key, g.chance(90) ? g.pick(["0", "1"]) : g.pick(bits)]
            let count = g.int(0...4)
            if count >= 1 { command.append(g.pick(indices)) }
            if count >= 2 { command.append(g.pick(indices)) }
            if count >= 3 { command.append(g.pick(units)) }
            if count >= 4 { command.append("x") }
            return command
        case 7, 8:
            let operation = g.chance(95) ? g.pick(["AND", "or", "Xor", "NOT", "not"]) : "nand"
            let count = operation.uppercased() == "NOT" && g.chance(90) ? 1 : g.int(1...3)
            let sources = (0..<count).map { _ in g.pick(keys + ["missing"]) }
            return ["BITOP", operation, g.pick(keys)] + sources
        case 9...12: return ["BITFIELD", key] + fieldOperations(&g, readOnly: false)
        case 13: return ["BITFIELD_RO", key] + fieldOperations(&g, readOnly: g.chance(85))
        case 14: return ["SET", key, g.pick(values)]
        case 15: return ["GET", key]
        case 16: return ["APPEND", key, g.pick(values)]
        case 17: return ["SETRANGE", key, g.pick(["0", "1", "3", "9", "-1"]), g.pick(values)]
        case 18: return [g.pick(["STRLEN", "DEL", "DEL", "EXISTS"]), key]
        // Mostly "l1" holds the list; now and then a bitmap key becomes one until deleted or SET.
        case 19: return g.chance(40) ? ["LPUSH", g.chance(80) ? "l1" : key, "e"] : ["INCR", key]
        case 20: return ["EXPIRE", key, "1000"]
        default: return ["TTL", key]
        }
    }

    /// A bit offset: mostly valid, sometimes negative, not a number, or past the limit.
    static func offset(_ g: inout Generator) -> String {
        g.chance(85) ? g.pick(Array(offsets.prefix(10))) : g.pick(offsets)
    }

    /// 0 to 4 BITFIELD operations; now and then one that is cut short or unknown.
    static func fieldOperations(_ g: inout Generator, readOnly: Bool) -> [String] {
        var arguments: [String] = []
        for _ in 0..<g.int(0...4) {
            let type = g.chance(85) ? g.pick(Array(types.prefix(13))) : g.pick(types)
            let offset = g.chance(90) ? g.pick(Array(fieldOffsets.prefix(9))) : g.pick(fieldOffsets)
            let value = g.chance(90) ? g.pick(Array(fieldValues.prefix(11))) : g.pick(fieldValues)
            switch readOnly ? 0 : g.int(0...4) {
            case 0: arguments += ["GET", type, offset]
            case 1: arguments += ["SET", type, offset, value]
            case 2: arguments += ["INCRBY", type, offset, value]
            case 3: arguments += ["OVERFLOW", g.chance(90) ? g.pick(["WRAP", "SAT", "FAIL", "fail"]) : "BOUNCE"]
            default:
                if g.chance(15) {
                    arguments += g.chance(50) ? [g.pick(["incrBY", "set", "get"]), type] : ["FOO", type, offset]
                } else {
                    arguments += ["GET", type, offset]
                }
            }
        }
        return arguments
    }

    /// The reply as compared: its bytes (printable ASCII as is, the rest as `\xNN`), except a
    /// positive TTL, which is only "positive".
    static func normalized(_ frame: ByteBuffer, for command: [String]) -> String {
        let text = escaped(frame)
        if command[0] == "TTL", let value = Int(text.dropFirst().dropLast(6)), value > 0 { return ":positive" }
        return text
    }

    /// Every byte kept apart (a lossy UTF-8 decoding would make 0xFE and 0xFF equal).
    static func escaped(_ frame: ByteBuffer) -> String {
        frame.readableBytesView.map { byte in
            byte >= 0x20 && byte < 0x7F && byte != UInt8(ascii: "\\") ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16)
        }.joined()
    }

    /// The commands in the incremental AOF files of a server's `dir`, in order, with the absolute
    /// times of PEXPIREAT and SET .. PXAT (which differ between the two servers) left out.
    static func propagated(_ server: RedisServer) throws -> [[String]] {
        let directory = server.directory.path + "/appendonlydir"
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".incr.aof") }.sorted()
        var commands: [[String]] = []
        for file in files {
            var buffer = ByteBuffer(bytes: try Data(contentsOf: URL(fileURLWithPath: directory + "/" + file)))
            var framer = RESPReplyFramer()
            while var frame = try framer.nextFrame(from: &buffer) {
                guard case .array(let items?)? = Reply.decode(&frame) else { throw TestFailure("not a command in \(file)") }
                var command = items.map { $0.string ?? "?" }
                if command.first?.uppercased() == "PEXPIREAT", command.count == 3 { command[2] = "<time>" }
                if command.first?.uppercased() == "SET", let index = command.firstIndex(where: { $0.uppercased() == "PXAT" }),
                    index + 1 < command.count
                {
                    command[index + 1] = "<time>"
                }
                commands.append(command)
            }
        }
        return commands
    }

    /// Runs `commands` on both servers in batches and records the first reply that differs.
    static func compare(_ commands: [[String]], _ redis: RedisTestClient, _ node: RedisTestClient, context: String) throws -> Bool {
        var position = 0
        while position < commands.count {
            let batch = Array(commands[position..<min(position + 50, commands.count)])
            let expected = try redis.rawFrames(batch)
            let actual = try node.rawFrames(batch)
            for index in batch.indices {
                let want = normalized(expected[index], for: batch[index])
                let got = normalized(actual[index], for: batch[index])
                guard want == got else {
                    let at = position + index
                    Issue.record(
                        """
                        \(context), command #\(at): \(batch[index].map(\.debugDescription).joined(separator: " "))
                        redis: \(want.debugDescription)
                        node:  \(got.debugDescription)
                        previous: \(commands[max(0, at - 8)..<at].map { $0.joined(separator: " ") })
                        """)
                    return false
                }
            }
            position += batch.count
        }
        return true
    }

    /// Both servers with an AOF written before every reply, so what each propagated can be read back.
    static func servers() async throws -> RedisAndNode {
        try await RedisAndNode(["--appendonly", "yes", "--appendfsync", "always"])
    }

    /// Waits (bounded) until both AOFs hold the same commands, then compares them.
    static func comparePropagation(_ servers: RedisAndNode, context: String) async throws {
        var redisCommands: [[String]] = []
        var nodeCommands: [[String]] = []
        do {
            try await waitUntil("both AOFs hold the same commands", seconds: 5) {
                redisCommands = try propagated(servers.redis)
                nodeCommands = try propagated(servers.node)
                return redisCommands == nodeCommands
            }
        } catch {
            let first = zip(redisCommands, nodeCommands).enumerated().first { $0.element.0 != $0.element.1 }?.offset
                ?? min(redisCommands.count, nodeCommands.count)
            Issue.record(
                """
                \(context): propagation differs at command #\(first) of \(redisCommands.count) (redis) / \(nodeCommands.count) (node)
                redis: \(redisCommands[first..<min(first + 3, redisCommands.count)])
                node:  \(nodeCommands[first..<min(first + 3, nodeCommands.count)])
                """)
        }
    }

    @Test(arguments: Array(1...40) as [UInt64])
    func randomSequencesMatchRedis(seed: UInt64) async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        let servers = try await Self.servers()
        defer { servers.stop() }
        let redis = try servers.redis.client()
        let node = try servers.node.client()
        // Half of the seeds speak RESP3 (BITFIELD's refused writes are nulls, which differ on the wire).
        if seed % 2 == 0 {
            _ = try redis.rawFrames([["HELLO", "3"]])
            _ = try node.rawFrames([["HELLO", "3"]])
        }
        var generator = Generator(seed: seed)
        let commands = (0..<400).map { _ in Self.command(&generator) }
        guard try Self.compare(commands, redis, node, context: "seed \(seed)") else { return }
        // The same dataset at the end, and the same hits and misses on the way.
        let final = Self.keys.flatMap { [["TYPE", $0], ["GET", $0], ["TTL", $0]] } + [["INFO", "stats"]]
        let redisFinal = try zip(redis.rawFrames(final), final).map(Self.normalized)
        let nodeFinal = try zip(node.rawFrames(final), final).map(Self.normalized)
        #expect(redisFinal.dropLast() == nodeFinal.dropLast(), "seed \(seed)")
        #expect(Self.statsLines(redisFinal.last!) == Self.statsLines(nodeFinal.last!), "seed \(seed)")
        try await Self.comparePropagation(servers, context: "seed \(seed)")
    }

    /// `keyspace_hits`/`keyspace_misses` from an INFO reply.
    static func statsLines(_ info: String) -> [String] {
        info.split(separator: "\r\n").filter { $0.hasPrefix("keyspace_hits:") || $0.hasPrefix("keyspace_misses:") }.map(String.init)
    }

    /// Fixed cases: Redis's odd rules and the ones the random sequences reach rarely.
    @Test func edgeCasesMatchRedis() async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        let servers = try await Self.servers()
        defer { servers.stop() }
        let commands: [[String]] = [
            // BITPOS: a clear bit past the end without an end, -1 with one; an empty string.
            ["SETBIT", "zeros", "15", "0"], ["BITOP", "NOT", "ones", "zeros"], ["BITPOS", "ones", "0"], ["BITPOS", "ones", "0", "1"],
            ["BITPOS", "ones", "0", "0", "-1"], ["BITPOS", "ones", "0", "3", "9", "BIT"], ["BITPOS", "ones", "1", "-100", "-200"],
            ["BITCOUNT", "ones", "-100", "-200"], ["BITCOUNT", "ones", "-1", "-2", "nonsense"], ["BITCOUNT", "ones", "0", "0", "nonsense"],
            ["BITPOS", "ones", "1", "x", "y", "nonsense"], ["BITPOS", "ones", "1", "0", "y", "BIT"],
            ["SET", "empty", ""], ["BITPOS", "empty", "0"], ["BITPOS", "empty", "1"], ["BITCOUNT", "empty", "0", "-1", "BIT"],
            ["BITPOS", "missing", "0", "x"], ["BITPOS", "missing", "1"], ["BITCOUNT", "missing", "x"], ["BITPOS", "ones", "2"],
            // BITOP: missing sources as zeros, result length, an empty result deletes the destination.
            ["SET", "a", "foobar"], ["SET", "b", "abc"], ["BITOP", "AND", "d", "a", "b", "missing"], ["GET", "d"],
            ["BITOP", "OR", "d", "a", "b"], ["GET", "d"], ["BITOP", "XOR", "d", "a", "b"], ["GET", "d"],
            ["BITOP", "NOT", "d", "a"], ["GET", "d"], ["BITOP", "NOT", "d", "a", "b"], ["BITOP", "NAND", "d", "a"],
            ["EXPIRE", "d", "100"], ["BITOP", "OR", "d", "missing", "missing2"], ["EXISTS", "d"],
            ["LPUSH", "list", "x"], ["BITOP", "OR", "d", "a", "list"], ["BITOP", "OR", "list", "a"], ["TYPE", "list"],
            // BITFIELD: Redis's own examples, replies, errors, and the SAT quirk for very negative SETs.
            ["BITFIELD", "f", "SET", "i8", "0", "-100", "SET", "i8", "0", "101", "GET", "i8", "0"],
            ["BITFIELD", "f", "SET", "u8", "0", "255", "INCRBY", "u8", "0", "100", "GET", "u8", "0"],
            ["BITFIELD", "f", "OVERFLOW", "SAT", "SET", "i8", "0", "-9223372036854775808", "GET", "i8", "0",
             "SET", "i8", "0", "-9223372036854775680", "GET", "i8", "0", "SET", "u8", "0", "-1", "GET", "u8", "0"],
            ["BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "i64", "0", "-9223372036854775808", "INCRBY", "i64", "0", "-1", "GET", "u63", "1"],
            ["BITFIELD", "f", "GET", "i8", "#9223372036854775807"], ["BITFIELD", "f", "GET", "i64", "#67108863"],
            ["BITFIELD", "f", "GET", "i64", "#67108864"], ["BITFIELD", "f", "GET", "u64", "0"], ["BITFIELD", "f", "GET", "u8"],
            ["BITFIELD", "f", "OVERFLOW", "WRAP", "OVERFLOW"], ["BITFIELD", "f", "OVERFLOW", "nope", "GET", "x", "y"],
            ["BITFIELD", "f", "SET", "u8", "0", "x"], ["BITFIELD", "f"], ["BITFIELD", "list"], ["BITFIELD", "list", "SET", "u8", "0", "1"],
            ["BITFIELD_RO", "f", "GET", "u8", "0", "GET", "i4", "#1"], ["BITFIELD_RO", "f", "SET", "u8", "0", "x"],
            ["BITFIELD_RO", "f", "INCRBY", "u8", "0", "1"], ["BITFIELD_RO", "missing", "GET", "u8", "0"],
            // A BITFIELD whose every write fails still creates (or pads) the key, and propagates nothing.
            ["BITFIELD", "failing", "OVERFLOW", "FAIL", "SET", "u2", "0", "100", "INCRBY", "i8", "40", "-200"],
            ["EXISTS", "failing"], ["STRLEN", "failing"],
            // BITFIELD with a write that changes nothing is no change either; SETBIT likewise.
            ["BITFIELD", "f", "SET", "u8", "0", "0"], ["BITFIELD", "f", "SET", "u8", "0", "0"], ["SETBIT", "f", "0", "0"],
            // SETBIT and GETBIT: values, offsets, wrong types; SETBIT keeps the TTL.
            ["SETBIT", "s", "7", "1"], ["SETBIT", "s", "7", "1"], ["SETBIT", "s", "100", "0"], ["GET", "s"], ["STRLEN", "s"],
            ["SETBIT", "s", "1", "2"], ["SETBIT", "s", "1", "-1"], ["SETBIT", "s", "-1", "1"], ["SETBIT", "s", "x", "x"],
            ["SETBIT", "s", "4294967296", "1"], ["GETBIT", "s", "4294967296"], ["GETBIT", "s", "4294967295"], ["GETBIT", "s", "+1"],
            ["EXPIRE", "s", "100"], ["SETBIT", "s", "3", "1"], ["TTL", "s"], ["SETBIT", "list", "0", "1"], ["GETBIT", "list", "0"],
            ["SET", "n", "123"], ["BITCOUNT", "n"], ["SETBIT", "n", "7", "0"], ["GET", "n"],
            // WRONGTYPE only after the arguments were found good, as in Redis.
            ["BITCOUNT", "list"], ["BITPOS", "list", "1"], ["BITPOS", "list", "7"], ["BITFIELD", "list", "GET", "u99", "0"],
        ]
        let redis = try servers.redis.client()
        let node = try servers.node.client()
        for protocolVersion in ["2", "3"] {
            _ = try redis.rawFrames([["FLUSHALL"], ["HELLO", protocolVersion]])
            _ = try node.rawFrames([["FLUSHALL"], ["HELLO", protocolVersion]])
            guard try Self.compare(commands, redis, node, context: "RESP\(protocolVersion)") else { return }
        }
        try await Self.comparePropagation(servers, context: "edge cases")
    }

    /// Each key's type and, for strings, its exact bytes.
    static func snapshot(_ server: RedisServer) throws -> [String: String] {
        let client = try server.client()
        var result: [String: String] = [:]
        for key in keys {
            let type = try client.command("TYPE", key).string ?? "?"
            result[key] = type == "string" ? "string " + escaped(try client.rawFrames([["GET", key]])[0]) : type
        }
        return result
    }

    /// A redis-server replica of a node, and a node replica of a redis-server, end up with the
    /// master's bitmaps byte for byte: what existed before the link through the full sync, the rest
    /// through the stream.
    @Test(arguments: [true, false])
    func replicasHoldTheMastersBitmaps(nodeIsMaster: Bool) async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        let master = nodeIsMaster ? try await startNode() : try await RedisServer()
        defer { master.stop() }
        let replica = nodeIsMaster ? try await RedisServer() : try await startNode()
        defer { replica.stop() }
        var generator = Generator(seed: nodeIsMaster ? 101 : 202)
        let client = try master.client()
        _ = try client.rawFrames((0..<200).map { _ in Self.command(&generator) })
        try await replica.replicate(from: master)
        _ = try client.rawFrames((0..<400).map { _ in Self.command(&generator) })
        let expected = try Self.snapshot(master)
        #expect(expected.values.contains { $0.hasPrefix("string ") }, "the sequence leaves bitmaps to compare")
        var actual: [String: String] = [:]
        do {
            try await waitUntil("the replica holds the master's data", seconds: 10) {
                actual = try Self.snapshot(replica)
                return actual == expected
            }
        } catch {
            Issue.record("replica differs: \(actual.filter { expected[$0.key] != $0.value })")
        }
    }

    /// The largest offsets: SETBIT at bit 2^32 - 1 makes a 512 MB string on both (and does not hang
    /// or trap), one bit further is refused; BITFIELD may reach a few bytes past 512 MB, as in Redis.
    @Test func offsetsAtTheLimitMatchRedis() async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        let servers = try await Self.servers()
        defer { servers.stop() }
        let redis = try RedisTestClient(port: servers.redis.port, timeoutSeconds: 60)
        let node = try RedisTestClient(port: servers.node.port, timeoutSeconds: 60)
        let commands: [[String]] = [
            ["SETBIT", "big", "4294967295", "1"], ["STRLEN", "big"], ["GETBIT", "big", "4294967295"],
            ["SETBIT", "big", "4294967296", "1"], ["BITCOUNT", "big"], ["BITPOS", "big", "1"], ["BITPOS", "big", "0", "-1"],
            ["BITCOUNT", "big", "-8", "-1", "BIT"], ["DEL", "big"],
            ["BITFIELD", "big", "SET", "i64", "4294967295", "-1"], ["STRLEN", "big"], ["BITFIELD", "big", "GET", "u63", "4294967296"],
            ["DEL", "big"],
        ]
        _ = try Self.compare(commands, redis, node, context: "limits")
    }
}
