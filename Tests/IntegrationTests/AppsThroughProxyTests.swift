import Foundation
import Testing

/// Real job queues through a two-group proxy of real redis-servers, and of `shardgate node`s (the
/// shape `shardgate up` runs): an rq worker and a celery worker (redis broker and result backend,
/// Lua scripts included) run jobs enqueued through the proxy, and the results are read back through
/// it. Their keys carry no hash tags, so the pools pin the apps' prefixes with `routes:`.
@Suite(.serialized, .enabled(if: TestEnvironment.canRun("redis-server")))
struct AppsThroughProxyTests {
    static let routes: [String: String] = [
        "rq": "  routes:\n    \"rq:\": g1\n",
        "celery": "  routes:\n    \"celery\": g0\n    \"_kombu\": g0\n    \"unacked\": g0\n",
    ]

    static func runApp(_ app: String, distribution: String, kind: DataServerKind = .redis) async throws {
        let shards = try await ShardGroups(groups: 2, kind: kind)
        defer { shards.stop() }
        let slots = distribution == "slots"
        let groups = shards.groupsYAML { index in slots ? (index == 0 ? "      slots: 0-8191\n" : "      slots: 8192-16383\n") : "" }
        let proxy = try await ProxyUnderTest(yaml: "pool:\n  listen: LISTEN\n  distribution: \(distribution)\n\(routes[app]!)" + groups)
        let python = try #require(TestEnvironment.python)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Clients/apps_through_proxy.py").path
        let result = try run(python, [script, app, "\(proxy.port)"], seconds: 90)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("results [10, 11, 12]"), "\(result.output)")
        await proxy.stop()
    }

    @Test(.enabled(if: TestEnvironment.isCI || TestEnvironment.hasPythonModules("rq")), arguments: ["slots", "ketama"])
    func rqWorkerRunsAJob(distribution: String) async throws {
        try await Self.runApp("rq", distribution: distribution)
    }

    @Test(.enabled(if: TestEnvironment.isCI || TestEnvironment.hasPythonModules("celery")), arguments: ["ketama"])
    func celeryWorkerRunsATask(distribution: String) async throws {
        try await Self.runApp("celery", distribution: distribution)
    }

    @Test(.enabled(if: TestEnvironment.isCI || TestEnvironment.hasPythonModules("rq", "celery")), arguments: ["rq", "celery"])
    func appsRunThroughTheProxyOnDataNodes(app: String) async throws {
        try await Self.runApp(app, distribution: "ketama", kind: .shardgateNode)
    }
}
