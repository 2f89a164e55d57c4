import Foundation
import Testing

/// Issue 3's scenarios against real redis-sentinel (quorum 2, down-after-milliseconds 1000):
/// failover under load, zombie master, dead subscribed sentinels, replica loss, pipelines across a
/// failover, lag-aware reads and read-your-writes. Measured timings are printed for the record.
@Suite(.serialized, .enabled(if: TestEnvironment.canRun("redis-server", "redis-sentinel")))
struct SentinelFollowTests {
    static func proxyYAML(_ cluster: SentinelCluster, _ extra: String = "") -> String {
        """
        pool:
          listen: LISTEN
          sentinels: [\(cluster.sentinelAddresses.joined(separator: ", "))]
          timeout: 500
        \(extra)  groups:
            - name: \(cluster.masterName)
        """
    }

    static func milliseconds(_ duration: Duration) -> Int {
        Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }

    /// Acknowledged writes missing from `server`.
    static func missing(_ writes: [WriteLoad.Write], on port: Int) throws -> [WriteLoad.Write] {
        let client = try RedisTestClient(port: port)
        var missing: [WriteLoad.Write] = []
        for chunk in stride(from: 0, to: writes.count, by: 500) {
            let slice = Array(writes[chunk..<min(chunk + 500, writes.count)])
            let replies = try client.pipeline(slice.map { ["GET", $0.key] })
            for (write, reply) in zip(slice, replies) where reply != .bulk(write.value) { missing.append(write) }
        }
        return missing
    }

    /// When no Sentinel answers, or none knows the name, requests fail with an error that says so.
    @Test func unreachableSentinelsAndUnknownNamesAreNamedInErrors() async throws {
        let deadPort = try freePort()
        let unreachable = try await ProxyUnderTest(yaml: """
            pool:
              listen: LISTEN
              sentinels: [127.0.0.1:\(deadPort)]
              groups:
                - name: mymaster
            """)
        #expect(try unreachable.client().command("SET", "k", "v")
            == .error("ERR shardgate: group 'mymaster': Sentinel unreachable (tried 127.0.0.1:\(deadPort))"))
        await unreachable.stop()

        let cluster = try await SentinelCluster(replicas: 0, sentinels: 1, quorum: 1)
        defer { cluster.stop() }
        let unknown = try await ProxyUnderTest(yaml: """
            pool:
              listen: LISTEN
              sentinels: [\(cluster.sentinelAddresses[0])]
              groups:
                - name: \(cluster.masterName)
                - name: nosuchmaster
            """)
        let client = try unknown.client()
        var byGroup: [String: Reply] = [:]
        for index in 0..<40 {
            let key = "k\(index)"
            let reply = try client.command("SET", key, "v")
            byGroup[reply.isError ? "error" : "ok"] = reply
        }
        #expect(byGroup["ok"] == .status("OK"), "the known group works")
        #expect(byGroup["error"] == .error("ERR shardgate: group 'nosuchmaster': no Sentinel knows a master named 'nosuchmaster'"))
        await unknown.stop()
    }

    // 1 (also with three `shardgate sentinel`s: the follower works unchanged against them)
    @Test(arguments: [SentinelKind.redis, .shardgate])
    func killMasterUnderWriteLoad(sentinels kind: SentinelKind) async throws {
        let cluster = try await SentinelCluster(sentinelKinds: [kind, kind, kind])
        defer { cluster.stop() }
        let proxy = try await ProxyUnderTest(yaml: Self.proxyYAML(cluster))
        let watchers = try cluster.sentinelPorts.indices.map { try cluster.subscribeSwitchMaster(sentinel: $0) }
        defer { watchers.forEach { $0.cancel() } }
        let load = WriteLoad(port: proxy.port, clients: 12, prefix: "kill")
        try await Task.sleep(for: .milliseconds(600))
        let oldMaster = cluster.master.port
        let killedAt = ContinuousClock.now
        cluster.killServer(port: oldMaster)
        _ = try await watchers[0].waitForFirstEvent(seconds: 15)
        try await Task.sleep(for: .seconds(1))
        let writes = load.stop()
        await proxy.stop()

        let arrivals = watchers.compactMap { $0.events.first?.arrival }
        let before = writes.filter { $0.acknowledged && $0.sentAt < killedAt }.map(\.answeredAt)
        let after = writes.filter { $0.acknowledged && $0.sentAt > killedAt }.map(\.answeredAt)
        guard let earliestSwitch = arrivals.min(), let lastBefore = before.max(), let firstAfter = after.min() else {
            Issue.record("no switch event, or no acknowledged write before/after the kill")
            return
        }
        let newMaster = try await cluster.waitForFailover(from: oldMaster, seconds: 5)
        let durable = writes.filter { $0.acknowledged && $0.answeredAt < killedAt - .milliseconds(50) }
        let lost = try Self.missing(durable, on: newMaster)
        let recent = writes.filter { $0.acknowledged && $0.answeredAt >= killedAt - .milliseconds(50) && $0.answeredAt <= killedAt }
        print("""
            [sentinel 1, \(kind)] kill -> +switch-master \(Self.milliseconds(earliestSwitch - killedAt)) ms; \
            first write after switch \(Self.milliseconds(firstAfter - earliestSwitch)) ms; \
            write gap \(Self.milliseconds(firstAfter - lastBefore)) ms; acknowledged \(writes.filter(\.acknowledged).count), \
            lost older than 50 ms: \(lost.count), lost within 50 ms: \(try Self.missing(recent, on: newMaster).count)
            """)
        #expect(firstAfter - earliestSwitch <= .milliseconds(150))
        #expect(firstAfter - lastBefore <= .milliseconds(2500))
        #expect(durable.count > 100)
        #expect(lost.isEmpty, "\(lost.count) acknowledged writes lost, e.g. \(lost.first.map(\.key) ?? "")")
    }

    // 2 (also with three `shardgate sentinel`s, which must demote the old master when it wakes)
    @Test(arguments: [SentinelKind.redis, .shardgate])
    func zombieMasterLosesNoAcknowledgedWrite(sentinels kind: SentinelKind) async throws {
        let cluster = try await SentinelCluster(sentinelKinds: [kind, kind, kind])
        defer { cluster.stop() }
        let proxy = try await ProxyUnderTest(yaml: Self.proxyYAML(cluster))
        let watcher = try cluster.subscribeSwitchMaster(sentinel: 0)
        defer { watcher.cancel() }
        let oldPort = cluster.master.port
        // MONITOR on the old master shows, after it wakes up, every command it executed and who sent it.
        let monitor = try RedisTestClient(port: oldPort, timeoutSeconds: 1)
        #expect(try monitor.command("MONITOR") == .status("OK"))
        let load = WriteLoad(port: proxy.port, clients: 8, prefix: "zombie")
        try await Task.sleep(for: .milliseconds(500))
        let stoppedAt = ContinuousClock.now
        cluster.master.process.signal(SIGSTOP)
        let switchEvent = try await watcher.waitForFirstEvent(seconds: 15)
        try await Task.sleep(for: .milliseconds(300))
        cluster.master.process.signal(SIGCONT)
        try await Task.sleep(for: .milliseconds(1500))
        let writes = load.stop()
        await proxy.stop()

        var executedOnOld: [String] = []
        while let line = try? monitor.readReply(), case .status(let text) = line {
            // 1700000000.000000 [0 127.0.0.1:PORT] "SET" "zombie:3:17" "17"
            if text.contains("\"SET\""), !text.contains("127.0.0.1:\(switchEvent.newPort.map(String.init) ?? "?")]"),
                let key = text.split(separator: "\"").dropFirst(3).first
            {
                executedOnOld.append(String(key))
            }
        }
        let sentAt = Dictionary(writes.map { ($0.key, $0.sentAt) }, uniquingKeysWith: { first, _ in first })
        let lateWrites = executedOnOld.filter { (sentAt[$0] ?? .now) > switchEvent.arrival + .milliseconds(20) }
        let newMaster = try await cluster.waitForFailover(from: oldPort, seconds: 5)
        // Replication is asynchronous: a reply can leave the master just before the stream to its
        // replicas does, so a write answered in the last moments before the stop may be lost, as
        // with redis-server alone. Every other acknowledged write must survive, above all one the
        // woken old master answered.
        let lastMoments = (stoppedAt - .milliseconds(50))...stoppedAt
        let settled = writes.filter { $0.acknowledged && !lastMoments.contains($0.answeredAt) }
        let lost = try Self.missing(settled, on: newMaster)
        let recentLost = try Self.missing(writes.filter { $0.acknowledged && lastMoments.contains($0.answeredAt) }, on: newMaster)
        print("[sentinel 2, \(kind)] acknowledged \(writes.filter(\.acknowledged).count), lost older than 50 ms: \(lost.count), lost within 50 ms: \(recentLost.count); old master executed \(executedOnOld.count) proxied writes, \(lateWrites.count) sent after the switch was known")
        #expect(settled.count > 100)
        #expect(lost.isEmpty, "\(lost.count) acknowledged writes lost, e.g. \(lost.first.map(\.key) ?? "")")
        #expect(lateWrites.isEmpty, "writes sent to the old master after the switch: \(lateWrites.prefix(5))")
        // The sentinels demote the woken old master.
        try await waitUntil("the old master is demoted to a replica", seconds: 15) {
            guard case .array(let role?) = try RedisTestClient(port: oldPort, timeoutSeconds: 1).command("ROLE") else { return false }
            return role.first == .bulk(Array("slave".utf8))
        }
        #expect(writes.filter(\.acknowledged).count > 100)
    }

    // 3
    @Test func retargetsAfterItsSubscribedSentinelsDie() async throws {
        let cluster = try await SentinelCluster(sentinels: 5)
        defer { cluster.stop() }
        let proxy = try await ProxyUnderTest(yaml: Self.proxyYAML(cluster, "  sentinel_subscriptions: 2\n"))
        // Find and kill the sentinels holding the proxy's subscriptions (9 channels).
        try await waitUntil("proxy subscribed", seconds: 5) { try self.subscribedSentinels(cluster).count >= 2 }
        let subscribed = try subscribedSentinels(cluster)
        for index in subscribed { cluster.stopSentinel(index) }
        let survivor = try #require(cluster.sentinelPorts.indices.first { !subscribed.contains($0) })
        let watcher = try cluster.subscribeSwitchMaster(sentinel: survivor)
        defer { watcher.cancel() }
        let client = try proxy.client()
        #expect(try client.command("SET", "before", "1") == .status("OK"))
        let oldMaster = cluster.master.port
        let killedAt = ContinuousClock.now
        cluster.killServer(port: oldMaster)
        var retargetedAt: ContinuousClock.Instant?
        while retargetedAt == nil && ContinuousClock.now - killedAt < .seconds(15) {
            if (try? proxy.client().command("SET", "after", "1")) == .status("OK") { retargetedAt = .now }
            try await Task.sleep(for: .milliseconds(10))
        }
        let event = try await watcher.waitForFirstEvent(seconds: 5)
        await proxy.stop()
        let retarget = try #require(retargetedAt)
        print("[sentinel 3] killed subscribed sentinels \(subscribed); kill -> +switch-master \(Self.milliseconds(event.arrival - killedAt)) ms, kill -> retargeted \(Self.milliseconds(retarget - killedAt)) ms (switch + \(Self.milliseconds(retarget - event.arrival)) ms)")
        #expect(retarget - killedAt <= .milliseconds(1000 + 2000) + (event.arrival - killedAt - .milliseconds(1000)).clampedToZero)
        #expect(retarget - event.arrival <= .milliseconds(2000))
        #expect(try cluster.currentMaster(fromSentinel: survivor) != oldMaster)
    }

    func subscribedSentinels(_ cluster: SentinelCluster) throws -> [Int] {
        try cluster.liveSentinels.filter { index in
            guard case .bulk(let bytes?) = try cluster.sentinelClient(index).command("CLIENT", "LIST") else { return false }
            return String(decoding: bytes, as: UTF8.self).split(separator: "\n").contains { $0.contains(" sub=9 ") }
        }
    }

    // 4
    @Test func deadReplicaLeavesTheReadPool() async throws {
        let cluster = try await SentinelCluster()
        defer { cluster.stop() }
        let proxy = try await ProxyUnderTest(yaml: Self.proxyYAML(cluster, "  read_policy: prefer-replica\n"))
        let client = try proxy.client()
        _ = try client.command("SET", "r", "1")
        try await waitUntil("both replicas in the read pool") { try self.readPoolSize(proxy) == 2 }
        let killedAt = ContinuousClock.now
        cluster.killServer(port: cluster.replicas[0].port)
        var failures = 0
        var leftAt: ContinuousClock.Instant?
        var reads = 0
        while ContinuousClock.now - killedAt < .milliseconds(2500) {
            reads += 1
            if try client.command("GET", "r").isError { failures += 1 }
            if leftAt == nil, try readPoolSize(proxy) == 1 { leftAt = .now }
        }
        await proxy.stop()
        let left = try #require(leftAt)
        print("[sentinel 4] replica left the read pool \(Self.milliseconds(left - killedAt)) ms after kill -9; \(reads) reads, \(failures) failed")
        #expect(left - killedAt <= .milliseconds(1200))
        #expect(failures <= 1, "only a read in flight on the killed replica may fail")
    }

    func readPoolSize(_ proxy: ProxyUnderTest) throws -> Int {
        guard case .bulk(let bytes?) = try proxy.client().command("INFO", "shards") else { return -1 }
        let text = String(decoding: bytes, as: UTF8.self)
        return text.split(separator: "\r\n").filter { $0.contains("role=replica") && $0.contains("status=up") }.count
    }

    // 5
    @Test func pipelinesStayInOrderAcrossAFailover() async throws {
        let cluster = try await SentinelCluster()
        defer { cluster.stop() }
        let proxy = try await ProxyUnderTest(yaml: Self.proxyYAML(cluster))
        let watcher = try cluster.subscribeSwitchMaster(sentinel: 0)
        defer { watcher.cancel() }
        let mismatches = NIOLockedCounter()
        let pipelines = NIOLockedCounter()
        let stopAt = NIOLockedInstant()
        let port = proxy.port
        let threads = (0..<4).map { clientIndex in
            Thread {
                var round = 0
                while stopAt.notReached {
                    guard let client = try? RedisTestClient(port: port, timeoutSeconds: 5) else { usleep(5_000); continue }
                    round += 1
                    var commands: [[String]] = []
                    for index in 0..<50 {
                        commands.append(["SET", "pipe:\(clientIndex):\(round):\(index)", "v\(round).\(index)"])
                        commands.append(["GET", "pipe:\(clientIndex):\(round):\(index)"])
                    }
                    guard let replies = try? client.pipeline(commands) else { continue }
                    pipelines.increment()
                    for index in 0..<50 {
                        let set = replies[2 * index]
                        let get = replies[2 * index + 1]
                        let setOK = set == .status("OK") || set.isError
                        let getOK = get == .bulk("v\(round).\(index)") || get == .bulk(nil) || get.isError
                        if !setOK || !getOK { mismatches.increment() }
                    }
                }
            }
        }
        threads.forEach { $0.start() }
        try await Task.sleep(for: .milliseconds(500))
        cluster.killMaster()
        _ = try await watcher.waitForFirstEvent(seconds: 15)
        try await Task.sleep(for: .seconds(1))
        stopAt.reach()
        try await waitUntil("pipelines finished", seconds: 10) { threads.allSatisfy(\.isFinished) }
        await proxy.stop()
        print("[sentinel 5] \(pipelines.value) pipelines of 100 across the failover, \(mismatches.value) replies out of place")
        #expect(pipelines.value > 20)
        #expect(mismatches.value == 0)
    }

    // 6a
    @Test func laggingReplicaServesNoReads() async throws {
        let cluster = try await SentinelCluster()
        defer { cluster.stop() }
        let proxy = try await ProxyUnderTest(yaml: Self.proxyYAML(cluster, "  read_policy: prefer-replica\n  max_replica_lag: {bytes: 4096}\n"))
        let client = try proxy.client()
        _ = try client.command("SET", "lag", "0")
        try await waitUntil("both replicas in the read pool") { try self.readPoolSize(proxy) == 2 }
        let lagging = cluster.replicas[0]
        // The replica stops applying its master's stream but keeps answering.
        _ = try lagging.client().command("CLIENT", "PAUSE", "4000", "WRITE")
        let payload = String(repeating: "x", count: 1000)
        for index in 0..<20 { _ = try client.command("SET", "lag:\(index)", payload) }
        try await waitUntil("lagging replica excluded", seconds: 3) { try self.readPoolSize(proxy) == 1 }
        let before = try lagging.calls("get")
        var stale = 0
        for index in 0..<200 where try client.command("GET", "lag:\(index % 20)") != .bulk(payload) { stale += 1 }
        let servedByLagging = try lagging.calls("get") - before
        print("[sentinel 6a] 200 reads while a replica lagged: \(servedByLagging) served by it, \(stale) stale")
        #expect(servedByLagging == 0)
        #expect(stale == 0)
        try await waitUntil("replica back after catching up", seconds: 8) { try self.readPoolSize(proxy) == 2 }
        await proxy.stop()
    }

    // 6b
    @Test func readYourWritesDespiteALaggingReplica() async throws {
        let cluster = try await SentinelCluster(replicas: 1)
        defer { cluster.stop() }
        let replica = cluster.replicas[0]
        func run(readYourWrites: Bool) async throws -> (stale: Int, replicaReads: Int) {
            let extra = "  read_policy: prefer-replica\n  read_your_writes: \(readYourWrites)\n"
            let proxy = try await ProxyUnderTest(yaml: Self.proxyYAML(cluster, extra))
            let client = try proxy.client()
            try await waitUntil("replica in the read pool") { try self.readPoolSize(proxy) == 1 }
            _ = try replica.client().command("CLIENT", "PAUSE", "1500", "WRITE")
            let before = try replica.calls("get")
            let stale = try ReadPoolChecks.staleReadsAfterWrites(client, prefix: "ryw:\(readYourWrites):")
            let replicaReads = try replica.calls("get") - before
            try await Task.sleep(for: .milliseconds(1800))  // pause over, replica caught up
            await proxy.stop()
            return (stale, replicaReads)
        }
        let without = try await run(readYourWrites: false)
        let with = try await run(readYourWrites: true)
        print("[sentinel 6b] write-then-read 100x on a lagging replica: stale reads without read_your_writes \(without.stale), with \(with.stale)")
        #expect(without.stale > 0, "the lagging replica really serves stale data without read_your_writes")
        #expect(with.stale == 0)

        // Reads of data written earlier still use the replica once it has caught up.
        let proxy = try await ProxyUnderTest(yaml: Self.proxyYAML(cluster, "  read_policy: prefer-replica\n  read_your_writes: true\n"))
        try await ReadPoolChecks.readsReturnToReplica(try proxy.client(), replica: replica)
        await proxy.stop()
    }
}

extension Duration {
    var clampedToZero: Duration { self < .zero ? .zero : self }
}

/// Small thread-safe helpers for the thread-based load above.
final class NIOLockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}

final class NIOLockedInstant: @unchecked Sendable {
    private let lock = NSLock()
    private var reached = false
    func reach() { lock.withLock { reached = true } }
    var notReached: Bool { lock.withLock { !reached } }
}
