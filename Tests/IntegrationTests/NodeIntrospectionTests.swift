import Foundation
import Testing

/// Keyspace notifications, client controls, SLOWLOG, LATENCY and introspection of `shardgate node`,
/// compared with a real redis-server running the same script.
@Suite(.serialized)
struct NodeIntrospectionTests {
    private static func text(_ reply: Reply) -> String { "\(reply)" }

    /// Every command of the script, one per line: run by one client while another listens to every
    /// keyspace and keyevent channel.
    static let notificationScript: [[String]] = [
        // strings
        ["SET", "s", "1"], ["SET", "s", "2", "EX", "100"], ["SETNX", "s2", "x"], ["SETEX", "s3", "100", "v"],
        ["PSETEX", "s4", "100000", "v"], ["GETSET", "s", "3"], ["MSET", "m1", "a", "m2", "b"], ["MSETNX", "m3", "a"],
        ["INCR", "n"], ["DECRBY", "n", "5"], ["INCRBYFLOAT", "n", "1.5"], ["APPEND", "s2", "yz"],
        ["SETRANGE", "s2", "1", "Q"], ["GETEX", "s2", "EX", "50"], ["GETEX", "s2", "PERSIST"], ["GETDEL", "m3"],
        ["SETBIT", "b", "7", "1"], ["SETBIT", "b", "7", "1"], ["BITFIELD", "b", "SET", "u8", "8", "5"],
        ["BITOP", "OR", "b2", "b", "b"], ["BITOP", "AND", "b2", "missing"], ["PFADD", "h1", "a", "b"],
        ["PFADD", "h1", "a"], ["PFMERGE", "h2", "h1"],
        // generic
        ["EXPIRE", "s", "1000"], ["PERSIST", "s"], ["PEXPIREAT", "s4", "1"], ["RENAME", "m1", "m1b"],
        ["COPY", "m1b", "m1c"], ["COPY", "m1b", "m1c", "DB", "1"], ["MOVE", "m2", "2"], ["DEL", "m1b", "nokey", "m1c"],
        ["UNLINK", "s3"], ["SET", "fresh", "v", "GET"], ["SET", "fresh", "w", "GET"], ["GET", "nokey"], ["EXISTS", "nokey"], ["TYPE", "nokey"], ["TTL", "nokey"],
        // lists
        ["LPUSH", "l", "a", "b", "c"], ["RPUSH", "l", "d"], ["LPUSHX", "l", "e"], ["RPUSHX", "nolist", "e"],
        ["LINSERT", "l", "BEFORE", "a", "z"], ["LSET", "l", "0", "y"], ["LREM", "l", "1", "z"], ["LREM", "l", "1", "nothing"],
        ["LTRIM", "l", "0", "3"], ["LPOP", "l"], ["RPOP", "l", "1"], ["LMOVE", "l", "l2", "LEFT", "RIGHT"],
        ["RPOPLPUSH", "l", "l2"], ["LMPOP", "1", "l2", "LEFT", "COUNT", "5"], ["RPUSH", "l3", "x"], ["LTRIM", "l3", "1", "0"],
        ["SORT", "l", "STORE", "l4"], ["RPUSH", "l5", "3", "1", "2"], ["SORT", "l5", "STORE", "l6"],
        ["SORT", "nolist", "STORE", "l6"],
        // sets
        ["SADD", "st", "a", "b", "c"], ["SADD", "st", "a"], ["SREM", "st", "a"], ["SMOVE", "st", "st2", "b"],
        ["SMOVE", "st", "st2", "c"], ["SADD", "st3", "1", "2", "3", "4"], ["SPOP", "st3"], ["SPOP", "st3", "2"],
        ["SPOP", "st3", "5"], ["SADD", "st4", "x", "y"], ["SINTERSTORE", "st5", "st4", "st2"], ["SUNIONSTORE", "st5", "st4", "st2"],
        ["SDIFFSTORE", "st5", "st4", "st4"], ["SINTERSTORE", "st4", "st4", "nothing"],
        // hashes
        ["HSET", "h", "f", "1", "g", "2"], ["HSETNX", "h", "f", "3"], ["HSETNX", "h", "k", "3"], ["HMSET", "h", "f", "4"],
        ["HINCRBY", "h", "f", "2"], ["HINCRBYFLOAT", "h", "f", "0.5"], ["HDEL", "h", "f", "nofield"], ["HDEL", "h", "g", "k"],
        // sorted sets
        ["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"], ["ZADD", "z", "1", "a"], ["ZINCRBY", "z", "1", "a"],
        ["ZADD", "z", "INCR", "1", "a"], ["ZREM", "z", "a"], ["ZREMRANGEBYSCORE", "z", "0", "0"], ["ZREMRANGEBYRANK", "z", "0", "0"],
        ["ZADD", "z", "5", "e", "6", "f"], ["ZREMRANGEBYLEX", "z", "[e", "[e"], ["ZPOPMIN", "z"], ["ZPOPMAX", "z", "1"],
        ["ZADD", "z2", "1", "x", "2", "y"], ["ZUNIONSTORE", "z3", "2", "z", "z2"], ["ZINTERSTORE", "z4", "2", "z", "z2"],
        ["ZDIFFSTORE", "z5", "1", "z2"], ["ZRANGESTORE", "z6", "z2", "0", "0"], ["ZMPOP", "1", "z2", "MIN", "COUNT", "10"],
        ["ZRANGESTORE", "z6", "z2", "0", "-1"],
        // geo
        ["GEOADD", "g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"],
        ["GEOSEARCHSTORE", "g2", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "ASC"],
        ["GEORADIUS", "g", "15", "37", "200", "km", "STORE", "g3"], ["GEORADIUS", "g", "15", "37", "1", "km", "STORE", "g3"],
        // streams (explicit IDs, so that the replies compare too)
        ["XGROUP", "CREATE", "xs", "grp", "$", "MKSTREAM"], ["XGROUP", "CREATECONSUMER", "xs", "grp", "Bob"],
        ["XGROUP", "CREATECONSUMER", "xs", "grp", "Bob"], ["XADD", "xs", "1-1", "f", "A"],
        ["XREADGROUP", "GROUP", "grp", "Alice", "STREAMS", "xs", ">"], ["XCLAIM", "xs", "grp", "Mike", "0", "1-1", "FORCE", "JUSTID"],
        ["XGROUP", "DELCONSUMER", "xs", "grp", "Lee"], ["XAUTOCLAIM", "xs", "grp", "Bob", "0", "1-1", "JUSTID"],
        ["XGROUP", "DELCONSUMER", "xs", "grp", "Bob"], ["XADD", "xs", "MAXLEN", "1", "2-1", "f", "B"],
        ["XTRIM", "xs", "MAXLEN", "5"], ["XADD", "xs", "3-1", "f", "C"], ["XTRIM", "xs", "MAXLEN", "1"],
        ["XDEL", "xs", "3-1"], ["XDEL", "xs", "3-1"], ["XSETID", "xs", "10-1"], ["XGROUP", "SETID", "xs", "grp", "0"],
        ["XGROUP", "DESTROY", "xs", "grp"], ["XGROUP", "DESTROY", "xs", "grp"], ["XADD", "xs2", "NOMKSTREAM", "*", "f", "v"],
        // dump / restore
        ["SET", "d", "v"],
        // databases
        ["SELECT", "3"], ["SET", "in3", "x"], ["DEL", "in3"], ["SELECT", "0"],
    ]

    /// INFO errorstats, total_error_replies and commandstats' failed and rejected calls after
    /// errors of every origin: a command's reply, a refusal before it runs, a transaction, and
    /// scripts (an error counted where the script's command failed is not counted again when the
    /// script returns it, as Redis's "Consistent eval error reporting" test checks).
    @Test func errorStatsCountEveryErrorOnceAsRedisDoes() async throws {
        let script: [[String]] = [
            ["SET", "s", "1"], ["LPUSH", "s", "x"], ["NOSUCHCOMMAND"], ["GET"], ["INCR", "s", "extra"],
            ["MULTI"], ["SET", "a", "b"], ["LPUSH", "s", "y"], ["EXEC"],
            ["EVAL", "return redis.call('select', 99)", "0"],
            ["EVAL", "local t = redis.pcall('select', 99) return 1", "0"],
            ["EVAL", "return redis.pcall('lpush', 's', 'x')", "0"],
            ["EVAL", "return redis.error_reply('MY_ERR_CODE custom msg')", "0"],
            ["EVAL", "return redis.error_reply('')", "0"],
            ["EVAL_RO", "return redis.call('set', 'x', 'y')", "1", "x"],
            ["EVAL", "return nosuchglobal", "0"], ["EVAL", "return redis.status_reply('MY_OK')", "0"],
            ["XADD", "st", "1-1", "f", "v"], ["XREADGROUP", "GROUP", "nogroup", "c", "STREAMS", "st", ">"],
        ]
        let compared = try await both { port -> [String] in
            let client = try RedisTestClient(port: port)
            _ = try client.command("CONFIG", "RESETSTAT")
            for command in script { _ = try client.command(command.map { Array($0.utf8) }) }
            guard case .bulk(let errors?) = try client.command("INFO", "errorstats"),
                case .bulk(let stats?) = try client.command("INFO", "stats"),
                case .bulk(let commands?) = try client.command("INFO", "commandstats")
            else { return ["INFO failed"] }
            var lines = String(decoding: errors, as: UTF8.self).split(separator: "\r\n").map(String.init)
            lines += String(decoding: stats, as: UTF8.self).split(separator: "\r\n").filter { $0.hasPrefix("total_error_replies") }.map(String.init)
            // Per command: the failed and rejected counts (times differ; Redis lists commands in
            // its hash table's order, so they are sorted).
            var perCommand: [String] = []
            for line in String(decoding: commands, as: UTF8.self).split(separator: "\r\n") where line.hasPrefix("cmdstat_") {
                let name = line.prefix { $0 != ":" }
                let fields = line.split(separator: ",").filter { $0.hasPrefix("rejected_calls") || $0.hasPrefix("failed_calls") }
                perCommand.append("\(name) " + fields.joined(separator: ","))
            }
            return lines + perCommand.sorted()
        }
        guard let (redis, node) = compared else { return }
        #expect(node == redis)
        #expect(redis.contains("errorstat_MY_ERR_CODE:count=1"))
    }

    /// The notifications a subscriber to every channel receives for the script, with flags `flags`.
    private func notifications(port: Int, flags: String, script: [[String]]) throws -> [String] {
        let subscriber = try RedisTestClient(port: port)
        let client = try RedisTestClient(port: port)
        _ = try client.command("CONFIG", "SET", "notify-keyspace-events", flags)
        _ = try client.command("FLUSHALL")
        _ = try subscriber.command("PSUBSCRIBE", "*")
        var replies: [String] = []
        for command in script {
            let reply = Self.text(try client.command(command.map { Array($0.utf8) }))
            // SPOP's members are random: only its effects are compared.
            replies.append(command[0] == "SPOP" ? "SPOP" : reply)
        }
        _ = try client.command("PUBLISH", "end-of-script", "x")
        var received: [String] = []
        while true {
            let frame = try subscriber.readReply()
            let text = Self.text(frame)
            if text.contains("end-of-script") { break }
            received.append(text)
        }
        // The replies are part of the comparison: a script step that failed on one server only
        // would otherwise hide behind matching notifications.
        return received + ["--- replies"] + replies
    }

    @Test func keyspaceNotificationsMatchRedisForEveryFamily() async throws {
        guard let (redis, node) = try await both([], { port in
            try notifications(port: port, flags: "KEA", script: Self.notificationScript)
        }) else { return }
        #expect(redis.count > 100)
        #expect(node.count == redis.count)
        for (index, (got, want)) in zip(node, redis).enumerated() where got != want {
            Issue.record("notification \(index): node \(got), redis \(want)")
            break
        }
    }

    @Test(arguments: ["E", "K", "Kg", "E$", "El", "Es", "Eh", "Ez", "Et", "Kt", "En", "Em", "KEm", "Ag", "KE"])
    func notificationClassesFilterAsInRedis(flags: String) async throws {
        let script = Self.notificationScript
        guard let (redis, node) = try await both([], { port in try notifications(port: port, flags: flags, script: script) }) else {
            return
        }
        #expect(node == redis)
    }

    /// Served blocked pops publish their events when served, after the push that woke them.
    @Test func servedBlockedCommandsNotifyAsInRedis() async throws {
        guard let (redis, node) = try await both([], { port in
            let subscriber = try RedisTestClient(port: port)
            let client = try RedisTestClient(port: port)
            let popper = try RedisTestClient(port: port)
            let mover = try RedisTestClient(port: port)
            _ = try client.command("CONFIG", "SET", "notify-keyspace-events", "KEA")
            _ = try subscriber.command("PSUBSCRIBE", "*")
            try popper.sendRaw(RedisTestClient.encode([Array("BLPOP".utf8), Array("bl".utf8), Array("0".utf8)]))
            try mover.sendRaw(RedisTestClient.encode(["BLMOVE", "bm", "dst", "RIGHT", "LEFT", "0"].map { Array($0.utf8) }))
            try await waitUntil("two blocked clients") {
                guard case .bulk(let bytes?) = try client.command("INFO", "clients") else { return false }
                return String(decoding: bytes, as: UTF8.self).contains("blocked_clients:2\r\n")
            }
            _ = try client.command("RPUSH", "bl", "a")
            _ = try client.command("RPUSH", "bm", "x", "y")
            _ = try client.command("BZPOPMIN", "nothing", "0.01")
            _ = try client.command("PUBLISH", "end-of-script", "x")
            var received: [String] = [Self.text(try popper.readReply()), Self.text(try mover.readReply())]
            while true {
                let text = Self.text(try subscriber.readReply())
                if text.contains("end-of-script") { break }
                received.append(text)
            }
            return received
        }) else { return }
        #expect(node == redis)
        #expect(redis.count > 8)
    }

    @Test func notifyKeyspaceEventsConfigIsCanonical() async throws {
        let values = ["", "KEA", "AKE", "gK", "Ex$lshz", "KEg$lshzxetd", "KEAn", "Km", "KEAmn", "nE", "Q", "AKEQ"]
        guard let (redis, node) = try await both([], { port in
            let client = try RedisTestClient(port: port)
            var results: [String] = []
            for value in values {
                results.append(Self.text(try client.command("CONFIG", "SET", "notify-keyspace-events", value)))
                results.append(Self.text(try client.command("CONFIG", "GET", "notify-keyspace-events")))
            }
            return results
        }) else { return }
        #expect(node == redis)
    }

    @Test func expiredEventsArePublishedForLazyAndActiveExpiry() async throws {
        guard let (redis, node) = try await both([], { port in
            let subscriber = try RedisTestClient(port: port)
            let client = try RedisTestClient(port: port)
            _ = try client.command("CONFIG", "SET", "notify-keyspace-events", "KEx")
            _ = try subscriber.command("SUBSCRIBE", "__keyevent@0__:expired", "__keyevent@0__:evicted")
            _ = try subscriber.readReply()
            _ = try client.command("SET", "lazy", "1", "PX", "1")
            _ = try client.command("SET", "active", "1", "PX", "1")
            try await Task.sleep(for: .milliseconds(10))
            _ = try client.command("GET", "lazy")
            var received: Set<String> = []
            for _ in 0..<2 { received.insert(Self.text(try subscriber.readReply())) }
            return received
        }) else { return }
        #expect(node == redis)
        #expect(redis.count == 2)
    }

    // MARK: - Client controls

    @Test func clientReplyOnOffSkipMatchesRedis() async throws {
        guard let (redis, node) = try await both([], { port in
            let client = try RedisTestClient(port: port)
            let commands: [[String]] = [
                ["CLIENT", "REPLY", "OFF"], ["PING", "a"], ["SET", "k", "v"], ["GET", "nokey", "extra"], ["CLIENT", "REPLY", "ON"],
                ["PING", "b"], ["CLIENT", "REPLY", "SKIP"], ["PING", "c"], ["PING", "d"], ["CLIENT", "REPLY", "SKIP"],
                ["CLIENT", "REPLY", "ON"], ["PING", "e"], ["CLIENT", "REPLY", "MAYBE"], ["GET", "k"],
            ]
            var bytes: [UInt8] = []
            for command in commands { bytes += RedisTestClient.encode(command.map { Array($0.utf8) }) }
            try client.sendRaw(bytes)
            // Seven replies are due; the last (GET k) proves the silenced SET ran.
            return try (0..<7).map { _ in Self.text(try client.readReply()) }
        }) else { return }
        #expect(node == redis)
        #expect(redis.last == "\"v\"")
    }

    /// A standalone server's answers to cluster and module commands, and the HELP of containers
    /// whose subcommands are answered elsewhere.
    @Test func standaloneCommandsAnswerAsRedis() async throws {
        guard let (redis, node) = try await both([], { port in
            let client = try RedisTestClient(port: port)
            let commands: [[String]] = [
                ["CLUSTER", "INFO"], ["CLUSTER", "SLOTS"], ["CLUSTER", "KEYSLOT", "k"], ["READONLY"], ["READWRITE"], ["ASKING"],
                ["MODULE", "LIST"], ["CLIENT", "HELP"], ["COMMAND", "HELP"], ["CONFIG", "HELP"], ["OBJECT", "HELP"],
                ["PUBSUB", "HELP"], ["MODULE", "HELP"], ["CLUSTER", "NOSUCH"],
            ]
            return try commands.map { "\($0.joined(separator: " ")) -> \(try client.command($0.map { Array($0.utf8) }))" }
        }) else { return }
        #expect(node.count == redis.count)
        for (expected, actual) in zip(redis, node) { #expect(actual == expected) }
    }

    /// A silenced reply of megabytes is dropped whole, never sent in part.
    @Test func silencedLargeReplyIsDroppedWhole() async throws {
        guard let (redis, node) = try await both([], { port in
            let client = try RedisTestClient(port: port)
            let values = [String](repeating: String(repeating: "v", count: 1000), count: 3000)
            var log = [Self.text(try client.command((["RPUSH", "big"] + values).map { Array($0.utf8) }))]
            var bytes: [UInt8] = []
            for command in [["CLIENT", "REPLY", "OFF"], ["LRANGE", "big", "0", "-1"], ["CLIENT", "REPLY", "ON"], ["PING"]] {
                bytes += RedisTestClient.encode(command.map { Array($0.utf8) })
            }
            try client.sendRaw(bytes)
            log.append(Self.text(try client.readReply()))
            log.append(Self.text(try client.readReply()))
            return log
        }) else { return }
        #expect(node == redis)
        #expect(redis == [":3000", "+OK", "+PONG"])
    }

    @Test func clientPauseWriteHoldsWritesUntilUnpause() async throws {
        guard let (redis, node) = try await both([], { port in
            let admin = try RedisTestClient(port: port)
            let writer = try RedisTestClient(port: port)
            let reader = try RedisTestClient(port: port)
            var log: [String] = []
            log.append(Self.text(try admin.command("CLIENT", "PAUSE", "100000", "WRITE")))
            try writer.sendRaw(RedisTestClient.encode([Array("SET".utf8), Array("k".utf8), Array("v".utf8)]))
            try writer.sendRaw(RedisTestClient.encode([Array("GET".utf8), Array("k".utf8)]))
            try await waitUntil("the writer is paused") {
                guard case .bulk(let bytes?) = try admin.command("INFO", "clients") else { return false }
                return String(decoding: bytes, as: UTF8.self).contains("blocked_clients:1\r\n")
            }
            // Reads go on; the paused write has not happened.
            log.append(Self.text(try reader.command("GET", "k")))
            log.append(Self.text(try reader.command("PING")))
            log.append(Self.text(try admin.command("CLIENT", "PAUSE", "abc")))
            log.append(Self.text(try admin.command("CLIENT", "PAUSE", "-1")))
            log.append(Self.text(try admin.command("CLIENT", "PAUSE", "10", "SOME")))
            log.append(Self.text(try admin.command("CLIENT", "UNPAUSE")))
            log.append(Self.text(try writer.readReply()))
            log.append(Self.text(try writer.readReply()))
            return log
        }) else { return }
        #expect(node == redis)
        #expect(redis.last == "\"v\"")
    }

    /// RESET clears what the client set up: database, name, protocol, subscriptions, MULTI, WATCH,
    /// CLIENT REPLY; CLIENT INFO afterwards shows it.
    @Test func resetClearsClientStateAsInRedis() async throws {
        guard let (redis, node) = try await both([], { port in
            let client = try RedisTestClient(port: port)
            var bytes: [UInt8] = []
            let commands: [[String]] = [
                ["SELECT", "2"], ["CLIENT", "SETNAME", "before"], ["WATCH", "k"], ["MULTI"], ["SET", "k", "v"],
                ["SUBSCRIBE", "ch"], ["CLIENT", "REPLY", "OFF"], ["RESET"], ["CLIENT", "INFO"], ["EXEC"], ["GET", "k"],
            ]
            for command in commands { bytes += RedisTestClient.encode(command.map { Array($0.utf8) }) }
            try client.sendRaw(bytes)
            var replies: [String] = []
            for _ in 0..<commands.count {
                let reply = try client.readReply()
                guard case .bulk(let info?) = reply, String(decoding: info, as: UTF8.self).hasPrefix("id=") else {
                    replies.append(Self.text(reply))
                    continue
                }
                let keep: Set<String> = ["name", "flags", "db", "sub", "psub", "multi", "cmd", "resp"]
                replies.append(String(decoding: info, as: UTF8.self).split(separator: " ").filter { field in
                    keep.contains(String(field.split(separator: "=")[0]))
                }.joined(separator: " "))
            }
            return replies
        }) else { return }
        #expect(node == redis)
        #expect(redis.contains("+RESET"))
    }

    @Test func clientListFieldsMatchRedis() async throws {
        guard let (redis, node) = try await both([], { port in
            let client = try RedisTestClient(port: port)
            _ = try client.command("CLIENT", "SETNAME", "probe")
            _ = try client.command("CLIENT", "NO-EVICT", "on")
            var lines: [String] = []
            for command in [["CLIENT", "INFO"], ["CLIENT", "LIST"], ["CLIENT", "LIST", "ID", "1", "2"]] {
                guard case .bulk(let bytes?) = try client.command(command.map { Array($0.utf8) }) else {
                    lines.append("not bulk")
                    continue
                }
                // Field names and the values the node can know exactly (not the fd, memory figures, ports).
                let text = String(decoding: bytes, as: UTF8.self)
                for line in text.split(separator: "\n") {
                    lines.append(line.split(separator: " ").map { field in
                        let parts = field.split(separator: "=", maxSplits: 1)
                        let name = String(parts[0])
                        let exact: Set<String> = ["name", "flags", "db", "sub", "psub", "ssub", "multi", "qbuf", "cmd", "user", "redir", "resp", "argv-mem", "multi-mem"]
                        return exact.contains(name) ? String(field) : name
                    }.joined(separator: " "))
                }
            }
            for bad in [["CLIENT", "SETNAME", "a b"], ["CLIENT", "NO-EVICT", "maybe"], ["CLIENT", "KILL", "ID", "0"], ["CLIENT", "KILL", "TYPE", "x"]] {
                lines.append(Self.text(try client.command(bad.map { Array($0.utf8) })))
            }
            return lines
        }) else { return }
        #expect(node == redis)
    }

    // MARK: - SLOWLOG and LATENCY

    /// The slow log after a script: ids, arguments (trimmed, redacted) and client names; times and
    /// durations differ between servers and are left out.
    @Test func slowlogEntriesMatchRedis() async throws {
        guard let (redis, node) = try await both([], { port in
            let client = try RedisTestClient(port: port)
            _ = try client.command("CONFIG", "SET", "slowlog-log-slower-than", "0")
            _ = try client.command("CONFIG", "SET", "slowlog-max-len", "8")
            _ = try client.command("SLOWLOG", "RESET")
            _ = try client.command("CLIENT", "SETNAME", "slow")
            let members: [String] = (1...40).map { String($0) }
            _ = try client.command((["SADD", "set"] + members).map { Array($0.utf8) })
            _ = try client.command("SET", "big", String(repeating: "A", count: 200))
            _ = try client.command("CONFIG", "SET", "masterauth", "secret")
            _ = try client.command("AUTH", "nobody", "wrong")
            _ = try client.command("MULTI")
            _ = try client.command("INCR", "counter")
            _ = try client.command("EXEC")
            var log: [String] = []
            guard case .array(let entries?) = try client.command("SLOWLOG", "GET", "-1") else { return ["no array"] }
            for case .array(let fields?) in entries {
                log.append([fields[0], fields[3], fields[5]].map { Self.text($0) }.joined(separator: " | "))
            }
            log.append(Self.text(try client.command("SLOWLOG", "LEN")))
            log.append(Self.text(try client.command("SLOWLOG", "GET", "-2")))
            log.append(Self.text(try client.command("SLOWLOG", "GET", "1")).components(separatedBy: ",").count.description)
            return log
        }) else { return }
        #expect(node == redis)
        #expect(redis.count > 5)
    }

    @Test func latencyHistogramAndMonitorFormats() async throws {
        guard let (redis, node) = try await both(["--enable-debug-command", "yes"], { port in
            let client = try RedisTestClient(port: port)
            var log: [String] = []
            _ = try client.command("CONFIG", "SET", "latency-monitor-threshold", "50")
            _ = try client.command("CONFIG", "RESETSTAT")
            _ = try client.command("SET", "a", "b")
            _ = try client.command("CLIENT", "ID")
            _ = try client.command("DEBUG", "SLEEP", "0.06")
            // Which commands have data, and the shape of each entry (bucket values vary).
            guard case .array(let items?) = try client.command("LATENCY", "HISTOGRAM", "set", "client", "nosuch") else {
                return ["no array"]
            }
            log.append(items.enumerated().map { index, item in
                index % 2 == 0 ? Self.text(item) : (Self.text(item).hasPrefix("[\"calls\", :1, \"histogram_usec\", [") ? "ok" : Self.text(item))
            }.joined(separator: " "))
            guard case .array(let latest?) = try client.command("LATENCY", "LATEST"), case .array(let event?) = latest.first else {
                return log + ["no latest"]
            }
            log.append(Self.text(event[0]))
            // The graph's title line, numbers aside.
            let graph = Self.text(try client.command("LATENCY", "GRAPH", "command"))
            log.append(String(graph.prefix { $0 != "\n" }.filter { !$0.isNumber }))
            log.append(Self.text(try client.command("LATENCY", "HISTORY", "nosuch")))
            log.append(Self.text(try client.command("LATENCY", "RESET", "nosuch")))
            log.append(Self.text(try client.command("LATENCY", "RESET")))
            log.append(Self.text(try client.command("LATENCY", "LATEST")))
            log.append(Self.text(try client.command("LATENCY", "GRAPH", "command")))
            log.append(Self.text(try client.command("LATENCY", "GRAPH", "nosuch")))
            log.append(Self.text(try client.command("CONFIG", "GET", "latency-tracking-info-percentiles")))
            log.append(Self.text(try client.command("CONFIG", "SET", "latency-tracking-info-percentiles", "50 101")))
            guard case .bulk(let info?) = try client.command("INFO", "latencystats") else { return log + ["no info"] }
            // Redis lists the commands in its hash table's order.
            log.append(String(decoding: info, as: UTF8.self).split(separator: "\r\n").map { $0.split(separator: ":")[0] }.sorted().joined(separator: " "))
            return log
        }) else { return }
        #expect(node == redis)
    }

    // MARK: - Transactions

    /// EXEC is judged by its queue: a queued write is refused (EXECABORT) once min-replicas-to-write
    /// cannot be met, and nothing runs; a read-only queue still runs.
    @Test func execOfQueuedWritesIsRefusedWhenReplicasAreMissing() async throws {
        guard let (redis, node) = try await both([], { port in
            let client = try RedisTestClient(port: port)
            let admin = try RedisTestClient(port: port)
            var log: [String] = []
            for command in [["SET", "xx", "1"], ["MULTI"], ["INCR", "xx"]] { log.append(Self.text(try client.command(command.map { Array($0.utf8) }))) }
            log.append(Self.text(try admin.command("CONFIG", "SET", "min-replicas-to-write", "2")))
            for command in [["EXEC"], ["GET", "xx"], ["MULTI"], ["GET", "xx"], ["EXEC"]] {
                log.append(Self.text(try client.command(command.map { Array($0.utf8) })))
            }
            log.append(Self.text(try admin.command("CONFIG", "SET", "min-replicas-to-write", "0")))
            return log
        }) else { return }
        #expect(node == redis)
        #expect(redis.contains { $0.contains("EXECABORT") })
    }
}
