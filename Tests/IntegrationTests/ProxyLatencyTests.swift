import Foundation
import Testing

/// LATENCY at the proxy: requests slower than `latency_monitor_threshold` become `command` events,
/// over every event loop, in the reply shapes redis-server gives for the same slow command.
@Suite(.serialized, .enabled(if: TestEnvironment.canRun("redis-server")))
struct ProxyLatencyTests {
    @Test func slowRequestsAreLatencyEventsLikeRedisServers() async throws {
        let server = try await RedisServer(["--enable-debug-command", "yes"])
        defer { server.stop() }
        let proxy = try await ProxyUnderTest(
            yaml: "alpha:\n  listen: LISTEN\n  latency_monitor_threshold: 50\n  groups:\n    - name: one\n      master: \(server.address)\n",
            threads: 2)
        defer { Task { await proxy.stop() } }
        // Two clients, so both event loops see a slow request of the same event.
        let clients = try (0..<2).map { _ in try proxy.client() }
        #expect(try clients[0].command("LATENCY", "LATEST") == .array([]))
        for client in clients { #expect(try client.command("DEBUG", "SLEEP", "0.1") == .status("OK")) }
        #expect(try clients[0].command("GET", "fast") == .bulk(nil))

        // redis-server itself, for the reply shapes.
        let direct = try RedisTestClient(port: server.port)
        _ = try direct.command("LATENCY", "RESET")
        _ = try direct.command("CONFIG", "SET", "latency-monitor-threshold", "50")
        _ = try direct.command("DEBUG", "SLEEP", "0.1")
        guard case .array(let redisLatest?) = try direct.command("LATENCY", "LATEST"),
            case .array(let proxyLatest?) = try clients[1].command("LATENCY", "LATEST")
        else { throw TestFailure("LATENCY LATEST: not arrays") }
        #expect(proxyLatest.count == 1 && redisLatest.count == 1, "\(proxyLatest) vs \(redisLatest)")
        guard case .array(let entry?) = proxyLatest.first, case .array(let redisEntry?) = redisLatest.first else {
            throw TestFailure("entries")
        }
        #expect(entry.count == redisEntry.count && entry.first == redisEntry.first, "\(entry) vs \(redisEntry)")
        guard case .integer(let time) = entry[1], case .integer(let latest) = entry[2], case .integer(let worst) = entry[3] else {
            throw TestFailure("entry: \(entry)")
        }
        #expect(abs(time - Int(Date().timeIntervalSince1970)) < 10)
        #expect(latest >= 100 && worst >= latest, "\(entry)")
        guard case .array(let history?) = try clients[0].command("LATENCY", "HISTORY", "command") else { throw TestFailure("HISTORY") }
        #expect((1...2).contains(history.count), "one sample per second: \(history)")
        #expect(try clients[0].command("LATENCY", "HISTORY", "nothing") == .array([]))
        #expect(try clients[0].command("LATENCY", "RESET") == .integer(1), "one event, however many loops saw it")
        #expect(try clients[0].command("LATENCY", "LATEST") == .array([]))
        #expect(try clients[0].command("LATENCY", "DOCTOR") == .error("ERR unknown subcommand 'DOCTOR'. Try LATENCY HELP."))
    }
}
