/// A `shardgate node` child process on a free loopback port: the same harness as redis-server
/// (`RedisServer`), started from the `shardgate` executable built next to the test bundle, without
/// persistence unless `extra` turns it on; `directory` is its `dir`.
func startNode(_ extra: [String] = [], directory: TemporaryDirectory? = nil) async throws -> RedisServer {
    try await RedisServer(extra, kind: .shardgateNode, directory: directory)
}


/// A real redis-server and a node started side by side, for tests that compare their answers.
/// Stops the first if the second cannot start.
struct RedisAndNode {
    let redis: RedisServer
    let node: RedisServer

    /// Both get the same `extra` directives.
    init(_ extra: [String] = []) async throws {
        redis = try await RedisServer(extra)
        do {
            node = try await startNode(extra)
        } catch {
            redis.stop()
            throw error
        }
    }

    func stop() {
        redis.stop()
        node.stop()
    }
}

/// Runs `body` against a redis-server and then a node started with the same `extra` directives, and
/// returns both results for comparison; nil when redis-server is not installed.
func both<T>(_ extra: [String] = [], _ body: (Int) async throws -> T) async throws -> (redis: T, node: T)? {
    guard TestEnvironment.canRun("redis-server") else { return nil }
    let servers = try await RedisAndNode(extra)
    defer { servers.stop() }
    let expected = try await body(servers.redis.port)
    let actual = try await body(servers.node.port)
    return (expected, actual)
}
