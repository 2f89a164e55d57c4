import Foundation
import Testing

/// The connection commands the proxy answers for its own clients (CLIENT LIST/KILL, RESET) and WAIT,
/// which it runs on leased connections of the groups the client wrote to.
@Suite(.serialized, .enabled(if: TestEnvironment.canRun("redis-server")))
struct ProxyConnectionCommandsTests {
    @Test func clientListAndKillDescribeTheProxysClients() async throws {
        let shards = try await ShardGroups(groups: 1)
        defer { shards.stop() }
        let proxy = try await ProxyUnderTest(yaml: "pool:\n  listen: LISTEN\n" + shards.groupsYAML())
        let admin = try proxy.client()
        let worker = try proxy.client()
        _ = try worker.command("CLIENT", "SETNAME", "worker-1")
        let subscriber = try proxy.client()
        _ = try subscriber.command("SUBSCRIBE", "news")
        guard case .bulk(let bytes?) = try admin.command("CLIENT", "LIST") else {
            Issue.record("CLIENT LIST gave no text")
            return
        }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 3)
        let fields = ["id=", "addr=", "laddr=", "fd=", "name=", "age=", "idle=", "flags=", "db=", "sub=", "psub=", "ssub=", "multi=",
                      "qbuf=", "omem=", "tot-mem=", "events=", "cmd=", "user=", "resp="]
        #expect(lines.allSatisfy { line in fields.allSatisfy { line.contains(" \($0)") || line.hasPrefix($0) } }, "\(lines)")
        #expect(lines.contains { $0.contains(" name=worker-1 ") && $0.contains(" flags=N ") })
        #expect(lines.contains { $0.contains(" flags=P ") && $0.contains(" sub=1 ") })
        guard case .bulk(let pubsub?) = try admin.command("CLIENT", "LIST", "TYPE", "pubsub") else { return }
        #expect(String(decoding: pubsub, as: UTF8.self).split(separator: "\n").count == 1)
        guard case .integer(let workerID) = try worker.command("CLIENT", "ID") else { return }
        #expect(try admin.command("CLIENT", "KILL", "ID", "\(workerID)") == .integer(1))
        try await waitUntil("the killed client is closed") { worker.isClosedByPeer() }
        #expect(try admin.command("CLIENT", "KILL", "ID", "\(workerID)") == .integer(0))
        #expect(try admin.command("CLIENT", "KILL", "1.2.3.4:5") == .error("ERR No such client"))
        #expect(try admin.command("CLIENT", "NO-EVICT", "on") == .status("OK"))
        await proxy.stop()
    }

    @Test func resetAnswersAsRedis() async throws {
        let shards = try await ShardGroups(groups: 1)
        defer { shards.stop() }
        let redis = try await RedisServer()
        defer { redis.stop() }
        let proxy = try await ProxyUnderTest(yaml: "pool:\n  listen: LISTEN\n" + shards.groupsYAML())
        let commands: [[String]] = [
            ["CLIENT", "SETNAME", "named"], ["SELECT", "2"], ["SET", "k", "2"], ["MULTI"], ["SET", "k", "x"], ["RESET"],
            ["CLIENT", "GETNAME"], ["EXEC"], ["GET", "k"], ["SUBSCRIBE", "ch"], ["RESET"], ["PING"],
        ]
        #expect(try proxy.client().pipeline(commands) == redis.client().pipeline(commands))
        await proxy.stop()
    }

    /// `client_timeout`: an idle client is closed, as redis-server's `timeout` closes it; a
    /// subscriber, a client blocked in BLPOP and a client that keeps sending stay.
    @Test func clientTimeoutClosesIdleClientsOnly() async throws {
        let shards = try await ShardGroups(groups: 1)
        defer { shards.stop() }
        let proxy = try await ProxyUnderTest(yaml: "pool:\n  listen: LISTEN\n  client_timeout: 1\n" + shards.groupsYAML())
        let idle = try proxy.client()
        #expect(try idle.command("PING") == .status("PONG"))
        let subscriber = try proxy.client()
        _ = try subscriber.command("SUBSCRIBE", "news")
        let blocked = try proxy.client()
        try blocked.sendRaw(RedisTestClient.encode([Array("BLPOP".utf8), Array("queue".utf8), Array("0".utf8)]))
        let busy = try proxy.client()
        for _ in 0..<12 {
            #expect(try busy.command("PING") == .status("PONG"))
            try await Task.sleep(for: .milliseconds(250))
        }
        #expect(idle.isClosedByPeer(), "the idle client is closed after client_timeout")
        #expect(try subscriber.command("PING") == .array([.bulk(Array("pong".utf8)), .bulk([])]))
        _ = try proxy.client().command("RPUSH", "queue", "job")
        #expect(try blocked.readReply() == .array([.bulk(Array("queue".utf8)), .bulk(Array("job".utf8))]))
        await proxy.stop()
    }

    /// WAIT counts the replicas that have the client's writes in every group it wrote to: a group
    /// whose replica is held back answers 0, and so does WAIT.
    @Test func waitReportsTheFewestReplicasAcrossWrittenGroups() async throws {
        let shards = try await ShardGroups(groups: 2, replicas: 1)
        defer { shards.stop() }
        try await shards.syncReplicas()
        let proxy = try await ProxyUnderTest(yaml: "pool:\n  listen: LISTEN\n" + shards.groupsYAML())
        let client = try proxy.client()
        let keys = try ProxyTransactionTests.keyPerGroup(client, shards)
        #expect(try client.pipeline([["SET", keys[0], "a"], ["SET", keys[1], "b"], ["WAIT", "1", "2000"]])[2] == .integer(1))
        #expect(try client.command("WAIT", "1", "100") == .integer(1), "no writes since: the keyless group's replicas")
        _ = try shards.replicas[1][0].client().command("CLIENT", "PAUSE", "1500", "WRITE")
        let started = Date()
        #expect(try client.pipeline([["SET", keys[1], "c"], ["WAIT", "1", "300"]])[1] == .integer(0))
        #expect(Date().timeIntervalSince(started) < 1.4, "WAIT honours its timeout")
        let other = try proxy.client()
        #expect(try other.command("GET", keys[0]) == .bulk("a"), "shared connections did not wait")
        await proxy.stop()
    }
}
