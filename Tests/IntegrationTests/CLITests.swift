import Foundation
import Testing

/// The `shardgate` binary itself: `check`, `proxy` with graceful shutdown, the node's log and PID files.
@Suite(.serialized)
struct CLITests {
    /// The executable built next to this test bundle.
    static let binary: String = {
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = testBinary.deletingLastPathComponent()
        if directory.lastPathComponent.hasSuffix(".xctest") { directory = directory.deletingLastPathComponent() }
        return directory.appendingPathComponent("shardgate").path
    }()

    @Test func checkAcceptsAValidFileAndRejectsABadOneWithLines() throws {
        let directory = try TemporaryDirectory()
        let good = "\(directory.path)/good.yml"
        try "main:\n  listen: 127.0.0.1:7000\n  groups:\n    - name: a\n      master: 127.0.0.1:7001\n"
            .write(toFile: good, atomically: true, encoding: .utf8)
        let ok = try run(Self.binary, ["check", "--config", good])
        #expect(ok.status == 0, "\(ok.output)")
        #expect(ok.output.contains("OK"))

        let bad = "\(directory.path)/bad.yml"
        try """
            main:
              listen: 127.0.0.1:7000
              hash: sha1
              distribution: slots
              groups:
                - name: a
                  master: localhost
                  slots: 0-100
            """.write(toFile: bad, atomically: true, encoding: .utf8)
        let failed = try run(Self.binary, ["check", "-c", bad])
        #expect(failed.status != 0)
        #expect(failed.output.contains("bad.yml:3: main.hash:"), "\(failed.output)")
        #expect(failed.output.contains("bad.yml:7: main.groups[0].master:"), "\(failed.output)")
        #expect(failed.output.contains("101-16383"), "the slot gap is named: \(failed.output)")

        let missing = try run(Self.binary, ["check", "-c", "\(directory.path)/nope.yml"])
        #expect(missing.status != 0)
        #expect(missing.output.contains("nope.yml"))
    }

    @Test(.enabled(if: TestEnvironment.canRun("redis-server")))
    func sigtermFinishesInFlightRepliesAndExitsZero() async throws {
        let redis = try await RedisServer()
        defer { redis.stop() }
        _ = try redis.client().command("SET", "k", "v")
        let directory = try TemporaryDirectory()
        let port = try freePort()
        let config = "\(directory.path)/proxy.yml"
        try "main:\n  listen: 127.0.0.1:\(port)\n  timeout: 5000\n  groups:\n    - name: a\n      master: \(redis.address)\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let proxy = try ManagedProcess(Self.binary, ["proxy", "-c", config, "--log-level", "info"], name: "proxy", directory: directory.path)
        defer { proxy.stop() }
        try await waitUntil("proxy listening") { (try? RedisTestClient(port: port, timeoutSeconds: 1).command("PING")) == .status("PONG") }

        let client = try RedisTestClient(port: port)
        #expect(try client.command("GET", "k") == .bulk("v"))
        redis.process.signal(SIGSTOP)
        try client.sendRaw(RedisTestClient.encode([Array("GET".utf8), Array("k".utf8)]))
        try await Task.sleep(for: .milliseconds(100))
        proxy.signal(SIGTERM)
        try await waitUntil("listener closed") { (try? RedisTestClient(port: port, timeoutSeconds: 1)) == nil }
        #expect(proxy.isRunning, "still running while a reply is in flight")
        redis.process.signal(SIGCONT)
        #expect(try client.readReply() == .bulk("v"), "the in-flight reply is delivered")
        #expect(proxy.waitForExit(seconds: 10) == 0, "exit status 0\n\(proxy.log)")
        #expect(proxy.log.contains("shutdown complete"))
    }

    /// A shutdown waits for a reply that never comes only `drain_timeout` (logged), and a second
    /// SIGTERM does not wait at all.
    @Test(.enabled(if: TestEnvironment.canRun("redis-server")), arguments: [false, true])
    func shutdownWaitIsBounded(secondSignal: Bool) async throws {
        let redis = try await RedisServer()
        defer {
            redis.process.signal(SIGCONT)
            redis.stop()
        }
        let directory = try TemporaryDirectory()
        let port = try freePort()
        let config = "\(directory.path)/proxy.yml"
        let drain = secondSignal ? 60_000 : 800
        try "main:\n  listen: 127.0.0.1:\(port)\n  timeout: 60000\n  drain_timeout: \(drain)\n  groups:\n    - name: a\n      master: \(redis.address)\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let proxy = try ManagedProcess(Self.binary, ["proxy", "-c", config, "--log-level", "info"], name: "proxy", directory: directory.path)
        defer { proxy.stop() }
        try await waitUntil("proxy listening") { (try? RedisTestClient(port: port, timeoutSeconds: 1).command("PING")) == .status("PONG") }

        let client = try RedisTestClient(port: port)
        #expect(try client.command("GET", "k") == .bulk(nil))
        redis.process.signal(SIGSTOP)
        try client.sendRaw(RedisTestClient.encode([Array("GET".utf8), Array("k".utf8)]))
        try await Task.sleep(for: .milliseconds(100))
        let started = Date()
        proxy.signal(SIGTERM)
        try await waitUntil("listener closed") { (try? RedisTestClient(port: port, timeoutSeconds: 1)) == nil }
        if secondSignal {
            try await Task.sleep(for: .milliseconds(300))
            #expect(proxy.isRunning, "waiting for the reply in flight")
            proxy.signal(SIGTERM)
        }
        #expect(proxy.waitForExit(seconds: 10) == 0, "exit status 0\n\(proxy.log)")
        let waited = Date().timeIntervalSince(started)
        if secondSignal {
            #expect(waited < 5, "the second signal ended the wait (\(waited) s)")
            #expect(proxy.log.contains("second signal: exiting without waiting"))
        } else {
            #expect(waited >= 0.7 && waited < 5, "waited drain_timeout (\(waited) s)")
            #expect(proxy.log.contains("clients still had replies in flight at shutdown"))
            #expect(proxy.log.contains("shutdown complete"))
        }
    }

    /// `--log-format json`: every line is one JSON object with the event's fields; passwords from
    /// the configuration appear in none of them, a reload that changes one included. A refused
    /// connection and the reload are logged.
    @Test(.enabled(if: TestEnvironment.canRun("redis-server")))
    func jsonLogLines() async throws {
        let redis = try await RedisServer(["--requirepass", "backend-secret"])
        defer { redis.stop() }
        let directory = try TemporaryDirectory()
        let port = try freePort()
        let config = "\(directory.path)/proxy.yml"
        func write(password: String) throws {
            try """
                main:
                  listen: 127.0.0.1:\(port)
                  password: \(password)
                  auth: backend-secret
                  client_connections: 4
                  groups:
                    - name: a
                      master: \(redis.address)
                    - name: b
                      master: 127.0.0.1:1

                """.write(toFile: config, atomically: true, encoding: .utf8)
        }
        try write(password: "client-secret")
        let proxy = try ManagedProcess(
            Self.binary, ["proxy", "-c", config, "--log-format", "json", "--stats-listen", "off"], name: "proxy", directory: directory.path)
        defer { proxy.stop() }
        try await waitUntil("proxy listening") {
            let client = try RedisTestClient(port: port, timeoutSeconds: 1)
            return try client.command("AUTH", "client-secret") == .status("OK")
        }
        // A request for the dead group logs the backend as unavailable.
        let client = try RedisTestClient(port: port)
        _ = try client.command("AUTH", "client-secret")
        for index in 0..<20 { _ = try client.command("GET", "key\(index)") }
        // With `client` connected, one of these is one too many (the loops accept them in parallel).
        let crowd = try (0..<4).map { _ in try RedisTestClient(port: port, timeoutSeconds: 2) }
        let replies = try crowd.map { try $0.command("AUTH", "client-secret") }
        #expect(replies.filter { $0 == .error("ERR max number of clients reached") }.count == 1, "\(replies)")
        try write(password: "client-secret-2")
        proxy.signal(SIGHUP)
        try await waitUntil("reloaded") { proxy.log.contains("configuration reloaded") }
        proxy.signal(SIGTERM)
        #expect(proxy.waitForExit(seconds: 10) == 0)
        let lines = proxy.log.split(separator: "\n")
        #expect(lines.count >= 3)
        var messages: [String] = []
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            let fields = try #require(object, "not a JSON object: \(line)")
            #expect(fields["time"] is String && fields["level"] is String && fields["label"] is String)
            messages.append(try #require(fields["message"] as? String))
            if fields["message"] as? String == "pool listening" { #expect(fields["pool"] as? String == "main") }
        }
        #expect(messages.contains("pool listening"))
        #expect(messages.contains("backend unavailable"))
        #expect(messages.contains("shutdown complete"))
        #expect(messages.contains("client connection refused"))
        #expect(messages.contains("configuration reloaded"))
        #expect(!proxy.log.contains("client-secret") && !proxy.log.contains("backend-secret"))
    }

    /// `logfile` and `pidfile` do what they say: the log goes to the file, the PID file holds the
    /// node's PID while it runs and is gone after; a log file that cannot be opened stops the start.
    @Test func nodeWritesItsLogAndPIDFiles() async throws {
        let directory = try TemporaryDirectory()
        let log = "\(directory.path)/node.log"
        let pid = "\(directory.path)/node.pid"
        let node = try await startNode(["--logfile", log, "--pidfile", pid, "--loglevel", "verbose"], directory: directory)
        let written = try String(contentsOfFile: pid, encoding: .utf8)
        #expect(written == "\(node.process.pid)\n")
        node.process.signal(SIGTERM)
        #expect(node.process.waitForExit(seconds: 20) == 0, "a clean exit")
        #expect(!FileManager.default.fileExists(atPath: pid), "the PID file is removed")
        let text = try String(contentsOfFile: log, encoding: .utf8)
        #expect(!text.isEmpty, "log lines go to the file")

        let refused = try run(Self.binary, ["node", "--port", "0", "--logfile", "\(directory.path)/no/such/dir/node.log"])
        #expect(refused.status == 1)
        #expect(refused.output.contains("Can't open the log file: No such file or directory"), "\(refused.output)")
    }
}
