import Foundation
import Testing

/// Memory accounting and `maxmemory` of `shardgate node`: INFO memory from the allocator, the OOM
/// refusal (and its MULTI/EXEC rules) byte for byte with redis-server 7.0.15, each eviction policy,
/// `evicted_keys`, evictions reaching replicas as DEL and replicas never evicting.
@Suite(.serialized)
struct NodeMemoryTests {
    static let oom = Reply.error("OOM command not allowed when used memory > 'maxmemory'.")

    /// A server under test: the node, or a real redis-server for the same scenario.
    enum Server: String, CaseIterable, CustomTestStringConvertible {
        case node, redis
        var testDescription: String { rawValue }
    }

    /// Starts `server` (nil when it is redis-server and that is not installed outside CI).
    private func start(_ server: Server, _ extra: [String] = []) async throws -> (port: Int, stop: () -> Void)? {
        switch server {
        case .node:
            let node = try await startNode(extra)
            return (node.port, node.stop)
        case .redis:
            guard TestEnvironment.canRun("redis-server") else { return nil }
            let redis = try await RedisServer(extra)
            return (redis.port, redis.stop)
        }
    }

    static func info(_ client: RedisTestClient, _ section: String) throws -> [String: String] {
        guard case .bulk(let bytes?) = try client.command("INFO", section) else { return [:] }
        var fields: [String: String] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":"), !line.hasPrefix("#") else { continue }
            fields[String(line[..<colon])] = String(line[line.index(after: colon)...])
        }
        return fields
    }

    static func number(_ client: RedisTestClient, _ section: String, _ field: String) throws -> Int {
        let text = try #require(try info(client, section)[field], "\(field) missing")
        return try #require(Int(text), "\(field) not a number: \(text)")
    }

    static func value(_ index: Int, size: Int = 1000) -> String {
        String(repeating: Character(UnicodeScalar(UInt8(97 + index % 26))), count: size)
    }

    /// SETs `count` keys `prefix<i>` of `size` bytes in pipelined batches; returns every reply.
    @discardableResult
    static func fill(_ client: RedisTestClient, _ prefix: String, _ count: Int, size: Int = 1000, ttl: ((Int) -> Int)? = nil) throws -> [Reply] {
        var replies: [Reply] = []
        for start in stride(from: 0, to: count, by: 250) {
            let batch = (start..<min(count, start + 250)).map { index -> [String] in
                var command = ["SET", "\(prefix)\(index)", value(index, size: size)]
                if let ttl { command += ["EX", "\(ttl(index))"] }
                return command
            }
            replies += try client.pipeline(batch)
        }
        return replies
    }

    /// Waits (bounded) until evictions brought memory within `limit` (INFO measures afresh), then
    /// lifts the limit so that reading the outcome evicts nothing more.
    static func settle(_ client: RedisTestClient, limit: Int, slack: Int = 0) async throws {
        try await waitUntil("evictions reach the limit", seconds: 10) {
            try number(client, "memory", "used_memory") <= limit + slack
        }
        _ = try client.command("CONFIG", "SET", "maxmemory", "0")
    }

    static func exists(_ client: RedisTestClient, _ keys: [String]) throws -> [Bool] {
        try client.pipeline(keys.map { ["EXISTS", $0] }).map { $0 == .integer(1) }
    }

    // MARK: - INFO memory

    @Test func infoMemoryTracksTheHeap() async throws {
        let node = try await startNode()
        defer { node.stop() }
        let client = try node.client()
        _ = try client.command("CONFIG", "SET", "maxmemory", "100mb")
        let empty = try Self.info(client, "memory")
        for field in ["used_memory", "used_memory_rss", "used_memory_peak", "maxmemory"] {
            #expect(Int(empty[field] ?? "") != nil, "\(field): \(empty[field] ?? "missing")")
        }
        #expect(Double(empty["mem_fragmentation_ratio"] ?? "") != nil)
        #expect(empty["maxmemory"] == "104857600")
        #expect(empty["maxmemory_human"] == "100.00M")
        #expect(empty["used_memory_human"]?.wholeMatch(of: /\d+(\.\d\d[KMG])?B?/) != nil)
        let before = try Self.number(client, "memory", "used_memory")
        // The heap, not the RSS: an empty node holds far less than its resident pages.
        #expect(before < Int(empty["used_memory_rss"]!)!)
        try Self.fill(client, "k", 10_000)
        let full = try Self.number(client, "memory", "used_memory")
        #expect(full - before > 8_000_000, "10,000 x 1 KB grew used_memory by \(full - before)")
        #expect(try Self.number(client, "memory", "used_memory_peak") >= full)
        #expect(try client.command("FLUSHALL") == .status("OK"))
        let flushed = try Self.number(client, "memory", "used_memory")
        #expect(full - flushed > 8_000_000, "FLUSHALL freed only \(full - flushed)")
        #expect(try Self.number(client, "memory", "used_memory_peak") >= full)
        #expect(try Self.number(client, "stats", "evicted_keys") == 0)
    }

    /// MEMORY STATS has Redis's fields in Redis's order, and its figures follow the data; HELP and
    /// PURGE answer as Redis's; DOCTOR and MALLOC-STATS answer with text (the node's own).
    @Test func memorySubcommandsAnswerAsRedis() async throws {
        func statsFields(_ client: RedisTestClient) throws -> [(String, Reply)] {
            guard case .array(let items?) = try client.command("MEMORY", "STATS") else { return [] }
            return stride(from: 0, to: items.count - 1, by: 2).map { (items[$0].string ?? "?", items[$0 + 1]) }
        }
        func integer(_ fields: [(String, Reply)], _ name: String) -> Int? {
            guard case .integer(let value)? = fields.first(where: { $0.0 == name })?.1 else { return nil }
            return value
        }
        guard let redis = try await start(.redis), let node = try await start(.node) else { return }
        defer { redis.stop(); node.stop() }
        let redisClient = try RedisTestClient(port: redis.port)
        let nodeClient = try RedisTestClient(port: node.port)
        for client in [redisClient, nodeClient] {
            try Self.fill(client, "k", 2_000)
            _ = try client.command("SET", "volatile", "v", "EX", "100")
        }
        let redisFields = try statsFields(redisClient)
        let nodeFields = try statsFields(nodeClient)
        #expect(nodeFields.map(\.0) == redisFields.map(\.0))
        #expect(integer(nodeFields, "keys.count") == 2_001 && integer(redisFields, "keys.count") == 2_001)
        let total = try #require(integer(nodeFields, "total.allocated"))
        let startup = try #require(integer(nodeFields, "startup.allocated"))
        let dataset = try #require(integer(nodeFields, "dataset.bytes"))
        #expect(startup > 0 && total - startup > 2_000_000, "2,000 x 1 KB: \(startup) -> \(total)")
        #expect(dataset > 2_000_000 && dataset < total, "dataset.bytes \(dataset) of \(total)")
        #expect(integer(nodeFields, "peak.allocated")! >= total)
        if case .array(let database?)? = nodeFields.first(where: { $0.0 == "db.0" })?.1 {
            #expect(database.count == 6)
            #expect(database[1] != .integer(0), "the key table's arrays count")
        } else {
            Issue.record("no db.0 map")
        }
        for subcommand in ["HELP", "PURGE"] {
            #expect(try nodeClient.command("MEMORY", subcommand) == redisClient.command("MEMORY", subcommand))
        }
        for subcommand in ["DOCTOR", "MALLOC-STATS"] {
            guard case .bulk(let text?) = try nodeClient.command("MEMORY", subcommand) else {
                Issue.record("MEMORY \(subcommand) gave no text")
                continue
            }
            #expect(!text.isEmpty)
        }
    }

    // MARK: - OOM refusal

    /// noeviction over the limit: writes get Redis's exact OOM error, reads and deletions still run,
    /// MULTI queues nothing, EXEC of a transaction holding a write aborts; the same replies as redis-server.
    @Test func noevictionRefusesWritesLikeRedis() async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        var transcripts: [[Reply]] = []
        for server in Server.allCases {
            let (port, stop) = try #require(try await start(server))
            defer { stop() }
            let client = try RedisTestClient(port: port)
            let other = try RedisTestClient(port: port)
            var replies: [Reply] = []
            func run(_ on: RedisTestClient, _ arguments: String...) throws { replies.append(try on.command(arguments.map { Array($0.utf8) })) }
            try run(client, "SET", "a", "1")
            try run(client, "RPUSH", "list", "x")
            try run(client, "MULTI")
            try run(client, "SET", "queued", "v")
            try run(other, "CONFIG", "SET", "maxmemory", "1")
            try run(client, "EXEC")
            try run(client, "SET", "b", "2")
            try run(client, "INCR", "n")
            try run(client, "LPUSH", "list", "y")
            try run(client, "APPEND", "a", "more")
            try run(client, "GET", "a")
            try run(client, "LRANGE", "list", "0", "-1")
            try run(client, "DBSIZE")
            try run(client, "MULTI")
            try run(client, "GET", "a")
            try run(client, "EXEC")
            try run(client, "DEL", "list")
            try run(client, "EXISTS", "queued")
            try run(client, "INFO", "stats")
            replies[replies.count - 1] = .integer(try Self.number(client, "stats", "evicted_keys"))
            try run(other, "CONFIG", "SET", "maxmemory", "0")
            try run(client, "SET", "b", "2")
            transcripts.append(replies)
        }
        let node = transcripts[0], redis = transcripts[1]
        #expect(node == redis)
        #expect(node[5] == .error("EXECABORT Transaction discarded because of: OOM command not allowed when used memory > 'maxmemory'."))
        #expect(node[6] == Self.oom && node[7] == Self.oom && node[8] == Self.oom && node[9] == Self.oom)
        #expect(node[10] == .bulk("1"))
        #expect(node[14] == Self.oom)
        #expect(node[18] == .integer(0))
        #expect(node.last == .status("OK"))
    }

    /// volatile-* with no key that has a TTL cannot evict anything: OOM, no key lost (like redis-server).
    @Test(arguments: ["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"])
    func volatilePolicyWithoutVolatileKeysRefuses(policy: String) async throws {
        for server in Server.allCases {
            guard let (port, stop) = try await start(server, ["--maxmemory-policy", policy]) else { continue }
            defer { stop() }
            let client = try RedisTestClient(port: port)
            try Self.fill(client, "p", 200)
            _ = try client.command("CONFIG", "SET", "maxmemory", "1")
            #expect(try client.command("SET", "new", "v") == Self.oom, "\(server)")
            #expect(try client.command("GET", "p7") == .bulk(Self.value(7)), "\(server)")
            #expect(try client.command("DBSIZE") == .integer(200), "\(server)")
            #expect(try Self.number(client, "stats", "evicted_keys") == 0, "\(server)")
            // One key with a TTL: that one goes, and the next write is refused again.
            _ = try client.command("CONFIG", "SET", "maxmemory", "0")
            #expect(try client.command("EXPIRE", "p3", "1000") == .integer(1))
            _ = try client.command("CONFIG", "SET", "maxmemory", "1")
            #expect(try client.command("SET", "new", "v") == Self.oom, "\(server)")
            #expect(try client.command("EXISTS", "p3") == .integer(0), "\(server)")
            #expect(try client.command("DBSIZE") == .integer(199), "\(server)")
            #expect(try Self.number(client, "stats", "evicted_keys") == 1, "\(server)")
        }
    }

    // MARK: - Eviction

    /// allkeys-random under a stream of writes: every write accepted, memory held near the limit,
    /// `evicted_keys` + DBSIZE == keys written.
    @Test(arguments: Server.allCases)
    func allkeysRandomHoldsMemoryNearTheLimit(server: Server) async throws {
        guard let (port, stop) = try await start(server, ["--maxmemory-policy", "allkeys-random"]) else { return }
        defer { stop() }
        let client = try RedisTestClient(port: port)
        let base = try Self.number(client, "memory", "used_memory")
        let limit = base + 4_000_000
        _ = try client.command("CONFIG", "SET", "maxmemory", "\(limit)")
        let written = 20_000
        let replies = try Self.fill(client, "k", written)
        #expect(replies.allSatisfy { $0 == .status("OK") }, "\(Set(replies.map(\.description)))")
        let used = try Self.number(client, "memory", "used_memory")
        #expect(used <= limit + 1_500_000, "used \(used), limit \(limit)")
        #expect(used >= limit - 2_500_000, "used \(used), limit \(limit): evicted too much")
        try await Self.settle(client, limit: limit, slack: 1_500_000)
        guard case .integer(let keys) = try client.command("DBSIZE") else { Issue.record("DBSIZE"); return }
        let evicted = try Self.number(client, "stats", "evicted_keys")
        #expect(keys < written / 2 && keys > 1000, "\(keys) keys left")
        #expect(evicted + keys == written)
    }

    /// Under the same limit, the node holds at least 0.9x the 100-byte values redis-server holds,
    /// and its heap never goes 5% past the limit while it evicts: the slot array grows in segments
    /// and each write counts toward the cached figure (a doubled slot array and writes unseen until
    /// the next measurement made it hold 0.54x and overshoot). Keys of 16-19 bytes, as
    /// `scripts/bench` writes; with keys of a few bytes Redis's entries are smaller, and the node
    /// holds about 0.9x.
    @Test func holdsAsManySmallKeysAsRedisWithinTheLimit() async throws {
        var held: [Server: Int] = [:]
        for server in Server.allCases {
            guard let (port, stop) = try await start(server, ["--maxmemory-policy", "allkeys-lru"]) else { continue }
            defer { stop() }
            let client = try RedisTestClient(port: port)
            let limit = try Self.number(client, "memory", "used_memory") + 12_000_000
            _ = try client.command("CONFIG", "SET", "maxmemory", "\(limit)")
            var peak = 0
            for round in 0..<20 {
                try Self.fill(client, "fill:0000000\(round):", 5_000, size: 100)
                peak = max(peak, try Self.number(client, "memory", "used_memory"))
            }
            #expect(try Self.number(client, "stats", "evicted_keys") > 0, "\(server): nothing evicted")
            #expect(peak <= limit + limit / 20, "\(server): used_memory \(peak) with a limit of \(limit)")
            guard case .integer(let keys) = try client.command("DBSIZE") else { Issue.record("DBSIZE"); return }
            held[server] = keys
        }
        if let node = held[.node], let redis = held[.redis] {
            #expect(Double(node) >= 0.9 * Double(redis), "node holds \(node) keys, redis-server \(redis)")
        }
    }

    /// volatile-ttl takes the soonest-expiring keys first and never a key without a TTL.
    @Test(arguments: Server.allCases)
    func volatileTTLEvictsSoonestDeadlinesFirst(server: Server) async throws {
        guard let (port, stop) = try await start(server, ["--maxmemory-policy", "volatile-ttl"]) else { return }
        defer { stop() }
        let client = try RedisTestClient(port: port)
        try Self.fill(client, "p", 1000)
        try Self.fill(client, "v", 2000, ttl: { 10_000 + $0 * 10 })
        let used = try Self.number(client, "memory", "used_memory")
        _ = try client.command("CONFIG", "SET", "maxmemory", "\(used - 1_000_000)")
        #expect(try client.command("SET", "trigger", "x") == .status("OK"), "\(server)")
        try await Self.settle(client, limit: used - 1_000_000)
        let persistent = try Self.exists(client, (0..<1000).map { "p\($0)" })
        #expect(persistent.allSatisfy { $0 }, "a key without TTL was evicted")
        let volatile = try Self.exists(client, (0..<2000).map { "v\($0)" })
        let gone = volatile.indices.filter { !volatile[$0] }
        let kept = volatile.indices.filter { volatile[$0] }
        #expect(gone.count > 300 && gone.count < 1900, "\(gone.count) volatile keys evicted")
        #expect(try Self.number(client, "stats", "evicted_keys") == gone.count)
        guard !gone.isEmpty, !kept.isEmpty else { return }
        if server == .node {
            // Exact: the evicted keys are precisely the earliest deadlines.
            #expect(gone.max()! < kept.min()!, "evicted up to \(gone.max()!), kept from \(kept.min()!)")
        } else {
            // redis-server samples: on average the earlier deadlines go.
            #expect(gone.reduce(0, +) / gone.count < kept.reduce(0, +) / kept.count)
        }
    }

    /// allkeys-lru and allkeys-lfu keep the keys that were used: a hot tenth survives evicting half.
    @Test(arguments: ["allkeys-lru", "allkeys-lfu", "volatile-lru", "volatile-lfu"])
    func approximatedLRUAndLFUKeepHotKeys(policy: String) async throws {
        let node = try await startNode(["--maxmemory-policy", policy, "--hz", "100"])
        defer { node.stop() }
        let client = try node.client()
        let volatile = policy.hasPrefix("volatile")
        try Self.fill(client, "k", 3000, ttl: volatile ? { _ in 100_000 } : nil)
        if volatile { try Self.fill(client, "p", 200) }
        try await Task.sleep(for: .milliseconds(300))
        let hot = (0..<3000).filter { $0 % 10 == 0 }.map { "k\($0)" }
        for _ in 0..<(policy.hasSuffix("lfu") ? 20 : 1) { _ = try client.pipeline(hot.map { ["GET", $0] }) }
        try await Task.sleep(for: .milliseconds(100))
        let used = try Self.number(client, "memory", "used_memory")
        _ = try client.command("CONFIG", "SET", "maxmemory", "\(used - 1_500_000)")
        #expect(try client.command("SET", "trigger", "x") == .status("OK"))
        try await Self.settle(client, limit: used - 1_500_000)
        let evicted = try Self.number(client, "stats", "evicted_keys")
        #expect(evicted > 900, "\(evicted) evicted")
        let hotKept = try Self.exists(client, hot).filter { $0 }.count
        #expect(hotKept >= hot.count * 95 / 100, "\(hotKept) of \(hot.count) hot keys kept, \(evicted) evicted")
        if volatile {
            #expect(try Self.exists(client, (0..<200).map { "p\($0)" }).allSatisfy { $0 })
        }
    }

    // MARK: - Replication

    /// A master's evictions reach its replica as DEL; the replica, itself over its maxmemory, never evicts.
    @Test func evictionsPropagateAndReplicasDoNotEvict() async throws {
        let master = try await startNode(["--maxmemory-policy", "allkeys-random", "--repl-diskless-sync-delay", "0"])
        defer { master.stop() }
        let replica = try await startNode([
            "--replicaof", "127.0.0.1", "\(master.port)", "--maxmemory", "1", "--maxmemory-policy", "allkeys-random",
        ])
        defer { replica.stop() }
        let replicaClient = try replica.client()
        try await waitUntil("replica linked", seconds: 15) {
            try Self.info(replicaClient, "replication")["master_link_status"] == "up"
        }
        let client = try master.client()
        let base = try Self.number(client, "memory", "used_memory")
        _ = try client.command("CONFIG", "SET", "maxmemory", "\(base + 3_000_000)")
        try Self.fill(client, "k", 8000)
        try await Self.settle(client, limit: base + 3_000_000, slack: 2_000_000)
        let evicted = try Self.number(client, "stats", "evicted_keys")
        #expect(evicted > 1000)
        guard case .integer(let keys) = try client.command("DBSIZE") else { Issue.record("DBSIZE"); return }
        try await waitUntil("replica caught up", seconds: 10) {
            try replicaClient.command("DBSIZE") == .integer(keys)
        }
        #expect(try replicaClient.command("DBSIZE") == .integer(keys))
        #expect(try Self.number(replicaClient, "stats", "evicted_keys") == 0)
        let sample = (0..<8000).filter { $0 % 97 == 0 }.map { "k\($0)" }
        #expect(try Self.exists(replicaClient, sample) == Self.exists(client, sample))
    }
}
