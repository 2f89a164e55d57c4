import Foundation
import NIOCore
import Testing

/// Hostile inputs from the network (extreme integers, pathological patterns, commands that must
/// not run inside MULTI, protected configuration): `shardgate node` must answer each with the same
/// bytes as redis-server 7.0, and keep answering afterwards.
@Suite(.serialized)
struct NodeHardeningTests {
    /// A redis-server and a node started with the same extra arguments, a client of each.
    struct Pair {
        let servers: RedisAndNode
        let redisClient: RedisTestClient
        let nodeClient: RedisTestClient
        var redis: RedisServer { servers.redis }
        var node: RedisServer { servers.node }

        init(_ extra: [String] = []) async throws {
            servers = try await RedisAndNode(extra)
            redisClient = try servers.redis.client()
            nodeClient = try servers.node.client()
        }

        func stop() {
            servers.stop()
        }

        /// Sends each command to both servers, one at a time, and records every reply that differs;
        /// then the node must still answer PING.
        func compare(_ commands: [[String]], sourceLocation: SourceLocation = #_sourceLocation) throws {
            for command in commands {
                let expected = try redisClient.rawPipeline([command])[0]
                let actual: String
                do {
                    actual = try nodeClient.rawPipeline([command])[0]
                } catch {
                    Issue.record("node failed on \(command): \(error)", sourceLocation: sourceLocation)
                    throw error
                }
                if expected != actual {
                    Issue.record(
                        "\(command.joined(separator: " ").prefix(200))\n redis: \(expected.prefix(300).debugDescription)\n node:  \(actual.prefix(300).debugDescription)",
                        sourceLocation: sourceLocation)
                }
            }
            #expect(try nodeClient.command("PING") == .status("PONG"), sourceLocation: sourceLocation)
        }
    }

    static let max = "9223372036854775807"
    static let min = "-9223372036854775808"

    /// Row 3: INCRBYFLOAT and HINCRBYFLOAT print long doubles in full (`%.17Lf`, trailing zeros
    /// removed), however many digits that takes.
    @Test func incrByFloatPrintsLongDoublesInFull() async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        let pair = try await Pair()
        defer { pair.stop() }
        try pair.compare([
            ["SET", "f", "1e200"], ["INCRBYFLOAT", "f", "0"], ["GET", "f"], ["STRLEN", "f"],
            ["SET", "g", "1e118"], ["INCRBYFLOAT", "g", "0"],
            ["SET", "h", "-1.5e300"], ["INCRBYFLOAT", "h", "1"],
            ["SET", "big", "1e4000"], ["INCRBYFLOAT", "big", "0"], ["STRLEN", "big"],
            ["INCRBYFLOAT", "small", "0.1"], ["INCRBYFLOAT", "small", "-0.1"], ["INCRBYFLOAT", "tiny", "1e-30"],
            ["HSET", "hash", "f", "1e200"], ["HINCRBYFLOAT", "hash", "f", "0"], ["HGET", "hash", "f"],
            ["HINCRBYFLOAT", "hash", "g", "1e250"], ["HINCRBYFLOAT", "hash", "g", "-1e250"],
        ])
    }

    /// Row 4: `dir` and `dbfilename` are protected configs (refused while `enable-protected-configs`
    /// is `no`, the default), and a dbfilename with a path is refused even when allowed.
    @Test func protectedConfigsAreRefused() async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        let pair = try await Pair()
        defer { pair.stop() }
        try pair.compare([
            ["CONFIG", "SET", "dbfilename", "../../escape-test.rdb"], ["CONFIG", "GET", "dbfilename"],
            ["CONFIG", "SET", "dir", "/tmp"], ["CONFIG", "GET", "enable-protected-configs"],
            ["CONFIG", "SET", "enable-protected-configs", "yes"],
            ["CONFIG", "SET", "maxmemory", "1mb", "dbfilename", "x.rdb"],
            ["CONFIG", "SET", "nosuch", "1", "dbfilename", "x.rdb"],
            ["CONFIG", "SET", "maxmemory", "1mb", "maxmemory", "2mb"], ["CONFIG", "SET", "maxmemory", "1mb", "MAXMEMORY", "2mb"],
            ["CONFIG", "SET", "list-max-listpack-size", "5", "list-max-ziplist-size", "6"], ["CONFIG", "GET", "list-max-listpack-size"],
        ])
        let allowed = try await Pair(["--enable-protected-configs", "yes"])
        defer { allowed.stop() }
        try allowed.compare([
            ["CONFIG", "SET", "dbfilename", "../../escape-test.rdb"], ["CONFIG", "SET", "dbfilename", "a\\b.rdb"],
            ["CONFIG", "SET", "dbfilename", "other.rdb"], ["CONFIG", "GET", "dbfilename"],
            ["CONFIG", "GET", "enable-protected-configs"],
        ])
    }

    /// Row 5: offsets, indexes, counts and times at the ends of the 64-bit range.
    @Test func extremeIntegersAreRangeChecked() async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        let pair = try await Pair()
        defer { pair.stop() }
        let (max, min) = (Self.max, Self.min)
        try pair.compare([
            ["SETRANGE", "k", max, "A"], ["SETRANGE", "k", "536870911", "AB"], ["SETRANGE", "k", min, "A"],
            ["SETRANGE", "k", max, ""], ["SET", "s", "hello"], ["SETRANGE", "s", max, "A"], ["SETRANGE", "s", max, ""],
            ["APPEND", "s", "x"], ["GETRANGE", "s", min, max], ["GETRANGE", "s", max, min], ["GETRANGE", "s", min, min],
            ["GETRANGE", "s", max, max], ["GETRANGE", "s", "-1", max], ["SUBSTR", "s", min, "-1"],
            ["INCRBY", "n", max], ["INCRBY", "n", "1"], ["INCRBY", "m", min], ["DECRBY", "m", "1"], ["DECRBY", "n", min],
            ["INCR", "n"], ["DECRBY", "m", max],
            ["RPUSH", "l", "a", "b", "a", "c", "a"],
            ["LRANGE", "l", min, max], ["LRANGE", "l", max, min], ["LRANGE", "l", min, min], ["LRANGE", "l", max, max],
            ["LINDEX", "l", min], ["LINDEX", "l", max], ["LSET", "l", min, "x"], ["LTRIM", "l", max, min],
            ["RPUSH", "l", "a", "b", "a"], ["LTRIM", "l", min, max],
            ["LPOS", "l", "a", "RANK", max], ["LPOS", "l", "a", "RANK", min], ["LPOS", "l", "a", "RANK", min, "COUNT", "0"],
            ["LPOS", "l", "a", "RANK", min, "COUNT", "2"], ["LPOS", "l", "a", "COUNT", max, "MAXLEN", max],
            ["LPOS", "l", "a", "COUNT", min], ["LPOS", "l", "a", "MAXLEN", min], ["LPOS", "l", "a", "RANK", "-1", "COUNT", max],
            ["LREM", "l", min, "a"], ["LPOP", "l", max], ["RPOP", "l", min],
            ["SADD", "set", "a", "b", "c"], ["SRANDMEMBER", "set", min], ["SPOP", "set", min],
            ["HSET", "hash", "f", "v"], ["HRANDFIELD", "hash", min], ["HRANDFIELD", "hash", min, "WITHVALUES"],
            ["HRANDFIELD", "hash", max, "WITHVALUES"], ["HRANDFIELD", "hash", "4611686018427387904", "WITHVALUES"],
            ["HINCRBY", "hash", "n", max], ["HINCRBY", "hash", "n", "1"],
            ["ZADD", "z", "1", "a", "2", "b", "3", "c"], ["ZRANDMEMBER", "z", min], ["ZRANDMEMBER", "z", min, "WITHSCORES"],
            ["ZRANDMEMBER", "z", max, "WITHSCORES"],
            ["ZRANGE", "z", min, max], ["ZRANGE", "z", max, min], ["ZRANGE", "z", min, max, "REV", "WITHSCORES"],
            ["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", max, max], ["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", min, min],
            ["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", max], ["ZRANGE", "z", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", "1", max],
            ["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", max, "1"], ["ZREVRANGE", "z", min, max],
            ["ZREMRANGEBYRANK", "z", max, min], ["ZPOPMIN", "z", min], ["ZINCRBY", "z", "1e308", "a"], ["ZINCRBY", "z", "1e308", "a"],
            ["ZUNIONSTORE", "out", max, "z"], ["ZUNIONSTORE", "out", min, "z"], ["ZINTERCARD", max, "z"],
            ["ZINTERCARD", "1", "z", "LIMIT", max],
            ["EXPIRE", "s", max], ["EXPIRE", "s", min], ["PEXPIRE", "s", max], ["PEXPIRE", "s", min],
            ["EXPIRE", "s", "9223372036854775"], ["EXPIRE", "s", "-9223372036854775"], ["EXPIRE", "s", "-9223372036854776"],
            ["EXPIREAT", "s", max], ["PEXPIREAT", "s", max], ["EXPIRE", "s", "abc", "foo"], ["EXPIRE", "s", max, "NX", "XX"],
            ["SET", "s", "v", "EX", max], ["SET", "s", "v", "PX", max], ["SET", "s", "v", "EX", "9223372036854775"],
            ["SET", "s", "v", "EXAT", max], ["SET", "s", "v", "PX", min], ["SETEX", "s", max, "v"], ["PSETEX", "s", max, "v"],
            ["GETEX", "s", "EX", max], ["GETEX", "s", "PX", max], ["GET", "s"], ["SET", "s", "v"],
            ["GETEX", "s", "EX", max], ["GETEX", "s", "PX", max], ["GETEX", "s", "EXAT", max], ["GETEX", "s", "EX", "0"],
            ["GETEX", "s", "EX", "1", "PERSIST"], ["GETEX", "nokey", "EX", "x"], ["GET", "s"],
            ["SELECT", max], ["SELECT", min], ["MOVE", "s", max], ["SWAPDB", "0", min], ["COPY", "s", "t", "DB", max],
            ["SCAN", "18446744073709551616"], ["SCAN", "-"], ["SCAN", " 0"], ["SCAN", "0 "], ["SCAN", "0x1"],
            ["DEL", "hash", "set", "z", "l", "n", "m", "s", "out"], ["SCAN", ""], ["SCAN", "+0"], ["SCAN", "00"],
            ["SCAN", "0", "COUNT", min],
        ])
    }

    /// More of row 5's kind: numkeys, counts, limits, timeouts and client ids at the extremes, in
    /// the other families the node implements.
    @Test func moreExtremeArgumentsMatch() async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        let pair = try await Pair()
        defer { pair.stop() }
        let (max, min) = (Self.max, Self.min)
        try pair.compare([
            ["RPUSH", "l", "a", "b", "c"], ["SADD", "set", "1", "2", "3"], ["ZADD", "z", "1", "a", "2", "b"],
            ["HSET", "h", "f", "1"], ["SET", "s", "12345"],
            ["COMMAND", "GETKEYS", "ZUNIONSTORE", "out", max, "z"], ["COMMAND", "GETKEYS", "ZUNIONSTORE", "out", min, "z"],
            ["COMMAND", "GETKEYS", "LMPOP", max, "a", "LEFT"], ["COMMAND", "GETKEYS", "EVAL", "s", max],
            ["COMMAND", "GETKEYS", "ZINTERCARD", min, "a"], ["COMMAND", "GETKEYS", "SINTERCARD", "2", "a"],
            ["COMMAND", "GETKEYS", "GET"], ["COMMAND", "GETKEYS", "PING"], ["COMMAND", "GETKEYS", "NOSUCH"],
            ["COMMAND", "GETKEYS", "SET", "a", "b", "EX", max],
            ["COMMAND", "GETKEYS", "SORT", "abc", "STORE", "invalid", "STORE", "stillbad", "STORE", "def"],
            ["COMMAND", "GETKEYS", "SORT", "abc", "GET", "STORE", "STORE", "x"], ["COMMAND", "GETKEYS", "SORT", "abc", "LIMIT", "STORE"],
            ["COMMAND", "GETKEYS", "SORT", "abc", "BY", "x", "LIMIT", "0", "1", "STORE"], ["COMMAND", "GETKEYS", "SORT_RO", "abc"],
            ["COMMAND", "GETKEYSANDFLAGS", "SORT", "abc", "STORE", "d"], ["COMMAND", "GETKEYSANDFLAGS", "SORT_RO", "abc"],
            ["CLIENT", "KILL", "ID", max], ["CLIENT", "KILL", "ID", min], ["CLIENT", "KILL", "ID", "abc"],
            ["CLIENT", "LIST", "ID", max, min], ["CLIENT", "LIST", "ID", "abc"], ["CLIENT", "KILL", "ADDR", "nowhere:1"],
            ["CLIENT", "KILL", "USER", "nobody"], ["CLIENT", "KILL", "MAXAGE", "1"], ["CLIENT", "KILL", "nowhere:1"],
            ["BLPOP", "l", "1e300"], ["BLPOP", "nokey", "-1"], ["BLPOP", "nokey", "inf"], ["BLPOP", "nokey", "nan"],
            ["BLPOP", "nokey", max], ["BLPOP", "nokey", "-inf"], ["BZPOPMIN", "nokey", "1e300"],
            ["BLMPOP", "1e300", "1", "nokey", "LEFT"], ["BLMOVE", "nokey", "x", "LEFT", "LEFT", "-0.01"],
            ["WAIT", "0", max], ["WAIT", max, min], ["WAIT", min, "0"], ["WAIT", "0", "abc"],
            ["SINTERCARD", max, "set"], ["SINTERCARD", "1", "set", "LIMIT", max], ["SINTERCARD", "1", "set", "LIMIT", min],
            ["SINTERCARD", "0", "set"], ["SINTERCARD", min, "set"],
            ["SPOP", "set", "0"], ["SPOP", "nokey", min], ["SPOP", "nokey", max], ["SRANDMEMBER", "nokey", min],
            ["HRANDFIELD", "nokey", min], ["ZRANDMEMBER", "z", "4611686018427387904", "WITHSCORES"],
            ["ZRANDMEMBER", "z", "-4611686018427387904", "WITHSCORES"], ["ZRANDMEMBER", "nokey", min],
            ["ZADD", "z", "1e400", "x"], ["ZADD", "z", "nan", "x"], ["ZADD", "z", "inf", "x"], ["ZINCRBY", "z", "-inf", "x"],
            ["ZADD", "z", "INCR", "-inf", "x"], ["ZSCORE", "z", "x"], ["ZREM", "z", "x"],
            ["ZRANGESTORE", "dst", "z", "0", "-1", "BYSCORE", "LIMIT", max, max], ["ZRANGESTORE", "dst", "z", min, max],
            ["ZRANGEBYLEX", "z", "-", "+", "LIMIT", max, max], ["ZRANGEBYLEX", "z", "-", "+", "LIMIT", "0", min],
            ["ZREVRANGEBYLEX", "z", "+", "-", "LIMIT", "1", max], ["ZCOUNT", "z", "(1e400", "+inf"],
            ["ZREVRANGEBYSCORE", "z", "+inf", "-inf", "LIMIT", "0", max], ["ZRANGE", "z", "0", "-1", "LIMIT", "0", "1"],
            ["ZPOPMIN", "z", "-1"], ["ZMPOP", "1", "z", "MIN", "COUNT", "0"], ["ZMPOP", max, "z", "MIN"],
            ["ZMPOP", "1", "z", "MIN", "COUNT", max], ["ZINTERCARD", "1", "z", "LIMIT", min], ["ZUNION", max, "z"],
            ["ZINTERSTORE", "out", "1", "z", "WEIGHTS", "1e400"], ["ZUNIONSTORE", "out", "1", "z", "WEIGHTS", "inf"],
            ["LMPOP", max, "l", "LEFT"], ["LMPOP", "1", "l", "LEFT", "COUNT", max], ["LMPOP", "1", "l", "LEFT", "COUNT", "0"],
            ["LPOP", "l", "-1"], ["LPOP", "l", min], ["RPUSH", "l", "a", "b"], ["LINSERT", "l", "BEFORE", "a", "x"],
            ["LSET", "l", max, "v"], ["LRANGE", "l", "-1", min], ["LREM", "l", max, "x"], ["LPOS", "l", "b", "MAXLEN", max],
            ["SETEX", "k", min, "v"], ["PSETEX", "k", min, "v"], ["SETEX", "k", "0", "v"], ["SET", "k", "v", "GET", "EX", max],
            ["SET", "k", "v", "KEEPTTL", "EX", "1"], ["SET", "k", "v", "PXAT", min], ["SET", "k", "v", "EX", "1", "PX", "1"],
            ["EXPIRETIME", "k"], ["TTL", "k"], ["PEXPIREAT", "s", min], ["EXISTS", "s"],
            ["HELLO", max], ["HELLO", min], ["HELLO", "abc"], ["HELLO", "2", "AUTH", "default"],
            ["SELECT", "2147483647"], ["SELECT", "-2147483648"], ["SELECT", "abc"], ["SWAPDB", max, max],
            ["INCRBYFLOAT", "s", "inf"], ["INCRBYFLOAT", "s", "1e5000"], ["INCRBYFLOAT", "s", "1.1e4932"],
            ["SET", "f", "1.18e4932"], ["INCRBYFLOAT", "f", "1.18e4932"], ["HINCRBYFLOAT", "h", "f", "inf"],
            ["HINCRBYFLOAT", "h", "f", "1e5000"], ["HINCRBY", "h", "f", min], ["HINCRBY", "h", "f", min],
            ["GETRANGE", "s", "1", max], ["GETRANGE", "s", min, "2"], ["APPEND", "s", "6"], ["INCR", "s"],
            ["MSET", "a"], ["MSETNX", "a", "1", "b"], ["RENAME", "s", "s"], ["RENAMENX", "s", "s"],
            ["REPLCONF", "ip-address", String(repeating: "x", count: 300)], ["REPLCONF", "rdb-only", "2"],
            ["REPLCONF", "listening-port", max], ["REPLCONF", "listening-port", "x"], ["REPLCONF", "nosuch", "1"],
            ["REPLCONF", "a"], ["OBJECT", "ENCODING", "s"], ["EXEC"], ["DISCARD"],
            ["CONFIG", "GET", String(repeating: "*a", count: 20) + "b"], ["CONFIG", "GET", "maxmemory"],
        ])
    }

    /// Row 6: SCAN and the collection scans with COUNT at Int64.max answer (the whole collection).
    @Test func scansWithHugeCounts() async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        let pair = try await Pair()
        defer { pair.stop() }
        try pair.compare([
            ["HSET", "h", "f", "v"], ["HSCAN", "h", "0", "COUNT", Self.max],
            ["SADD", "i", "1", "2"], ["SSCAN", "i", "0", "COUNT", Self.max],
            ["ZADD", "z", "1", "a"], ["ZSCAN", "z", "0", "COUNT", Self.max, "MATCH", "*"],
            ["SCAN", "0", "COUNT", Self.max, "MATCH", "h*"], ["HSCAN", "h", "0", "COUNT", Self.min],
            ["HSCAN", "h", "0", "COUNT", "0"], ["HSCAN", "h", "x", "COUNT", "1"], ["SCAN", "x", "COUNT", "0"],
        ])
        // Table-encoded collections: every element in one reply, cursor 0 (orders differ by hash).
        var fields: [String] = ["HSET", "big"]
        var members: [String] = ["SADD", "bigset"]
        var scored: [String] = ["ZADD", "bigz"]
        for index in 0..<600 {
            fields += ["f\(index)", "v"]
            members.append("m\(index)")
            scored += ["\(index)", "m\(index)"]
        }
        for client in [pair.redisClient, pair.nodeClient] {
            _ = try client.pipeline([fields, members, scored])
            for (command, elements) in [("HSCAN", 1200), ("SSCAN", 600), ("ZSCAN", 1200)] {
                let key = command == "HSCAN" ? "big" : command == "SSCAN" ? "bigset" : "bigz"
                let reply = try client.command(command, key, "0", "COUNT", Self.max)
                guard case .array(let parts?) = reply, parts.count == 2, case .array(let found?) = parts[1] else {
                    Issue.record("\(command): \(reply)")
                    continue
                }
                #expect(parts[0] == .bulk("0"))
                #expect(found.count == elements)
            }
            let keys = try client.command("SCAN", "0", "COUNT", Self.max)
            guard case .array(let parts?) = keys, parts.count == 2 else { Issue.record("SCAN: \(keys)"); continue }
            #expect(parts[0] == .bulk("0"))
        }
        #expect(try pair.nodeClient.command("PING") == .status("PONG"))
    }

    /// Row 7: DEBUG is refused unless `enable-debug-command` allows it (immutable at run time); when
    /// allowed, DEBUG SLEEP with infinite or huge values returns at once instead of trapping.
    @Test func debugIsProtected() async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        let pair = try await Pair()
        defer { pair.stop() }
        try pair.compare([
            ["DEBUG", "SLEEP", "inf"], ["DEBUG", "SLEEP", "1e308"], ["DEBUG"], ["CONFIG", "GET", "enable-debug-command"],
            ["CONFIG", "SET", "enable-debug-command", "yes"], ["MULTI"], ["DEBUG", "SLEEP", "0"], ["EXEC"],
        ])
        let enabled = try await Pair(["--enable-debug-command", "yes"])
        defer { enabled.stop() }
        try enabled.compare([
            ["DEBUG", "SLEEP", "inf"], ["DEBUG", "SLEEP", "1e308"], ["DEBUG", "SLEEP", "-inf"], ["DEBUG", "SLEEP", "-1"],
            ["DEBUG", "SLEEP", "nan"], ["DEBUG", "SLEEP", "abc"], ["DEBUG", "SLEEP", "0.01"], ["DEBUG", "SLEEP", "9.3e12"],
            ["CONFIG", "GET", "enable-debug-command"],
        ])
        // `local` allows loopback clients (the tests connect to 127.0.0.1).
        let local = try await Pair(["--enable-debug-command", "local", "--enable-protected-configs", "local"])
        defer { local.stop() }
        try local.compare([
            ["DEBUG", "SLEEP", "0"], ["CONFIG", "GET", "enable-debug-command"], ["CONFIG", "SET", "dbfilename", "local.rdb"],
            ["CONFIG", "GET", "dbfilename"], ["CONFIG", "SET", "enable-protected-configs", "no"],
        ])
    }

    /// Row 8: memory values beyond 64 bits wrap as Redis's `memtoull` does instead of trapping; every
    /// numeric directive is bounded as Redis bounds it.
    @Test func numericConfigsAreBounded() async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        let pair = try await Pair()
        defer { pair.stop() }
        var commands: [[String]] = [
            ["CONFIG", "SET", "maxmemory", "9223372036854775807gb"], ["CONFIG", "SET", "maxmemory", "99999999999999999999999"],
            ["CONFIG", "SET", "maxmemory", "-1"], ["CONFIG", "SET", "maxmemory", "1.5gb"], ["CONFIG", "SET", "maxmemory", "+1"],
            ["CONFIG", "SET", "maxmemory", "1tb"], ["CONFIG", "SET", "maxmemory", "0"], ["CONFIG", "GET", "maxmemory"],
            ["CONFIG", "SET", "hz", "0"], ["CONFIG", "GET", "hz"], ["CONFIG", "SET", "hz", "100000"], ["CONFIG", "GET", "hz"],
            ["CONFIG", "SET", "hz", "10"],
            ["CONFIG", "SET", "save", "99999999999999999999 1"], ["CONFIG", "GET", "save"], ["CONFIG", "SET", "save", "+5 4294967297"],
            ["CONFIG", "GET", "save"], ["CONFIG", "SET", "save", "0 1"], ["CONFIG", "SET", "save", "1 -1"], ["CONFIG", "SET", "save", "1 x"],
            ["CONFIG", "SET", "save", "1"], ["CONFIG", "SET", "save", "-"], ["CONFIG", "SET", "save", ""], ["CONFIG", "GET", "save"],
        ]
        let values = [Self.max, Self.min, "2147483648", "-2147483649", "4294967296", "18446744073709551616", "+5", "007",
                      "1kb", "9223372036854775807gb", "-1", "0"]
        let names = [
            "list-max-listpack-size", "list-max-ziplist-size", "hash-max-listpack-entries", "hash-max-listpack-value",
            "zset-max-listpack-value", "set-max-intset-entries", "repl-backlog-size", "repl-backlog-ttl",
            "auto-aof-rewrite-min-size", "auto-aof-rewrite-percentage", "maxmemory-samples", "timeout", "tcp-keepalive",
            "replica-priority", "replica-announce-port", "repl-timeout", "repl-ping-replica-period", "min-replicas-to-write",
            "min-replicas-max-lag", "repl-diskless-sync-delay", "databases",
        ]
        for name in names {
            commands.append(["CONFIG", "GET", name])
            for value in values { commands.append(["CONFIG", "SET", name, value]) }
            commands.append(["CONFIG", "GET", name])
        }
        // Restore what the loop changed (a working node with sane limits for the final PING).
        commands += [
            ["CONFIG", "SET", "maxmemory-samples", "5"], ["CONFIG", "SET", "repl-backlog-size", "1mb"],
            ["CONFIG", "SET", "timeout", "0"], ["CONFIG", "SET", "maxclients", "0"], ["CONFIG", "SET", "maxclients", "4294967296"],
        ]
        try pair.compare(commands)
        // A backlog of Int64.max bytes is only a bound: a replica's PSYNC (which creates the
        // backlog) must not allocate it.
        try pair.compare([["CONFIG", "SET", "repl-backlog-size", Self.max], ["CONFIG", "GET", "repl-backlog-size"]])
        let replica = try pair.node.client()
        try replica.sendRaw(RedisTestClient.encode([Array("PSYNC".utf8), Array("?".utf8), Array("-1".utf8)]))
        let reply = try replica.readReply()
        #expect(reply.string?.hasPrefix("FULLRESYNC") == true, "\(reply)")
        try pair.compare([["SET", "after", "backlog"], ["CONFIG", "SET", "repl-backlog-size", "1mb"]])
    }

    /// Row 9: a pattern of many stars against a long key fails at once (CVE-2022-36021), in KEYS,
    /// SCAN MATCH and HSCAN MATCH.
    /// SRANDMEMBER/HRANDFIELD/ZRANDMEMBER with a count of -(2^63 - 1) build a reply without end:
    /// with an output limit, the client is closed at the limit and the server goes on, as Redis
    /// does (the node used to trap when the reply passed one 4 GiB buffer).
    @Test(arguments: [["SADD", "k", "m"], ["HSET", "k", "f", "v"], ["ZADD", "k", "1", "m"]])
    func endlessRandomPicksStopAtTheOutputLimit(create: [String]) async throws {
        let pair = try await Pair(["--client-output-buffer-limit", "normal 2mb 0 0"])
        defer { pair.stop() }
        let pick = ["SADD": "SRANDMEMBER", "HSET": "HRANDFIELD", "ZADD": "ZRANDMEMBER"][create[0]]!
        for server in [pair.redis, pair.node] {
            let client = try RedisTestClient(port: server.port, timeoutSeconds: 20)
            _ = try client.command(create.map { Array($0.utf8) })
            _ = try client.command("CLIENT", "SETNAME", "picker")
            try client.sendRaw(RedisTestClient.encode([Array(pick.utf8), Array("k".utf8), Array("-\(Self.max)".utf8)]))
            try await waitUntil("\(server.kind) closes the client", seconds: 30) {
                guard case .bulk(let list?) = try server.client().command("CLIENT", "LIST") else { return false }
                return !String(decoding: list, as: UTF8.self).contains("name=picker")
            }
            #expect(try server.client().command("PING") == .status("PONG"), "\(server.kind) goes on")
        }
    }

    @Test func pathologicalPatternsFinishQuickly() async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        let pair = try await Pair()
        defer { pair.stop() }
        let key = String(repeating: "a", count: 60)
        let pattern = String(repeating: "*a", count: 20) + "b"
        let started = Date()
        try pair.compare([
            ["SET", key, "v"], ["KEYS", pattern], ["SCAN", "0", "MATCH", pattern, "COUNT", "100"],
            ["HSET", "h", key, "v"], ["HSCAN", "h", "0", "MATCH", pattern], ["DEL", "h"], ["KEYS", String(repeating: "*a", count: 30)],
            ["KEYS", String(repeating: "*", count: 5000) + "b"], ["KEYS", String(repeating: "a*", count: 3000)],
            ["KEYS", "[a-"], ["KEYS", "*[^"], ["KEYS", "a\\"], ["SET", "", "empty"], ["KEYS", "**"], ["KEYS", "?*"],
        ])
        #expect(Date().timeIntervalSince(started) < 5)
    }

    /// Row 10: commands flagged no-multi are refused while queuing, and EXEC then aborts.
    @Test func noMultiCommandsAreRefusedInsideMulti() async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        let pair = try await Pair()
        defer { pair.stop() }
        try pair.compare([
            ["MULTI"], ["SET", "a", "1"], ["SHUTDOWN"], ["EXEC"], ["GET", "a"],
            ["MULTI"], ["SAVE"], ["EXEC"],
            ["MULTI"], ["SYNC"], ["EXEC"],
            ["MULTI"], ["PSYNC", "?", "-1"], ["EXEC"],
            ["MULTI"], ["SHUTDOWN", "NOSAVE"], ["DISCARD"],
            ["MULTI"], ["MONITOR"], ["EXEC"],
            ["MULTI"], ["SET", "a", "2"], ["EXEC"], ["GET", "a"],
            ["MULTI"], ["SET", "a", "3"], ["EXEC", "x"], ["GET", "a"], ["EXEC"], ["EXEC", "x"],
            ["WATCH", "a"], ["EXEC", "x"], ["MULTI"], ["SET", "a", "4"], ["EXEC"],
        ])
    }

    /// Row 11: arity checks for commands whose table arity is variable, PSYNC from a client with a
    /// bad offset, and subcommand errors.
    @Test func arityAndSubcommandErrorsMatch() async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        let pair = try await Pair()
        defer { pair.stop() }
        try pair.compare([
            ["PING", "a", "b"], ["PING", "a"], ["PING"], ["PSYNC", "x", "y"], ["PSYNC", "x", "y", "z"],
            ["CONFIG", "SET", "list-max-listpack-size", Self.max], ["CONFIG", "SET", "list-max-listpack-size", Self.min],
            ["CONFIG"], ["CONFIG", "GET"], ["CONFIG", "SET", "a"], ["CONFIG", "SET", "maxmemory", "1mb", "hz"],
            ["CONFIG", "NOSUCH"], ["CLIENT", "NOSUCH"], ["CLIENT", "ID", "x"], ["CLIENT", "GETNAME", "x"], ["CLIENT"],
            ["OBJECT", "ENCODING"], ["OBJECT", "NOSUCH", "k"], ["COMMAND", "COUNT", "x"], ["ECHO"], ["ECHO", "a", "b"],
            ["SELECT"], ["DBSIZE", "x"], ["HSET", "h", "f"], ["MSET", "a"], ["LPOP", "l", "1", "2"], ["SET", "k"],
            ["PUBSUB", "CHANNELS", "a", "b"], ["PUBSUB", "NUMPAT", "x"], ["PUBSUB", "SHARDCHANNELS", "a", "b"],
            ["PUBSUB", "NUMSUB"], ["PUBSUB"], ["BGSAVE", "x"], ["BGSAVE", "SCHEDULE", "x"], ["BGREWRITEAOF", "x"],
            ["SHUTDOWN", "x"], ["SHUTDOWN", "NOSAVE", "SAVE"], ["SHUTDOWN", "ABORT", "NOW"], ["SHUTDOWN", "SAVE", "NOSAVE", "NOW"],
            ["SHUTDOWN", "ABORT"], ["ROLE", "x"], ["REPLICAOF", "a"], ["MONITOR", "x"], ["SUBSCRIBE"], ["WATCH"],
            ["MULTI", "x"], ["EXEC", "x"], ["CLIENT", "SETNAME"], ["CLIENT", "KILL"], ["CLIENT", "LIST", "x"],
            ["CLIENT", "KILL", "ID"], ["CLIENT", "KILL", "ID", "1", "x"], ["CLIENT", "INFO", "x"], ["HELLO", "3", "SETNAME"],
            ["AUTH"], ["AUTH", "a", "b", "c"], ["SELECT", "0", "1"], ["OBJECT", "ENCODING", "a", "b"], ["LASTSAVE", "x"],
            ["TIME", "x"], ["RANDOMKEY", "x"], ["FLUSHDB", "ASYNC", "SYNC"], ["FLUSHALL", "x"], ["SAVE", "x"], ["SYNC", "x"],
            ["PSYNC", "a"], ["WAIT", "1"], ["SPUBLISH", "a"], ["KEYS"], ["SCAN"], ["EXPIRE", "k"],
            ["SET", "k", "v", "NX", "XX"], ["GETEX", "k", "PERSIST", "PERSIST"], ["SET", "k", "v", "EX", "100", "EX", "200"],
            ["TTL", "k"], ["SET", "k", "v", "NX", "NX"], ["SET", "k", "v", "XX", "XX", "GET", "GET"], ["SET", "k", "v", "KEEPTTL", "KEEPTTL"],
            ["TTL", "k"], ["SET", "k", "v", "EX", "1", "PX", "1"], ["SET", "k", "v", "EX"], ["SET", "k", "v", "EX", "x", "NX", "XX"],
            ["GETEX", "k", "PERSIST", "PERSIST"], ["GETEX", "k", "EX", "100", "EX", "300"], ["TTL", "k"], ["GETEX", "k", "PERSIST", "EX", "1"],
            ["GETEX", "k", "KEEPTTL"], ["GETEX", "k", "EX", "x"], ["SET", "k", "v", "PERSIST"], ["SET", "k", "v", "GET", "EX", "0"], ["ZADD", "z"], ["ZADD", "z", "1"],
            ["ZADD", "z", "1", "a", "2"], ["HMGET", "h"], ["BLPOP", "l"], ["INFO", "nosuchsection"],
            ["CONFIG", "SET", "maxmemory", "0"], ["UNSUBSCRIBE"], ["PING"],
        ])
    }
}
