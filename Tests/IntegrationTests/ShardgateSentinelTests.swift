import Foundation
import Testing

/// `shardgate sentinel` (issue #17) over real redis-server masters and replicas: failover after a
/// kill -9, the old master's return as a replica, a quorum shared with redis-sentinel, no failover
/// without quorum, its commands and events, and the clients that follow Sentinel (redis-py and the
/// proxy). Down-after is 1000 ms everywhere, so a failover takes a few seconds.
@Suite(.serialized, .enabled(if: TestEnvironment.canRun("redis-server", "redis-sentinel")))
struct ShardgateSentinelTests {
    static func configPath(_ cluster: SentinelCluster, _ index: Int) -> String {
        "\(cluster.sentinelDirectoryPath)/sentinel-\(index)-\(cluster.sentinelPorts[index]).conf"
    }

    /// Kill -9 the master under three `shardgate sentinel`s: every one announces `+switch-master`,
    /// the new master takes writes (directly and through the proxy following these sentinels), and
    /// the old master, restarted, is turned into a replica of the new one.
    @Test func killMasterFailsOverAndTheOldMasterReturnsAsReplica() async throws {
        let cluster = try await SentinelCluster(sentinelKinds: [.shardgate, .shardgate, .shardgate])
        defer { cluster.stop() }
        if TestEnvironment.hasRedisPy, let python = TestEnvironment.python {
            let script = """
                from redis.sentinel import Sentinel
                s = Sentinel([('127.0.0.1', \(cluster.sentinelPorts[1]))], socket_timeout=2)
                print(s.discover_master('\(cluster.masterName)')[1], len(s.discover_slaves('\(cluster.masterName)')))
                m = s.master_for('\(cluster.masterName)', socket_timeout=2)
                m.set('py', 'ok')
                print(m.get('py').decode())
                """
            let result = try run(python, ["-c", script], seconds: 20)
            #expect(result.status == 0, "\(result.output)")
            #expect(result.output.contains("\(cluster.master.port) 2\nok"), "\(result.output)")
            // redis-py offers RESP3 (HELLO 3) first, as redis-sentinel accepts it.
            #expect(!result.output.contains("does not support HELLO"), "\(result.output)")
        }
        let proxy = try await ProxyUnderTest(yaml: SentinelFollowTests.proxyYAML(cluster))
        defer { Task { await proxy.stop() } }
        #expect(try proxy.client().command("SET", "before", "1") == .status("OK"))

        let watchers = try cluster.sentinelPorts.indices.map { try cluster.subscribeSwitchMaster(sentinel: $0) }
        defer { watchers.forEach { $0.cancel() } }
        let killedAt = ContinuousClock.now
        let oldPort = try #require(cluster.killMaster())
        var newPorts: Set<Int> = []
        for watcher in watchers {
            let event = try await watcher.waitForFirstEvent(seconds: 15)
            #expect(event.name == cluster.masterName && event.oldPort == oldPort)
            newPorts.insert(event.newPort ?? 0)
        }
        let elapsed = watchers.compactMap { $0.events.first?.arrival }.min().map { $0 - killedAt }
        print("shardgate sentinel: kill -9 to first +switch-master in \(SentinelFollowTests.milliseconds(elapsed ?? .zero)) ms")
        #expect(newPorts.count == 1, "every sentinel names the same new master: \(newPorts)")
        let newPort = try #require(newPorts.first)
        #expect(cluster.replicas.map(\.port).contains(newPort))
        #expect(try RedisTestClient(port: newPort).command("SET", "after", "1") == .status("OK"))
        #expect(try cluster.currentMaster(fromSentinel: 0) == newPort)
        try await waitUntil("the proxy writes to the new master", seconds: 10) {
            try proxy.client().command("SET", "through-proxy", "1") == .status("OK")
        }
        // The other replica follows the new master.
        let other = try #require(cluster.replicas.map(\.port).first { $0 != newPort })
        try await waitUntil("the other replica replicates from the new master", seconds: 10) {
            guard case .bulk(let bytes?) = try RedisTestClient(port: other).command("INFO", "replication") else { return false }
            let text = String(decoding: bytes, as: UTF8.self)
            return text.contains("master_port:\(newPort)\r\n") && text.contains("master_link_status:up")
        }
        // The rewritten config files name the new master (each sentinel rewrites its own when it
        // learns of the switch, which may be a moment after the others).
        var config = ""
        try await waitUntil("sentinel 2's config names the new master and the old one as a replica", seconds: 10) {
            config = try String(contentsOfFile: Self.configPath(cluster, 2), encoding: .utf8)
            return config.contains("sentinel monitor \(cluster.masterName) 127.0.0.1 \(newPort) 2")
                && config.contains("sentinel known-replica \(cluster.masterName) 127.0.0.1 \(oldPort)")
        }
        #expect(config.contains("sentinel monitor \(cluster.masterName) 127.0.0.1 \(newPort) 2"), "\(config)")

        try await cluster.restart(port: oldPort)
        try await waitUntil("the old master comes back as a replica of the new one", seconds: 15) {
            guard case .bulk(let bytes?) = try RedisTestClient(port: oldPort, timeoutSeconds: 1).command("INFO", "replication")
            else { return false }
            let text = String(decoding: bytes, as: UTF8.self)
            return text.contains("role:slave\r\n") && text.contains("master_port:\(newPort)\r\n")
        }
    }

    /// `shardgate sentinel`s and redis-sentinels share the quorum (either kind in the majority):
    /// hello messages make them one deployment, and a kill -9 fails over whoever leads.
    @Test(arguments: [[SentinelKind.shardgate, .redis, .shardgate], [.redis, .shardgate, .redis]])
    func mixedQuorumWithRedisSentinelFailsOver(kinds: [SentinelKind]) async throws {
        let cluster = try await SentinelCluster(sentinelKinds: kinds)
        defer { cluster.stop() }
        let oldPort = try #require(cluster.killMaster())
        let newPort = try await cluster.waitForFailover(from: oldPort, seconds: 15)
        #expect(cluster.replicas.map(\.port).contains(newPort))
        try await waitUntil("all three sentinels agree", seconds: 10) {
            try cluster.sentinelPorts.indices.allSatisfy { try cluster.currentMaster(fromSentinel: $0) == newPort }
        }
        #expect(try RedisTestClient(port: newPort).command("SET", "mixed", "1") == .status("OK"))
        let leaders = cluster.sentinelProcesses.filter { $0.log.contains("+elected-leader") }.map(\.name)
        print("mixed quorum: leader \(leaders)")
        #expect(leaders.count == 1, "one leader: \(leaders)")
    }

    /// With two of three sentinels gone, the last one sees the master down but never reaches
    /// ODOWN with quorum 2, and nothing is promoted.
    @Test func noQuorumNoFailover() async throws {
        let cluster = try await SentinelCluster(sentinelKinds: [.shardgate, .shardgate, .shardgate])
        defer { cluster.stop() }
        let proxy = try await ProxyUnderTest(yaml: SentinelFollowTests.proxyYAML(cluster))
        #expect(try proxy.client().command("SET", "before", "1") == .status("OK"))
        cluster.stopSentinel(1)
        cluster.stopSentinel(2)
        let oldPort = try #require(cluster.killMaster())
        try await waitUntil("the survivor flags the master s_down", seconds: 5) {
            (try cluster.sentinelMasterState(0)["flags"] ?? "").contains("s_down")
        }
        // Three seconds past SDOWN: a failover would have been tried and finished by now.
        let deadline = ContinuousClock.now + .seconds(3)
        while ContinuousClock.now < deadline {
            let flags = try cluster.sentinelMasterState(0)["flags"] ?? ""
            #expect(!flags.contains("o_down") && !flags.contains("failover_in_progress"), "\(flags)")
            #expect(try cluster.currentMaster(fromSentinel: 0) == oldPort)
            try await Task.sleep(for: .milliseconds(200))
        }
        for replica in cluster.replicas { #expect(cluster.role(port: replica.port) == "slave") }
        // The proxy fails writes with an error naming the group, and writes nowhere else.
        let write = try proxy.client().command("SET", "during", "1")
        #expect(write.isError, "\(write)")
        for replica in cluster.replicas { #expect(try RedisTestClient(port: replica.port).command("EXISTS", "during") == .integer(0)) }
        await proxy.stop()
        #expect(try cluster.sentinelClient(0).command("SENTINEL", "CKQUORUM", cluster.masterName)
            == .error("NOQUORUM 1 usable Sentinels. Not enough available Sentinels to reach the specified quorum for this master"))
    }

    /// Sentinels watching two masters know each other under both (hello messages name one master
    /// at a time; the entry under the other must stay).
    @Test func sentinelsWatchingTwoMastersKnowEachOtherUnderBoth() async throws {
        let cluster = try await SentinelCluster(replicas: 1, sentinelKinds: [.shardgate, .shardgate, .shardgate])
        defer { cluster.stop() }
        for index in cluster.sentinelPorts.indices {
            #expect(try cluster.sentinelClient(index).command("SENTINEL", "MONITOR", "second", "127.0.0.1", "\(cluster.master.port)", "2")
                == .status("OK"))
        }
        func others(_ index: Int, _ name: String) throws -> Int {
            guard case .array(let rows?) = try cluster.sentinelClient(index).command("SENTINEL", "SENTINELS", name) else { return -1 }
            return rows.count
        }
        try await waitUntil("every sentinel knows the two others under 'second'", seconds: 10) {
            try cluster.sentinelPorts.indices.allSatisfy { try others($0, "second") == 2 }
        }
        // Two hello rounds: the entries under both names stay.
        let deadline = ContinuousClock.now + .seconds(4)
        while ContinuousClock.now < deadline {
            for index in cluster.sentinelPorts.indices {
                #expect(try others(index, cluster.masterName) == 2 && others(index, "second") == 2)
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// One sentinel, quorum 1: its commands, a manual SENTINEL FAILOVER with every event on
    /// PSUBSCRIBE *, and is-master-down-by-addr's vote.
    @Test func commandsEventsAndManualFailover() async throws {
        let cluster = try await SentinelCluster(sentinels: 1, quorum: 1, sentinelKinds: [.shardgate])
        defer { cluster.stop() }
        let client = try cluster.sentinelClient(0)
        #expect(try client.command("PING") == .status("PONG"))
        #expect(try client.command("ROLE") == .array([.bulk("sentinel"), .array([.bulk(cluster.masterName)])]))
        let myID = try #require(try client.command("SENTINEL", "MYID").string)
        #expect(myID.count == 40)
        #expect(try client.command("SENTINEL", "CKQUORUM", cluster.masterName)
            == .status("OK 1 usable Sentinels. Quorum and failover authorization can be reached"))
        #expect(try client.command("SENTINEL", "get-master-addr-by-name", "nosuch") == .array(nil))
        #expect(try client.command("SENTINEL", "MASTER", "nosuch") == .error("ERR No such master with that name"))
        guard case .bulk(let info?) = try client.command("INFO", "sentinel") else { throw TestFailure("INFO") }
        #expect(String(decoding: info, as: UTF8.self).contains(
            "master0:name=\(cluster.masterName),status=ok,address=127.0.0.1:\(cluster.master.port),slaves=2,sentinels=1"))
        // A vote: the first request in epoch 5 gets it, a later one in the same epoch does not.
        let voter = "0123456789012345678901234567890123456789"
        #expect(try client.command("SENTINEL", "is-master-down-by-addr", "127.0.0.1", "\(cluster.master.port)", "5", voter)
            == .array([.integer(0), .bulk(voter), .integer(5)]))
        #expect(try client.command("SENTINEL", "is-master-down-by-addr", "127.0.0.1", "\(cluster.master.port)", "5", String(repeating: "f", count: 40))
            == .array([.integer(0), .bulk(voter), .integer(5)]))
        let config = try String(contentsOfFile: Self.configPath(cluster, 0), encoding: .utf8)
        #expect(config.contains("sentinel myid \(myID)") && config.contains("sentinel current-epoch 5"), "\(config)")

        // replica-priority 0 rules a replica out. SENTINEL RESET makes the sentinel forget the
        // replicas and read their INFO again at once (it reads it every 10 s otherwise).
        let excluded = cluster.replicas[0].port
        #expect(try RedisTestClient(port: excluded).command("CONFIG", "SET", "replica-priority", "0") == .status("OK"))
        #expect(try client.command("SENTINEL", "RESET", cluster.masterName) == .integer(1))

        let events = try RedisTestClient(port: cluster.sentinelPorts[0], timeoutSeconds: 10)
        _ = try events.command("PSUBSCRIBE", "*")
        // Until the replicas' first INFO replies arrive, none is a candidate (NOGOODSLAVE).
        var failover = Reply.status("")
        try await waitUntil("SENTINEL FAILOVER accepted", seconds: 5) {
            failover = try client.command("SENTINEL", "FAILOVER", cluster.masterName)
            return failover != .error("NOGOODSLAVE No suitable replica to promote")
        }
        #expect(failover == .status("OK"), "\(failover)")
        var seen: [String: String] = [:]
        let deadline = ContinuousClock.now + .seconds(15)
        while seen["+switch-master"] == nil && ContinuousClock.now < deadline {
            guard case .array(let items?) = try events.readReply(), items.count == 4, let channel = items[2].string,
                let payload = items[3].string
            else { continue }
            if seen[channel] == nil { seen[channel] = payload }
        }
        let switched = try #require(seen["+switch-master"], "\(seen)")
        let newPort = try #require(Int(switched.split(separator: " ").last ?? ""))
        #expect(newPort == cluster.replicas[1].port, "the replica with priority 0 (\(excluded)) is never promoted")
        let master = "master \(cluster.masterName) 127.0.0.1 \(cluster.master.port)"
        let promoted = "slave 127.0.0.1:\(newPort) 127.0.0.1 \(newPort) @ \(cluster.masterName) 127.0.0.1 \(cluster.master.port)"
        #expect(seen["+new-epoch"] == "6")
        #expect(seen["+try-failover"] == master)
        #expect(seen["+elected-leader"] == master)
        #expect(seen["+selected-slave"] == promoted)
        #expect(seen["+promoted-slave"] == promoted)
        #expect(seen["+slave-reconf-sent"]?.hasSuffix("@ \(cluster.masterName) 127.0.0.1 \(cluster.master.port)") == true)
        #expect(seen["+failover-end"] == master)
        #expect(switched == "\(cluster.masterName) 127.0.0.1 \(cluster.master.port) 127.0.0.1 \(newPort)")
        // The old master was alive: it is reconfigured as a replica of the new one.
        try await waitUntil("the old master follows the new one", seconds: 10) {
            guard case .bulk(let bytes?) = try RedisTestClient(port: cluster.master.port).command("INFO", "replication") else { return false }
            return String(decoding: bytes, as: UTF8.self).contains("master_port:\(newPort)\r\n")
        }
    }

    /// A sentinel stopped for longer than the TILT trigger (2 s) distrusts its timers: TILT mode,
    /// announced with +tilt, in which it declares nothing down.
    @Test func aStalledSentinelEntersTilt() async throws {
        let cluster = try await SentinelCluster(replicas: 0, sentinels: 1, quorum: 1, sentinelKinds: [.shardgate])
        defer { cluster.stop() }
        func tilt() throws -> String? {
            guard case .bulk(let bytes?) = try cluster.sentinelClient(0).command("INFO", "sentinel") else { return nil }
            return String(decoding: bytes, as: UTF8.self).split(separator: "\r\n").first { $0.hasPrefix("sentinel_tilt:") }.map(String.init)
        }
        #expect(try tilt() == "sentinel_tilt:0")
        try await Task.sleep(for: .milliseconds(500))
        cluster.sentinelProcesses[0].signal(SIGSTOP)
        try await Task.sleep(for: .milliseconds(2600))
        cluster.sentinelProcesses[0].signal(SIGCONT)
        let deadline = ContinuousClock.now + .seconds(3)
        var tilted = false
        while !tilted && ContinuousClock.now < deadline {
            tilted = try tilt() == "sentinel_tilt:1"
            if !tilted { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(tilted, "\(cluster.sentinelProcesses[0].log)")
        // In TILT, a dead master is not declared down.
        cluster.killServer(port: cluster.master.port)
        try await Task.sleep(for: .milliseconds(1500))
        #expect(!(try cluster.sentinelMasterState(0)["flags"] ?? "").contains("s_down"))
        #expect(cluster.sentinelProcesses[0].log.contains("+tilt #tilt mode entered"))
    }

    /// A file redis-sentinel wrote (its generated block, redis.conf directives it adds) loads; the
    /// rewrite keeps the lines that are not `sentinel ...` and the known replicas and sentinels.
    @Test func aConfigWrittenByRedisSentinelLoadsAndIsRewritten() async throws {
        let directory = try TemporaryDirectory()
        let path = "\(directory.path)/sentinel.conf"
        let port = try freePort()
        let deadPort = try freePort()
        let runID = "0123456789abcdef0123456789abcdef01234567"
        try """
            port \(port)
            bind 127.0.0.1
            sentinel monitor mymaster 127.0.0.1 \(deadPort) 2
            sentinel down-after-milliseconds mymaster 60000

            # Generated by CONFIG REWRITE
            protected-mode no
            latency-tracking-info-percentiles 50 99 99.9
            dir "\(directory.path)"
            user default on nopass ~* &* +@all
            sentinel myid \(runID)
            sentinel config-epoch mymaster 3
            sentinel leader-epoch mymaster 3
            sentinel current-epoch 3
            sentinel known-replica mymaster 127.0.0.1 \(deadPort + 1)
            sentinel known-sentinel mymaster 127.0.0.1 \(deadPort + 2) ffffffffffffffffffffffffffffffffffffffff

            """.write(toFile: path, atomically: true, encoding: .utf8)
        let process = try ManagedProcess(CLITests.binary, ["sentinel", path], name: "sentinel", directory: directory.path)
        defer { process.stop() }
        try await waitUntil("the sentinel answers", seconds: 10) {
            (try? RedisTestClient(port: port, timeoutSeconds: 1).command("SENTINEL", "MYID")) == .bulk(runID)
        }
        let client = try RedisTestClient(port: port)
        #expect(SentinelCluster.fields(try client.command("SENTINEL", "MASTER", "mymaster"))["config-epoch"] == "3")
        #expect(try client.command("SENTINEL", "FLUSHCONFIG") == .status("OK"))
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for line in [
            "protected-mode no", "user default on nopass ~* &* +@all", "sentinel myid \(runID)", "sentinel current-epoch 3",
            "sentinel config-epoch mymaster 3", "sentinel down-after-milliseconds mymaster 60000",
            "sentinel known-replica mymaster 127.0.0.1 \(deadPort + 1)",
            "sentinel known-sentinel mymaster 127.0.0.1 \(deadPort + 2) ffffffffffffffffffffffffffffffffffffffff",
        ] {
            #expect(text.contains(line + "\n"), "missing '\(line)' in:\n\(text)")
        }
        #expect(text.components(separatedBy: "sentinel monitor mymaster").count == 2, "\(text)")
    }

    /// A bad sentinel.conf stops the start with the file and line named.
    @Test func badConfigNamesFileAndLine() throws {
        let directory = try TemporaryDirectory()
        let path = "\(directory.path)/sentinel.conf"
        try "port 26999\nsentinel monitor m 127.0.0.1 6379 2\nsentinel down-after-milliseconds other 1000\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let result = try run(CLITests.binary, ["sentinel", path], seconds: 10)
        #expect(result.status == 1)
        #expect(result.output.contains("\(path):3: no master named 'other'"), "\(result.output)")
        try "port 26999\nsentinel monitor m 127.0.0.1 6379 2\nbogus yes\n".write(toFile: path, atomically: true, encoding: .utf8)
        let unknown = try run(CLITests.binary, ["sentinel", path], seconds: 10)
        #expect(unknown.status == 1 && unknown.output.contains("\(path):3: unknown directive 'bogus'"), "\(unknown.output)")
    }
}
