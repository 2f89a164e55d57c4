import Foundation
import NIOCore
import Testing

/// HyperLogLog on the node against a real redis-server: the same random PF*/GET/SET/PFDEBUG
/// sequences answered byte for byte (the values themselves through GET), raw values moved between
/// the two servers both ways (GET/SET, RDB files, replication: full sync and the PF* stream,
/// PFCOUNT's cache update included), keyspace statistics, WATCH, and PFSELFTEST.
@Suite(.serialized, .enabled(if: TestEnvironment.canRun("redis-server")))
struct NodeHyperLogLogTests {
    typealias Generator = NodeDifferentialTests.Generator

    static let keys = ["p1", "p2", "p3", "{p}4", "s1"]

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    static let header: [UInt8] = Array("HYLL".utf8) + [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80]
    /// Strings that are no HLL, or corrupt ones, or edits of one.
    static let oddValues: [[UInt8]] = [
        bytes("x"), bytes("HYLL"), Array("HYLL".utf8) + [2] + [UInt8](repeating: 0, count: 11),
        header + [0x40 | 0x3e, 0xff], header + [0x7f, 0xff, 0x00], header, header + [0x7f, 0xfe, 0x40],
        Array("HYLL".utf8) + [0] + [UInt8](repeating: 0, count: 11 + 100),
    ]

    /// One random command.
    static func command(_ g: inout Generator) -> [[UInt8]] {
        let key = bytes(g.pick(keys))
        let other = bytes(g.pick(keys))
        switch g.int(0...23) {
        case 0...4: return [bytes("PFADD"), key] + (0..<g.int(1...12)).map { _ in bytes("e\(g.int(0...3000))") }
        case 5: return [bytes("PFADD"), key] + (0..<g.pick([100, 400, 2000])).map { _ in bytes("b\(g.int(0...1_000_000))") }
        case 6: return [bytes("PFADD"), key]
        case 7, 8: return [bytes("PFCOUNT"), key]
        case 9: return [bytes("PFCOUNT"), key, other] + (g.chance(50) ? [bytes(g.pick(keys))] : [])
        case 10, 11: return [bytes("PFMERGE"), key, other] + (g.chance(50) ? [bytes(g.pick(keys))] : [])
        case 12: return [bytes("PFMERGE"), key]
        case 13, 14: return [bytes("GET"), key]
        case 15: return [bytes("PFDEBUG"), bytes(g.pick(["ENCODING", "decode", "TODENSE", "GETREG", "nope"])), key]
        case 16: return [bytes("SET"), key, g.pick(oddValues)]
        case 17: return [bytes("DEL"), key]
        case 18: return [bytes("APPEND"), key, g.pick([[0], [0x80], [0x40]])]
        case 19: return [bytes("SETRANGE"), key, bytes(g.pick(["15", "4", "16"])), g.pick([[0], [1], [0x83]])]
        case 20: return [bytes("RPUSH"), key, bytes("x")]
        // PERSIST answers whether the TTL survived what happened since (PFADD and PFMERGE keep it).
        case 21: return [bytes("EXPIRE"), key, bytes("1000")]
        case 22: return [bytes("PERSIST"), key]
        default: return [bytes("TYPE"), key]
        }
    }

    static func describe(_ command: [[UInt8]]) -> String {
        command.map { String(decoding: $0.prefix(24), as: UTF8.self) }.joined(separator: " ")
    }

    @Test(arguments: Array(1...24) as [UInt64])
    func randomSequencesMatchRedis(seed: UInt64) async throws {
        let servers = try await RedisAndNode()
        defer { servers.stop() }
        let redis = try servers.redis.client()
        let node = try servers.node.client()
        // The sparse limit decides when values turn dense: Redis's default and small ones.
        let limit = ["3000", "300", "40", "0"][Int(seed % 4)]
        for client in [redis, node] {
            #expect(try client.command("CONFIG", "SET", "hll-sparse-max-bytes", limit) == .status("OK"))
        }
        var generator = Generator(seed: seed)
        var history: [[[UInt8]]] = []
        for batch in 0..<8 {
            let commands = (0..<40).map { _ in Self.command(&generator) }
            history += commands
            let expected = try redis.frames(commands)
            let actual = try node.frames(commands)
            for index in commands.indices where expected[index] != actual[index] {
                let position = batch * 40 + index
                Issue.record(
                    """
                    seed \(seed), limit \(limit), command #\(position): \(Self.describe(commands[index]))
                    redis: \(String(decoding: expected[index].prefix(300), as: UTF8.self).debugDescription)
                    node:  \(String(decoding: actual[index].prefix(300), as: UTF8.self).debugDescription)
                    previous: \(history[max(0, position - 6)..<position].map(Self.describe))
                    """)
                return
            }
        }
        let final = Self.keys.flatMap { [[Self.bytes("TYPE"), Self.bytes($0)], [Self.bytes("GET"), Self.bytes($0)]] }
        #expect(try redis.frames(final) == node.frames(final))
        // As many changes counted (PFADD counts one per register it raised).
        #expect(try Self.info(redis, "persistence", "rdb_changes_since_last_save") == Self.info(node, "persistence", "rdb_changes_since_last_save"))
    }

    /// One INFO field.
    static func info(_ client: RedisTestClient, _ section: String, _ field: String) throws -> String? {
        guard case .bulk(let bytes?) = try client.command("INFO", section) else { return nil }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\r\n").first { $0.hasPrefix("\(field):") }.map(String.init)
    }

    /// Keyspace hits and misses as Redis counts them: PFCOUNT and PFMERGE read their keys (a
    /// PFMERGE destination too, as a source), PFADD and PFDEBUG look theirs up for writing.
    @Test func keyspaceStatisticsMatchRedis() async throws {
        let servers = try await RedisAndNode()
        defer { servers.stop() }
        let commands: [[String]] = [
            ["PFADD", "a", "x"], ["PFADD", "a"], ["PFCOUNT", "a"], ["PFCOUNT", "missing"], ["PFCOUNT", "a", "missing", "a"],
            ["PFMERGE", "d", "a", "missing"], ["PFMERGE", "d2"], ["PFDEBUG", "ENCODING", "a"], ["PFDEBUG", "GETREG", "missing"],
            ["SET", "s", "x"], ["PFCOUNT", "a", "s", "a"], ["PFMERGE", "a", "s"], ["PFADD", "s", "e"], ["RPUSH", "l", "x"],
            ["PFCOUNT", "a", "l"], ["PFMERGE", "missing", "l"], ["PFDEBUG", "DECODE", "l"],
        ]
        for server in [servers.redis, servers.node] {
            let client = try server.client()
            _ = try client.pipeline(commands)
        }
        for field in ["keyspace_hits", "keyspace_misses"] {
            #expect(try Self.info(servers.redis.client(), "stats", field) == Self.info(servers.node.client(), "stats", field))
        }
    }

    /// `hll-sparse-max-bytes` reads, refuses and reports values as Redis's size_t memory directive.
    @Test func sparseLimitDirectiveMatchesRedis() async throws {
        let servers = try await RedisAndNode(["--hll-sparse-max-bytes", "2kb"])
        defer { servers.stop() }
        var commands: [[[UInt8]]] = [[Self.bytes("CONFIG"), Self.bytes("GET"), Self.bytes("hll-sparse-max-bytes")]]
        for value in ["0", "1kb", "+5", "007", "-1", "x", "1.5", "9223372036854775807", "9223372036854775808",
                      "18446744073709551616", "9223372036854775807gb", "3000"] {
            commands.append(["CONFIG", "SET", "hll-sparse-max-bytes", value].map(Self.bytes))
            commands.append(["CONFIG", "GET", "hll-sparse-max-bytes"].map(Self.bytes))
        }
        let redis = try servers.redis.client().frames(commands)
        let node = try servers.node.client().frames(commands)
        for index in commands.indices {
            #expect(
                String(decoding: node[index], as: UTF8.self) == String(decoding: redis[index], as: UTF8.self),
                "\(Self.describe(commands[index]))")
        }
    }

    /// Values built on one server, copied with GET and SET to the other, count and grow the same.
    @Test func rawValuesMoveBothWays() async throws {
        let servers = try await RedisAndNode()
        defer { servers.stop() }
        let redis = try servers.redis.client()
        let node = try servers.node.client()
        let sizes = [("small", 20), ("sparse", 600), ("dense", 20000)]
        for (source, target) in [(redis, node), (node, redis)] {
            for (name, size) in sizes {
                let key = Self.bytes(name)
                _ = try source.frames([[Self.bytes("DEL"), key]])
                for start in stride(from: 0, to: size, by: 1000) {
                    let elements = (start..<min(size, start + 1000)).map { Self.bytes("\(name):\($0)") }
                    _ = try source.frames([[Self.bytes("PFADD"), key] + elements])
                }
                // Once with the cache stale, once with it valid.
                for round in 0..<2 {
                    guard case .bulk(let value?) = try source.command([Self.bytes("GET"), key]) else {
                        Issue.record("no value for \(name)")
                        return
                    }
                    #expect(try target.command([Self.bytes("SET"), key, value]) == .status("OK"))
                    let steps: [[[UInt8]]] = [
                        [Self.bytes("PFCOUNT"), key], [Self.bytes("GET"), key], [Self.bytes("PFDEBUG"), Self.bytes("ENCODING"), key],
                        [Self.bytes("PFADD"), key] + (0..<50).map { Self.bytes("more\(round):\($0)") },
                        [Self.bytes("PFCOUNT"), key], [Self.bytes("GET"), key],
                    ]
                    let there = try target.frames(steps)
                    let here = try source.frames(steps)
                    #expect(there == here, "\(name) round \(round)")
                }
            }
        }
    }

    /// Replication both ways: the full sync carries the values, then PFADD, PFMERGE, PFDEBUG TODENSE
    /// and PFCOUNT's cache update reach the replica, which ends up with the master's bytes.
    @Test(arguments: [true, false])
    func replicasHoldTheMastersBytes(nodeIsMaster: Bool) async throws {
        let servers = try await RedisAndNode()
        defer { servers.stop() }
        let (master, replica) = nodeIsMaster ? (servers.node, servers.redis) : (servers.redis, servers.node)
        let client = try master.client()
        _ = try client.pipeline([
            ["PFADD", "before", "a", "b", "c"], ["PFADD", "dense"] + (0..<3000).map { "d\($0)" }, ["PFCOUNT", "dense"],
        ])
        try await replica.replicate(from: master)
        _ = try client.pipeline([
            ["PFADD", "after", "x", "y"], ["PFCOUNT", "after"], ["PFMERGE", "merged", "before", "after"],
            ["PFADD", "todense", "t"], ["PFDEBUG", "TODENSE", "todense"], ["PFADD", "before", "d"], ["PFCOUNT", "before"],
        ])
        #expect(try client.command("WAIT", "1", "5000") == .integer(1))
        let replicaClient = try replica.client()
        for key in ["before", "dense", "after", "merged", "todense"] {
            let value = try client.command("GET", key)
            #expect(value != .bulk(nil))
            // The replica's value is read without PFCOUNT, which would change it there.
            #expect(try replicaClient.command("GET", key) == value, "\(key)")
        }
    }

    /// An RDB file saved by one server, loaded by the other at startup, holds the same HLL bytes
    /// (sparse, dense, with and without a valid cache), which then count and grow the same.
    @Test(arguments: [true, false])
    func rdbFilesCarryTheValues(nodeSaves: Bool) async throws {
        let writer = nodeSaves ? try await startNode() : try await RedisServer()
        defer { writer.stop() }
        let client = try writer.client()
        _ = try client.pipeline([
            ["PFADD", "small", "a", "b"], ["PFADD", "sparse"] + (0..<300).map { "s\($0)" },
            ["PFADD", "dense"] + (0..<3000).map { "d\($0)" }, ["PFCOUNT", "dense"],
        ])
        let keys = ["small", "sparse", "dense"]
        let saved = try keys.map { try client.command("GET", $0) }
        #expect(try client.command("SAVE") == .status("OK"))
        let steps = keys.flatMap { [["PFCOUNT", $0], ["PFADD", $0, "more"], ["PFCOUNT", $0], ["GET", $0]] }
        let expected = try client.pipeline(steps)
        writer.stop()
        let reader = nodeSaves ? try await RedisServer(directory: writer.directory) : try await startNode(directory: writer.directory)
        defer { reader.stop() }
        let readerClient = try reader.client()
        for (key, value) in zip(keys, saved) {
            #expect(value != .bulk(nil))
            #expect(try readerClient.command("GET", key) == value, "\(key)")
        }
        #expect(try readerClient.pipeline(steps) == expected)
    }

    /// WATCH sees PFCOUNT's cache update (Redis signals the key) but not PFDEBUG's conversion.
    @Test func watchSeesWhatRedisSignals() async throws {
        let servers = try await RedisAndNode()
        defer { servers.stop() }
        for server in [servers.redis, servers.node] {
            let watcher = try server.client()
            let other = try server.client()
            _ = try other.pipeline([["PFADD", "w", "a"], ["PFADD", "v", "a"]])
            _ = try watcher.pipeline([["WATCH", "w"]])
            #expect(try other.command("PFCOUNT", "w") == .integer(1))
            #expect(try watcher.pipeline([["MULTI"], ["PING"], ["EXEC"]]).last == .array(nil), "\(server.kind)")
            _ = try watcher.pipeline([["WATCH", "w"]])
            #expect(try other.command("PFCOUNT", "w") == .integer(1))
            #expect(try watcher.pipeline([["MULTI"], ["PING"], ["EXEC"]]).last == .array([.status("PONG")]), "\(server.kind)")
            _ = try watcher.pipeline([["WATCH", "v"]])
            #expect(try other.command("PFDEBUG", "TODENSE", "v") == .integer(1))
            #expect(try watcher.pipeline([["MULTI"], ["PING"], ["EXEC"]]).last == .array([.status("PONG")]), "\(server.kind)")
        }
    }

    @Test func selfTestPasses() async throws {
        let node = try await startNode()
        defer { node.stop() }
        // Ten million elements through a debug build take a while.
        let client = try RedisTestClient(port: node.port, timeoutSeconds: 300)
        #expect(try client.command("PFSELFTEST") == .status("OK"))
    }
}

extension RedisTestClient {
    /// Sends binary commands in one write and returns each raw reply frame's bytes.
    func frames(_ commands: [[[UInt8]]]) throws -> [[UInt8]] {
        var bytes: [UInt8] = []
        for command in commands { bytes += Self.encode(command) }
        try sendRaw(bytes)
        return try commands.map { _ in Array(try readFrame().readableBytesView) }
    }
}
