import Foundation
import Testing

/// Commands without keys through the proxy: with one group they go to it and answer as Redis does;
/// with several they are merged across groups (DBSIZE, KEYS, SCAN, FLUSHDB, SCRIPT …) or answered
/// by the keyless group (CONFIG GET, LASTSAVE, EVAL with no keys …).
@Suite(.serialized, .enabled(if: TestEnvironment.canRun("redis-server")))
struct ProxyKeylessTests {
    /// Through a one-group pool, keyless and admin commands answer exactly as redis-server does.
    @Test func oneGroupPoolAnswersAsRedis() async throws {
        let redis = try await RedisServer()
        defer { redis.stop() }
        let backend = try await RedisServer()
        defer { backend.stop() }
        let proxy = try await ProxyUnderTest(yaml: "pool:\n  listen: LISTEN\n  groups:\n    - name: a\n      master: \(backend.address)\n")
        let commands: [[String]] = [
            ["MSET", "a", "1", "b", "2", "c", "3"], ["DBSIZE"], ["KEYS", "*"], ["SCAN", "0", "COUNT", "100"], ["SCAN", "x"],
            ["CONFIG", "GET", "maxmemory-policy"], ["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"],
            ["CONFIG", "GET", "maxmemory-policy"], ["SCRIPT", "LOAD", "return 7"],
            ["SCRIPT", "EXISTS", "a3f84d5dc8de1c0b9ff6ac8f8d9c66a7e3c6f4a5", "x"], ["EVAL", "return 5", "0"],
            ["EVALSHA", "b6b36fdb1d2ab7a0c7a8c0e2da0d7d6b1c5e5c80", "0"], ["ROLE"], ["LOLWUT", "VERSION", "5", "1", "1", "1"],
            ["XADD", "s", "1-1", "f", "v"], ["XREAD", "COUNT", "1", "STREAMS", "s", "0"], ["PUBLISH", "ch", "m"],
            ["OBJECT", "HELP"], ["SORT", "nosuch"], ["FLUSHDB"], ["DBSIZE"], ["RANDOMKEY"],
        ]
        let expected = try redis.client().pipeline(commands)
        let actual = try proxy.client().pipeline(commands)
        for index in commands.indices {
            switch commands[index][0] {
            case "KEYS", "SCAN":
                // The order is the server's hash order: compare as sets.
                #expect(Self.keySet(actual[index]) == Self.keySet(expected[index]), "\(commands[index])")
            case "ROLE":
                #expect(Self.roleShape(actual[index]) == Self.roleShape(expected[index]))
            default:
                #expect(actual[index] == expected[index], "\(commands[index]): proxy \(actual[index]) vs redis \(expected[index])")
            }
        }
        await proxy.stop()
    }

    static func keySet(_ reply: Reply) -> Set<String> {
        switch reply {
        case .array(let items?):
            if items.count == 2, case .array = items[1] { return keySet(items[1]) }
            return Set(items.compactMap(\.string))
        default: return []
        }
    }

    /// ROLE without the replication offset (which differs between two servers).
    static func roleShape(_ reply: Reply) -> Reply {
        guard case .array(let items?) = reply, !items.isEmpty else { return reply }
        return .array([items[0]])
    }

    @Test func severalGroupsMergeKeylessCommands() async throws {
        let shards = try await ShardGroups(groups: 3)
        defer { shards.stop() }
        let proxy = try await ProxyUnderTest(yaml: "pool:\n  listen: LISTEN\n" + shards.groupsYAML())
        let client = try proxy.client()
        // Names unlike each other from the first byte (twemproxy's fnv1a_64 keeps similar names together).
        let keys = (0..<300).map { "\(String(UInt32(truncatingIfNeeded: $0 &* 2_654_435_761), radix: 16)):\($0)" }
        _ = try client.pipeline(keys.map { ["SET", $0, "v"] } + [["RPUSH", "a-list", "x"], ["SADD", "a-set", "m"]])
        let perGroup = try shards.masters.map { try $0.keys().count }
        #expect(perGroup.allSatisfy { $0 > 0 }, "keys spread over every group: \(perGroup)")
        let all = Set(keys + ["a-list", "a-set"])

        #expect(try client.command("DBSIZE") == .integer(all.count))
        #expect(Self.keySet(try client.command("KEYS", "*")) == all)
        #expect(Self.keySet(try client.command("KEYS", "*:1?")) == Set(keys.filter { $0.split(separator: ":")[1].count == 2 && $0.split(separator: ":")[1].hasPrefix("1") }))

        // A full SCAN returns every key, each step's cursor continuing the walk, and ends.
        func fullScan(_ options: [String]) throws -> [String] {
            var cursor = "0"
            var found: [String] = []
            var steps = 0
            repeat {
                let reply = try client.command(["SCAN", cursor] .map { Array($0.utf8) } + options.map { Array($0.utf8) })
                guard case .array(let parts?) = reply, parts.count == 2, let next = parts[0].string,
                    case .array(let batch?) = parts[1]
                else {
                    Issue.record("unexpected SCAN reply \(reply)")
                    return found
                }
                found += batch.compactMap(\.string)
                cursor = next
                steps += 1
            } while cursor != "0" && steps < 10_000
            #expect(cursor == "0", "the iteration ends")
            return found
        }
        #expect(Set(try fullScan(["COUNT", "7"])) == all)
        #expect(Set(try fullScan(["MATCH", "*:2*", "COUNT", "50"])) == Set(keys.filter { $0.split(separator: ":")[1].hasPrefix("2") }))
        #expect(try fullScan(["TYPE", "list"]) == ["a-list"])
        #expect(try client.command("SCAN", "nope") == .error("ERR invalid cursor"))

        guard case .bulk(let random?) = try client.command("RANDOMKEY") else {
            Issue.record("RANDOMKEY gave no key")
            return
        }
        #expect(all.contains(String(decoding: random, as: UTF8.self)))

        // Scripts: loaded on every master; EXISTS only where every group has it.
        guard case .bulk(let shaBytes?) = try client.command("SCRIPT", "LOAD", "return 'loaded'") else {
            Issue.record("SCRIPT LOAD gave no sha")
            return
        }
        let sha = String(decoding: shaBytes, as: UTF8.self)
        for master in shards.masters {
            #expect(try master.client().command("SCRIPT", "EXISTS", sha) == .array([.integer(1)]))
        }
        #expect(try client.command("EVALSHA", sha, "0") == .bulk("loaded"))
        let onlyOne = try shards.masters[1].client().command("SCRIPT", "LOAD", "return 'one'")
        #expect(try client.command("SCRIPT", "EXISTS", sha, onlyOne.string ?? "") == .array([.integer(1), .integer(0)]))
        #expect(try client.command("EVAL", "return 3", "0") == .integer(3))

        // The keyless group answers per-server questions; TIME is the proxy's clock.
        #expect(try client.command("CONFIG", "GET", "port") == shards.masters[0].client().command("CONFIG", "GET", "port"))
        #expect(try client.command("LASTSAVE").isError == false)
        guard case .array(let time?) = try client.command("TIME"), time.count == 2,
            let seconds = time[0].string.flatMap(Double.init), let micros = time[1].string.flatMap(Int.init)
        else {
            Issue.record("TIME gave no pair")
            return
        }
        #expect(abs(seconds - Date().timeIntervalSince1970) < 5 && (0..<1_000_000).contains(micros))
        // Per-server admin commands are refused with the reason when there are several groups.
        guard case .error(let text) = try client.command("CONFIG", "SET", "maxmemory", "1mb") else {
            Issue.record("CONFIG SET was not refused")
            return
        }
        #expect(text.hasPrefix("ERR shardgate: 'config|set' is not supported through the proxy: it is answered per server"))

        #expect(try client.command("FLUSHDB") == .status("OK"))
        #expect(try shards.masters.allSatisfy { try $0.keys().isEmpty })
        #expect(try client.command("DBSIZE") == .integer(0))
        #expect(try client.command("RANDOMKEY") == .bulk(nil))
        #expect(try client.command("SCRIPT", "FLUSH") == .status("OK"))
        #expect(try client.command("SCRIPT", "EXISTS", sha) == .array([.integer(0)]))
        await proxy.stop()
    }

    /// XREAD without BLOCK is a plain read on the shared connections; with BLOCK it runs on a
    /// connection leased to the client.
    @Test func xreadBlocksOnlyWithBlock() async throws {
        let shards = try await ShardGroups(groups: 2)
        defer { shards.stop() }
        let proxy = try await ProxyUnderTest(yaml: "pool:\n  listen: LISTEN\n" + shards.groupsYAML())
        let client = try proxy.client()
        #expect(try client.command("XADD", "stream", "1-1", "f", "v") == .bulk("1-1"))
        #expect(try client.command("XREAD", "COUNT", "5", "STREAMS", "stream", "0").isError == false)
        #expect(try client.command("XREAD", "STREAMS", "block", "0").isError == false, "a stream named 'block'")
        #expect(try client.command("XREAD", "BLOCK", "10", "STREAMS", "stream", "$") == .array(nil))
        #expect(try shards.masters.map { try $0.calls("xread") }.reduce(0, +) == 3)
        await proxy.stop()
    }

    /// INFO carries Redis's cluster and memory fields and the keyspace summed over the groups, so
    /// `redis-cli --stat` shows the pool's keys; COMMAND LIST names every command and subcommand.
    @Test func infoAndCommandListAnswerAsClientsExpect() async throws {
        let shards = try await ShardGroups(groups: 2)
        defer { shards.stop() }
        let redis = try await RedisServer()
        defer { redis.stop() }
        let proxy = try await ProxyUnderTest(yaml: "pool:\n  listen: LISTEN\n" + shards.groupsYAML())
        let client = try proxy.client()
        let keys = (0..<60).map { "\(String(UInt32(truncatingIfNeeded: $0 &* 2_654_435_761), radix: 16)):i" }
        _ = try client.pipeline(keys.map { ["SET", $0, "v"] } + [["EXPIRE", keys[0], "100"]])
        guard case .bulk(let bytes?) = try client.command("INFO") else {
            Issue.record("INFO gave no text")
            return
        }
        let info = String(decoding: bytes, as: UTF8.self)
        #expect(info.contains("cluster_enabled:0\r\n"))
        #expect(info.contains("db0:keys=60,expires=1,avg_ttl=0\r\n"), "\(info)")
        let used = info.split(separator: "\r\n").first { $0.hasPrefix("used_memory:") }.flatMap { Int($0.dropFirst("used_memory:".count)) }
        #expect((used ?? -1) > 0)
        if let cli = TestEnvironment.redisCli {
            let stat = try run("/usr/bin/timeout", ["-s", "KILL", "2", "stdbuf", "-oL", cli, "-p", "\(proxy.port)", "--stat", "-i", "0.2"], seconds: 10)
            let rows = stat.output.split(separator: "\n").filter { $0.hasPrefix("60 ") }
            #expect(!rows.isEmpty, "redis-cli --stat shows 60 keys: \(stat.output)")
            #expect(rows.allSatisfy { !$0.contains("-9223372036854775808") }, "and a sane memory figure: \(stat.output)")
        }
        let expected = try redis.client().command("COMMAND", "LIST")
        let actual = try client.command("COMMAND", "LIST")
        guard case .array(let want?) = expected, case .array(let got?) = actual else {
            Issue.record("COMMAND LIST is not an array")
            return
        }
        #expect(got.count == want.count && Set(got.compactMap(\.string)) == Set(want.compactMap(\.string)))
        #expect(Self.keySet(try client.command("COMMAND", "LIST", "FILTERBY", "PATTERN", "config*"))
            == Self.keySet(try redis.client().command("COMMAND", "LIST", "FILTERBY", "PATTERN", "config*")))
        await proxy.stop()
    }

    /// SELECT n through a two-group proxy: later requests (keyed, split, every-group) use database n,
    /// pipelined ones included, with Redis's errors for bad indexes.
    @Test func selectUsesAnotherDatabase() async throws {
        let shards = try await ShardGroups(groups: 2)
        defer { shards.stop() }
        let redis = try await RedisServer()
        defer { redis.stop() }
        let proxy = try await ProxyUnderTest(yaml: "pool:\n  listen: LISTEN\n" + shards.groupsYAML())
        let keys = (0..<20).map { "\(String(UInt32(truncatingIfNeeded: $0 &* 2_654_435_761), radix: 16)):db" }
        let commands: [[String]] = [
            ["SELECT", "3"], ["MSET"] + keys.flatMap { [$0, "three"] }, ["GET", keys[0]], ["DBSIZE"], ["SELECT", "0"],
            ["GET", keys[0]], ["DBSIZE"], ["SELECT", "16"], ["SELECT", "-1"], ["SELECT", "x"], ["SELECT", "3"],
            ["MGET", keys[1], keys[2]], ["FLUSHDB"], ["DBSIZE"], ["SELECT", "0"], ["SET", keys[0], "zero"], ["SELECT", "3"],
            ["GET", keys[0]],
        ]
        let expected = try redis.client().pipeline(commands)
        let actual = try proxy.client().pipeline(commands)
        for index in commands.indices {
            #expect(actual[index] == expected[index], "\(commands[index]): proxy \(actual[index]) vs redis \(expected[index])")
        }
        #expect(try proxy.client().command("GET", keys[0]) == .bulk("zero"), "a new client starts in the pool's database")
        await proxy.stop()
    }
}
