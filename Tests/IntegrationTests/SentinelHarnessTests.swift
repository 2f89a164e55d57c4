import Foundation
import Testing

/// The Sentinel test harness itself: a real deployment agrees on its master, and a `kill -9` of the
/// master promotes a replica (timings printed, since failover tests are built on them).
@Suite(.serialized, .enabled(if: TestEnvironment.canRun("redis-server", "redis-sentinel")))
struct SentinelHarnessTests {
    @Test func killedMasterFailsOverToAReplica() async throws {
        let clock = ContinuousClock()
        let startup = clock.now
        let cluster = try await SentinelCluster()
        defer { cluster.stop() }
        let ready = clock.now - startup
        let oldPort = cluster.master.port
        let replicaPorts = Set(cluster.replicas.map(\.port))

        for index in cluster.sentinelPorts.indices {
            #expect(try cluster.currentMaster(fromSentinel: index) == oldPort, "sentinel \(index) agrees")
            let state = try cluster.sentinelMasterState(index)
            #expect(state["num-slaves"] == "\(cluster.replicas.count)")
            #expect(state["num-other-sentinels"] == "\(cluster.sentinelPorts.count - 1)")
        }
        let master = try cluster.master.client()
        #expect(try master.command("SET", "before-failover", "1") == .status("OK"))
        #expect(try master.command("WAIT", "\(cluster.replicas.count)", "2000") == .integer(cluster.replicas.count))

        let watcher = try cluster.subscribeSwitchMaster(sentinel: 1)
        defer { watcher.cancel() }

        let killedAt = clock.now
        #expect(cluster.killMaster() == oldPort)

        // The first replica to answer ROLE as master (Sentinel's REPLICAOF NO ONE).
        var promoted: (port: Int, at: ContinuousClock.Instant)?
        while promoted == nil && clock.now - killedAt < .seconds(8) {
            for port in replicaPorts where cluster.role(port: port) == "master" {
                promoted = (port, clock.now)
            }
            if promoted == nil { try await Task.sleep(for: .milliseconds(10)) }
        }
        let newMaster = try #require(promoted, "a replica became master within 8 s")
        let event = try await watcher.waitForFirstEvent(seconds: 8)
        let agreed = try await cluster.waitForFailover(from: oldPort, seconds: 5)

        #expect(replicaPorts.contains(newMaster.port))
        #expect(event.name == cluster.masterName)
        #expect(event.oldAddress == "127.0.0.1:\(oldPort)")
        #expect(event.newAddress == "127.0.0.1:\(newMaster.port)", "\(event.payload)")
        #expect(agreed == newMaster.port)

        let client = try #require(cluster.server(port: newMaster.port)).client()
        #expect(try client.command("SET", "after-failover", "2") == .status("OK"))
        #expect(try client.command("GET", "before-failover") == .bulk("1"))

        let toRole = newMaster.at - killedAt
        let toSwitch = event.arrival - killedAt
        print(
            "sentinel harness: ready in \(ready.formatted(.units(allowed: [.milliseconds]))); "
                + "kill -9 -> new master ROLE \(toRole.formatted(.units(allowed: [.milliseconds]))), "
                + "-> +switch-master \(toSwitch.formatted(.units(allowed: [.milliseconds]))) (\(event.payload))")
        #expect(toSwitch < .seconds(6), "failover with down-after 1000 ms")
    }
}
