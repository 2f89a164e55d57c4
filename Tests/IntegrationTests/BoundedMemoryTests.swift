import Foundation
import Testing

/// Memory stays bounded: a client that pipelines without reading its replies is disconnected at the
/// node's `client-output-buffer-limit` as redis-server does, and paused or disconnected by the proxy
/// without holding up the other clients of its group; a large request is held once, never copied.
@Suite(.serialized, .enabled(if: TestEnvironment.canRun("redis-server")))
struct BoundedMemoryTests {
    /// A client that sends `GET big` as fast as the server takes it and never reads. Its receive
    /// buffer is kept small so the server's replies back up quickly.
    final class Flood {
        let fd: Int32

        init(port: Int) throws {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var small: Int32 = 16 * 1024
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(port).bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard connected == 0 else { throw TestFailure("cannot connect to 127.0.0.1:\(port)") }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }

        deinit { close(fd) }

        /// Sends `requests` pipelined for up to `seconds`, stopping early when the server closes the
        /// connection; returns true if it did.
        func run(_ requests: [UInt8], seconds: Double) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            var offset = 0
            while Date() < deadline {
                let written = requests[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if written > 0 {
                    offset = (offset + written) % requests.count
                } else if written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                    if isClosedByServer() { return true }
                    usleep(5_000)
                } else {
                    return true
                }
            }
            return isClosedByServer()
        }

        /// The server closed its side (FIN or RST), even though unread replies wait in our buffer.
        func isClosedByServer() -> Bool {
            var info = tcp_info()
            var length = socklen_t(MemoryLayout<tcp_info>.size)
            guard getsockopt(fd, Int32(IPPROTO_TCP), TCP_INFO, &info, &length) == 0 else { return true }
            // TCP_CLOSE_WAIT (8) after a FIN, TCP_CLOSE (7) after a reset.
            return info.tcpi_state == 8 || info.tcpi_state == 7
        }
    }

    static func getBig(count: Int = 64) -> [UInt8] {
        Array(repeating: RedisTestClient.encode([Array("GET".utf8), Array("big".utf8)]), count: count).flatMap { $0 }
    }

    static func field(_ name: String, in reply: Reply) -> String? {
        guard case .bulk(let bytes?) = reply else { return nil }
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\r\n") where line.hasPrefix(name + ":") {
            return String(line.dropFirst(name.count + 1))
        }
        return nil
    }

    /// `VmHWM` or `VmRSS` of `pid`, in bytes.
    static func memory(_ pid: pid_t, _ field: String) -> Int {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            return (Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0) * 1024
        }
        return 0
    }

    // MARK: - Node

    @Test func nodeDisconnectsANonReadingClientAtTheHardLimitLikeRedis() async throws {
        let limit = ["--client-output-buffer-limit", "normal 1mb 0 0"]
        let redis = try await RedisServer(limit)
        defer { redis.stop() }
        let node = try await startNode(limit)
        defer { node.stop() }
        for server in [redis, node] {
            let setup = try server.client()
            #expect(try setup.command("SET", "big", String(repeating: "v", count: 100_000)) == .status("OK"))
            let flood = try Flood(port: server.port)
            #expect(flood.run(Self.getBig(), seconds: 10), "\(server.kind): the non-reading client is disconnected")
            #expect(try setup.command("GET", "small") == .bulk(nil), "\(server.kind): other clients are served")
            #expect(
                try setup.command("CONFIG", "GET", "client-output-buffer-limit")
                    == .array([.bulk("client-output-buffer-limit"),
                               .bulk("normal 1048576 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60")]))
        }
    }

    @Test func nodeSoftLimitDisconnectsOnlyAfterItsSecondsLikeRedis() async throws {
        let limit = ["--client-output-buffer-limit", "normal 0 256kb 1"]
        let redis = try await RedisServer(limit)
        defer { redis.stop() }
        let node = try await startNode(limit)
        defer { node.stop() }
        for server in [redis, node] {
            _ = try server.client().command("SET", "big", String(repeating: "v", count: 100_000))
            let flood = try Flood(port: server.port)
            let started = Date()
            #expect(flood.run(Self.getBig(count: 1), seconds: 10), "\(server.kind): disconnected at the soft limit")
            let elapsed = Date().timeIntervalSince(started)
            #expect(elapsed >= 1 && elapsed < 8, "\(server.kind): after the soft seconds (\(elapsed) s)")
        }
    }

    @Test func nodeDisconnectsASubscriberThatDoesNotReadAtThePubsubLimitLikeRedis() async throws {
        let limit = ["--client-output-buffer-limit", "pubsub 256kb 0 0"]
        let redis = try await RedisServer(limit)
        defer { redis.stop() }
        let node = try await startNode(limit)
        defer { node.stop() }
        let message = String(repeating: "m", count: 50_000)
        for server in [redis, node] {
            let subscriber = try Flood(port: server.port)
            let subscribe = RedisTestClient.encode([Array("SUBSCRIBE".utf8), Array("news".utf8)])
            #expect(subscribe.withUnsafeBytes { send(subscriber.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == subscribe.count)
            let publisher = try server.client()
            try await waitUntil("\(server.kind): subscribed") {
                try publisher.command("PUBSUB", "NUMSUB", "news") == .array([.bulk("news"), .integer(1)])
            }
            // A closed subscriber no longer counts as a receiver (its FIN waits behind the unread data).
            var published = 0
            var receivers = 1
            while published < 400, receivers > 0 {
                guard case .integer(let count) = try publisher.command("PUBLISH", "news", message) else { break }
                receivers = count
                published += 1
            }
            #expect(receivers == 0, "\(server.kind): the subscriber is disconnected")
            #expect(published > 2, "\(server.kind): not before its replies pass the limit (\(published))")
        }
    }

    /// `normal 0 0 0` (the default) sets no limit: every reply is kept for the client (as Redis does).
    @Test func nodeKeepsEveryReplyWithoutLimitsLikeRedis() async throws {
        let both = try await RedisAndNode()
        defer { both.stop() }
        for server in [both.redis, both.node] {
            let client = try server.client()
            #expect(try client.command("CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 0 0") == .status("OK"))
            #expect(try client.command("CONFIG", "SET", "client-output-buffer-limit", "normal 0 0 0") == .status("OK"))
            _ = try client.command("SET", "big", String(repeating: "v", count: 100_000))
            try client.sendRaw(Self.getBig(count: 300))
            try await Task.sleep(for: .milliseconds(500))
            for index in 0..<300 {
                guard case .bulk(let value?) = try client.readReply(), value.count == 100_000 else {
                    Issue.record("\(server.kind): reply \(index) lost")
                    break
                }
            }
        }
    }

    @Test func nodeConfigSetClientOutputBufferLimitAnswersAsRedis() async throws {
        let both = try await RedisAndNode()
        defer { both.stop() }
        let redis = try both.redis.client()
        let node = try both.node.client()
        for value in [
            "wrong number", "invalid_class 10mb 10mb 60", "master 10mb 10mb 60", "normal 10mbs 10mb 60",
            "normal 10mb 10mb 6x", "normal 10mb 10mb -1", "pubsub 1mb 512kb 10", "replica 1gb 2k 5 normal 10mb 5m 10",
            "",
        ] {
            let expected = try redis.command("CONFIG", "SET", "client-output-buffer-limit", value)
            #expect(try node.command("CONFIG", "SET", "client-output-buffer-limit", value) == expected, "\(value)")
            let current = try redis.command("CONFIG", "GET", "client-output-buffer-limit")
            #expect(try node.command("CONFIG", "GET", "client-output-buffer-limit") == current, "after \(value)")
        }
    }

    // MARK: - Proxy

    /// One event loop, so the flooding client and the other client share the backend connection.
    static func proxy(_ redis: RedisServer, limit: String?) async throws -> ProxyUnderTest {
        let option = limit.map { "  client_output_buffer_limit: \($0)\n" } ?? ""
        return try await ProxyUnderTest(
            yaml: "pool:\n  listen: LISTEN\n  timeout: 5000\n\(option)  groups:\n    - name: a\n      master: \(redis.address)\n",
            threads: 1)
    }

    @Test func proxyDisconnectsANonReadingClientAtItsLimitAndServesTheGroup() async throws {
        let redis = try await RedisServer()
        defer { redis.stop() }
        _ = try redis.client().command("SET", "big", String(repeating: "v", count: 200_000))
        let proxy = try await Self.proxy(redis, limit: "2mb")
        let other = try proxy.client()
        #expect(try other.command("SET", "small", "s") == .status("OK"))
        let flood = try Flood(port: proxy.port)
        let flooding = Task.detached { flood.run(Self.getBig(), seconds: 10) }
        let clock = ContinuousClock()
        var slowest = Duration.zero
        for _ in 0..<20 {
            let started = clock.now
            #expect(try other.command("GET", "small") == .bulk("s"))
            slowest = max(slowest, clock.now - started)
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(await flooding.value, "the non-reading client is disconnected")
        #expect(slowest < .seconds(1), "the group's other client is answered promptly (slowest \(slowest))")
        #expect(Self.field("client_output_buffer_limit_disconnections", in: try other.command("INFO")) == "1")
        // The backend never had to build more than a bounded window of replies for it.
        let gets = try redis.calls("get")
        #expect(gets < 1_000, "\(gets) GETs reached the backend")
        await proxy.stop()
    }

    @Test func proxyPausesANonReadingClientWithoutFloodingTheBackend() async throws {
        let redis = try await RedisServer()
        defer { redis.stop() }
        _ = try redis.client().command("SET", "big", String(repeating: "v", count: 200_000))
        let proxy = try await Self.proxy(redis, limit: nil)
        let other = try proxy.client()
        #expect(try other.command("SET", "small", "s") == .status("OK"))
        let flood = try Flood(port: proxy.port)
        #expect(!flood.run(Self.getBig(), seconds: 2), "under the default limit the client is only paused")
        let clock = ContinuousClock()
        let started = clock.now
        #expect(try other.command("GET", "small") == .bulk("s"))
        #expect(clock.now - started < .seconds(1), "the group's other client is answered promptly")
        let gets = try redis.calls("get")
        #expect(gets < 1_000, "\(gets) GETs reached the backend for a client that reads nothing")
        await proxy.stop()
    }

    // MARK: - Large requests

    /// One 64 MB SET, the first request of its connection: peak RSS grows by the request once, not twice.
    static func largeSetPeak(port: Int, pid: pid_t) throws -> Double {
        let size = 64 << 20
        let client = try RedisTestClient(port: port, timeoutSeconds: 60)
        #expect(try client.command("PING") == .status("PONG"))
        let baseline = memory(pid, "VmRSS")
        try client.sendRaw(Array("*3\r\n$3\r\nSET\r\n$5\r\nlarge\r\n$\(size)\r\n".utf8))
        let chunk = [UInt8](repeating: UInt8(ascii: "y"), count: 1 << 20)
        for _ in 0..<(size >> 20) { try client.sendRaw(chunk) }
        try client.sendRaw([13, 10])
        #expect(try client.readReply() == .status("OK"))
        return Double(memory(pid, "VmHWM") - baseline) / Double(size)
    }

    @Test func proxyHoldsALargeRequestOnce() async throws {
        let redis = try await RedisServer()
        defer { redis.stop() }
        let directory = try TemporaryDirectory()
        let port = try freePort()
        let config = "\(directory.path)/proxy.yml"
        try "main:\n  listen: 127.0.0.1:\(port)\n  timeout: 30000\n  groups:\n    - name: a\n      master: \(redis.address)\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let proxy = try ManagedProcess(CLITests.binary, ["proxy", "-c", config], name: "proxy", directory: directory.path)
        defer { proxy.stop() }
        try await waitUntil("proxy listening") {
            (try? RedisTestClient(port: port, timeoutSeconds: 1).command("PING")) == .status("PONG")
        }
        let ratio = try Self.largeSetPeak(port: port, pid: proxy.pid)
        #expect(ratio < 1.3, "proxy peak RSS grew by \(ratio)x the request")
        #expect(try redis.client().command("STRLEN", "large") == .integer(64 << 20))
        // Pipelines of large writes fill the backend's socket: clients wait and resume, none stalls.
        let value = String(repeating: "w", count: 100_000)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for clientIndex in 0..<3 {
                group.addTask {
                    let client = try RedisTestClient(port: port, timeoutSeconds: 10)
                    for (round, depth) in [16, 16, 200, 4, 16].enumerated() {
                        let replies = try client.pipeline((0..<depth).map { ["SET", "w\(clientIndex):\(round):\($0)", value] })
                        #expect(replies.count == depth && replies.allSatisfy { $0 == .status("OK") })
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try redis.client().command("STRLEN", "w2:4:15") == .integer(100_000))
    }

    @Test func nodeHoldsALargeRequestOnce() async throws {
        let node = try await startNode()
        defer { node.stop() }
        let ratio = try Self.largeSetPeak(port: node.port, pid: node.process.pid)
        // The value is collected into an array of its size as it arrives, and SET stores that array.
        #expect(ratio < 1.3, "node peak RSS grew by \(ratio)x the request")
    }

    /// Values past the node's big-argument threshold, stored by the commands that keep the argument
    /// apart (SET, SET .. EX, SETEX, PSETEX, SETNX, GETSET, APPEND, MSET, MSETNX) and inside MULTI
    /// (which gets the whole request), come back byte for byte: from GET, after APPEND/SETRANGE, from a replica fed
    /// live and one synced afterwards, and after restarts from the rewritten AOF and from an RDB.
    @Test func nodeKeepsBigValuesByteForByte() async throws {
        let master = try await startNode(["--appendonly", "yes"])
        defer { master.stop() }
        let live = try await startNode(["--replicaof", "127.0.0.1", "\(master.port)"])
        defer { live.stop() }
        try await NodeReplicationTests.waitForLink(live.port)
        let size = 64 << 20
        var value: [UInt8] = []
        value.reserveCapacity(size)
        let block = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }
        for round in 0..<(size >> 20) { value += block.map { $0 &+ UInt8(round) } }
        let medium = Array(value[0..<100_000])
        let client = try RedisTestClient(port: master.port, timeoutSeconds: 60)
        func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
        #expect(try client.command([bytes("SET"), bytes("big"), value]) == .status("OK"))
        #expect(try client.command([bytes("SET"), bytes("ex"), medium, bytes("EX"), bytes("1000")]) == .status("OK"))
        #expect(try client.command([bytes("SETEX"), bytes("setex"), bytes("1000"), medium]) == .status("OK"))
        #expect(try client.command([bytes("SETNX"), bytes("setnx"), medium]) == .integer(1))
        #expect(try client.command([bytes("GETSET"), bytes("setnx"), value]) == .bulk(medium))
        #expect(try client.command("MULTI") == .status("OK"))
        #expect(try client.command([bytes("SET"), bytes("multi"), medium]) == .status("QUEUED"))
        #expect(try client.command("EXEC") == .array([.status("OK")]))
        #expect(try client.command([bytes("APPEND"), bytes("appended"), medium]) == .integer(100_000))
        #expect(try client.command([bytes("APPEND"), bytes("appended"), medium]) == .integer(200_000))
        #expect(try client.command([bytes("MSET"), bytes("m1"), medium, bytes("m2"), bytes("x")]) == .status("OK"))
        #expect(try client.command([bytes("MSETNX"), bytes("m3"), bytes("x"), bytes("m4"), medium]) == .integer(1))
        #expect(try client.command([bytes("PSETEX"), bytes("psetex"), bytes("1000000"), medium]) == .status("OK"))
        // Big arguments elsewhere: the command gets the whole request.
        let longKey = Array(repeating: UInt8(ascii: "k"), count: 40_000)
        #expect(try client.command([bytes("SET"), longKey, bytes("v")]) == .status("OK"))
        #expect(try client.command([bytes("GET"), longKey]) == .bulk(bytes("v")))
        #expect(try client.command([bytes("RPUSH"), bytes("list"), bytes("a"), medium]) == .integer(2))
        #expect(try client.command("LINDEX", "list", "1") == .bulk(medium))
        #expect(try client.command("GET", "big") == .bulk(value))
        #expect(try client.command("APPEND", "big", "tail") == .integer(size + 4))
        #expect(try client.command("SETRANGE", "big", "10", "abc") == .integer(size + 4))
        var expected = value
        expected.replaceSubrange(10..<13, with: bytes("abc"))
        expected += bytes("tail")
        #expect(try client.command("STRLEN", "big") == .integer(size + 4))
        #expect(try client.command("GETRANGE", "big", "8", "14") == .bulk(Array(expected[8...14])))
        let smalls: [String: [UInt8]] = [
            "ex": medium, "setex": medium, "setnx": value, "multi": medium, "appended": medium + medium, "m1": medium,
            "m4": medium, "psetex": medium,
        ]
        func check(_ port: Int, _ what: String) throws {
            let client = try RedisTestClient(port: port, timeoutSeconds: 60)
            #expect(try client.command("GET", "big") == .bulk(expected), "\(what)")
            for (key, expected) in smalls { #expect(try client.command("GET", key) == .bulk(expected), "\(what): \(key)") }
            #expect(try client.command("TTL", "ex") != .integer(-1), "\(what)")
            #expect(try client.command("TTL", "setex") != .integer(-1), "\(what)")
        }
        try check(master.port, "master")
        try await waitUntil("the live replica caught up", seconds: 30) {
            try RedisTestClient(port: live.port).command("STRLEN", "big") == .integer(size + 4)
                && RedisTestClient(port: live.port).command("EXISTS", "m2") == .integer(1)
        }
        try check(live.port, "live replica")
        let synced = try await startNode(["--replicaof", "127.0.0.1", "\(master.port)"])
        defer { synced.stop() }
        try await NodeReplicationTests.waitForLink(synced.port, seconds: 60)
        try check(synced.port, "replica after a full sync")
        // (The AOF's growth may have started a rewrite of its own already.)
        let rewrites = Int(try NodeReplicationTests.info(master.port, "persistence")["aof_rewrites"] ?? "") ?? 0
        _ = try client.command("BGREWRITEAOF")
        try await waitUntil("AOF rewritten", seconds: 60) {
            let persistence = try NodeReplicationTests.info(master.port, "persistence")
            return persistence["aof_rewrite_in_progress"] == "0" && persistence["aof_rewrite_scheduled"] == "0"
                && Int(persistence["aof_rewrites"] ?? "") ?? 0 > rewrites
                && persistence["aof_last_bgrewrite_status"] == "ok"
        }
        #expect(try client.command("SAVE") == .status("OK"))
        master.stop()
        let fromAOF = try await startNode(["--appendonly", "yes"], directory: master.directory)
        try check(fromAOF.port, "restarted from the AOF")
        fromAOF.stop()
        let fromRDB = try await startNode([], directory: master.directory)
        defer { fromRDB.stop() }
        try check(fromRDB.port, "restarted from the RDB")
    }
}
