/// A `shardgate node` child process on a free loopback port: the same harness as redis-server
/// (`RedisServer`), started from the `shardgate` executable built next to the test bundle, without
/// persistence unless `extra` turns it on; `directory` is its `dir`.
func startNode(_ extra: [String] = [], directory: TemporaryDirectory? = nil) async throws -> RedisServer {
    try await RedisServer(extra, kind: .shardgateNode, directory: directory)
}

