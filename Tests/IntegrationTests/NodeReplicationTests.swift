import Foundation
import Testing

/// Replication between shardgate nodes and real redis-server 7 in both directions: full and partial
/// resynchronisation, the backlog, failover by hand, the empty-master guard, live migration, WAIT
/// and min-replicas-to-write.
@Suite(.serialized, .enabled(if: TestEnvironment.canRun("redis-server")))
struct NodeReplicationTests {
    /// INFO `section` as a dictionary.
    static func info(_ port: Int, _ section: String) throws -> [String: String] {
        guard case .bulk(let bytes?) = try RedisTestClient(port: port).command("INFO", section) else { return [:] }
        var fields: [String: String] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":"), !line.hasPrefix("#") else { continue }
            fields[String(line[..<colon])] = String(line[line.index(after: colon)...])
        }
        return fields
    }

    static func waitForLink(_ port: Int, seconds: Double = 15) async throws {
        try await waitUntil("replica \(port) linked", seconds: seconds) {
            try info(port, "replication")["master_link_status"] == "up"
        }
    }

    static func counter(_ port: Int, _ name: String) throws -> Int { Int(try info(port, "stats")[name] ?? "") ?? -1 }

    /// Every key of database 0 with a type-specific, order-normalised rendering of its value.
    static func dataset(_ port: Int) throws -> [String: String] {
        let client = try RedisTestClient(port: port)
        guard case .array(let keys?) = try client.command("KEYS", "*") else { return [:] }
        var result: [String: String] = [:]
        for case .bulk(let keyBytes?) in keys {
            let key = String(decoding: keyBytes, as: UTF8.self)
            let type = try client.command("TYPE", key).string ?? "?"
            let value: Reply
            switch type {
            case "string": value = try client.command("GET", key)
            case "list": value = try client.command("LRANGE", key, "0", "-1")
            case "set":
                if case .array(let members?) = try client.command("SMEMBERS", key) {
                    value = .array(members.sorted { $0.description < $1.description })
                } else { value = .array(nil) }
            case "hash":
                if case .array(let items?) = try client.command("HGETALL", key) {
                    let pairs = stride(from: 0, to: items.count, by: 2).map { "\(items[$0])=\(items[$0 + 1])" }.sorted()
                    value = .bulk(pairs.joined(separator: ","))
                } else { value = .array(nil) }
            case "zset": value = try client.command("ZRANGE", key, "0", "-1", "WITHSCORES")
            default: value = .status(type)
            }
            let ttl = try client.command("TTL", key)
            result[key] = "\(type) \(value) ttl:\(ttl == .integer(-1) ? "none" : "yes")"
        }
        return result
    }

    /// Small and large encodings of every type, TTLs, and a second database.
    static func fillAllTypes(_ port: Int, prefix: String = "") throws {
        let client = try RedisTestClient(port: port)
        var commands: [[String]] = [
            ["SET", "\(prefix)str", "hello"], ["SET", "\(prefix)int", "12345"],
            ["SET", "\(prefix)long", String(repeating: "x", count: 300)],
            ["SET", "\(prefix)ttl", "v", "EX", "1000"],
            ["RPUSH", "\(prefix)list", "a", "b", "c"], ["SADD", "\(prefix)intset", "1", "2", "3"],
            ["SADD", "\(prefix)set", "a", "b"], ["HSET", "\(prefix)hash", "f", "v", "g", "w"],
            ["ZADD", "\(prefix)zset", "1", "a", "2.5", "b"],
        ]
        var bigList = ["RPUSH", "\(prefix)biglist"]
        var bigSet = ["SADD", "\(prefix)bigset"]
        var bigIntSet = ["SADD", "\(prefix)bigintset"]
        var bigHash = ["HSET", "\(prefix)bighash"]
        var bigZset = ["ZADD", "\(prefix)bigzset"]
        for index in 0..<700 {
            bigList.append("element-\(index)-" + String(repeating: "y", count: index % 50))
            bigSet.append("member-\(index)")
            bigIntSet.append("\(index * 3)")
            bigHash += ["field-\(index)", String(repeating: "z", count: index % 90)]
            bigZset += ["\(Double(index) / 3)", "member-\(index)"]
        }
        commands += [bigList, bigSet, bigIntSet, bigHash, bigZset, ["SELECT", "2"], ["SET", "\(prefix)db2", "two"], ["SELECT", "0"]]
        for reply in try client.pipeline(commands) { #expect(!reply.isError, "\(reply)") }
    }

    // 1. A real redis-server replica syncs from a node master, then resumes partially.
    @Test func redisReplicaSyncsFromNodeThenContinuesPartially() async throws {
        let master = try await startNode(["--repl-diskless-sync-delay", "0"])
        defer { master.stop() }
        try Self.fillAllTypes(master.port)
        let replica = try await RedisServer()
        defer { replica.stop() }
        _ = try replica.client().command("REPLICAOF", "127.0.0.1", "\(master.port)")
        try await Self.waitForLink(replica.port)
        #expect(try Self.dataset(replica.port) == Self.dataset(master.port))
        #expect(try Self.counter(master.port, "sync_full") == 1)
        _ = try master.client().command("SET", "after", "sync")
        try await waitUntil("stream reaches the replica") {
            try replica.client().command("GET", "after") == .bulk("sync")
        }
        _ = try replica.client().command("CLIENT", "KILL", "TYPE", "master")
        _ = try master.client().command("SET", "during", "outage")
        try await Self.waitForLink(replica.port)
        try await waitUntil("write during the outage arrives") {
            try replica.client().command("GET", "during") == .bulk("outage")
        }
        #expect(try Self.counter(master.port, "sync_partial_ok") == 1)
        #expect(try Self.counter(master.port, "sync_full") == 1)
        #expect(try Self.dataset(replica.port) == Self.dataset(master.port))
        // Disk-based transfer works too.
        _ = try master.client().command("CONFIG", "SET", "repl-diskless-sync", "no")
        let second = try await RedisServer()
        defer { second.stop() }
        _ = try second.client().command("REPLICAOF", "127.0.0.1", "\(master.port)")
        try await Self.waitForLink(second.port)
        #expect(try Self.dataset(second.port) == Self.dataset(master.port))
    }

    // 2. A node replica syncs from a real redis-server master holding every encoding, then follows it.
    @Test func nodeReplicaSyncsFromRedisAndFollowsItsStream() async throws {
        let master = try await RedisServer()
        defer { master.stop() }
        try Self.fillAllTypes(master.port)
        let replica = try await startNode(["--replicaof", "127.0.0.1", "\(master.port)"])
        defer { replica.stop() }
        try await Self.waitForLink(replica.port)
        #expect(try Self.dataset(replica.port) == Self.dataset(master.port))
        #expect(try replica.client().command("SELECT", "2") == .status("OK"))
        let db2 = try replica.client()
        _ = try db2.command("SELECT", "2")
        #expect(try db2.command("GET", "db2") == .bulk("two"))
        // The stream: writes of every kind, in several databases.
        try Self.fillAllTypes(master.port, prefix: "later:")
        _ = try master.client().pipeline([["INCR", "int"], ["LPUSH", "list", "z"], ["DEL", "set"], ["EXPIRE", "str", "500"]])
        try await waitUntil("stream applied") {
            try Self.dataset(replica.port) == Self.dataset(master.port)
        }
        let offsets = (try Self.info(master.port, "replication")["master_repl_offset"], try Self.info(replica.port, "replication")["slave_repl_offset"])
        #expect(offsets.0 == offsets.1)
        #expect(try replica.client().command("SET", "x", "y") == .error("READONLY You can't write against a read only replica."))
    }

    /// A real master with Redis's default `repl-diskless-sync-delay 5` sends newlines before it
    /// answers PSYNC (diskless) or while it saves (disk): the node waits through them, syncs fully,
    /// then continues partially after its link is cut.
    @Test(arguments: ["yes", "no"])
    func nodeReplicaWaitsThroughTheMastersKeepalives(diskless: String) async throws {
        let master = try await RedisServer(["--repl-diskless-sync", diskless, "--repl-diskless-sync-delay", "5"])
        defer { master.stop() }
        try Self.fillAllTypes(master.port)
        let replica = try await startNode(["--replicaof", "127.0.0.1", "\(master.port)"])
        defer { replica.stop() }
        try await Self.waitForLink(replica.port, seconds: 20)
        #expect(try Self.dataset(replica.port) == Self.dataset(master.port))
        #expect(try Self.counter(master.port, "sync_full") == 1)
        _ = try master.client().command("CLIENT", "KILL", "TYPE", "replica")
        _ = try master.client().command("SET", "after-the-cut", "1")
        try await waitUntil("replica caught up", seconds: 20) { try Self.dataset(replica.port) == Self.dataset(master.port) }
        #expect(try Self.counter(master.port, "sync_partial_ok") == 1)
        #expect(try Self.counter(master.port, "sync_full") == 1)
    }

    // 3. An outage within the backlog gives a partial resync; a longer one a full resync.
    @Test func backlogDecidesBetweenPartialAndFullResync() async throws {
        let master = try await startNode(["--repl-diskless-sync-delay", "0", "--repl-backlog-size", "16kb"])
        defer { master.stop() }
        let replica = try await startNode(["--replicaof", "127.0.0.1", "\(master.port)"])
        defer { replica.stop() }
        try await Self.waitForLink(replica.port)
        func outage(writing bytes: Int) async throws {
            // Cut the link first, so what follows is missing on the replica (not just unread).
            replica.process.signal(SIGSTOP)
            let client = try master.client()
            _ = try client.command("CLIENT", "KILL", "TYPE", "replica")
            var written = 0
            var index = 0
            while written < bytes {
                _ = try client.command("SET", "k\(index)", String(repeating: "v", count: 500))
                written += 540
                index += 1
            }
            replica.process.signal(SIGCONT)
            try await Self.waitForLink(replica.port)
            try await waitUntil("replica caught up") { try Self.dataset(replica.port) == Self.dataset(master.port) }
        }
        try await outage(writing: 4000)
        #expect(try Self.counter(master.port, "sync_partial_ok") == 1)
        #expect(try Self.counter(master.port, "sync_full") == 1)
        try await outage(writing: 40_000)
        #expect(try Self.counter(master.port, "sync_partial_ok") == 1)
        #expect(try Self.counter(master.port, "sync_full") == 2)
        #expect(try Self.counter(master.port, "sync_partial_err") == 1)
    }

    // 4. Failover by hand: the other replica and the old master continue partially via replid2.
    @Test func manualFailoverContinuesPartiallyThroughTheSecondReplicationID() async throws {
        // No PING from the old master during the failover (its first comes one period after a
        // replica is online: on a loaded machine the test can reach the failover that late, and
        // a PING sent after `first` was promoted puts the others one PING ahead of it, so their
        // partial resync fails and they sync in full, as with Redis).
        let master = try await startNode(["--repl-diskless-sync-delay", "0", "--repl-ping-replica-period", "3600"])
        defer { master.stop() }
        let first = try await startNode(["--replicaof", "127.0.0.1", "\(master.port)", "--repl-diskless-sync-delay", "0"])
        defer { first.stop() }
        let second = try await startNode(["--replicaof", "127.0.0.1", "\(master.port)"])
        defer { second.stop() }
        try await Self.waitForLink(first.port)
        try await Self.waitForLink(second.port)
        try Self.fillAllTypes(master.port)
        try await waitUntil("replicas caught up") {
            try Self.dataset(first.port) == Self.dataset(master.port) && Self.dataset(second.port) == Self.dataset(master.port)
        }
        // Partial resync needs every node at the same offset when `first` is promoted.
        try await waitUntil("replicas at the master's offset") {
            let offset = try Self.info(master.port, "replication")["master_repl_offset"]
            return try Self.info(first.port, "replication")["master_repl_offset"] == offset
                && Self.info(second.port, "replication")["master_repl_offset"] == offset
        }
        let oldID = try Self.info(master.port, "replication")["master_replid"]
        #expect(try first.client().command("REPLICAOF", "NO", "ONE") == .status("OK"))
        let promoted = try Self.info(first.port, "replication")
        #expect(promoted["role"] == "master")
        #expect(promoted["master_replid2"] == oldID)
        #expect(promoted["master_replid"] != oldID)
        _ = try second.client().command("REPLICAOF", "127.0.0.1", "\(first.port)")
        _ = try master.client().command("REPLICAOF", "127.0.0.1", "\(first.port)")
        try await Self.waitForLink(second.port)
        try await Self.waitForLink(master.port)
        _ = try first.client().command("SET", "after-failover", "1")
        try await waitUntil("both follow the promoted node") {
            try second.client().command("GET", "after-failover") == .bulk("1")
                && master.client().command("GET", "after-failover") == .bulk("1")
        }
        #expect(try Self.counter(first.port, "sync_partial_ok") == 2)
        #expect(try Self.counter(first.port, "sync_full") == 0)
    }

    /// A promoted replica that no replica has joined yet keeps its backlog and its old history
    /// for `repl-backlog-ttl` from the promotion, as Redis does; counted from the node's start, the
    /// next cron freed them at once, and the failed-over replicas resynchronised in full.
    @Test func aPromotedReplicaKeepsItsBacklogForTheTTL() async throws {
        let master = try await startNode()
        defer { master.stop() }
        let replica = try await startNode(["--replicaof", "127.0.0.1", "\(master.port)"])
        defer { replica.stop() }
        try await Self.waitForLink(replica.port)
        let oldID = try Self.info(master.port, "replication")["master_replid"]
        #expect(try replica.client().command("REPLICAOF", "NO", "ONE") == .status("OK"))
        // Several cron ticks (10 a second) with no replica connected.
        try await Task.sleep(for: .milliseconds(600))
        let promoted = try Self.info(replica.port, "replication")
        #expect(promoted["master_replid2"] == oldID)
        #expect(promoted["repl_backlog_active"] == "1")
        #expect(promoted["second_repl_offset"] != "-1")
    }

    // 5. Real redis-sentinel manages shardgate nodes; the proxy follows the failover.
    @Test(.enabled(if: TestEnvironment.canRun("redis-sentinel")))
    func sentinelFailsOverShardgateNodesAndTheProxyFollows() async throws {
        let cluster = try await SentinelCluster(serverKind: .shardgateNode)
        defer { cluster.stop() }
        let proxy = try await ProxyUnderTest(yaml: SentinelFollowTests.proxyYAML(cluster))
        let load = WriteLoad(port: proxy.port, clients: 8, prefix: "node-failover")
        try await Task.sleep(for: .milliseconds(600))
        let oldMaster = cluster.master.port
        let killedAt = ContinuousClock.now
        cluster.killServer(port: oldMaster)
        let newMaster = try await cluster.waitForFailover(from: oldMaster, seconds: 20)
        try await Task.sleep(for: .seconds(1))
        let writes = load.stop()
        await proxy.stop()
        #expect(newMaster != oldMaster)
        #expect(try Self.info(newMaster, "replication")["role"] == "master")
        let after = writes.filter { $0.acknowledged && $0.sentAt > killedAt }
        #expect(!after.isEmpty, "no write succeeded through the proxy after the failover")
        let durable = writes.filter { $0.acknowledged && $0.answeredAt < killedAt - .milliseconds(50) }
        #expect(durable.count > 100)
        let lost = try SentinelFollowTests.missing(durable, on: newMaster)
        #expect(lost.isEmpty, "\(lost.count) acknowledged writes lost")
        // The surviving replica follows the promoted node.
        let survivor = cluster.replicas.map(\.port).first { $0 != newMaster }!
        try await waitUntil("survivor follows the new master", seconds: 20) {
            let fields = try Self.info(survivor, "replication")
            return fields["master_port"] == "\(newMaster)" && fields["master_link_status"] == "up"
        }
    }

    /// A transaction reaches replicas and the AOF as one MULTI ... EXEC block.
    @Test func transactionsPropagateAsOneBlock() async throws {
        let master = try await startNode(["--repl-diskless-sync-delay", "0", "--appendonly", "yes"])
        defer { master.stop() }
        let replica = try await RedisServer(["--replicaof", "127.0.0.1", "\(master.port)"])
        defer { replica.stop() }
        try await Self.waitForLink(replica.port)
        let replies = try master.client().pipeline([
            ["MULTI"], ["SET", "tx", "1"], ["INCR", "tx"], ["SELECT", "3"], ["SET", "in3", "x"], ["EXEC"],
        ])
        #expect(replies.last == .array([.status("OK"), .integer(2), .status("OK"), .status("OK")]))
        try await waitUntil("replica applied the transaction") {
            let client = try replica.client()
            _ = try client.command("SELECT", "3")
            return try replica.client().command("GET", "tx") == .bulk("2") && client.command("GET", "in3") == .bulk("x")
        }
        let aof = try String(contentsOfFile: "\(master.directory.path)/appendonlydir/appendonly.aof.1.incr.aof", encoding: .utf8)
        let multi = try #require(aof.range(of: "MULTI"))
        let exec = try #require(aof.range(of: "EXEC"))
        #expect(multi.lowerBound < aof.range(of: "INCR")!.lowerBound)
        #expect(aof.range(of: "in3")!.upperBound < exec.lowerBound)
    }

    /// PUBLISH goes to replicas (not the AOF): a client subscribed on a replica hears what is
    /// published on its master, node to redis-server and redis-server to node, in any database.
    @Test func publishReachesSubscribersOnReplicas() async throws {
        let node = try await startNode(["--repl-diskless-sync-delay", "0", "--appendonly", "yes"])
        defer { node.stop() }
        let redisReplica = try await RedisServer(["--replicaof", "127.0.0.1", "\(node.port)"])
        defer { redisReplica.stop() }
        let redis = try await RedisServer()
        defer { redis.stop() }
        let nodeReplica = try await startNode(["--replicaof", "127.0.0.1", "\(redis.port)"])
        defer { nodeReplica.stop() }
        try await Self.waitForLink(redisReplica.port)
        try await Self.waitForLink(nodeReplica.port)
        for (master, replica) in [(node.port, redisReplica.port), (redis.port, nodeReplica.port)] {
            let subscriber = try RedisTestClient(port: replica, timeoutSeconds: 5)
            _ = try subscriber.command("SUBSCRIBE", "news")
            let publisher = try RedisTestClient(port: master)
            _ = try publisher.command("SELECT", "4")
            _ = try publisher.command("SET", "k", "v")
            #expect(try publisher.command("PUBLISH", "news", "hello from \(master)") == .integer(0))
            #expect(try subscriber.readReply() == .array([.bulk("message"), .bulk("news"), .bulk("hello from \(master)")]))
        }
        // The AOF holds the write, not the PUBLISH.
        let aof = try String(contentsOfFile: "\(node.directory.path)/appendonlydir/appendonly.aof.1.incr.aof", encoding: .utf8)
        #expect(aof.contains("SET") && !aof.contains("PUBLISH"))
    }

    /// A push that serves blocked pops reaches a real replica as the push, then the pops the
    /// waiters made (never their blocking commands, which a replica would not block on).
    @Test func servedBlockedPopsReachReplicasAfterThePush() async throws {
        let master = try await startNode(["--repl-diskless-sync-delay", "0"])
        defer { master.stop() }
        let replica = try await RedisServer(["--replicaof", "127.0.0.1", "\(master.port)"])
        defer { replica.stop() }
        try await Self.waitForLink(replica.port)
        let waiters = try [master.client(), master.client()]
        try waiters[0].sendRaw(RedisTestClient.encode([Array("BLPOP".utf8), Array("l".utf8), Array("0".utf8)]))
        try waiters[1].sendRaw(RedisTestClient.encode(["BLMOVE", "s", "d", "LEFT", "RIGHT", "0"].map { Array($0.utf8) }))
        try await waitUntil("both clients block") { try Self.info(master.port, "clients")["blocked_clients"] == "2" }
        _ = try master.client().pipeline([["RPUSH", "l", "a", "b"], ["RPUSH", "s", "x", "y"]])
        #expect(try waiters[0].readReply() == .array([.bulk("l"), .bulk("a")]))
        #expect(try waiters[1].readReply() == .bulk("x"))
        try await waitUntil("replica caught up") { try Self.dataset(replica.port) == Self.dataset(master.port) }
        #expect(try replica.client().command("LRANGE", "l", "0", "-1") == .array([.bulk("b")]))
        #expect(try replica.client().command("LRANGE", "d", "0", "-1") == .array([.bulk("x")]))
    }

    // 6. The empty-master guard: a master restarted without its data does not wipe the replica.
    @Test func emptyMasterGuardKeepsTheReplicasData() async throws {
        let directory = try TemporaryDirectory()
        let master = try await startNode(["--repl-diskless-sync-delay", "0"], directory: directory)
        let replica = try await startNode(["--replicaof", "127.0.0.1", "\(master.port)"])
        defer { replica.stop() }
        try Self.fillAllTypes(master.port)
        try await Self.waitForLink(replica.port)
        try await waitUntil("replica has the data") { try Self.dataset(replica.port) == Self.dataset(master.port) }
        let before = try Self.dataset(replica.port)
        master.process.signal(SIGKILL)
        _ = master.process.waitForExit(seconds: 5)
        // Same port, no persistence: it comes back empty, with a new replication id.
        let restarted = try ManagedProcess(
            CLITests.binary,
            ["node", "--port", "\(master.port)", "--bind", "127.0.0.1", "--save", "", "--dir", directory.path,
             "--repl-diskless-sync-delay", "0"],
            name: "node-restarted", directory: directory.path)
        defer { restarted.stop() }
        try await waitUntil("the guard refused the empty master", seconds: 20) {
            try Self.info(replica.port, "replication")["master_sync_refused_empty_master"] == "1"
        }
        #expect(try Self.dataset(replica.port) == before)
        #expect(try Self.info(replica.port, "replication")["master_link_status"] == "down")
        #expect(replica.process.log.contains("refusing a full resynchronization"))
        // Promoting the replica keeps everything.
        #expect(try replica.client().command("REPLICAOF", "NO", "ONE") == .status("OK"))
        #expect(try Self.dataset(replica.port) == before)
        // With the guard off, Redis's behaviour: the replica copies the empty master.
        let other = try await startNode(["--replicaof", "127.0.0.1", "\(master.port)", "--replica-protect-empty-master", "no"])
        defer { other.stop() }
        try await Self.waitForLink(other.port)
        #expect(try Self.dataset(other.port).isEmpty)
    }

    // 7. Live migration (seed 000, 3.4): a new node replicates the old master, takes writes, is promoted.
    @Test func liveMigrationLosesNothing() async throws {
        let old = try await RedisServer()
        defer { old.stop() }
        try Self.fillAllTypes(old.port)
        let new = try await startNode(["--replicaof", "127.0.0.1", "\(old.port)"])
        defer { new.stop() }
        try await Self.waitForLink(new.port)
        let load = try old.client()
        for index in 0..<500 { _ = try load.command("SET", "live:\(index)", "\(index)") }
        try await waitUntil("new node caught up") { try Self.dataset(new.port) == Self.dataset(old.port) }
        #expect(try new.client().command("CONFIG", "SET", "replica-read-only", "no") == .status("OK"))
        // Clients move: the new node takes writes while still following the old one.
        #expect(try new.client().command("SET", "moved", "yes") == .status("OK"))
        let expected = try Self.dataset(old.port).merging(["moved": "string \"yes\" ttl:none"]) { $1 }
        #expect(try new.client().command("REPLICAOF", "NO", "ONE") == .status("OK"))
        #expect(try Self.dataset(new.port) == expected)
    }

    // 8. WAIT counts acknowledging replicas; min-replicas-to-write refuses writes without them.
    @Test func waitAndMinReplicasToWrite() async throws {
        let master = try await startNode(["--repl-diskless-sync-delay", "0"])
        defer { master.stop() }
        let nodeReplica = try await startNode(["--replicaof", "127.0.0.1", "\(master.port)"])
        defer { nodeReplica.stop() }
        let redisReplica = try await RedisServer(["--replicaof", "127.0.0.1", "\(master.port)"])
        defer { redisReplica.stop() }
        let ports = [nodeReplica.port, redisReplica.port]
        for port in ports { try await Self.waitForLink(port) }
        let client = try master.client()
        _ = try client.command("SET", "w", "1")
        #expect(try client.command("WAIT", "2", "2000") == .integer(2))
        // Asking for more replicas than exist times out with the number that acknowledged.
        let started = Date()
        _ = try client.command("SET", "w", "2")
        #expect(try client.command("WAIT", "3", "300") == .integer(2))
        #expect(Date().timeIntervalSince(started) >= 0.28)
        #expect(try client.command("WAIT", "1", "-1") == .error("ERR timeout is negative"))
        #expect(try client.command("CONFIG", "SET", "min-replicas-to-write", "3") == .status("OK"))
        #expect(try client.command("SET", "w", "3") == .error("NOREPLICAS Not enough good replicas to write."))
        #expect(try client.command("GET", "w") == .bulk("2"))
        #expect(try client.command("CONFIG", "SET", "min-replicas-to-write", "2") == .status("OK"))
        #expect(try client.command("SET", "w", "4") == .status("OK"))
        #expect(try RedisTestClient(port: ports[0]).command("WAIT", "0", "0").isError)
    }
}
