/// Checks of a proxy's read routing shared by the Sentinel and fixed-pool tests.
enum ReadPoolChecks {
    /// Writes `count` keys `prefix<i>` through `client`, reading each back at once; returns how many
    /// reads did not see the value just written.
    static func staleReadsAfterWrites(_ client: RedisTestClient, prefix: String, count: Int = 100) throws -> Int {
        var stale = 0
        for index in 0..<count {
            _ = try client.command("SET", "\(prefix)\(index)", "v\(index)")
            if try client.command("GET", "\(prefix)\(index)") != .bulk("v\(index)") { stale += 1 }
        }
        return stale
    }

    /// After a write, reads of it return to `replica` once it has caught up (read_your_writes only
    /// holds a client on the master until then).
    static func readsReturnToReplica(_ client: RedisTestClient, replica: RedisServer) async throws {
        _ = try client.command("SET", "ryw:old", "1")
        let before = try replica.calls("get")
        try await waitUntil("reads return to the replica once it has the write", seconds: 5) {
            _ = try client.command("GET", "ryw:old")
            return try replica.calls("get") > before
        }
    }
}
