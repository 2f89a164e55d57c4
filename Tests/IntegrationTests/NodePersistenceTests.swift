import Foundation
import Testing

/// The node's persistence with real processes: RDB files exchanged with real redis-server 7 in both
/// directions, BGSAVE while clients keep working, and the append-only file surviving `kill -9`,
/// rewrites and a torn last write.
@Suite(.serialized, .enabled(if: TestEnvironment.canRun("redis-server")))
struct NodePersistenceTests {
    // MARK: RDB with real Redis

    @Test func nodeDumpLoadsIntoRedis() async throws {
        let node = try await startNode()
        defer { node.stop() }
        let client = try node.client()
        try Self.fill(client)
        let expected = try Self.keyspace(client)
        #expect(expected.count == 17)
        #expect(try client.command("SAVE") == .status("OK"))
        try client.sendRaw(RedisTestClient.encode(["SHUTDOWN", "NOSAVE"].map { Array($0.utf8) }))
        #expect(node.process.waitForExit(seconds: 10) == 0)

        let redis = try await RedisServer(["--dir", node.directory.path])
        defer { redis.stop() }
        let loaded = try Self.keyspace(redis.client())
        #expect(loaded == expected)
    }

    @Test func redisDumpLoadsIntoNode() async throws {
        let directory = try TemporaryDirectory()
        let redis = try await RedisServer(["--dir", directory.path])
        let redisClient = try redis.client()
        try Self.fill(redisClient)
        let expected = try Self.keyspace(redisClient)
        // Redis used both its compact and its large encodings.
        let encodings = try ["hash:small", "hash:large", "set:ints", "set:large", "zset:small", "zset:large"].map {
            try redisClient.command("OBJECT", "ENCODING", $0).string ?? ""
        }
        #expect(encodings == ["listpack", "hashtable", "intset", "hashtable", "listpack", "skiplist"])
        #expect(try redisClient.command("SAVE") == .status("OK"))
        redis.stop()

        let node = try await startNode([], directory: directory)
        defer { node.stop() }
        let loaded = try Self.keyspace(node.client())
        #expect(loaded == expected)
        let info = try Self.info(node.client(), "persistence")
        #expect(info["rdb_last_load_keys_loaded"] == "\(expected.count)")
    }

    /// Keys whose TTL passed while the dump sat on disk are not loaded.
    @Test func expiredKeysAreSkippedWhenLoading() async throws {
        let node = try await startNode()
        let client = try node.client()
        _ = try client.command("SET", "stays", "1")
        _ = try client.command("SET", "goes", "1", "PX", "300")
        #expect(try client.command("SAVE") == .status("OK"))
        node.process.signal(SIGKILL)
        _ = node.process.waitForExit(seconds: 5)
        try await Task.sleep(for: .milliseconds(400))

        let restarted = try await startNode([], directory: node.directory)
        defer { restarted.stop() }
        #expect(try restarted.client().command("KEYS", "*") == .array([.bulk("stays")]))
        let info = try Self.info(restarted.client(), "persistence")
        #expect(info["rdb_last_load_keys_expired"] == "1")
        #expect(info["rdb_last_load_keys_loaded"] == "1")
    }

    // MARK: BGSAVE, save points, SHUTDOWN

    @Test func backgroundSaveKeepsServing() async throws {
        let node = try await startNode()
        defer { node.stop() }
        let client = try node.client()
        let keyCount = 200_000
        for batch in stride(from: 0, to: keyCount, by: 5000) {
            var arguments = ["MSET"]
            for index in batch..<batch + 5000 { arguments += ["key:\(index)", "value-\(index)-" + String(repeating: "x", count: 40)] }
            #expect(try client.command(arguments.map { Array($0.utf8) }) == .status("OK"))
        }
        let before = try Self.info(client, "persistence")["rdb_saves"]

        let started = Date()
        #expect(try client.command("BGSAVE") == .status("Background saving started"))
        #expect(try client.command("BGSAVE") == .error("ERR Background save already in progress"))
        #expect(try client.command("SAVE") == .error("ERR Background save already in progress"))
        #expect(try client.command("BGREWRITEAOF") == .status("Background append only file rewriting scheduled"))
        var maxLatency = 0.0
        var requests = 0
        var inProgress = true
        while inProgress {
            let sent = Date()
            #expect(try client.command("SET", "during:\(requests)", "v") == .status("OK"))
            #expect(try client.command("GET", "key:\(requests % keyCount)").string?.hasPrefix("value-") == true)
            maxLatency = max(maxLatency, Date().timeIntervalSince(sent))
            requests += 1
            if requests % 50 == 0 {
                inProgress = try Self.info(client, "persistence")["rdb_bgsave_in_progress"] == "1"
            }
            #expect(Date().timeIntervalSince(started) < 120, "BGSAVE never finished")
            if Date().timeIntervalSince(started) > 120 { break }
        }
        let saveDuration = Date().timeIntervalSince(started)
        print("BGSAVE of \(keyCount) keys: \(saveDuration) s, \(requests) request pairs answered, max latency \(maxLatency) s")
        let info = try Self.info(client, "persistence")
        #expect(info["rdb_last_bgsave_status"] == "ok")
        #expect(info["rdb_saves"] != before)
        // Only the writes made during the save are still unsaved.
        #expect(Int(info["rdb_changes_since_last_save"] ?? "") ?? -1 <= requests)
        #expect(requests > 20, "the node answered only \(requests) requests during a \(saveDuration) s save")
        #expect(maxLatency * 5 < saveDuration, "max latency \(maxLatency) s during a \(saveDuration) s BGSAVE")
        // The scheduled rewrite starts once the save is done; while it runs, BGSAVE must wait.
        try await waitUntil("scheduled AOF rewrite started", seconds: 10) {
            try Self.info(client, "persistence")["aof_rewrite_in_progress"] == "1"
        }
        #expect(try client.command("BGREWRITEAOF") == .error("ERR Background append only file rewriting already in progress"))
        #expect(try client.command("BGSAVE") == .error(
            "ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible."))
        #expect(try client.command("BGSAVE", "SCHEDULE") == .status("Background saving scheduled"))
        try await waitUntil("scheduled AOF rewrite done", seconds: 60) {
            try Self.info(client, "persistence")["aof_rewrites"] == "1"
        }
        let savesAfterFirst = Int(info["rdb_saves"] ?? "") ?? 0
        try await waitUntil("scheduled BGSAVE done", seconds: 60) {
            let now = try Self.info(client, "persistence")
            return now["rdb_bgsave_in_progress"] == "0" && Int(now["rdb_saves"] ?? "") == savesAfterFirst + 1
        }

        // The dump holds the 200k keys: Redis loads it.
        node.stop()
        let redis = try await RedisServer(["--dir", node.directory.path])
        defer { redis.stop() }
        try await waitUntil("redis loaded the dump", seconds: 60) { try !redis.client().command("DBSIZE").isError }
        let size = try redis.client().command("DBSIZE")
        guard case .integer(let count) = size else { throw TestFailure("DBSIZE: \(size)") }
        #expect(count >= keyCount)
        #expect(try redis.client().command("GET", "key:199999").string?.hasPrefix("value-199999-") == true)
    }

    @Test func savePointTriggersBackgroundSave() async throws {
        let node = try await startNode(["--save", "1 2"])
        defer { node.stop() }
        let client = try node.client()
        _ = try client.command("SET", "a", "1")
        #expect(try Self.info(client, "persistence")["rdb_changes_since_last_save"] == "1")
        _ = try client.command("SET", "b", "2")
        try await waitUntil("save point reached", seconds: 10) {
            try Self.info(client, "persistence")["rdb_changes_since_last_save"] == "0"
        }
        #expect(FileManager.default.fileExists(atPath: node.directory.path + "/dump.rdb"))
        let lastSave = try client.command("LASTSAVE")
        guard case .integer(let seconds) = lastSave else { throw TestFailure("LASTSAVE: \(lastSave)") }
        #expect(abs(Double(seconds) - Date().timeIntervalSince1970) < 10)
    }

    @Test func shutdownSavesUnlessNosave() async throws {
        // Save points configured: SHUTDOWN saves.
        let node = try await startNode(["--save", "3600 1"])
        _ = try node.client().command("SET", "k", "saved")
        try? node.client().sendRaw(RedisTestClient.encode([Array("SHUTDOWN".utf8)]))
        #expect(node.process.waitForExit(seconds: 10) == 0)
        let restarted = try await startNode(["--save", "3600 1"], directory: node.directory)
        #expect(try restarted.client().command("GET", "k") == .bulk("saved"))

        // NOSAVE: the change made after the last save is lost.
        _ = try restarted.client().command("SET", "k", "lost")
        try? restarted.client().sendRaw(RedisTestClient.encode(["SHUTDOWN", "NOSAVE"].map { Array($0.utf8) }))
        #expect(restarted.process.waitForExit(seconds: 10) == 0)
        let third = try await startNode([], directory: node.directory)
        defer { third.stop() }
        #expect(try third.client().command("GET", "k") == .bulk("saved"))

        // No save points: SHUTDOWN SAVE still saves; SIGTERM does not.
        _ = try third.client().command("SET", "k", "forced")
        try? third.client().sendRaw(RedisTestClient.encode(["SHUTDOWN", "SAVE"].map { Array($0.utf8) }))
        #expect(third.process.waitForExit(seconds: 10) == 0)
        let fourth = try await startNode([], directory: node.directory)
        #expect(try fourth.client().command("GET", "k") == .bulk("forced"))
        _ = try fourth.client().command("SET", "k", "not saved")
        fourth.stop()
        let fifth = try await startNode([], directory: node.directory)
        defer { fifth.stop() }
        #expect(try fifth.client().command("GET", "k") == .bulk("forced"))
    }

    /// FLUSHALL as in Redis 7.0: with save points it saves the emptied dataset at once (a kill -9
    /// right after loses nothing: the restart is empty), resets the change count without counting a
    /// save, and a FLUSHALL of nothing still reaches the AOF. Same script against both servers.
    @Test func flushAllSavesAndPropagatesAsRedisDoes() async throws {
        guard TestEnvironment.canRun("redis-server") else { return }
        struct Observed: Equatable {
            var changes = "", saves = "", flushesInAOF = 0, keysAfterKill = -1
        }
        func observe(_ kind: DataServerKind) async throws -> Observed {
            let server = try await RedisServer(["--save", "3600 1", "--appendonly", "yes", "--appendfsync", "always"], kind: kind)
            let client = try server.client()
            _ = try client.command("SET", "k", "v")
            _ = try client.command("SAVE")
            _ = try client.command("MSET", "a", "1", "b", "2")
            #expect(try client.command("FLUSHALL") == .status("OK"))
            #expect(try client.command("FLUSHALL") == .status("OK"))
            var observed = Observed()
            let info = try Self.info(client, "persistence")
            observed.changes = info["rdb_changes_since_last_save"] ?? "?"
            observed.saves = info["rdb_saves"] ?? "?"
            observed.flushesInAOF = try Self.aofCommands(server.directory.path).filter { $0.first?.lowercased() == "flushall" }.count
            kill(server.process.pid, SIGKILL)
            _ = server.process.waitForExit(seconds: 5)
            let restarted = try await RedisServer([], kind: kind, directory: server.directory)
            defer { restarted.stop() }
            if case .integer(let keys) = try restarted.client().command("DBSIZE") { observed.keysAfterKill = keys }
            return observed
        }
        let expected = try await observe(.redis)
        let actual = try await observe(.shardgateNode)
        #expect(expected.keysAfterKill == 0 && expected.flushesInAOF == 2, "redis-server: \(expected)")
        #expect(actual == expected)
    }

    /// A failed save: SAVE answers -ERR, writes and PING get MISCONF (stop-writes-on-bgsave-error),
    /// SHUTDOWN refuses to exit without its save; a successful save lifts all of it.
    @Test func failedSaveRefusesWritesUntilASaveSucceeds() async throws {
        let node = try await startNode(["--save", "3600 1"])
        defer { node.stop() }
        let client = try node.client()
        _ = try client.command("SET", "k", "1")
        // The foreground save writes temp-<pid>.rdb first: a directory there makes it fail.
        let blocker = node.directory.path + "/temp-\(node.process.pid).rdb"
        try FileManager.default.createDirectory(atPath: blocker, withIntermediateDirectories: false)
        #expect(try client.command("SAVE") == .error("ERR"))
        let misconf = try client.command("SET", "k", "2")
        #expect(misconf.description.hasPrefix("-MISCONF Redis is configured to save RDB snapshots"))
        #expect(try client.command("PING").isError)
        #expect(try client.command("GET", "k") == .bulk("1"))
        #expect(try Self.info(client, "persistence")["rdb_last_bgsave_status"] == "err")
        #expect(try client.command("SHUTDOWN") == .error("ERR Errors trying to SHUTDOWN. Check logs."))
        #expect(node.process.isRunning)

        try FileManager.default.removeItem(atPath: blocker)
        #expect(try client.command("SAVE") == .status("OK"))
        #expect(try client.command("SET", "k", "2") == .status("OK"))
        #expect(try client.command("PING") == .status("PONG"))
    }

    // MARK: AOF

    @Test func aofAlwaysKeepsEveryAcknowledgedWriteAfterKill9() async throws {
        let node = try await startNode(["--appendonly", "yes", "--appendfsync", "always"])
        let client = try node.client()
        let count = 2000
        for index in 0..<count {
            #expect(try client.command("SET", "k\(index)", "v\(index)") == .status("OK"))
        }
        #expect(try client.command("INCRBY", "counter", "\(count)") == .integer(count))
        node.process.signal(SIGKILL)
        #expect(node.process.waitForExit(seconds: 5) == 128 + SIGKILL)

        let restarted = try await startNode(["--appendonly", "yes"], directory: node.directory)
        defer { restarted.stop() }
        let again = try restarted.client()
        #expect(try again.command("DBSIZE") == .integer(count + 1))
        #expect(try again.command("GET", "counter") == .bulk("\(count)"))
        for index in stride(from: 0, to: count, by: 97) {
            #expect(try again.command("GET", "k\(index)") == .bulk("v\(index)"))
        }
    }

    @Test func aofEverysecKeepsWritesOlderThanTwoSeconds() async throws {
        let node = try await startNode(["--appendonly", "yes", "--appendfsync", "everysec"])
        let client = try node.client()
        let replies = try client.pipeline((0..<5000).map { ["RPUSH", "list", "item\($0)"] })
        #expect(replies.last == .integer(5000))
        try await Task.sleep(for: .milliseconds(2500))
        let info = try Self.info(client, "persistence")
        #expect(info["aof_enabled"] == "1")
        #expect(info["aof_pending_bio_fsync"] == "0")
        node.process.signal(SIGKILL)
        _ = node.process.waitForExit(seconds: 5)

        let restarted = try await startNode(["--appendonly", "yes"], directory: node.directory)
        defer { restarted.stop() }
        #expect(try restarted.client().command("LLEN", "list") == .integer(5000))
        #expect(try restarted.client().command("LINDEX", "list", "-1") == .bulk("item4999"))
    }

    /// The stream holds effects, not requests: relative expiry as absolute, INCRBYFLOAT as SET,
    /// expired keys as DEL, SELECT on database changes.
    @Test func aofHoldsRewrittenCommands() async throws {
        let node = try await startNode(["--appendonly", "yes", "--appendfsync", "always"])
        defer { node.stop() }
        let client = try node.client()
        _ = try client.command("SET", "plain", "1")
        _ = try client.command("SET", "ex", "1", "EX", "100")
        _ = try client.command("SET", "got", "1", "GET")
        _ = try client.command("SETEX", "setex", "100", "v")
        _ = try client.command("EXPIRE", "plain", "100")
        _ = try client.command("INCRBYFLOAT", "float", "1.5")
        _ = try client.command("GETEX", "got", "PX", "100000")
        _ = try client.command("GETEX", "got", "PERSIST")
        _ = try client.command("SET", "short", "1", "PX", "300")
        _ = try client.command("SELECT", "3")
        _ = try client.command("SET", "three", "3")
        _ = try client.command("EXPIRE", "three", "-1")
        _ = try client.command("SELECT", "0")
        try await Task.sleep(for: .milliseconds(500))
        #expect(try client.command("GET", "short") == .bulk(nil))
        #expect(try client.command("GET", "nothing") == .bulk(nil))

        let commands = try Self.aofCommands(node.directory.path)
        let deadline = { (key: String) -> String in
            (try? client.command("PEXPIRETIME", key))?.description.dropFirst().description ?? "?"
        }
        let expected: [[String]] = [
            ["SELECT", "0"], ["SET", "plain", "1"], ["SET", "ex", "1", "PXAT", deadline("ex")],
            ["SET", "got", "1"], ["SET", "setex", "v", "PXAT", deadline("setex")],
            ["PEXPIREAT", "plain", deadline("plain")], ["SET", "float", "1.5", "KEEPTTL"],
            ["PEXPIREAT", "got", "?"], ["PERSIST", "got"], ["SET", "short", "1", "PXAT", "?"],
            ["SELECT", "3"], ["SET", "three", "3"], ["DEL", "three"], ["SELECT", "0"], ["DEL", "short"],
        ]
        #expect(commands.count == expected.count, "\(commands)")
        for (command, expectation) in zip(commands, expected) {
            let comparable = zip(command, expectation).map { $1 == "?" ? "?" : $0 }
            #expect(comparable == expectation && command.count == expectation.count, "\(command)")
        }
    }

    @Test func rewriteThenRestartKeepsData() async throws {
        let node = try await startNode(["--appendonly", "yes"])
        let client = try node.client()
        try Self.fill(client)
        let before = try Self.keyspace(client)
        #expect(try client.command("BGREWRITEAOF") == .status("Background append only file rewriting started"))
        // Writes during and after the rewrite land in the new incremental file.
        _ = try client.command("SET", "after:rewrite", "1")
        try await waitUntil("rewrite finished", seconds: 30) {
            let info = try Self.info(client, "persistence")
            return info["aof_rewrite_in_progress"] == "0" && info["aof_rewrites"] == "1"
        }
        _ = try client.command("DEL", "after:rewrite")
        _ = try client.command("SET", "later", "x")
        let expected = try Self.keyspace(client)
        #expect(expected.count == before.count + 1)
        let manifest = try String(contentsOfFile: node.directory.path + "/appendonlydir/appendonly.aof.manifest", encoding: .utf8)
        #expect(manifest == "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n")
        let files = try FileManager.default.contentsOfDirectory(atPath: node.directory.path + "/appendonlydir").sorted()
        #expect(files == ["appendonly.aof.2.base.rdb", "appendonly.aof.2.incr.aof", "appendonly.aof.manifest"])
        node.process.signal(SIGKILL)
        _ = node.process.waitForExit(seconds: 5)

        let restarted = try await startNode(["--appendonly", "yes"], directory: node.directory)
        #expect(try Self.keyspace(restarted.client()) == expected)
        restarted.stop()

        // Real Redis reads the same multi-part AOF.
        let redis = try await RedisServer(["--dir", node.directory.path, "--appendonly", "yes"])
        defer { redis.stop() }
        #expect(try Self.keyspace(redis.client()) == expected)
    }

    @Test func aofGrowthTriggersAutomaticRewrite() async throws {
        let node = try await startNode([
            "--appendonly", "yes", "--auto-aof-rewrite-min-size", "4kb", "--auto-aof-rewrite-percentage", "100",
        ])
        defer { node.stop() }
        let client = try node.client()
        // Overwriting one key: the dataset stays tiny while the AOF grows.
        _ = try client.pipeline((0..<200).map { ["SET", "same", String(repeating: "x", count: 100) + "\($0)"] })
        try await waitUntil("automatic rewrite", seconds: 10) {
            try Self.info(client, "persistence")["aof_rewrites"] == "1"
        }
        let info = try Self.info(client, "persistence")
        #expect(Int(info["aof_current_size"] ?? "") ?? .max < 4096)
        #expect(try client.command("GET", "same") == .bulk(String(repeating: "x", count: 100) + "199"))
    }

    @Test func nodeLoadsAOFWrittenByRedis() async throws {
        let directory = try TemporaryDirectory()
        let redis = try await RedisServer(["--dir", directory.path, "--appendonly", "yes"])
        let redisClient = try redis.client()
        try Self.fill(redisClient)
        _ = try redisClient.command("BGREWRITEAOF")
        try await waitUntil("redis rewrite finished", seconds: 30) {
            try Self.info(redisClient, "persistence")["aof_rewrite_in_progress"] == "0"
                && Self.info(redisClient, "persistence")["aof_rewrite_scheduled"] == "0"
        }
        _ = try redisClient.command("SET", "in:incr", "1")
        _ = try redisClient.command("SELECT", "7")
        _ = try redisClient.command("SET", "db7", "x", "EX", "1000")
        let expected = try Self.keyspace(redisClient)
        redis.process.signal(SIGKILL)
        _ = redis.process.waitForExit(seconds: 5)

        let node = try await startNode(["--appendonly", "yes"], directory: directory)
        defer { node.stop() }
        #expect(try Self.keyspace(node.client()) == expected)
    }

    @Test func truncatedTailLoadsWhatIsComplete() async throws {
        let node = try await startNode(["--appendonly", "yes", "--appendfsync", "always"])
        let client = try node.client()
        for index in 0..<100 { _ = try client.command("SET", "k\(index)", "v") }
        node.stop()
        let incremental = node.directory.path + "/appendonlydir/appendonly.aof.1.incr.aof"
        let complete = try Data(contentsOf: URL(fileURLWithPath: incremental))

        // A command cut off mid-write by a crash.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: incremental))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("*3\r\n$3\r\nSET\r\n$4\r\ntorn\r\n$5\r\nval".utf8))
        try handle.close()
        let restarted = try await startNode(["--appendonly", "yes"], directory: node.directory)
        #expect(try restarted.client().command("DBSIZE") == .integer(100))
        #expect(try restarted.client().command("EXISTS", "torn") == .integer(0))
        // The torn tail is cut off, so later appends follow complete commands.
        #expect(try Data(contentsOf: URL(fileURLWithPath: incremental)) == complete)
        _ = try restarted.client().command("SET", "after", "1")
        restarted.stop()

        // A transaction without its EXEC is not applied.
        let tail = RedisTestClient.encode([Array("MULTI".utf8)]) + RedisTestClient.encode(["SET", "in:multi", "1"].map { Array($0.utf8) })
        let handle2 = try FileHandle(forWritingTo: URL(fileURLWithPath: incremental))
        try handle2.seekToEnd()
        try handle2.write(contentsOf: Data(tail))
        try handle2.close()
        let third = try await startNode(["--appendonly", "yes"], directory: node.directory)
        defer { third.stop() }
        #expect(try third.client().command("DBSIZE") == .integer(101))
        #expect(try third.client().command("EXISTS", "in:multi") == .integer(0))
    }

    @Test func enablingAOFAtRunTimeWritesABaseFirst() async throws {
        let node = try await startNode()
        let client = try node.client()
        try Self.fill(client)
        #expect(try client.command("CONFIG", "SET", "appendonly", "yes") == .status("OK"))
        _ = try client.command("SET", "right:after", "1")
        try await waitUntil("AOF enabled", seconds: 30) {
            let info = try Self.info(client, "persistence")
            return info["aof_rewrite_in_progress"] == "0" && info["aof_rewrites"] == "1"
        }
        #expect(try Self.info(client, "persistence")["aof_enabled"] == "1")
        _ = try client.command("SET", "later", "2")
        let expected = try Self.keyspace(client)
        node.process.signal(SIGKILL)
        _ = node.process.waitForExit(seconds: 5)

        let restarted = try await startNode(["--appendonly", "yes"], directory: node.directory)
        defer { restarted.stop() }
        #expect(try Self.keyspace(restarted.client()) == expected)
    }

    // MARK: Helpers

    /// Every type in small and large encodings, TTLs, binary keys, several databases.
    static func fill(_ client: RedisTestClient) throws {
        var commands: [[[UInt8]]] = []
        func add(_ words: String...) { commands.append(words.map { Array($0.utf8) }) }
        add("SELECT", "0")
        add("SET", "string:int", "12345")
        add("SET", "string:negative", "-7")
        add("SET", "string:text", "hello world")
        add("SET", "string:long", String(repeating: "abcdefghij", count: 100))
        add("SET", "string:ttl", "soon", "EX", "5000")
        commands.append([Array("SET".utf8), [0, 1, 2, 255] as [UInt8], [0xFF, 0, 0x80] as [UInt8]])
        add("RPUSH", "list:small", "a", "b", "c", "1", "2")
        commands.append([Array("RPUSH".utf8), Array("list:large".utf8)] + (0..<3000).map { Array("element-\($0)".utf8) })
        add("HSET", "hash:small", "f1", "v1", "f2", "2")
        commands.append([Array("HSET".utf8), Array("hash:large".utf8)] + (0..<600).flatMap { [Array("field\($0)".utf8), Array("value\($0)".utf8)] })
        add("SADD", "set:ints", "1", "2", "3", "-4", "100000")
        commands.append([Array("SADD".utf8), Array("set:large".utf8)] + (0..<700).map { Array("member\($0)".utf8) })
        add("ZADD", "zset:small", "1", "a", "2.5", "b", "-3", "c")
        commands.append([Array("ZADD".utf8), Array("zset:large".utf8)] + (0..<200).flatMap { [Array("\(Double($0) / 3)".utf8), Array("m\($0)".utf8)] })
        add("PEXPIRE", "hash:small", "9000000")
        add("SELECT", "2")
        add("SET", "db2:key", "two")
        add("SADD", "db2:set", "x", "y")
        add("EXPIRE", "db2:set", "8000")
        add("SELECT", "15")
        add("LPUSH", "db15:list", "z")
        add("SELECT", "0")
        for reply in try client.pipeline(commands) where reply.isError { throw TestFailure("fill: \(reply)") }
    }

    /// A canonical description of every key in databases 0–15: type, contents (sorted where the
    /// type is unordered) and absolute expiry.
    static func keyspace(_ client: RedisTestClient) throws -> [String: String] {
        var result: [String: String] = [:]
        for database in 0..<16 {
            _ = try client.command("SELECT", "\(database)")
            guard case .array(let keys?) = try client.command("KEYS", "*") else { continue }
            for case .bulk(let key?) in keys {
                let type = try client.command([Array("TYPE".utf8), key]).string ?? "?"
                let contents: Reply
                switch type {
                case "string": contents = try client.command([Array("GET".utf8), key])
                case "list": contents = try client.command([Array("LRANGE".utf8), key, Array("0".utf8), Array("-1".utf8)])
                case "set": contents = try client.command([Array("SMEMBERS".utf8), key])
                case "hash": contents = try client.command([Array("HGETALL".utf8), key])
                case "zset":
                    contents = try client.command([Array("ZRANGE".utf8), key, Array("0".utf8), Array("-1".utf8), Array("WITHSCORES".utf8)])
                default: contents = .bulk(nil)
                }
                var text = contents.description
                if type == "set" || type == "hash", case .array(let items?) = contents {
                    var parts = items.map(\.description)
                    if type == "hash" {
                        parts = stride(from: 0, to: parts.count, by: 2).map { parts[$0] + "=" + parts[$0 + 1] }
                    }
                    text = parts.sorted().joined(separator: ",")
                }
                let expiry = try client.command([Array("PEXPIRETIME".utf8), key]).description
                result["\(database)/\(key.map { String($0, radix: 16) }.joined(separator: "."))"] = "\(type) \(expiry) \(text)"
            }
        }
        _ = try client.command("SELECT", "0")
        return result
    }

    static func info(_ client: RedisTestClient, _ section: String) throws -> [String: String] {
        guard let text = try client.command("INFO", section).string else { return [:] }
        var fields: [String: String] = [:]
        for line in text.split(separator: "\r\n") where line.contains(":") {
            let parts = line.split(separator: ":", maxSplits: 1)
            fields[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        return fields
    }

    /// The commands in the node's incremental AOF file, as text.
    static func aofCommands(_ directory: String) throws -> [[String]] {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/appendonlydir/appendonly.aof.1.incr.aof")))
        var commands: [[String]] = []
        var position = 0
        func line() -> String {
            var end = position
            while bytes[end] != UInt8(ascii: "\r") { end += 1 }
            let text = String(decoding: bytes[position..<end], as: UTF8.self)
            position = end + 2
            return text
        }
        while position < bytes.count {
            let count = Int(line().dropFirst()) ?? 0
            var command: [String] = []
            for _ in 0..<count {
                let length = Int(line().dropFirst()) ?? 0
                command.append(String(decoding: bytes[position..<position + length], as: UTF8.self))
                position += length + 2
            }
            commands.append(command)
        }
        return commands
    }

    /// A snapshot child that stops making progress is killed; the save is reported failed and the
    /// node keeps serving and can save again.
    @Test func stuckSnapshotChildIsKilled() async throws {
        let node = try await startNode()
        defer { node.stop() }
        let client = try node.client()
        for batch in 0..<20 {
            _ = try client.pipeline((0..<1000).map { ["SET", "k\(batch)-\($0)", String(repeating: "v", count: 100)] })
        }
        #expect(try client.command("BGSAVE") == .status("Background saving started"))
        // Freeze the child as soon as it exists.
        var child: pid_t?
        try await waitUntil("the snapshot child exists", seconds: 5) {
            child = Self.children(of: node.process.pid).first
            if let child { kill(child, SIGSTOP) }
            return child != nil
        }
        try await waitUntil("the stuck child was killed and the save reported failed", seconds: 25) {
            let fields = try Self.info(client, "persistence")
            return fields["rdb_bgsave_in_progress"] == "0" && fields["rdb_last_bgsave_status"] == "err"
        }
        #expect(node.process.log.contains("killing a snapshot child that made no progress"))
        #expect(try client.command("PING") == .status("PONG"))
        #expect(try client.command("BGSAVE") == .status("Background saving started"))
        try await waitUntil("a new save succeeds", seconds: 20) {
            try Self.info(client, "persistence")["rdb_last_bgsave_status"] == "ok"
        }
    }

    /// Child processes of `pid`, from /proc.
    static func children(of pid: pid_t) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { candidate in
            guard let stat = try? String(contentsOfFile: "/proc/\(candidate)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && Int32(fields[1]) == pid
        }
    }
}
