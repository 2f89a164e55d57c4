import Foundation
import Testing

/// DEBUG, MEMORY USAGE, OBJECT REFCOUNT/IDLETIME/FREQ and the directives Redis's own test suite
/// needs (`list-compress-depth`, `aof-use-rdb-preamble`), against a real redis-server: the same
/// replies byte for byte where Redis's are deterministic (digests included), the same data after a
/// reload, sizes in the same range.
@Suite(.serialized)
struct NodeDebugCommandsTests {
    typealias Pair = NodeHardeningTests.Pair

    static let debugEnabled = ["--enable-debug-command", "yes"]

    /// Every type, in both encodings of each, one key with a TTL.
    static let dataset: [[String]] = {
        var commands: [[String]] = [
            ["SET", "s", "hello"], ["SET", "n", "12345"], ["SET", "raw", String(repeating: "r", count: 100)],
            ["SET", "ttl", "x", "EX", "1000"],
            ["RPUSH", "l", "a", "b", "1", "2", "-3"], ["SADD", "si", "1", "2", "3"], ["SADD", "ss", "a", "b", "c"],
            ["HSET", "h", "f", "v", "g", "1"], ["ZADD", "z", "1", "a", "2.5", "b", "-inf", "c"],
        ]
        commands.append(["RPUSH", "biglist"] + (0..<600).map { "element-\($0)" })
        commands.append(["SADD", "bigset"] + (0..<600).map { String($0 * 7) })
        commands.append(["HSET", "bighash"] + (0..<600).flatMap { ["field\($0)", "value\($0)"] })
        commands.append(["ZADD", "bigzset"] + (0..<600).flatMap { [String(Double($0) / 3), "member\($0)"] })
        commands.append(["SELECT", "3"])
        commands.append(["SET", "other-db", "y"])
        commands.append(["SELECT", "0"])
        return commands
    }()

    static let keys = ["s", "n", "raw", "ttl", "l", "si", "ss", "h", "z", "biglist", "bigset", "bighash", "bigzset"]

    /// DEBUG DIGEST and DIGEST-VALUE print what redis-server prints for the same data, and change
    /// when the data changes.
    @Test func digestsMatchRedis() async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        let pair = try await Pair(Self.debugEnabled)
        defer { pair.stop() }
        try pair.compare([["DEBUG", "DIGEST"], ["DEBUG", "DIGEST-VALUE", "nothing"]])
        try pair.compare(Self.dataset)
        try pair.compare([["DEBUG", "DIGEST"], ["DEBUG", "DIGEST-VALUE"] + Self.keys + ["missing"]])
        let before = try pair.nodeClient.command("DEBUG", "DIGEST")
        try pair.compare([
            ["LSET", "l", "0", "changed"], ["DEBUG", "DIGEST-VALUE", "l"], ["ZINCRBY", "bigzset", "1", "member5"],
            ["DEBUG", "DIGEST-VALUE", "bigzset"], ["PERSIST", "ttl"], ["DEBUG", "DIGEST-VALUE", "ttl"], ["DEBUG", "DIGEST"],
        ])
        #expect(try pair.nodeClient.command("DEBUG", "DIGEST") != before)
    }

    /// DEBUG RELOAD writes the dump and loads it back: every type, encoding and TTL survives
    /// (the digest after equals the one before, and redis-server's).
    @Test func reloadKeepsEveryType() async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        let pair = try await Pair(Self.debugEnabled)
        defer { pair.stop() }
        try pair.compare(Self.dataset)
        let before = try pair.nodeClient.command("DEBUG", "DIGEST")
        #expect(before != .status(String(repeating: "0", count: 40)))
        try pair.compare([["DEBUG", "RELOAD"], ["DEBUG", "DIGEST"], ["DBSIZE"]] + Self.keys.map { ["OBJECT", "ENCODING", $0] })
        #expect(try pair.nodeClient.command("DEBUG", "DIGEST") == before)
        guard case .integer(let ttl) = try pair.nodeClient.command("TTL", "ttl") else {
            Issue.record("TTL is not an integer")
            return
        }
        #expect(ttl > 900)
        try pair.compare([
            ["DEBUG", "RELOAD", "BOGUS"], ["SET", "extra", "1"], ["DEBUG", "RELOAD", "NOSAVE"], ["EXISTS", "extra"],
            ["DEBUG", "RELOAD", "NOSAVE", "NOFLUSH", "MERGE"], ["DEBUG", "DIGEST"],
        ])
        #expect(try pair.nodeClient.command("DEBUG", "DIGEST") == before)
    }

    /// DEBUG LOADAOF empties the dataset and replays the append-only file.
    @Test func loadAOFReplaysTheAppendOnlyFile() async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        let pair = try await Pair(Self.debugEnabled + ["--appendonly", "yes"])
        defer { pair.stop() }
        try pair.compare(Self.dataset)
        let before = try pair.nodeClient.command("DEBUG", "DIGEST")
        try pair.compare([["DEBUG", "LOADAOF"], ["DEBUG", "DIGEST"], ["DBSIZE"], ["LRANGE", "l", "0", "-1"]])
        #expect(try pair.nodeClient.command("DEBUG", "DIGEST") == before)
    }

    /// The other DEBUG subcommands, errors included, and the directives the suite sets.
    @Test func subcommandsAnswerAsRedis() async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        let pair = try await Pair(Self.debugEnabled)
        defer { pair.stop() }
        let dblMax = "179769313486231570814527423731704356798070567525844996598917476803157260780028538760589558632766878171540458953514382464234321326889464182768467546703537516986049910576551282076245490090389328944075868508455133942304583236903222948165808559332123348274797826204144723168738177180919299881250404026184124858368.00000000000000000"
        try pair.compare(Self.dataset + [
            ["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1b"], ["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "0"],
            ["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "4gb"], ["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "x"],
            ["DEBUG", "QUICKLIST-PACKED-THRESHOLD"], ["DEBUG", "LISTPACK", "h"], ["DEBUG", "LISTPACK", "bighash"],
            ["DEBUG", "LISTPACK", "missing"], ["DEBUG", "QUICKLIST", "l"], ["DEBUG", "QUICKLIST", "h"],
            ["DEBUG", "NOSUCH"], ["DEBUG", "OBJECT", "missing"], ["DEBUG", "ERROR", "CUSTOM text"],
            ["DEBUG", "POPULATE", "5"], ["DEBUG", "POPULATE", "3", "p", "12"], ["DEBUG", "POPULATE", "-1"],
            ["GET", "key:4"], ["GET", "p:2"], ["DBSIZE"],
            ["DEBUG", "SET-ACTIVE-EXPIRE", "1"], ["DEBUG", "CHANGE-REPL-ID"],
            ["DEBUG", "PROTOCOL", "string"], ["DEBUG", "PROTOCOL", "integer"], ["DEBUG", "PROTOCOL", "double"],
            ["DEBUG", "PROTOCOL", "bignum"], ["DEBUG", "PROTOCOL", "null"], ["DEBUG", "PROTOCOL", "array"],
            ["DEBUG", "PROTOCOL", "set"], ["DEBUG", "PROTOCOL", "map"], ["DEBUG", "PROTOCOL", "attrib"],
            ["DEBUG", "PROTOCOL", "push"], ["DEBUG", "PROTOCOL", "true"], ["DEBUG", "PROTOCOL", "verbatim"],
            ["DEBUG", "PROTOCOL", "nope"],
            ["OBJECT", "REFCOUNT", "n"], ["SET", "small", "9999"], ["OBJECT", "REFCOUNT", "small"],
            ["INCR", "small"], ["OBJECT", "REFCOUNT", "small"], ["OBJECT", "REFCOUNT", "l"], ["OBJECT", "REFCOUNT", "missing"],
            ["OBJECT", "FREQ", "s"], ["OBJECT", "IDLETIME", "missing"],
            ["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"], ["OBJECT", "IDLETIME", "s"],
            ["CONFIG", "SET", "maxmemory-policy", "noeviction"],
            ["CONFIG", "GET", "list-compress-depth"], ["CONFIG", "SET", "list-compress-depth", "2"],
            ["CONFIG", "GET", "list-compress-depth"], ["CONFIG", "SET", "list-compress-depth", "-1"],
            ["CONFIG", "SET", "list-compress-depth", "2147483648"], ["CONFIG", "SET", "list-compress-depth", "0"],
            ["CONFIG", "GET", "aof-use-rdb-preamble"], ["CONFIG", "SET", "aof-use-rdb-preamble", "no"],
            ["CONFIG", "GET", "aof-use-rdb-preamble"], ["CONFIG", "SET", "aof-use-rdb-preamble", "maybe"],
            ["ZADD", "zz", dblMax, "dblmax"], ["ZSCORE", "zz", "dblmax"],
            ["ZADD", "zz", String(repeating: "1", count: 400), "huge"], ["ZADD", "zz", String(repeating: "1", count: 400) + ".5", "huge"],
        ])
        // The node's address for a string stays the same while INCR changes it in place.
        let first = try pair.nodeClient.command("DEBUG", "OBJECT", "n").string ?? ""
        _ = try pair.nodeClient.command("INCR", "n")
        let second = try pair.nodeClient.command("DEBUG", "OBJECT", "n").string ?? ""
        #expect(first.hasPrefix("Value at:0x") && first.split(separator: " ")[1] == second.split(separator: " ")[1])
        #expect(second.contains(" encoding:int serializedlength:"))
        let list = try pair.nodeClient.command("DEBUG", "OBJECT", "biglist").string ?? ""
        #expect(list.contains("encoding:quicklist") && list.contains(" ql_nodes:") && !list.contains(" ql_nodes:0 "))
    }

    /// With active expiry off, a key whose TTL passed stays stored until something reads it (GET,
    /// or SCAN passing over it).
    @Test func activeExpiryCanBeSwitchedOff() async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        let pair = try await Pair(Self.debugEnabled + ["--hz", "100"])
        defer { pair.stop() }
        try pair.compare([["DEBUG", "SET-ACTIVE-EXPIRE", "0"], ["SET", "k", "v", "PX", "20"], ["SET", "keep", "v"]])
        try await Task.sleep(for: .milliseconds(400))
        try pair.compare([["DBSIZE"], ["DEBUG", "DIGEST-VALUE", "k"], ["GET", "k"], ["DBSIZE"]])
        // SCAN deletes the expired keys it meets, as a read would.
        try pair.compare([["SET", "k3", "v", "PX", "20"]])
        try await Task.sleep(for: .milliseconds(200))
        try pair.compare([["DBSIZE"], ["SCAN", "0"], ["DBSIZE"], ["DEBUG", "SET-ACTIVE-EXPIRE", "1"]])
        try pair.compare([["SET", "k2", "v", "PX", "20"]])
        try await Task.sleep(for: .milliseconds(400))
        try pair.compare([["DBSIZE"]])
    }

    /// MEMORY USAGE: nil for a missing key, Redis's errors, and sizes within a factor of 1.5 of
    /// redis-server's for every type and encoding, growing with the value.
    @Test func memoryUsageIsInRedisRange() async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        let pair = try await Pair()
        defer { pair.stop() }
        try pair.compare(Self.dataset + [
            ["MEMORY", "USAGE", "missing"], ["MEMORY", "USAGE", "s", "SAMPLES"], ["MEMORY", "USAGE", "s", "SAMPLES", "-1"],
            ["MEMORY", "USAGE", "s", "SAMPLES", "x"], ["MEMORY", "USAGE", "s", "OTHER", "1"],
            ["SET", "big", String(repeating: "b", count: 10_000)], ["SET", "bigger", String(repeating: "b", count: 100_000)],
        ])
        var previous = 0
        for key in Self.keys + ["big", "bigger"] {
            for samples in ["5", "0"] {
                guard case .integer(let expected) = try pair.redisClient.command("MEMORY", "USAGE", key, "SAMPLES", samples),
                    case .integer(let actual) = try pair.nodeClient.command("MEMORY", "USAGE", key, "SAMPLES", samples)
                else {
                    Issue.record("MEMORY USAGE \(key) is not an integer")
                    continue
                }
                #expect(Double(actual) >= Double(expected) / 1.5 && Double(actual) <= Double(expected) * 1.5,
                        "MEMORY USAGE \(key) SAMPLES \(samples): node \(actual), redis \(expected)")
            }
            if key == "big" || key == "bigger" {
                guard case .integer(let size) = try pair.nodeClient.command("MEMORY", "USAGE", key) else { continue }
                #expect(size > previous)
                previous = size
            }
        }
    }
}
