/// A `shardgate node` child process on a free loopback port: the same harness as redis-server
/// (`RedisServer`), started from the `shardgate` executable built next to the test bundle, without
/// persistence unless `extra` turns it on; `directory` is its `dir`.
func startNode(_ extra: [String] = [], directory: TemporaryDirectory? = nil) async throws -> RedisServer {
    try await RedisServer(extra, kind: .shardgateNode, directory: directory)
}

// Transitional spelling used by tests being written right now; removed once they use `startNode`.
// swiftlint:disable:next identifier_name
func ShardgateNodeProcess(_ extra: [String] = [], directory: TemporaryDirectory? = nil) async throws -> RedisServer {
    try await startNode(extra, directory: directory)
}
