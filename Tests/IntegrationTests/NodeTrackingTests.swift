import Foundation
import NIOCore
import Testing

/// Client-side caching (CLIENT TRACKING) of `shardgate node`, compared frame by frame with a real
/// redis-server running the same script.
@Suite(.serialized)
struct NodeTrackingTests {
    /// Sends one command and returns its raw reply frame.
    private static func send(_ client: RedisTestClient, _ arguments: String...) throws -> String {
        try send(client, arguments)
    }

    private static func send(_ client: RedisTestClient, _ arguments: [String]) throws -> String {
        try client.sendRaw(RedisTestClient.encode(arguments.map { Array($0.utf8) }))
        return String(buffer: try client.readFrame())
    }

    private static func next(_ client: RedisTestClient) throws -> String { String(buffer: try client.readFrame()) }

    @Test("RESP3 invalidations: after the reply, after EXEC, FLUSHALL's null, NOLOOP, OPTIN/OPTOUT with CACHING")
    func resp3Invalidations() async throws {
        guard let (redis, node) = try await both([], { port in
            let tracker = try RedisTestClient(port: port)
            let writer = try RedisTestClient(port: port)
            var log: [String] = []
            func t(_ arguments: String...) throws { log.append(try Self.send(tracker, arguments)) }
            log.append(try Self.send(tracker, "HELLO", "3").isEmpty ? "" : "hello")
            try t("CLIENT", "TRACKING", "on")
            _ = try writer.command("SET", "k1", "v")
            try t("GET", "k1")
            _ = try writer.command("SET", "k1", "w")
            log.append(try Self.next(tracker))
            // The client's own write: its reply first, then the invalidation.
            try t("HSET", "h", "f", "1")
            try t("HGET", "h", "f")
            try t("HDEL", "h", "f")
            log.append(try Self.next(tracker))
            // Inside a transaction: after EXEC's reply.
            try t("MSET", "a", "1", "b", "2")
            try t("GET", "a")
            try t("MULTI")
            try t("INCR", "a")
            try t("GET", "b")
            try t("EXEC")
            log.append(try Self.next(tracker))
            // A key read once is invalidated once.
            _ = try writer.command("SET", "a", "x")
            try t("GET", "b")
            _ = try writer.command("FLUSHALL")
            log.append(try Self.next(tracker))
            try t("PING")
            // NOLOOP: own writes are not reported, others' are.
            try t("CLIENT", "TRACKING", "on", "NOLOOP")
            try t("MGET", "x", "y")
            try t("SET", "x", "1")
            _ = try writer.command("SET", "y", "1")
            log.append(try Self.next(tracker))
            try t("CLIENT", "TRACKINGINFO")
            try t("CLIENT", "TRACKING", "off")
            // OPTIN: only reads after CACHING YES are tracked.
            try t("CLIENT", "TRACKING", "on", "OPTIN")
            try t("GET", "o1")
            try t("CLIENT", "CACHING", "yes")
            try t("CLIENT", "TRACKINGINFO")
            try t("GET", "o2")
            _ = try writer.command("MSET", "o1", "1", "o2", "2")
            log.append(try Self.next(tracker))
            try t("PING")
            try t("CLIENT", "TRACKING", "off")
            try t("CLIENT", "TRACKING", "on", "OPTOUT")
            try t("CLIENT", "CACHING", "no")
            try t("GET", "p1")
            try t("GET", "p2")
            _ = try writer.command("MSET", "p1", "1", "p2", "2")
            log.append(try Self.next(tracker))
            try t("PING")
            try t("CLIENT", "GETREDIR")
            try t("CLIENT", "TRACKING", "off")
            try t("CLIENT", "GETREDIR")
            try t("CLIENT", "TRACKINGINFO")
            return log
        }) else { return }
        #expect(node == redis)
    }

    @Test("Errors of CLIENT TRACKING and CLIENT CACHING")
    func errors() async throws {
        guard let (redis, node) = try await both([], { port in
            let client = try RedisTestClient(port: port)
            let commands: [[String]] = [
                ["CLIENT", "CACHING", "yes"], ["CLIENT", "TRACKING", "maybe"], ["CLIENT", "TRACKING", "on", "bogus"],
                ["CLIENT", "TRACKING", "on", "REDIRECT", "99999"], ["CLIENT", "TRACKING", "on", "REDIRECT", "x"],
                ["CLIENT", "TRACKING", "on", "PREFIX", "a"], ["CLIENT", "TRACKING", "on", "BCAST", "OPTIN"],
                ["CLIENT", "TRACKING", "on", "OPTIN", "OPTOUT"],
                ["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "FOOBAR", "PREFIX", "FOO"],
                ["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "FOO", "PREFIX", "BAR"],
                ["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "FO"], ["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "BARB"],
                ["CLIENT", "TRACKING", "on"], ["CLIENT", "CACHING", "yes"], ["CLIENT", "TRACKINGINFO"],
                ["CLIENT", "TRACKING", "off"], ["CLIENT", "TRACKING", "on", "OPTIN"], ["CLIENT", "TRACKING", "on", "OPTOUT"],
                ["CLIENT", "CACHING", "no"], ["CLIENT", "CACHING", "maybe"], ["CLIENT", "TRACKING", "on", "BCAST"],
                ["RESET"], ["CLIENT", "TRACKINGINFO"],
            ]
            return try commands.map { command in String(buffer: try client.rawFrames([command])[0]) }
        }) else { return }
        #expect(node == redis)
    }

    @Test("REDIRECT: pub/sub messages to a RESP2 subscriber, BCAST prefixes, expiry, broken redirect, INFO and CLIENT LIST")
    func redirectAndBroadcast() async throws {
        guard let (redis, node) = try await both([], { port in
            let receiver = try RedisTestClient(port: port)
            let tracker = try RedisTestClient(port: port)
            let writer = try RedisTestClient(port: port)
            var log: [String] = []
            guard case .integer(let receiverID) = try receiver.command("CLIENT", "ID") else { throw TestFailure("CLIENT ID") }
            log.append(try Self.send(receiver, "SUBSCRIBE", "__redis__:invalidate"))
            log.append(try Self.send(tracker, "CLIENT", "TRACKING", "on", "REDIRECT", "\(receiverID)"))
            _ = try Self.send(tracker, "GET", "k")
            _ = try writer.command("SET", "k", "1")
            log.append(try Self.next(receiver))
            _ = try Self.send(tracker, "MGET", "k", "m")
            log.append(try Self.send(tracker, "INFO", "stats").split(separator: "\r\n").filter { $0.hasPrefix("tracking_") }.joined(separator: ","))
            _ = try writer.command("FLUSHDB")
            log.append(try Self.next(receiver))
            // BCAST with two prefixes: a transaction's keys arrive as one message per prefix.
            _ = try Self.send(tracker, "CLIENT", "TRACKING", "off")
            log.append(try Self.send(tracker, "CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", "\(receiverID)", "PREFIX", "a:", "PREFIX", "b:"))
            _ = try writer.pipeline([["MULTI"], ["SET", "a:2", "1"], ["SET", "a:1", "1"], ["SET", "b:1", "1"], ["SET", "c:1", "1"], ["EXEC"]])
            log.append(try Self.next(receiver))
            log.append(try Self.next(receiver))
            // An expiring key (active expiry) reaches BCAST clients too.
            _ = try writer.command("SET", "a:exp", "1", "PX", "20")
            log.append(try Self.next(receiver))
            guard case .bulk(let list?) = try writer.command("CLIENT", "LIST") else { throw TestFailure("CLIENT LIST") }
            let tracked = String(decoding: list, as: UTF8.self).split(separator: "\n").filter { $0.contains(" flags=tB ") }
            log.append("\(tracked.count) " + (tracked.first?.contains(" redir=\(receiverID) ") == true ? "redir" : "no redir"))
            log.append(try Self.send(writer, "INFO", "clients").split(separator: "\r\n").filter { $0.hasPrefix("tracking_") }.joined())
            // The redirect client goes: a RESP3 tracker is told when its next invalidation cannot go.
            _ = try Self.send(tracker, "CLIENT", "TRACKING", "off")
            _ = try Self.send(tracker, "HELLO", "3")
            _ = try Self.send(tracker, "CLIENT", "TRACKING", "on", "REDIRECT", "\(receiverID)")
            _ = try Self.send(tracker, "GET", "z")
            receiver.disconnect()
            try await waitUntil("the redirect client is gone", seconds: 5) {
                guard case .bulk(let text?) = try writer.command("CLIENT", "LIST") else { return false }
                return !String(decoding: text, as: UTF8.self).contains("id=\(receiverID) ")
            }
            _ = try writer.command("SET", "z", "1")
            log.append(try Self.next(tracker).replacingOccurrences(of: ":\(receiverID)\r\n", with: ":ID\r\n"))
            let info = try Self.send(tracker, "CLIENT", "TRACKINGINFO")
            log.append(info.replacingOccurrences(of: ":\(receiverID)\r\n", with: ":ID\r\n"))
            return log
        }) else { return }
        #expect(node == redis)
    }

    @Test("tracking-table-max-keys: keys over the limit leave the table with an invalidation")
    func tableLimit() async throws {
        guard let (redis, node) = try await both([], { port in
            let tracker = try RedisTestClient(port: port)
            var log: [String] = []
            _ = try Self.send(tracker, "HELLO", "3")
            _ = try Self.send(tracker, "CLIENT", "TRACKING", "on")
            for index in 0..<150 { _ = try Self.send(tracker, "GET", "key\(index)") }
            log.append(try Self.send(tracker, "INFO", "stats").split(separator: "\r\n").filter { $0.hasPrefix("tracking_total_keys") }.joined())
            log.append(try Self.send(tracker, "CONFIG", "SET", "tracking-table-max-keys", "10"))
            // The invalidations come before the next command's reply or from cron: 140 in all.
            var invalidated = Set<String>()
            _ = try tracker.sendRaw(RedisTestClient.encode([Array("PING".utf8)]))
            var sawPong = false
            while invalidated.count < 140 || !sawPong {
                let frame = try Self.next(tracker)
                if frame.hasPrefix(">2\r\n$10\r\ninvalidate\r\n") { invalidated.insert(frame) } else { sawPong = sawPong || frame == "+PONG\r\n" }
            }
            log.append("\(invalidated.count)")
            log.append(try Self.send(tracker, "INFO", "stats").split(separator: "\r\n").filter { $0.hasPrefix("tracking_total_keys") }.joined())
            return log
        }) else { return }
        #expect(node == redis)
    }

    @Test("Scripts track their declared keys when they read, NOLOOP covers a script's writes, a served BLMOVE is answered before its invalidation, CLIENT REPLY OFF keeps pushes")
    func scriptsBlockingAndReplyOff() async throws {
        guard let (redis, node) = try await both([], { port in
            let tracker = try RedisTestClient(port: port)
            let writer = try RedisTestClient(port: port)
            var log: [String] = []
            func t(_ arguments: String...) throws { log.append(try Self.send(tracker, arguments)) }
            _ = try Self.send(tracker, "HELLO", "3")
            try t("CLIENT", "TRACKING", "on")
            // A script that only writes tracks nothing; one that reads tracks the keys it declared.
            try t("EVAL", "redis.call('set', 'k3', 'bar')", "2", "k1", "k2")
            _ = try writer.command("MSET", "k2", "1", "k1", "1")
            try t("EVAL", "redis.call('get', 'k3')", "2", "k1", "k2")
            _ = try writer.command("MSET", "k2", "2", "k1", "2", "k3", "2")
            log.append(try Self.next(tracker))
            log.append(try Self.next(tracker))
            try t("EVAL_RO", "redis.call('ping')", "1", "k1")
            _ = try writer.command("SET", "k1", "3")
            try t("PING")
            // NOLOOP: the script's own write is not reported to the client that ran it.
            try t("CLIENT", "TRACKING", "on", "NOLOOP")
            try t("GET", "n1")
            try t("EVAL", "return redis.call('set', KEYS[1], '2')", "1", "n1")
            try t("GET", "n1")
            try t("CLIENT", "TRACKING", "off")
            try t("CLIENT", "TRACKING", "on")
            // A blocked BLMOVE served by another client's push: its reply, then the invalidation.
            _ = try writer.command("RPUSH", "dst", "a")
            try t("LRANGE", "dst", "0", "-1")
            try tracker.sendRaw(RedisTestClient.encode(["BLMOVE", "src", "dst", "LEFT", "LEFT", "0"].map { Array($0.utf8) }))
            try await waitUntil("the tracker blocks", seconds: 5) {
                guard case .bulk(let text?) = try writer.command("INFO", "clients") else { return false }
                return String(decoding: text, as: UTF8.self).contains("blocked_clients:1")
            }
            _ = try writer.command("RPUSH", "src", "x")
            log.append(try Self.next(tracker))
            log.append(try Self.next(tracker))
            // CLIENT REPLY OFF silences replies, not invalidations.
            try t("GET", "r1")
            try tracker.sendRaw(RedisTestClient.encode(["CLIENT", "REPLY", "OFF"].map { Array($0.utf8) }))
            _ = try writer.command("SET", "r1", "1")
            log.append(try Self.next(tracker))
            try t("CLIENT", "REPLY", "ON")
            try t("PING")
            return log
        }) else { return }
        #expect(node == redis)
    }
}
