import Foundation
import Testing

/// Pub/sub through a two-group proxy of real redis-servers: channels live in the group their name
/// hashes to, patterns in every group, the frames a subscriber sees are Redis's own, and the proxy
/// holds one subscriber connection per group per event loop however many clients subscribe.
@Suite(.serialized, .enabled(if: TestEnvironment.canRun("redis-server")))
struct ProxyPubSubTests {
    static func proxy(_ shards: ShardGroups, threads: Int = 2) async throws -> ProxyUnderTest {
        try await ProxyUnderTest(yaml: "pool:\n  listen: LISTEN\n" + shards.groupsYAML(), threads: threads)
    }

    /// Reads frames until `count` arrived (each bounded by the client's socket timeout).
    static func frames(_ client: RedisTestClient, _ count: Int) throws -> [String] {
        try (0..<count).map { _ in String(buffer: try client.readFrame()) }
    }

    /// Channel names that land in different groups, so both subscriber connections are used.
    static let channels = (0..<12).map { "\(String(UInt32(truncatingIfNeeded: $0 &* 2_654_435_761), radix: 16)):ch" }

    @Test func subscribersGetRedisFramesAcrossGroups() async throws {
        let shards = try await ShardGroups(groups: 2)
        defer { shards.stop() }
        let redis = try await RedisServer()
        defer { redis.stop() }
        let proxy = try await Self.proxy(shards)
        // The same script against redis directly and through the proxy; frames compared byte for byte.
        func script(port: Int) throws -> [String] {
            let subscriber = try RedisTestClient(port: port, timeoutSeconds: 5)
            let publisher = try RedisTestClient(port: port, timeoutSeconds: 5)
            var seen = try subscriber.rawPipeline([["SUBSCRIBE"] + Self.channels, ["PSUBSCRIBE", "news.*", "*:ch"]])
            seen += try Self.frames(subscriber, Self.channels.count)  // 12 + 2 confirmations, 2 read above
            for (index, channel) in Self.channels.enumerated() {
                _ = try publisher.command("PUBLISH", channel, "m\(index)")
                seen += try Self.frames(subscriber, 2)  // the message, and the pattern's pmessage
            }
            _ = try publisher.command("PUBLISH", "news.today", "hello")
            seen += try Self.frames(subscriber, 1)
            // Subscribed RESP2 rules: only (un)subscribe, PING, QUIT, RESET.
            seen += try subscriber.rawPipeline([["GET", "k"], ["PING"], ["PING", "x"], ["CONFIG", "GET", "port"]])
            seen += try subscriber.rawPipeline([["UNSUBSCRIBE", Self.channels[0], "never-subscribed"]])
            seen += try Self.frames(subscriber, 1)
            seen += try subscriber.rawPipeline([["PUNSUBSCRIBE"]])
            seen += try Self.frames(subscriber, 1)
            seen += try subscriber.rawPipeline([["UNSUBSCRIBE"]])
            seen += try Self.frames(subscriber, Self.channels.count - 2)
            seen += try subscriber.rawPipeline([["UNSUBSCRIBE"], ["PING"], ["SET", "after", "1"]])
            return seen
        }
        let expected = try script(port: redis.port)
        let actual = try script(port: proxy.port)
        #expect(actual.count == expected.count)
        // Redis orders an UNSUBSCRIBE-all by its hash table; compare that stretch as a set.
        let unordered = (expected.count - 3 - (Self.channels.count - 1))..<(expected.count - 3)
        for index in expected.indices where !unordered.contains(index) {
            #expect(actual[index] == expected[index], "frame \(index)")
        }
        // Which channel comes with which remaining count follows that order too: compare the channels and
        // the counts apart.
        func channelsAndCounts(_ frames: ArraySlice<String>) -> (Set<String>, [String]) {
            (Set(frames.map { $0.split(separator: "\r\n").dropLast().joined() }),
             frames.map { String($0.split(separator: "\r\n").last ?? "") })
        }
        #expect(channelsAndCounts(actual[unordered]) == channelsAndCounts(expected[unordered]))
        await proxy.stop()
    }

    /// RESP3 clients get messages as pushes and may keep running commands.
    @Test func resp3SubscribersGetPushesAndRunCommands() async throws {
        let shards = try await ShardGroups(groups: 2)
        defer { shards.stop() }
        let redis = try await RedisServer()
        defer { redis.stop() }
        let proxy = try await Self.proxy(shards)
        func script(port: Int) throws -> [String] {
            let subscriber = try RedisTestClient(port: port, timeoutSeconds: 5)
            _ = try subscriber.rawPipeline([["HELLO", "3"]])
            var seen = try subscriber.rawPipeline([["SUBSCRIBE", "alpha", "beta"]])
            seen += try Self.frames(subscriber, 1)
            seen += try subscriber.rawPipeline([["SET", "k", "v"], ["GET", "k"], ["PING"]])
            _ = try RedisTestClient(port: port).command("PUBLISH", "beta", "payload")
            seen += try Self.frames(subscriber, 1)
            seen += try subscriber.rawPipeline([["UNSUBSCRIBE", "alpha"], ["GET", "k"]])
            return seen
        }
        #expect(try script(port: proxy.port) == script(port: redis.port))
        await proxy.stop()
    }

    /// Many clients on a few channels cost the backends one connection per group per event loop,
    /// and every client gets every message, in order.
    @Test func subscriptionsAreMultiplexed() async throws {
        let shards = try await ShardGroups(groups: 2)
        defer { shards.stop() }
        let proxy = try await Self.proxy(shards, threads: 2)
        let subscribers = try (0..<100).map { _ in try proxy.client() }
        for (index, subscriber) in subscribers.enumerated() {
            let channel = Self.channels[index % 4]
            #expect(try subscriber.command("SUBSCRIBE", channel) == .array([.bulk("subscribe"), .bulk(channel), .integer(1)]))
        }
        var backendSubscribers = 0
        for master in shards.masters {
            guard case .array(let pairs?) = try master.client().command((["PUBSUB", "NUMSUB"] + Self.channels[0..<4]).map { Array($0.utf8) })
            else { continue }
            backendSubscribers += stride(from: 1, to: pairs.count, by: 2).reduce(0) { sum, index in
                if case .integer(let count) = pairs[index] { return sum + count }
                return sum
            }
        }
        #expect(backendSubscribers <= 4 * 2, "at most one connection per channel per event loop: \(backendSubscribers)")
        let publisher = try proxy.client()
        for round in 0..<50 {
            for channel in Self.channels[0..<4] { _ = try publisher.command("PUBLISH", channel, "\(round)") }
        }
        for (index, subscriber) in subscribers.enumerated() {
            let channel = Self.channels[index % 4]
            let received = try (0..<50).map { _ in try subscriber.readReply() }
            #expect(received == (0..<50).map { .array([.bulk("message"), .bulk(channel), .bulk("\($0)")]) }, "subscriber \(index)")
        }
        await proxy.stop()
    }

    /// A backend that restarts is subscribed to again by the proxy; the client sees no error and
    /// gets what is published after the restart.
    @Test func resubscribesAfterTheBackendRestarts() async throws {
        let shards = try await ShardGroups(groups: 1)
        let port = shards.masters[0].port
        let directory = shards.masters[0].directory
        let proxy = try await Self.proxy(shards, threads: 1)
        let subscriber = try proxy.client()
        #expect(try subscriber.command("SUBSCRIBE", "events") == .array([.bulk("subscribe"), .bulk("events"), .integer(1)]))
        shards.stop()
        try await waitUntil("redis gone") { (try? RedisTestClient(port: port)) == nil }
        let revived = try ManagedProcess(
            TestEnvironment.redisServer!, ["--port", "\(port)", "--bind", "127.0.0.1", "--save", ""],
            name: "revived", directory: directory.path)
        defer { revived.stop() }
        try await waitUntil("resubscribed", seconds: 10) {
            try RedisTestClient(port: port).command("PUBSUB", "NUMSUB", "events") == .array([.bulk("events"), .integer(1)])
        }
        _ = try proxy.client().command("PUBLISH", "events", "after")
        #expect(try subscriber.readReply() == .array([.bulk("message"), .bulk("events"), .bulk("after")]))
        await proxy.stop()
    }

    /// redis-py's PubSub over the proxy, RESP2 and RESP3: channels in both groups and a pattern.
    @Test(.enabled(if: TestEnvironment.isCI || TestEnvironment.hasRedisPy), arguments: ["2", "3"])
    func redisPyPubSub(protocolVersion: String) async throws {
        let shards = try await ShardGroups(groups: 2)
        defer { shards.stop() }
        let proxy = try await Self.proxy(shards)
        let python = try #require(TestEnvironment.python)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Clients/redis_py_pubsub.py").path
        let result = try run(python, [script, "\(proxy.port)", protocolVersion], seconds: 60)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("received 80"), "\(result.output)")
        await proxy.stop()
    }
}
