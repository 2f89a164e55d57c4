import Foundation
import Testing

/// MULTI/EXEC/DISCARD through a two-group proxy of real redis-servers: replies as Redis gives them,
/// a transaction reaches its group as one block (all or nothing), and one whose keys leave its
/// group, or that met a queue-time error, leaves no trace.
@Suite(.serialized, .enabled(if: TestEnvironment.canRun("redis-server")))
struct ProxyTransactionTests {
    /// One key per group, with the backends left empty.
    static func keyPerGroup(_ client: RedisTestClient, _ shards: ShardGroups) throws -> [String] {
        let found = try ProxyFailureTests.keyPerGroup(client, shards)
        for master in shards.masters { _ = try master.client().pipeline([["FLUSHALL"], ["CONFIG", "RESETSTAT"]]) }
        return found
    }

    /// Replies of `commands` sent in one pipeline to redis directly and through the proxy.
    static func compare(_ commands: [[String]], redis: RedisServer, proxy: ProxyUnderTest) throws {
        let expected = try redis.client().pipeline(commands)
        let actual = try proxy.client().pipeline(commands)
        for index in commands.indices {
            #expect(actual[index] == expected[index], "\(commands[index]): proxy \(actual[index]) vs redis \(expected[index])")
        }
    }

    @Test func repliesMatchRedis() async throws {
        let shards = try await ShardGroups(groups: 2)
        defer { shards.stop() }
        let redis = try await RedisServer()
        defer { redis.stop() }
        let proxy = try await shards.taggedProxy()
        let commands: [[String]] = [
            ["EXEC"], ["DISCARD"],
            ["MULTI"], ["SET", "{t}a", "1"], ["INCR", "{t}a"], ["LPUSH", "{t}a", "x"], ["GET", "{t}a"],
            ["MSET", "{t}b", "2", "{t}c", "3"], ["MGET", "{t}a", "{t}b", "{t}c"], ["PING"], ["ECHO", "hi"], ["EXEC"],
            ["MULTI"], ["MULTI"], ["WATCH", "{t}a"], ["SET", "{t}a", "2"], ["EXEC"],
            ["MULTI"], ["SET", "{t}a", "3"], ["NOSUCH", "x"], ["SET", "{t}a", "4"], ["EXEC"], ["GET", "{t}a"],
            ["MULTI"], ["SET", "{t}a"], ["EXEC"],
            ["MULTI"], ["SET", "{t}a", "5"], ["DISCARD"], ["GET", "{t}a"],
            ["MULTI"], ["EXEC"],
            ["MULTI"], ["BLPOP", "{t}list", "0"], ["RPUSH", "{t}list", "e"], ["BLPOP", "{t}list", "0"], ["EXEC"],
            ["MULTI"], ["SAVE"], ["EXEC"],
            ["UNWATCH"], ["MULTI"], ["UNWATCH"], ["INCR", "{t}b"], ["EXEC"],
        ]
        try Self.compare(commands, redis: redis, proxy: proxy)
        await proxy.stop()
    }

    /// A RESP3 client's EXEC reply is the RESP3 array Redis sends (maps, doubles, nulls inside).
    @Test func resp3ExecRepliesMatchRedis() async throws {
        let shards = try await ShardGroups(groups: 2)
        defer { shards.stop() }
        let redis = try await RedisServer()
        defer { redis.stop() }
        let proxy = try await shards.taggedProxy()
        let commands: [[String]] = [
            ["MULTI"], ["HSET", "{t}h", "f", "v"], ["HGETALL", "{t}h"], ["GET", "{t}none"], ["ZADD", "{t}z", "1.5", "m"],
            ["ZSCORE", "{t}z", "m"], ["EXEC"],
        ]
        let viaRedis = try redis.client()
        let viaProxy = try proxy.client()
        _ = try viaRedis.rawPipeline([["HELLO", "3"]])
        _ = try viaProxy.rawPipeline([["HELLO", "3"]])
        #expect(try viaProxy.rawPipeline(commands) == viaRedis.rawPipeline(commands))
        await proxy.stop()
    }

    /// Keys in two groups: CROSSSLOT when queued, EXECABORT at EXEC, and nothing applied anywhere.
    @Test func crossGroupTransactionLeavesNoTrace() async throws {
        let shards = try await ShardGroups(groups: 2)
        defer { shards.stop() }
        let proxy = try await shards.taggedProxy()
        let client = try proxy.client()
        let keys = try Self.keyPerGroup(client, shards)
        let replies = try client.pipeline([
            ["MULTI"], ["SET", keys[0], "x"], ["SET", keys[1], "y"], ["INCR", keys[0]], ["EXEC"],
            ["MULTI"], ["MSET", keys[0], "x", keys[1], "y"], ["EXEC"],
        ])
        #expect(replies == [
            .status("OK"), .status("QUEUED"), ShardGroups.crossSlot(0, 1), .status("QUEUED"),
            .error("EXECABORT Transaction discarded because of previous errors."),
            .status("OK"), ShardGroups.crossSlot(0, 1),
            .error("EXECABORT Transaction discarded because of previous errors."),
        ])
        #expect(try shards.masters.allSatisfy { try $0.keys().isEmpty })
        #expect(try shards.masters.map { try $0.calls("multi") + $0.calls("set") + $0.calls("exec") } == [0, 0])
        await proxy.stop()
    }

    /// While one client moves units between two keys in transactions, another reads both in
    /// transactions: it must never see a transfer half done.
    @Test func aTransactionIsOneBlockOnItsBackend() async throws {
        let shards = try await ShardGroups(groups: 2)
        defer { shards.stop() }
        let proxy = try await shards.taggedProxy(threads: 1)
        let writer = try proxy.client()
        #expect(try writer.pipeline([["SET", "{acct}a", "1000"], ["SET", "{acct}b", "1000"]]) == [.status("OK"), .status("OK")])
        let rounds = 300
        let writes = Task.detached {
            var batch: [[String]] = []
            for _ in 0..<10 { batch += [["MULTI"], ["DECRBY", "{acct}a", "3"], ["INCRBY", "{acct}b", "3"], ["EXEC"]] }
            for _ in 0..<rounds { _ = try writer.pipeline(batch) }
        }
        let reader = try proxy.client()
        var torn = 0
        for _ in 0..<rounds {
            let replies = try reader.pipeline([["MULTI"], ["GET", "{acct}a"], ["GET", "{acct}b"], ["EXEC"]])
            guard case .array(let values?) = replies[3], values.count == 2,
                let a = values[0].string.flatMap({ Int($0) }), let b = values[1].string.flatMap({ Int($0) })
            else {
                Issue.record("unexpected EXEC reply \(replies[3])")
                break
            }
            if a + b != 2000 { torn += 1 }
        }
        try await writes.value
        #expect(torn == 0)
        #expect(try reader.pipeline([["GET", "{acct}a"], ["GET", "{acct}b"]]) == [.bulk("\(1000 - 3 * 10 * rounds)"), .bulk("\(1000 + 3 * 10 * rounds)")])
        await proxy.stop()
    }

    /// The issue's data-integrity case: redis-py's pipeline(transaction=True) through the proxy,
    /// a transfer between two balances, applied exactly once, all or nothing.
    @Test(.enabled(if: TestEnvironment.isCI || TestEnvironment.hasRedisPy))
    func redisPyTransactionalPipeline() async throws {
        let shards = try await ShardGroups(groups: 2)
        defer { shards.stop() }
        let proxy = try await shards.taggedProxy()
        let python = try #require(TestEnvironment.python)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Clients/redis_py_transactions.py").path
        let result = try run(python, [script, "\(proxy.port)"], seconds: 60)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("balances 50 50"), "\(result.output)")
        #expect(result.output.contains("crossslot ok"), "\(result.output)")
        #expect(result.output.contains("cas total 2000"), "\(result.output)")
        await proxy.stop()
    }
}
