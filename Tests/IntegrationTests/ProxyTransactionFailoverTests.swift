import Foundation
import Testing

/// A Sentinel failover between MULTI and EXEC, through a proxy following real redis-sentinel: a
/// transaction the proxy still holds runs once, whole, on the new master; one whose WATCH held a
/// connection to the old master fails at EXEC and leaves no trace. Never half applied, never twice.
@Suite(.serialized, .enabled(if: TestEnvironment.canRun("redis-server", "redis-sentinel")))
struct ProxyTransactionFailoverTests {
    /// The server stays up but the connection holding WATCH is cut: a reconnected connection no
    /// longer watches, so EXEC is refused rather than run unchecked.
    @Test func execAfterTheWatchingConnectionWasCutIsRefused() async throws {
        let shards = try await ShardGroups(groups: 1)
        defer { shards.stop() }
        let proxy = try await shards.taggedProxy()
        let client = try proxy.client()
        #expect(try client.pipeline([["WATCH", "{w}a"], ["MULTI"], ["SET", "{w}a", "1"]])
            == [.status("OK"), .status("OK"), .status("QUEUED")])
        let master = try shards.masters[0].client()
        _ = try master.command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
        #expect(try client.command("EXEC") == .error(
            "ERR shardgate: group 'g0': the connection holding WATCH was lost; the transaction was not run"))
        #expect(try master.command("EXISTS", "{w}a") == .integer(0))
        await proxy.stop()
    }

    @Test func failoverBetweenMultiAndExec() async throws {
        let cluster = try await SentinelCluster()
        defer { cluster.stop() }
        let proxy = try await ProxyUnderTest(yaml: SentinelFollowTests.proxyYAML(cluster))

        // Queued only in the proxy: nothing has reached a backend before EXEC.
        let queued = try proxy.client()
        #expect(try queued.pipeline([["MULTI"], ["SET", "{q}a", "1"], ["INCR", "{q}n"]])
            == [.status("OK"), .status("QUEUED"), .status("QUEUED")])
        // WATCH holds a connection to the old master, which dies with it.
        let watching = try proxy.client()
        #expect(try watching.pipeline([["WATCH", "{w}a"], ["MULTI"], ["SET", "{w}a", "1"]])
            == [.status("OK"), .status("OK"), .status("QUEUED")])

        let oldMaster = cluster.master.port
        cluster.killServer(port: oldMaster)
        let newMaster = try await cluster.waitForFailover(from: oldMaster, seconds: 20)
        try await waitUntil("the proxy writes to the new master", seconds: 10) {
            try proxy.client().command("SET", "probe", "1") == .status("OK")
                && RedisTestClient(port: newMaster).command("GET", "probe") == .bulk("1")
        }

        let onNewMaster = try RedisTestClient(port: newMaster)
        #expect(try queued.command("EXEC") == .array([.status("OK"), .integer(1)]))
        #expect(try onNewMaster.command("GET", "{q}a") == .bulk("1"))
        #expect(try onNewMaster.command("GET", "{q}n") == .bulk("1"), "applied exactly once")

        #expect(try watching.command("EXEC") == .error(
            "ERR shardgate: group '\(cluster.masterName)': the connection holding WATCH was lost; the transaction was not run"))
        #expect(try onNewMaster.command("EXISTS", "{w}a") == .integer(0), "nothing applied")
        // The client goes on: a new transaction runs on the new master.
        #expect(try watching.pipeline([["MULTI"], ["SET", "{w}a", "2"], ["EXEC"]])
            == [.status("OK"), .status("QUEUED"), .array([.status("OK")])])
        #expect(try onNewMaster.command("GET", "{w}a") == .bulk("2"))
        await proxy.stop()
    }
}
