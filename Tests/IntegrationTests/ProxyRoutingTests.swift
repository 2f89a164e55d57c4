import Foundation
import Testing

/// The proxy core against real redis-server groups: routing, read/write splitting, multi-key commands,
/// ordering under pipelining.
@Suite(.serialized, .enabled(if: TestEnvironment.canRun("redis-server")))
struct ProxyRoutingTests {
    @Test func readsLandOnReplicasAndWritesOnMasters() async throws {
        let shards = try await ShardGroups(groups: 2, replicas: 1)
        defer { shards.stop() }
        let proxy = try await ProxyUnderTest(yaml: """
            pool:
              listen: LISTEN
              read_policy: prefer-replica
            \(shards.groupsYAML())
            """)
        let client = try proxy.client()
        let keys = keys(count: 200)
        let writes = try client.pipeline(keys.map { ["SET", $0, "value-\($0)"] })
        #expect(writes.allSatisfy { $0 == .status("OK") })
        try await shards.syncReplicas()
        let reads = try client.pipeline(keys.map { ["GET", $0] })
        #expect(reads == keys.map { .bulk("value-\($0)") })

        var setsOnMasters = 0
        var getsOnReplicas = 0
        for index in 0..<2 {
            let masterSets = try shards.masters[index].calls("set")
            let replicaGets = try shards.replicas[index][0].calls("get")
            #expect(try shards.masters[index].calls("get") == 0, "no read may reach master \(index)")
            #expect(masterSets > 0 && replicaGets > 0, "group \(index) got sets=\(masterSets) gets=\(replicaGets)")
            #expect(masterSets == replicaGets, "each group's replica serves exactly the keys its master stores")
            setsOnMasters += masterSets
            getsOnReplicas += replicaGets
        }
        #expect(setsOnMasters == 200 && getsOnReplicas == 200)
        await proxy.stop()
    }

    @Test func readPolicyMasterAndReplicaOnly() async throws {
        let shards = try await ShardGroups(groups: 1, replicas: 1)
        defer { shards.stop() }
        for policy in ["master", "replica", "any"] {
            let proxy = try await ProxyUnderTest(yaml: """
                pool:
                  listen: LISTEN
                  read_policy: \(policy)
                \(shards.groupsYAML())
                """)
            let client = try proxy.client()
            let before = (try shards.masters[0].calls("get"), try shards.replicas[0][0].calls("get"))
            _ = try client.pipeline((0..<20).map { ["GET", "k\($0)"] })
            let after = (try shards.masters[0].calls("get"), try shards.replicas[0][0].calls("get"))
            let (onMaster, onReplica) = (after.0 - before.0, after.1 - before.1)
            switch policy {
            case "master": #expect(onMaster == 20 && onReplica == 0)
            case "replica": #expect(onMaster == 0 && onReplica == 20)
            default: #expect(onMaster == 10 && onReplica == 10, "any alternates: \(onMaster)/\(onReplica)")
            }
            await proxy.stop()
        }
        // replica policy with the replica down: a clear error, never the master.
        shards.replicas[0][0].stop()
        let proxy = try await ProxyUnderTest(yaml: """
            pool:
              listen: LISTEN
              read_policy: replica
            \(shards.groupsYAML())
            """)
        let client = try proxy.client()
        let first = try client.command("GET", "k")
        #expect(first.isError)
        try await waitUntil("replica marked down") {
            try client.command("GET", "k") == .error("ERR shardgate: group 'g0' has no replica available for reads (read_policy: replica)")
        }
        #expect(try client.command("SET", "k", "v") == .status("OK"))
        await proxy.stop()
    }

    /// A static replica that is not in sync (here: pointed at a master that does not answer, so it
    /// keeps serving its stale copy) leaves the read pool within a check or two, and a proxy started
    /// meanwhile never reads from it; once it is linked again, it serves reads again.
    @Test func replicasOutOfSyncServeNoReads() async throws {
        let shards = try await ShardGroups(groups: 1, replicas: 1)
        defer { shards.stop() }
        let (master, replica) = (shards.masters[0], shards.replicas[0][0])
        let yaml = """
            pool:
              listen: LISTEN
              read_policy: prefer-replica
            \(shards.groupsYAML())
            """
        let proxy = try await ProxyUnderTest(yaml: yaml)
        let client = try proxy.client()
        #expect(try client.command("SET", "k", "fresh") == .status("OK"))
        try await shards.syncReplicas()
        /// Reads `k` once through `client`; says which server answered it.
        func readServedBy(_ client: RedisTestClient) throws -> String {
            let before = (try master.calls("get"), try replica.calls("get"))
            #expect(try client.command("GET", "k") == .bulk("fresh"))
            let after = (try master.calls("get"), try replica.calls("get"))
            return after.1 > before.1 ? "replica" : after.0 > before.0 ? "master" : "none"
        }
        #expect(try readServedBy(client) == "replica")

        // The replica loses its master: its link stays down and its data would go stale.
        _ = try replica.client().command("REPLICAOF", "127.0.0.1", "\(try freePort())")
        try await waitUntil("the proxy reads from the master instead", seconds: 10) { try readServedBy(client) == "master" }
        let late = try await ProxyUnderTest(yaml: yaml)
        #expect(try readServedBy(try late.client()) == "master", "a proxy started meanwhile leaves the replica out at once")

        // Linked and synced again: back in the read pool.
        try await replica.replicate(from: master)
        try await waitUntil("the replica serves reads again", seconds: 10) { try readServedBy(client) == "replica" }
        await late.stop()
        await proxy.stop()
    }

    /// `read_your_writes` and `max_replica_lag` in a fixed pool, from the offsets the replica watcher
    /// samples (the replica is made to lag with CLIENT PAUSE WRITE, which holds its replication stream).
    @Test func fixedPoolReadsYourWritesAndLimitsLag() async throws {
        let shards = try await ShardGroups(groups: 1, replicas: 1)
        defer { shards.stop() }
        let (master, replica) = (shards.masters[0], shards.replicas[0][0])
        func start(_ extra: String) async throws -> ProxyUnderTest {
            try await ProxyUnderTest(yaml: "pool:\n  listen: LISTEN\n  read_policy: prefer-replica\n\(extra)\(shards.groupsYAML())")
        }

        // A client reads its own writes although the replica applies none of them meanwhile.
        let ryw = try await start("  read_your_writes: true\n")
        let client = try ryw.client()
        _ = try replica.client().command("CLIENT", "PAUSE", "1500", "WRITE")
        #expect(try ReadPoolChecks.staleReadsAfterWrites(client, prefix: "ryw:") == 0)
        try await Task.sleep(for: .milliseconds(1600))
        // Data written earlier is read from the replica again once it has caught up.
        try await ReadPoolChecks.readsReturnToReplica(client, replica: replica)
        await ryw.stop()

        // A replica more than 1,000 bytes behind serves no reads until it catches up.
        let limited = try await start("  max_replica_lag: {bytes: 1000}\n")
        let reader = try limited.client()
        _ = try reader.command("SET", "lag:k", "v")
        try await shards.syncReplicas()
        /// Which server answered one GET of `lag:k`.
        func servedBy() throws -> String {
            let before = (try master.calls("get"), try replica.calls("get"))
            _ = try reader.command("GET", "lag:k")
            return try replica.calls("get") > before.1 ? "replica" : try master.calls("get") > before.0 ? "master" : "none"
        }
        try await waitUntil("the replica serves reads", seconds: 5) { try servedBy() == "replica" }
        _ = try replica.client().command("CLIENT", "PAUSE", "3000", "WRITE")
        _ = try reader.pipeline((0..<50).map { ["SET", "lag:filler:\($0)", String(repeating: "x", count: 100)] })
        try await waitUntil("the lagging replica leaves the read pool", seconds: 3) { try servedBy() == "master" }
        try await waitUntil("it serves reads again once caught up", seconds: 8) { try servedBy() == "replica" }
        await limited.stop()
    }

    /// A replica that ROLE shows connected but that has not received what its master holds (here
    /// held back by CLIENT PAUSE WRITE) serves no reads until its offset shows the stream reaches it.
    @Test func aConnectedReplicaServesReadsOnceItReceivesTheStream() async throws {
        let shards = try await ShardGroups(groups: 1, replicas: 1)
        defer { shards.stop() }
        let (master, replica) = (shards.masters[0], shards.replicas[0][0])
        try await shards.syncReplicas()
        _ = try replica.client().command("CLIENT", "PAUSE", "2500", "WRITE")
        _ = try master.client().command("SET", "fresh", "value")
        let proxy = try await ProxyUnderTest(yaml: "pool:\n  listen: LISTEN\n  read_policy: prefer-replica\n\(shards.groupsYAML())")
        let client = try proxy.client()
        let before = try replica.calls("get")
        for _ in 0..<20 { #expect(try client.command("GET", "fresh") == .bulk("value"), "never a stale nil") }
        #expect(try replica.calls("get") == before, "the replica served none of them")
        try await waitUntil("the replica serves reads once caught up", seconds: 8) {
            let served = try replica.calls("get")
            _ = try client.command("GET", "fresh")
            return try replica.calls("get") > served
        }
        await proxy.stop()
    }

    @Test func multiKeyCommandsSplitAndMergeInKeyOrder() async throws {
        let shards = try await ShardGroups(groups: 3)
        defer { shards.stop() }
        // murmur spreads these sequential keys over all three groups (twemproxy's fnv1a_64 does not).
        let proxy = try await ProxyUnderTest(yaml: "pool:\n  listen: LISTEN\n  hash: murmur\n" + shards.groupsYAML())
        let client = try proxy.client()
        let keys = keys(count: 100, prefix: "multi:")
        var mset = ["MSET"]
        for key in keys { mset += [key, "v-\(key)"] }
        #expect(try client.command(mset.map { Array($0.utf8) }) == .status("OK"))
        let owners = try Set(keys.map { try shards.owner(of: $0) })
        #expect(owners == [0, 1, 2], "the keys must really span all groups")

        let asked = ["multi:5", "missing", "multi:0", "multi:29", "multi:5"]
        let mget = try client.command((["MGET"] + asked).map { Array($0.utf8) })
        #expect(mget == .array(asked.map { $0 == "missing" ? .bulk(nil) : .bulk("v-\($0)") }))

        // EXISTS counts repeated keys every time (Redis semantics), across groups.
        #expect(try client.command("EXISTS", "multi:1", "multi:1", "multi:2", "missing", "multi:3") == .integer(4))
        #expect(try client.command("TOUCH", "multi:1", "multi:2", "missing") == .integer(2))
        #expect(try client.command("DEL", "multi:1", "multi:2", "missing", "multi:1") == .integer(2))
        #expect(try client.command("UNLINK", "multi:3", "multi:4", "multi:3") == .integer(2))
        #expect(try client.command("EXISTS", "multi:1", "multi:2", "multi:3", "multi:4") == .integer(0))
        #expect(try client.command("MSET", "a", "1", "b") == .error("ERR wrong number of arguments for 'mset' command"))
        await proxy.stop()
    }

    @Test func otherMultiKeyCommandsNeedOneGroup() async throws {
        let shards = try await ShardGroups(groups: 2)
        defer { shards.stop() }
        let proxy = try await ProxyUnderTest(yaml: "pool:\n  listen: LISTEN\n  hash_tag: \"{}\"\n" + shards.groupsYAML())
        let client = try proxy.client()
        // Find two keys in different groups.
        let candidates = keys(count: 20, prefix: "x")
        _ = try client.pipeline(candidates.map { ["SET", $0, "1"] })
        let owners = try candidates.map { try shards.owner(of: $0)! }
        let a = candidates[0]
        let b = candidates[owners.firstIndex { $0 != owners[0] }!]
        let crossSlot = ShardGroups.crossSlot(owners[0], owners[candidates.firstIndex(of: b)!])
        #expect(try client.command("RENAME", a, b) == crossSlot)
        #expect(try client.command("MSETNX", a, "1", b, "2") == crossSlot)
        #expect(try client.command("SUNIONSTORE", a, b) == crossSlot)
        #expect(try client.command("EVAL", "return 1", "2", a, b) == crossSlot)
        #expect(try client.command("RPOPLPUSH", a, b) == crossSlot)
        // Hash tags keep keys together, so the same commands work.
        #expect(try client.command("SET", "{user1}.a", "1") == .status("OK"))
        #expect(try client.command("RENAME", "{user1}.a", "{user1}.b") == .status("OK"))
        #expect(try client.command("EVAL", "return redis.call('GET', KEYS[1])", "1", "{user1}.b") == .bulk("1"))
        #expect(try client.command("SADD", "{s}1", "x") == .integer(1))
        #expect(try client.command("SMOVE", "{s}1", "{s}2", "x") == .integer(1))
        // No keys: the keyless group runs it.
        #expect(try client.command("EVAL", "return 1", "0") == .integer(1))
        await proxy.stop()
    }

    @Test func pipelinedRepliesStayInRequestOrder() async throws {
        let shards = try await ShardGroups(groups: 3)
        defer { shards.stop() }
        let proxy = try await ProxyUnderTest(yaml: "pool:\n  listen: LISTEN\n" + shards.groupsYAML())
        let client = try proxy.client()
        var commands: [[String]] = []
        var expected: [Reply] = []
        for index in 0..<3000 {
            let key = "p:\(index % 97)"
            switch index % 5 {
            case 0:
                commands.append(["SET", key, "\(index)"])
                expected.append(.status("OK"))
            case 1:
                commands.append(["PING"])
                expected.append(.status("PONG"))
            case 2:
                commands.append(["ECHO", "e\(index)"])
                expected.append(.bulk("e\(index)"))
            case 3:
                commands.append(["INCR", "counter:\(index)"])
                expected.append(.integer(1))
            default:
                commands.append(["MGET", "counter:\(index - 1)", "nope", "counter:\(index - 1)"])
                expected.append(.array([.bulk("1"), .bulk(nil), .bulk("1")]))
            }
        }
        let replies = try client.pipeline(commands)
        for index in replies.indices where replies[index] != expected[index] {
            Issue.record("reply \(index) to \(commands[index]) was \(replies[index]), expected \(expected[index])")
            break
        }
        // Many clients at once, each its own pipeline.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for clientIndex in 0..<8 {
                group.addTask {
                    let client = try proxy.client()
                    let commands = (0..<500).map { ["SET", "c\(clientIndex):\($0)", "\($0)"] }
                    _ = try client.pipeline(commands)
                    let values = try client.pipeline((0..<500).map { ["GET", "c\(clientIndex):\($0)"] })
                    #expect(values == (0..<500).map { .bulk("\($0)") })
                }
            }
            try await group.waitForAll()
        }
        await proxy.stop()
    }

    @Test func slotAndRangeDistributions() async throws {
        let shards = try await ShardGroups(groups: 2)
        defer { shards.stop() }
        // Slots: "foo" is slot 12182, "bar" 5061 (CLUSTER KEYSLOT); {bar}x hashes like bar.
        let slots = try await ProxyUnderTest(yaml: "pool:\n  listen: LISTEN\n  distribution: slots\n"
            + shards.groupsYAML { $0 == 0 ? "      slots: 0-8191\n" : "      slots: 8192-16383\n" })
        let client = try slots.client()
        _ = try client.pipeline([["SET", "foo", "1"], ["SET", "bar", "1"], ["SET", "{bar}x", "1"]])
        #expect(try shards.owner(of: "foo") == 1)
        #expect(try shards.owner(of: "bar") == 0)
        #expect(try shards.owner(of: "{bar}x") == 0)
        await slots.stop()

        let range = try await ProxyUnderTest(yaml: "pool:\n  listen: LISTEN\n  distribution: range\n"
            + shards.groupsYAML { $0 == 0 ? "      range: {to: m}\n" : "      range: {from: m}\n" })
        let rangeClient = try range.client()
        _ = try rangeClient.pipeline([["SET", "apple", "1"], ["SET", "m", "1"], ["SET", "zebra", "1"], ["SET", "lzz", "1"]])
        #expect(try shards.owner(of: "apple") == 0)
        #expect(try shards.owner(of: "lzz") == 0)
        #expect(try shards.owner(of: "m") == 1)
        #expect(try shards.owner(of: "zebra") == 1)
        await range.stop()
    }

    /// `routes:` pins key prefixes to a group, so an app's keys without hash tags stay together
    /// (rq moves jobs between `rq:queue:default` and `rq:queue:default:intermediate`).
    @Test func prefixRoutesKeepAnAppsKeysTogether() async throws {
        let shards = try await ShardGroups(groups: 2)
        defer { shards.stop() }
        let proxy = try await ProxyUnderTest(yaml: "pool:\n  listen: LISTEN\n  keyless_group: g1\n  routes:\n    \"rq:\": g1\n" + shards.groupsYAML())
        let client = try proxy.client()
        let names = (0..<40).map { "rq:job:\(String(UInt32(truncatingIfNeeded: $0 &* 2_654_435_761), radix: 16))" }
        _ = try client.pipeline(names.map { ["SET", $0, "1"] })
        #expect(try shards.masters[0].keys().isEmpty && shards.masters[1].keys().count == names.count)
        #expect(try client.command("RPUSH", "rq:queue:default", "job") == .integer(1))
        #expect(try client.command("LMOVE", "rq:queue:default", "rq:queue:default:intermediate", "LEFT", "RIGHT") == .bulk("job"))
        #expect(try client.command("MGET", names[0], names[1]) == .array([.bulk("1"), .bulk("1")]))
        // Keyless commands go to the keyless group, g1 here.
        #expect(try client.command("EVAL", "return redis.call('DBSIZE')", "0") == .integer(names.count + 1))
        await proxy.stop()
    }

    /// SORT through several groups: BY/GET patterns that can only form keys of the sorted key's group
    /// (its hash tag) run and answer as Redis does; others get Redis Cluster's error, before any
    /// server sees them.
    @Test func sortPatternsStayInTheKeysGroup() async throws {
        let shards = try await ShardGroups(groups: 2)
        defer { shards.stop() }
        let redis = try await RedisServer()
        defer { redis.stop() }
        let proxy = try await ProxyUnderTest(yaml: "pool:\n  listen: LISTEN\n  hash_tag: \"{}\"\n" + shards.groupsYAML())
        let setup: [[String]] = [
            ["RPUSH", "{u}list", "3", "1", "2"], ["MSET", "{u}w_1", "30", "{u}w_2", "10", "{u}w_3", "20"],
            ["MSET", "{u}obj_1", "one", "{u}obj_2", "two", "{u}obj_3", "three"],
        ]
        let allowed: [[String]] = [
            ["SORT", "{u}list"], ["SORT", "{u}list", "BY", "{u}w_*"], ["SORT", "{u}list", "BY", "{u}w_*", "GET", "{u}obj_*", "GET", "#"],
            ["SORT", "{u}list", "BY", "nosort", "LIMIT", "0", "2", "DESC"], ["SORT_RO", "{u}list", "GET", "{u}obj_*"],
            ["SORT", "{u}list", "STORE", "{u}dst"], ["LRANGE", "{u}dst", "0", "-1"], ["SORT", "{u}list", "GET", "fixed"],
        ]
        let expected = try redis.client().pipeline(setup + allowed)
        let actual = try proxy.client().pipeline(setup + allowed)
        #expect(actual == expected)
        let client = try proxy.client()
        #expect(try client.command("SORT", "{u}list", "BY", "w_*") == .error(
            "ERR BY option of SORT denied in Cluster mode when keys formed by the pattern may be in different slots."))
        #expect(try client.command("SORT", "{u}list", "GET", "{*}obj") == .error(
            "ERR GET option of SORT denied in Cluster mode when keys formed by the pattern may be in different slots."))
        let other = (0..<50).map { "other\($0)" }.first { key in
            (try? client.command("SET", key, "1")) != nil && (try? shards.owner(of: key)) != (try? shards.owner(of: "{u}list"))
        }
        if let other {
            guard case .error(let text) = try client.command("SORT", "{u}list", "STORE", other) else {
                Issue.record("STORE into another group was not refused")
                return
            }
            #expect(text.hasPrefix("CROSSSLOT"))
        }
        await proxy.stop()
    }
}
