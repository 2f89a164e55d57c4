import Foundation
import Testing

/// Blocking commands and WATCH through a two-group proxy of real redis-servers: each runs on a
/// connection leased to its client, so shared connections never stall, a client that goes away
/// while blocked pops nothing, and optimistic locking works as it does against Redis.
@Suite(.serialized, .enabled(if: TestEnvironment.canRun("redis-server")))
struct ProxyLeaseTests {
    static func proxy(_ shards: ShardGroups, extra: String = "", threads: Int = 2) async throws -> ProxyUnderTest {
        try await shards.taggedProxy(extra: extra, threads: threads)
    }

    @Test func blockingRepliesMatchRedis() async throws {
        let shards = try await ShardGroups(groups: 2)
        defer { shards.stop() }
        let redis = try await RedisServer()
        defer { redis.stop() }
        let proxy = try await Self.proxy(shards)
        let commands: [[String]] = [
            ["RPUSH", "{q}a", "1", "2"], ["BLPOP", "{q}none", "{q}a", "1"], ["BRPOP", "{q}a", "1"], ["BLPOP", "{q}a", "0.2"],
            ["RPUSH", "{q}a", "x"], ["BLMOVE", "{q}a", "{q}b", "LEFT", "RIGHT", "1"], ["BRPOPLPUSH", "{q}b", "{q}a", "1"],
            ["BLMPOP", "1", "2", "{q}a", "{q}b", "LEFT", "COUNT", "5"], ["ZADD", "{q}z", "1", "m"], ["BZPOPMIN", "{q}z", "1"],
            ["BZPOPMAX", "{q}z", "0.1"], ["XADD", "{q}s", "1-1", "f", "v"], ["XREAD", "BLOCK", "100", "STREAMS", "{q}s", "0"],
            ["XREAD", "BLOCK", "100", "STREAMS", "{q}s", "$"], ["BLPOP", "{q}a", "-1"], ["BLPOP", "{q}a", "x"],
            ["GET", "{q}a"],
        ]
        let expected = try redis.client().pipeline(commands)
        let actual = try proxy.client().pipeline(commands)
        for index in commands.indices {
            #expect(actual[index] == expected[index], "\(commands[index]): proxy \(actual[index]) vs redis \(expected[index])")
        }
        await proxy.stop()
    }

    /// Three clients block forever; a fourth client's GETs are answered at once, and pushes wake the
    /// blocked ones.
    @Test func blockedClientsDoNotStallOthers() async throws {
        let shards = try await ShardGroups(groups: 2)
        defer { shards.stop() }
        let proxy = try await Self.proxy(shards, threads: 1)
        let blocked = try (0..<3).map { _ in try proxy.client() }
        for (index, client) in blocked.enumerated() { try client.sendRaw(RedisTestClient.encode([Array("BLPOP".utf8), Array("{w}list\(index)".utf8), Array("0".utf8)])) }
        let other = try proxy.client()
        let started = Date()
        for round in 0..<100 { #expect(try other.command("SET", "{w}k", "\(round)") == .status("OK")) }
        #expect(Date().timeIntervalSince(started) < 2, "the shared connection is not stalled")
        for index in 0..<3 { _ = try other.command("RPUSH", "{w}list\(index)", "job\(index)") }
        for (index, client) in blocked.enumerated() {
            #expect(try client.readReply() == .array([.bulk("{w}list\(index)"), .bulk("job\(index)")]))
        }
        await proxy.stop()
    }

    /// A client that disconnects while blocked pops nothing: what is pushed afterwards stays.
    @Test func aGoneClientPopsNothing() async throws {
        let shards = try await ShardGroups(groups: 2)
        defer { shards.stop() }
        let proxy = try await Self.proxy(shards)
        _ = try proxy.client().command("SET", "{gone}probe", "x")
        let owner = try #require(try shards.owner(of: "{gone}probe"))
        let client = try proxy.client()
        try client.sendRaw(RedisTestClient.encode([Array("BRPOP".utf8), Array("{gone}list".utf8), Array("0".utf8)]))
        try await waitUntil("blocked on the server") { try Self.blockedClients(shards.masters[owner]) == 1 }
        client.disconnect()
        try await waitUntil("unblocked on the server") { try Self.blockedClients(shards.masters[owner]) == 0 }
        let other = try proxy.client()
        #expect(try other.command("LPUSH", "{gone}list", "precious") == .integer(1))
        try await Task.sleep(for: .milliseconds(200))
        #expect(try other.command("LRANGE", "{gone}list", "0", "-1") == .array([.bulk("precious")]))
        await proxy.stop()
    }

    static func blockedClients(_ server: RedisServer) throws -> Int {
        guard case .bulk(let bytes?) = try server.client().command("INFO", "clients") else { return -1 }
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\r\n") where line.hasPrefix("blocked_clients:") {
            return Int(line.dropFirst("blocked_clients:".count)) ?? -1
        }
        return -1
    }

    /// Past `leased_connections`, a blocking command is refused at once with the reason.
    @Test func exhaustedLeasesAreAClearError() async throws {
        let shards = try await ShardGroups(groups: 1)
        defer { shards.stop() }
        let proxy = try await Self.proxy(shards, extra: "  leased_connections: 2\n", threads: 1)
        let blocked = try (0..<2).map { _ in try proxy.client() }
        for client in blocked { try client.sendRaw(RedisTestClient.encode([Array("BLPOP".utf8), Array("l".utf8), Array("0".utf8)])) }
        try await waitUntil("both blocked") { try Self.blockedClients(shards.masters[0]) == 2 }
        guard case .error(let text) = try proxy.client().command("BLPOP", "l", "0") else {
            Issue.record("a third lease was granted")
            return
        }
        #expect(text.contains("all 2 leased connections of this proxy thread are in use"), "\(text)")
        _ = try proxy.client().command("RPUSH", "l", "a")
        #expect(try blocked[0].readReply() == .array([.bulk("l"), .bulk("a")]))
        // The lease went back: a new blocking command gets one. So does a lease whose client ran a
        // plain command on it after its blocking one.
        #expect(try proxy.client().command("BLPOP", "l", "0.1") == .array(nil))
        let mixed = try proxy.client()
        #expect(try mixed.pipeline([["BLPOP", "l", "0.1"], ["GET", "x"]]) == [.array(nil), .bulk(nil)])
        #expect(try proxy.client().command("BLPOP", "l", "0.1") == .array(nil), "the mixed client's lease went back")
        await proxy.stop()
    }

    @Test func watchRepliesMatchRedis() async throws {
        let shards = try await ShardGroups(groups: 2)
        defer { shards.stop() }
        let redis = try await RedisServer()
        defer { redis.stop() }
        let proxy = try await Self.proxy(shards)
        func script(_ port: Int) throws -> [Reply] {
            let client = try RedisTestClient(port: port)
            let other = try RedisTestClient(port: port)
            var replies = try client.pipeline([["SET", "{acct}a", "10"], ["WATCH", "{acct}a", "{acct}b"], ["GET", "{acct}a"]])
            _ = try other.command("SET", "{acct}a", "changed")
            replies += try client.pipeline([["MULTI"], ["SET", "{acct}a", "11"], ["EXEC"], ["GET", "{acct}a"]])
            replies += try client.pipeline([["WATCH", "{acct}a"], ["MULTI"], ["INCR", "{acct}b"], ["EXEC"]])
            replies += try client.pipeline([["WATCH", "{acct}a"], ["UNWATCH"], ["WATCH", "{acct}b"], ["MULTI"], ["DISCARD"]])
            _ = try other.command("SET", "{acct}b", "5")
            replies += try client.pipeline([["MULTI"], ["GET", "{acct}b"], ["EXEC"], ["WATCH", "{acct}a"], ["MULTI"], ["NOSUCH"], ["EXEC"]])
            _ = try other.command("SET", "{acct}a", "again")
            replies += try client.pipeline([["MULTI"], ["GET", "{acct}a"], ["EXEC"], ["WATCH", "{acct}a"], ["MULTI"], ["EXEC"]])
            return replies
        }
        #expect(try script(proxy.port) == script(redis.port))
        await proxy.stop()
    }

    /// The classic check-and-set loop, from several clients at once: every transfer is applied
    /// exactly once, so the total never changes.
    @Test func checkAndSetUnderConcurrency() async throws {
        let shards = try await ShardGroups(groups: 2)
        defer { shards.stop() }
        let proxy = try await Self.proxy(shards)
        _ = try proxy.client().pipeline([["SET", "{bank}a", "1000"], ["SET", "{bank}b", "1000"]])
        let transfers = 150
        let retries = try await withThrowingTaskGroup(of: Int.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    let client = try proxy.client()
                    var retries = 0
                    for _ in 0..<transfers {
                        while true {
                            let read = try client.pipeline([["WATCH", "{bank}a", "{bank}b"], ["GET", "{bank}a"], ["GET", "{bank}b"]])
                            guard let a = read[1].string.flatMap({ Int($0) }), let b = read[2].string.flatMap({ Int($0) }) else {
                                throw TestFailure("unexpected \(read)")
                            }
                            let (from, to) = worker % 2 == 0 ? (a - 1, b + 1) : (a + 1, b - 1)
                            let exec = try client.pipeline([["MULTI"], ["SET", "{bank}a", "\(from)"], ["SET", "{bank}b", "\(to)"], ["EXEC"]])
                            if exec[3] != .array(nil) { break }
                            retries += 1
                        }
                    }
                    return retries
                }
            }
            return try await group.reduce(0, +)
        }
        let balances = try proxy.client().pipeline([["GET", "{bank}a"], ["GET", "{bank}b"]])
        let total = balances.compactMap { $0.string.flatMap { Int($0) } }.reduce(0, +)
        #expect(total == 2000, "balances \(balances) after \(retries) retries")
        await proxy.stop()
    }
}
