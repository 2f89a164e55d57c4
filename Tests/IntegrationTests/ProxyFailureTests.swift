import Foundation
import Testing

/// Dead and slow backends: only their group's requests fail, fast, with an error naming the group;
/// nothing hangs past `timeout`; keys are never moved to another group (fail-closed).
@Suite(.serialized, .enabled(if: TestEnvironment.canRun("redis-server")))
struct ProxyFailureTests {
    /// A key owned by each group, found through the masters themselves.
    static func keyPerGroup(_ client: RedisTestClient, _ shards: ShardGroups) throws -> [String] {
        var found: [Int: String] = [:]
        for candidate in keys(count: 200, prefix: "f:") where found.count < shards.masters.count {
            _ = try client.command("SET", candidate, "v")
            if let owner = try shards.owner(of: candidate), found[owner] == nil { found[owner] = candidate }
        }
        return (0..<shards.masters.count).map { found[$0]! }
    }

    @Test func deadGroupFailsFastAndAloneAndRecovers() async throws {
        let shards = try await ShardGroups(groups: 2)
        defer { shards.stop() }
        let proxy = try await ProxyUnderTest(yaml: "pool:\n  listen: LISTEN\n  timeout: 800\n" + shards.groupsYAML())
        let client = try proxy.client()
        let keys = try Self.keyPerGroup(client, shards)
        let deadPort = shards.masters[1].port
        shards.masters[1].stop()

        let clock = ContinuousClock()
        for attempt in 0..<20 {
            let started = clock.now
            let dead = try client.command("GET", keys[1])
            let elapsed = clock.now - started
            guard case .error(let text) = dead else {
                Issue.record("attempt \(attempt): a dead group answered \(dead)")
                break
            }
            #expect(text.hasPrefix("ERR shardgate: group 'g1' master 127.0.0.1:\(deadPort): "), "\(text)")
            #expect(elapsed < .milliseconds(800), "failed within the timeout (\(elapsed))")
            #expect(try client.command("GET", keys[0]) == .bulk("v"), "the other group keeps working")
        }
        // Split commands touching the dead group fail as a whole (no partial answer)...
        #expect(try client.command("MGET", keys[0], keys[1]).isError)
        // ...and the dead group's keys are never served by the other group.
        #expect(try shards.masters[0].client().command("EXISTS", keys[1]) == .integer(0))

        // The server comes back on the same port: the proxy reconnects by itself.
        let revived = try ManagedProcess(
            TestEnvironment.redisServer!, ["--port", "\(deadPort)", "--bind", "127.0.0.1", "--save", ""],
            name: "revived", directory: shards.masters[1].directory.path)
        defer { revived.stop() }
        try await waitUntil("group g1 back", seconds: 10) {
            try client.command("SET", keys[1], "again") == .status("OK")
        }
        #expect(try client.command("GET", keys[1]) == .bulk("again"))
        await proxy.stop()
    }

    @Test func slowBackendTimesOutWithoutStallingOthers() async throws {
        let shards = try await ShardGroups(groups: 2)
        defer { shards.stop() }
        let proxy = try await ProxyUnderTest(yaml: "pool:\n  listen: LISTEN\n  timeout: 300\n" + shards.groupsYAML())
        let setup = try proxy.client()
        let keys = try Self.keyPerGroup(setup, shards)
        shards.masters[1].process.signal(SIGSTOP)
        defer { shards.masters[1].process.signal(SIGCONT) }

        let clock = ContinuousClock()
        let slowClient = try proxy.client()
        let started = clock.now
        let reply = try slowClient.command("GET", keys[1])
        let elapsed = clock.now - started
        #expect(reply == .error("ERR shardgate: group 'g1' master \(shards.masters[1].address): timed out after 300 ms"))
        #expect(elapsed >= .milliseconds(250) && elapsed < .milliseconds(1000), "\(elapsed)")
        // A pipeline mixing groups: every reply arrives, in order, the slow group's as errors.
        let replies = try slowClient.pipeline([["GET", keys[0]], ["GET", keys[1]], ["GET", keys[0]]])
        #expect(replies[0] == .bulk("v") && replies[2] == .bulk("v"))
        #expect(replies[1].isError)

        shards.masters[1].process.signal(SIGCONT)
        try await waitUntil("g1 answers again", seconds: 10) {
            try slowClient.command("GET", keys[1]) == .bulk("v")
        }
        await proxy.stop()
    }

    /// twemproxy's auto_eject_hosts for cache pools: a dead server leaves the continuum after
    /// `server_failure_limit` failures and its keys rehash to the others; it returns after the retry time.
    @Test func autoEjectRehashesACachePoolAndReadmits() async throws {
        let shards = try await ShardGroups(groups: 3)
        defer { shards.stop() }
        let proxy = try await ProxyUnderTest(yaml: """
            pool:
              listen: LISTEN
              hash: murmur
              timeout: 500
              auto_eject_hosts: true
              server_failure_limit: 2
              server_retry_timeout: 1500
            """ + "\n" + shards.groupsYAML(), threads: 1)
        let client = try proxy.client()
        let keys = try Self.keyPerGroup(client, shards)
        let deadPort = shards.masters[2].port
        shards.masters[2].stop()
        #expect(try client.command("GET", keys[2]).isError, "first failure")
        try await waitUntil("group g2 ejected") { try client.command("SET", keys[2], "rehashed") == .status("OK") }
        let newOwner = try shards.masters[0..<2].firstIndex { try $0.client().command("GET", keys[2]) == .bulk("rehashed") }
        #expect(newOwner != nil, "the key now lives on a live group")
        #expect(try client.command("GET", keys[0]) == .bulk("v"), "other keys stay where they were")

        let revived = try ManagedProcess(
            TestEnvironment.redisServer!, ["--port", "\(deadPort)", "--bind", "127.0.0.1", "--save", ""],
            name: "revived", directory: shards.masters[2].directory.path)
        defer { revived.stop() }
        try await waitUntil("g2 readmitted", seconds: 10) {
            try client.command("SET", keys[2], "home") == .status("OK")
                && (try RedisTestClient(port: deadPort).command("GET", keys[2])) == .bulk("home")
        }
        await proxy.stop()
    }

    @Test func unreachableAddressFailsWithinTimeout() async throws {
        let port = try freePort()  // nothing listens here
        let proxy = try await ProxyUnderTest(yaml: """
            pool:
              listen: LISTEN
              timeout: 500
              groups:
                - name: nowhere
                  master: 127.0.0.1:\(port)
            """)
        let client = try proxy.client()
        let reply = try client.command("GET", "k")
        guard case .error(let text) = reply else {
            Issue.record("expected an error, got \(reply)")
            return
        }
        #expect(text.hasPrefix("ERR shardgate: group 'nowhere' master 127.0.0.1:\(port): cannot connect"), "\(text)")
        #expect(try client.command("PING") == .status("PONG"))
        await proxy.stop()
    }

    /// A backend that restarts serves the very next request (no failure remembered from while it was
    /// gone), and while it is gone the error names the cause in balanced words.
    @Test func backendThatComesBackServesTheNextRequest() async throws {
        let redis = try await RedisServer()
        let port = redis.port
        let directory = redis.directory
        let proxy = try await ProxyUnderTest(yaml: """
            pool:
              listen: LISTEN
              groups:
                - name: a
                  master: 127.0.0.1:\(port)
            """)
        let client = try proxy.client()
        #expect(try client.command("SET", "k", "v") == .status("OK"))
        redis.stop()
        try await waitUntil("redis gone") { (try? RedisTestClient(port: port)) == nil }
        _ = try client.command("GET", "k")  // may meet the closing connection
        #expect(try client.command("GET", "k")
            == .error("ERR shardgate: group 'a' master 127.0.0.1:\(port): cannot connect (Connection refused, errno 111)"))
        for round in 0..<3 {
            let revived = try ManagedProcess(
                TestEnvironment.redisServer!, ["--port", "\(port)", "--bind", "127.0.0.1", "--save", ""],
                name: "revived", directory: directory.path)
            try await waitUntil("redis back") { (try? RedisTestClient(port: port).command("PING")) == .status("PONG") }
            #expect(try client.command("SET", "k", "r\(round)") == .status("OK"), "round \(round)")
            revived.stop()
            try await waitUntil("redis gone") { (try? RedisTestClient(port: port)) == nil }
            _ = try client.command("GET", "k")
            #expect(try client.command("GET", "k").isError)
        }
        await proxy.stop()
    }
}
