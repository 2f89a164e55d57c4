import Foundation
import NIOCore
import RESP
import Testing

/// What the node propagates to its AOF and replicas, command by command against redis-server 7.0:
/// both run the same writes with an AOF written before every reply, and the two AOFs must hold the
/// same commands (Redis's rewrites: GETDEL → DEL, ZMPOP → ZPOPMIN key count, HINCRBYFLOAT → HSET,
/// SPOP with a count → SREMs inside MULTI/EXEC, served BRPOPLPUSH → RPOPLPUSH, ...). Absolute times,
/// which differ between the two servers, are masked.
@Suite(.serialized)
struct NodePropagationTests {
    /// A server's AOF commands, with the time of every PEXPIREAT masked (options after it kept).
    static func propagated(_ server: RedisServer) throws -> [[String]] {
        try NodeBitmapTests.propagated(server).map { command in
            guard command.first?.uppercased() == "PEXPIREAT", command.count > 3 else { return command }
            var masked = command
            masked[2] = "<time>"
            return masked
        }
    }

    /// Runs `commands` on both servers, expects the same replies, then the same AOF commands.
    static func expectSamePropagation(_ commands: [[String]], context: String) async throws {
        let servers = try await NodeBitmapTests.servers()
        defer { servers.stop() }
        let redis = try servers.redis.client()
        let node = try servers.node.client()
        guard try NodeBitmapTests.compare(commands, redis, node, context: context) else { return }
        try await expectSameAOF(servers, context: context)
    }

    /// Waits (bounded) until both AOFs hold the same commands; records the first difference.
    static func expectSameAOF(_ servers: RedisAndNode, context: String) async throws {
        var redisCommands: [[String]] = []
        var nodeCommands: [[String]] = []
        try? await waitUntil("both AOFs hold the same commands", seconds: 3) {
            redisCommands = try propagated(servers.redis)
            nodeCommands = try propagated(servers.node)
            return redisCommands == nodeCommands
        }
        guard redisCommands != nodeCommands else { return }
        let first = zip(redisCommands, nodeCommands).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            ?? min(redisCommands.count, nodeCommands.count)
        Issue.record(
            """
            \(context): propagation differs at command #\(first) of \(redisCommands.count) (redis) / \(nodeCommands.count) (node)
            redis: \(redisCommands[first..<min(first + 4, redisCommands.count)])
            node:  \(nodeCommands[first..<min(first + 4, nodeCommands.count)])
            """)
    }

    @Test func getdelAndGetsetPropagateAsDELAndSET() async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        try await Self.expectSamePropagation([
            ["SET", "s1", "v"], ["GETDEL", "s1"], ["GETDEL", "s1"], ["getdel", "missing"],
            ["GETSET", "s2", "a"], ["getset", "s2", "b"],
        ], context: "GETDEL/GETSET")
    }

    @Test func hincrbyfloatPropagatesTheResultAsHSET() async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        try await Self.expectSamePropagation([
            ["HSET", "h", "f", "1.5"], ["HINCRBYFLOAT", "h", "f", "0.25"], ["hincrbyfloat", "h", "g", "3.0e3"],
            ["HINCRBYFLOAT", "h", "f", "-1.75"], ["HINCRBYFLOAT", "h2", "x", "10.10000"],
        ], context: "HINCRBYFLOAT")
    }

    @Test func multiPopsPropagateAsPopsWithTheCountPopped() async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        try await Self.expectSamePropagation([
            ["RPUSH", "l", "a", "b", "c", "d", "e"], ["LMPOP", "1", "l", "LEFT"],
            ["lmpop", "2", "nolist", "l", "right", "COUNT", "10"], ["LMPOP", "1", "l", "LEFT"],
            ["RPUSH", "l2", "x", "y", "z"], ["BLMPOP", "0", "1", "l2", "LEFT", "COUNT", "2"],
            ["BLMPOP", "0", "1", "l2", "RIGHT"],
            ["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"], ["ZMPOP", "1", "z", "MIN"],
            ["zmpop", "2", "noz", "z", "max", "COUNT", "2"], ["ZMPOP", "1", "z", "MIN", "COUNT", "9"],
            ["ZADD", "z2", "1", "a", "2", "b"], ["BZMPOP", "0", "1", "z2", "MAX"],
            ["BZMPOP", "0", "1", "z2", "MIN", "COUNT", "5"],
            ["RPUSH", "l3", "p", "q"], ["BLPOP", "l3", "0"], ["ZADD", "z3", "1", "m"], ["BZPOPMAX", "z3", "0"],
        ], context: "LMPOP/ZMPOP")
    }

    @Test func expiryCommandsPropagateLikeRedis() async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        try await Self.expectSamePropagation([
            ["SET", "e", "1"], ["pexpireat", "e", "99999999999999"], ["PexpireAT", "e", "99999999999990", "lt"],
            ["EXPIRE", "e", "1000", "NX"], ["expire", "e", "100000", "gt"], ["PEXPIRE", "e", "100000000", "XX"],
            ["EXPIREAT", "e", "9999999999", "LT"], ["EXPIRE", "e", "-1"],
            ["SET", "e2", "1"], ["PEXPIREAT", "e2", "1"],
            ["SET", "g", "v"], ["GETEX", "g", "EX", "100"], ["GETEX", "g", "PERSIST"], ["GETEX", "g", "PXAT", "1"],
            ["SET", "t", "v", "EX", "100", "GET"], ["SET", "t", "w", "GET", "NX"], ["SET", "t", "x", "get", "XX", "GET"],
            ["SET", "t", "y", "KEEPTTL"], ["SETEX", "t2", "100", "v"], ["PSETEX", "t3", "100000", "v"],
            ["SET", "t4", "v", "PXAT", "99999999999999"], ["SET", "t5", "v", "EXAT", "9999999999"],
            ["SET", "f", "1.5"], ["EXPIRE", "f", "1000"], ["INCRBYFLOAT", "f", "1"],
        ], context: "EXPIRE family and SET options")
    }

    @Test func otherWritesPropagateAsSent() async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        try await Self.expectSamePropagation([
            ["RPUSH", "a", "1", "2", "3"], ["LMOVE", "a", "b", "left", "RIGHT"], ["RPOPLPUSH", "a", "b"],
            ["BLMOVE", "a", "b", "Right", "left", "0"], ["BRPOPLPUSH", "b", "c", "0"],
            ["SADD", "s", "x", "y"], ["SMOVE", "s", "s2", "x"], ["SPOP", "s2"], ["SPOP", "s", "5"],
            ["RENAME", "b", "b2"], ["COPY", "b2", "b3"], ["COPY", "b2", "b3", "REPLACE"],
            ["ZADD", "z", "INCR", "1.5", "m"], ["ZINCRBY", "z", "2", "m"], ["ZADD", "z", "1", "n"],
            ["ZRANGESTORE", "zd", "z", "0", "-1"], ["SADD", "one", "a"], ["SPOP", "one", "1"],
        ], context: "other writes")
    }

    /// A client blocks, another makes its key ready: the served pop propagates as the command Redis
    /// builds for it.
    @Test(arguments: [
        (["BRPOPLPUSH", "src", "dst", "0"], ["RPUSH", "src", "a", "b"]),
        (["BLMOVE", "src", "dst", "LEFT", "Right", "0"], ["RPUSH", "src", "a", "b"]),
        (["BLMPOP", "0", "2", "other", "src", "RIGHT", "COUNT", "5"], ["RPUSH", "src", "a", "b", "c"]),
        (["BZMPOP", "0", "1", "src", "MIN", "COUNT", "2"], ["ZADD", "src", "1", "a", "2", "b", "3", "c"]),
        (["BZMPOP", "0", "1", "src", "MAX"], ["ZADD", "src", "1", "a", "2", "b"]),
        (["BLPOP", "src", "0"], ["RPUSH", "src", "a", "b"]),
        (["BZPOPMIN", "src", "0"], ["ZADD", "src", "1", "a"]),
    ])
    func servedBlockedCommandsPropagateLikeRedis(blocking: [String], push: [String]) async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        let servers = try await NodeBitmapTests.servers()
        defer { servers.stop() }
        for server in [servers.redis, servers.node] {
            let blocked = try server.client()
            let writer = try server.client()
            try blocked.sendRaw(RedisTestClient.encode(blocking.map { Array($0.utf8) }))
            try await waitUntil("the client blocks", seconds: 5) {
                (try writer.command("INFO", "clients").string ?? "").contains("blocked_clients:1")
            }
            _ = try writer.command(push.map { Array($0.utf8) })
            #expect(try !blocked.readReply().isError)
        }
        try await Self.expectSameAOF(servers, context: blocking.joined(separator: " "))
    }

    /// SPOP with a count smaller than the set: one `SREM key member` per member popped, in a
    /// MULTI/EXEC when there are several (and only EXEC's own inside a transaction). The members are
    /// random, so each server's AOF is checked against its own replies, then the shapes compared.
    @Test func spopWithACountPropagatesSREMsInATransaction() async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        let servers = try await NodeBitmapTests.servers()
        defer { servers.stop() }
        var shapes: [[[String]]] = []
        for server in [servers.redis, servers.node] {
            let client = try server.client()
            _ = try client.command([Array("SADD".utf8), Array("s".utf8)] + (0..<20).map { Array("m\($0)".utf8) })
            _ = try client.command("SADD", "t", "1", "2", "3", "4", "5", "6")
            var popped: [String] = []
            // 3 of 20: picked one by one; 15 of 17: the set is rebuilt from the rest; 1 of 2: one SREM.
            for (key, count) in [("s", "3"), ("s", "15"), ("s", "1"), ("t", "2")] {
                guard case .array(let items?) = try client.command("SPOP", key, count) else { throw TestFailure("SPOP") }
                popped += items.compactMap(\.string)
            }
            _ = try client.command("MULTI")
            _ = try client.command("SPOP", "t", "2")
            guard case .array(let results?) = try client.command("EXEC"), case .array(let items?) = results.first else {
                throw TestFailure("EXEC")
            }
            popped += items.compactMap(\.string)
            var commands: [[String]] = []
            try await waitUntil("the AOF holds the pops", seconds: 3) {
                commands = try Self.propagated(server).filter { $0.first != "SADD" && $0.first?.uppercased() != "SELECT" }
                return commands.filter { $0.first == "SREM" }.count == popped.count
            }
            #expect(commands.compactMap { $0.first == "SREM" ? $0[2] : nil } == popped, "\(server.port)")
            shapes.append(commands.map { $0.first == "SREM" ? ["SREM", $0[1], "<member>"] : $0 })
        }
        #expect(shapes[0] == shapes[1])
        #expect(shapes[0].map { $0[0] } == ["MULTI"] + Array(repeating: "SREM", count: 3) + ["EXEC", "MULTI"]
            + Array(repeating: "SREM", count: 15) + ["EXEC", "SREM", "MULTI", "SREM", "SREM", "EXEC", "MULTI", "SREM", "SREM", "EXEC"])
    }

    @Test func pingWithExtraArgumentsIsAnArityError() async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        let servers = try await RedisAndNode()
        defer { servers.stop() }
        let commands = [["PING", "a", "b"], ["ping", "a", "b", "c"], ["PING", "a"], ["PING"]]
        let expected = try servers.redis.client().rawFrames(commands).map { String(buffer: $0) }
        let actual = try servers.node.client().rawFrames(commands).map { String(buffer: $0) }
        #expect(actual == expected)
    }
}

/// Replies of the node that differed from redis-server's beyond propagation (issue 15).
@Suite(.serialized)
struct NodeReplyDifferencesTests {
    /// Pearson's chi-square of how often each member came up, against equal frequencies (as Redis's
    /// test suite computes it).
    static func chiSquare(_ draws: [String]) -> Double {
        var counts: [String: Int] = [:]
        for draw in draws { counts[draw, default: 0] += 1 }
        let expected = Double(draws.count) / Double(counts.count)
        return counts.values.reduce(0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
    }

    /// SRANDMEMBER's picks are uniform, with a negative count (repeats) and with positive counts
    /// small and large against the set (Redis's `SRANDMEMBER histogram distribution`: df = 9, a
    /// chi-square of 40 has a 0.00001 chance), for a hash table and an intset.
    @Test(arguments: [
        ["1", "5", "10", "50", "125", "MARY", "PATRICIA", "LINDA", "BARBARA", "ELIZABETH"],
        ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
    ])
    func srandmemberIsUniform(members: [String]) async throws {
        let node = try await startNode([])
        defer { node.stop() }
        let client = try node.client()
        _ = try client.command(([Array("SADD".utf8), Array("s".utf8)] + members.map { Array($0.utf8) }))
        // Several rounds, so that one unlucky draw cannot fail the test but a bias does.
        for _ in 0..<3 {
            guard case .array(let items?) = try client.command("SRANDMEMBER", "s", "-1000") else { throw TestFailure("SRANDMEMBER") }
            #expect(Self.chiSquare(items.compactMap(\.string)) < 40, "negative count")
            for size in [8, 2] {
                var draws: [String] = []
                for _ in 0..<(1000 / size) {
                    guard case .array(let items?) = try client.command("SRANDMEMBER", "s", String(size)) else { throw TestFailure("SRANDMEMBER") }
                    draws += items.compactMap(\.string)
                }
                #expect(Self.chiSquare(draws) < 40, "count \(size)")
            }
            var singles: [String] = []
            for _ in 0..<1000 { singles.append(try client.command("SRANDMEMBER", "s").string ?? "") }
            #expect(Self.chiSquare(singles) < 40, "no count")
        }
    }

    /// Lex ranges over small sorted sets whose scores put members out of lexical order: Redis walks
    /// its listpack from one end, and the node answers the same, forward, reversed, with LIMIT, in
    /// ZLEXCOUNT, ZRANGESTORE and ZREMRANGEBYLEX.
    @Test func lexRangesOverMixedScoresMatchRedis() async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        let servers = try await RedisAndNode()
        defer { servers.stop() }
        let redis = try servers.redis.client()
        let node = try servers.node.client()
        var generator = NodeDifferentialTests.Generator(seed: 15)
        let letters = ["a", "b", "c", "d", "e", "f"]
        let bounds = ["-", "+", "[a", "(a", "[b", "(b", "[c", "(c", "[cc", "[d", "(d", "[e", "(f", "[g", "[", "("]
        var commands: [[String]] = [["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"], ["ZRANGE", "z", "[b", "[c", "BYLEX"]]
        for round in 0..<60 {
            commands.append(["DEL", "z"])
            var zadd = ["ZADD", "z"]
            for letter in letters where generator.next() % 4 != 0 {
                zadd += [String(generator.next() % 5), letter]
            }
            if zadd.count > 2 { commands.append(zadd) }
            for _ in 0..<12 {
                let low = bounds[Int(generator.next() % UInt64(bounds.count))]
                let high = bounds[Int(generator.next() % UInt64(bounds.count))]
                switch generator.next() % 7 {
                case 0: commands.append(["ZRANGEBYLEX", "z", low, high])
                case 1: commands.append(["ZREVRANGEBYLEX", "z", high, low])
                case 2: commands.append(["ZRANGE", "z", low, high, "BYLEX", "LIMIT", String(generator.next() % 4), String(Int(generator.next() % 4) - 1)])
                case 3: commands.append(["ZRANGE", "z", high, low, "BYLEX", "REV", "LIMIT", String(generator.next() % 4), String(Int(generator.next() % 4) - 1)])
                case 4: commands.append(["ZLEXCOUNT", "z", low, high])
                case 5: commands += [["ZRANGESTORE", "d", "z", low, high, "BYLEX"], ["ZRANGE", "d", "0", "-1"]]
                default: if round % 3 == 0 { commands += [["ZREMRANGEBYLEX", "z", low, high], ["ZRANGE", "z", "0", "-1"]] }
                }
            }
        }
        _ = try NodeBitmapTests.compare(commands, redis, node, context: "lex ranges")
    }
}

extension NodePropagationTests {
    /// A transaction whose commands propagate one command propagates it alone (Redis 7.0 wraps only
    /// two or more); a transaction with several is one MULTI/EXEC; one that writes nothing leaves
    /// nothing.
    @Test func transactionsPropagateLikeRedis() async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        try await Self.expectSamePropagation([
            ["MULTI"], ["SET", "a", "1"], ["EXEC"],
            ["MULTI"], ["SET", "a", "2"], ["INCR", "a"], ["EXEC"],
            ["MULTI"], ["GET", "a"], ["EXEC"],
            ["MULTI"], ["GET", "a"], ["SPOP", "nokey"], ["DEL", "a"], ["EXEC"],
            ["SADD", "s", "1", "2", "3", "4", "5", "6", "7"], ["MULTI"], ["SPOP", "s", "7"], ["EXEC"],
            ["MULTI"], ["SELECT", "1"], ["SET", "x", "1"], ["GET", "x"], ["SELECT", "2"], ["SET", "y", "1"], ["EXEC"],
            ["MULTI"], ["SELECT", "3"], ["SET", "z", "1"], ["EXEC"], ["SET", "w", "1"],
        ], context: "transactions")
    }

    /// PUBLISH goes to replicas only: the AOF has neither it nor a SELECT made for it alone, and a
    /// transaction that propagated a write and a PUBLISH is still one MULTI/EXEC.
    /// Without replicas (no backlog) it is not propagated at all, as in Redis; with one, the AOF
    /// and the replica each get their own SELECTs.
    @Test(arguments: [false, true])
    func publishStaysOutOfTheAOFAsInRedis(withReplicas: Bool) async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        let commands = [
            ["SET", "a", "1"], ["PUBLISH", "ch", "m"],
            ["MULTI"], ["SET", "b", "1"], ["PUBLISH", "ch", "x"], ["EXEC"],
            ["MULTI"], ["PUBLISH", "ch", "y"], ["EXEC"],
            ["MULTI"], ["PUBLISH", "ch", "y"], ["SPUBLISH", "sh", "z"], ["EXEC"],
            ["SELECT", "2"], ["PUBLISH", "ch", "z"], ["SET", "c", "1"],
            ["SELECT", "3"], ["PUBLISH", "ch", "z"], ["SELECT", "2"], ["SET", "d", "1"],
        ]
        guard withReplicas else { return try await Self.expectSamePropagation(commands, context: "publish") }
        let servers = try await NodeBitmapTests.servers()
        defer { servers.stop() }
        var replicas: [RedisServer] = []
        defer { replicas.forEach { $0.stop() } }
        for master in [servers.redis, servers.node] {
            let replica = try await RedisServer(["--replicaof", "127.0.0.1", "\(master.port)"])
            replicas.append(replica)
            try await NodeReplicationTests.waitForLink(replica.port)
        }
        guard try NodeBitmapTests.compare(commands, servers.redis.client(), servers.node.client(), context: "publish") else { return }
        try await Self.expectSameAOF(servers, context: "publish, with replicas")
        // The node's replica applied every write in its database.
        try await waitUntil("the node's replica has d in database 2") {
            let client = try replicas[1].client()
            _ = try client.command("SELECT", "2")
            return try client.command("GET", "d") == .bulk("1") && client.command("GET", "c") == .bulk("1")
        }
        #expect(try replicas[1].client().command("GET", "b") == .bulk("1"))
    }

    /// A write that finds its key expired: Redis 7.0 propagates the deletion and the write together,
    /// as one MULTI/EXEC.
    @Test func writesOverExpiredKeysPropagateLikeRedis() async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        // Active expiry off (DEBUG allowed), so only the commands below find the keys expired.
        let servers = try await RedisAndNode(["--appendonly", "yes", "--appendfsync", "always", "--enable-debug-command", "yes"])
        defer { servers.stop() }
        for server in [servers.redis, servers.node] {
            let client = try server.client()
            #expect(try client.command("DEBUG", "SET-ACTIVE-EXPIRE", "0") == .status("OK"))
            _ = try client.command("SET", "k", "v", "PX", "1")
            _ = try client.command("SET", "j", "v", "PX", "1")
        }
        try await Task.sleep(for: .milliseconds(20))
        let commands = [["SET", "k", "w"], ["GET", "j"]]
        _ = try NodeBitmapTests.compare(commands, servers.redis.client(), servers.node.client(), context: "expired")
        try await Self.expectSameAOF(servers, context: "writes over expired keys")
    }
}
