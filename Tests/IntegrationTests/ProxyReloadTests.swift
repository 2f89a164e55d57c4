import Foundation
import Testing

/// Hot reload (`PROXY RELOAD [FORCE]`, SIGHUP, `shardgate reload`): a new proxy.yml applies without
/// closing clients, a bad one changes nothing, and a change of key placement needs force.
@Suite(.serialized, .enabled(if: TestEnvironment.canRun("redis-server")))
struct ProxyReloadTests {
    static func pool(masters: [String], extra: String = "", listen: String = "LISTEN", weights: [Int]? = nil) -> String {
        var text = "alpha:\n  listen: \(listen)\n\(extra)  groups:\n"
        for (index, master) in masters.enumerated() {
            text += "    - name: g\(index)\n      master: \(master)\n"
            if let weights { text += "      weight: \(weights[index])\n" }
        }
        return text
    }

    static func write(_ yaml: String, to file: String) throws {
        try yaml.replacingOccurrences(of: "LISTEN", with: "127.0.0.1:0").write(toFile: file, atomically: true, encoding: .utf8)
    }

    static func dbsize(_ server: RedisServer) throws -> Int {
        guard case .integer(let count) = try RedisTestClient(port: server.port).command("DBSIZE") else { throw TestFailure("DBSIZE") }
        return count
    }

    /// redis-benchmark writes through the proxy while the group's master moves from A to B and the
    /// timeout changes: writes reach A before the reload and B after it, the benchmark (which exits
    /// at its first error reply or lost connection) is still running, and no client connected
    /// again: the 20 benchmark clients and ours are the ones connected before and after.
    @Test(.enabled(if: TestEnvironment.canRun("redis-benchmark")))
    func reloadUnderLoadLosesNothing() async throws {
        let a = try await RedisServer(), b = try await RedisServer()
        defer { a.stop(); b.stop() }
        let directory = try TemporaryDirectory()
        let file = "\(directory.path)/proxy.yml"
        let proxy = try await ProxyUnderTest(yaml: Self.pool(masters: [a.address]), configFile: file)
        defer { Task { await proxy.stop() } }
        let admin = try proxy.client()
        let benchmark = try ManagedProcess(
            TestEnvironment.binary("redis-benchmark")!,
            ["-p", "\(proxy.port)", "-n", "100000000", "-c", "20", "-r", "100000", "-t", "set", "-q"],
            name: "benchmark", directory: directory.path)
        defer { benchmark.stop() }
        func clients() throws -> (connected: Int, received: Int) {
            guard case .bulk(let bytes?) = try admin.command("INFO"), let text = String(bytes: bytes, encoding: .utf8) else {
                throw TestFailure("INFO")
            }
            func field(_ name: String) -> Int {
                text.split(separator: "\r\n").first { $0.hasPrefix(name + ":") }.flatMap { Int($0.dropFirst(name.count + 1)) } ?? -1
            }
            return (field("connected_clients"), field("total_connections_received"))
        }
        try await waitUntil("writes reach A", seconds: 20) { try Self.dbsize(a) > 500 && clients().connected == 21 }
        let before = try clients()
        try Self.write(Self.pool(masters: [b.address], extra: "  timeout: 2500\n"), to: file)
        guard case .status(let answer) = try admin.command("PROXY", "RELOAD") else { throw TestFailure("PROXY RELOAD") }
        #expect(answer.hasPrefix("OK reloaded: pool 'alpha':"), "\(answer)")
        #expect(answer.contains("groups") && answer.contains("timeoutMilliseconds"), "\(answer)")
        let onA = try Self.dbsize(a)
        try await waitUntil("writes reach B (or the benchmark stops)", seconds: 20) { try !benchmark.isRunning || Self.dbsize(b) > 500 }
        #expect(benchmark.isRunning, "no error reply and no lost connection: \(benchmark.log)")
        let after = try clients()
        #expect(after.connected == 21 && after.received == before.received, "before \(before), after \(after)")
        #expect(try Self.dbsize(a) == onA, "A took no write after the reload")
    }

    /// A file that fails validation is refused with its file and line, and the pool keeps serving
    /// from the old configuration.
    @Test func badFileKeepsTheRunningConfig() async throws {
        let a = try await RedisServer(), b = try await RedisServer()
        defer { a.stop(); b.stop() }
        let directory = try TemporaryDirectory()
        let file = "\(directory.path)/proxy.yml"
        let proxy = try await ProxyUnderTest(yaml: Self.pool(masters: [a.address]), configFile: file)
        defer { Task { await proxy.stop() } }
        let client = try proxy.client()
        try Self.write(Self.pool(masters: [b.address], extra: "  timeout: soon\n"), to: file)
        guard case .error(let message) = try client.command("PROXY", "RELOAD") else { throw TestFailure("not refused") }
        #expect(message.hasPrefix("ERR reload refused: \(file):3"), "\(message)")
        #expect(message.contains("timeout"), "\(message)")
        #expect(try client.command("SET", "k", "v") == .status("OK"))
        #expect(try RedisTestClient(port: a.port).command("GET", "k") == .bulk("v"))
        #expect(try Self.dbsize(b) == 0)
    }

    /// New weights move keys between the two groups: refused without FORCE (with the sampled
    /// count), applied with it, and then some keys do land in the other group.
    @Test func placementChangeNeedsForce() async throws {
        let a = try await RedisServer(), b = try await RedisServer()
        defer { a.stop(); b.stop() }
        let directory = try TemporaryDirectory()
        let file = "\(directory.path)/proxy.yml"
        let proxy = try await ProxyUnderTest(yaml: Self.pool(masters: [a.address, b.address], weights: [1, 1]), configFile: file)
        defer { Task { await proxy.stop() } }
        let client = try proxy.client()
        let keys = (0..<200).map { "key:\($0)" }
        func placement() throws -> [Bool] {
            for key in keys { _ = try client.command("SET", key, "1") }
            let onA = try keys.map { try RedisTestClient(port: a.port).command("EXISTS", $0) == .integer(1) }
            _ = try RedisTestClient(port: a.port).command("FLUSHALL")
            _ = try RedisTestClient(port: b.port).command("FLUSHALL")
            return onA
        }
        let before = try placement()
        try Self.write(Self.pool(masters: [a.address, b.address], weights: [1, 3]), to: file)
        guard case .error(let message) = try client.command("PROXY", "RELOAD") else { throw TestFailure("not refused") }
        #expect(message.contains("sampled keys would move to another group; reload with force"), "\(message)")
        #expect(try placement() == before, "nothing changed")
        guard case .status(let answer) = try client.command("PROXY", "RELOAD", "FORCE") else { throw TestFailure("FORCE") }
        #expect(answer.contains("placement changed (forced)"), "\(answer)")
        let after = try placement()
        let moved = zip(before, after).filter { $0 != $1 }.count
        #expect(moved > 0 && moved < keys.count, "\(moved) keys moved")
    }

    /// `read_policy` from master to replica and back: the replica watcher starts with the reload
    /// (the replica serves reads once it is seen in sync) and stops with the next one.
    @Test func readPolicyChangesApply() async throws {
        let a = try await RedisServer()
        defer { a.stop() }
        let replica = try await RedisServer(["--replicaof", "127.0.0.1", "\(a.port)"])
        defer { replica.stop() }
        try await waitUntil("replica in sync", seconds: 10) {
            guard case .bulk(let bytes?) = try RedisTestClient(port: replica.port).command("INFO", "replication") else { return false }
            return String(decoding: bytes, as: UTF8.self).contains("master_link_status:up")
        }
        func replicaGets() throws -> Int {
            guard case .bulk(let bytes?) = try RedisTestClient(port: replica.port).command("INFO", "commandstats") else { return -1 }
            let text = String(decoding: bytes, as: UTF8.self)
            guard let line = text.split(separator: "\r\n").first(where: { $0.hasPrefix("cmdstat_get:calls=") }) else { return 0 }
            return Int(line.dropFirst("cmdstat_get:calls=".count).prefix { $0.isNumber }) ?? -1
        }
        let directory = try TemporaryDirectory()
        let file = "\(directory.path)/proxy.yml"
        func yaml(_ policy: String) -> String {
            "alpha:\n  listen: LISTEN\n  read_policy: \(policy)\n  groups:\n    - name: g0\n      master: \(a.address)\n      replicas: [\(replica.address)]\n"
        }
        let proxy = try await ProxyUnderTest(yaml: yaml("master"), configFile: file)
        defer { Task { await proxy.stop() } }
        let client = try proxy.client()
        #expect(try client.command("SET", "k", "v") == .status("OK"))
        try await waitUntil("replicated") { try RedisTestClient(port: replica.port).command("GET", "k") == .bulk("v") }
        let start = try replicaGets()
        #expect(try client.command("GET", "k") == .bulk("v"))
        #expect(try replicaGets() == start, "reads go to the master")

        try Self.write(yaml("replica"), to: file)
        guard case .status(let answer) = try client.command("PROXY", "RELOAD") else { throw TestFailure("PROXY RELOAD") }
        #expect(answer.contains("readPolicy"), "\(answer)")
        for _ in 0..<10 { #expect(try client.command("GET", "k") == .bulk("v")) }
        #expect(try replicaGets() == start + 10, "reads go to the replica")

        try Self.write(yaml("master"), to: file)
        guard case .status = try client.command("PROXY", "RELOAD") else { throw TestFailure("PROXY RELOAD") }
        #expect(try client.command("GET", "k") == .bulk("v"))
        #expect(try replicaGets() == start + 10, "reads go to the master again")
    }

    /// A reload re-reads the listener's certificate files even when proxy.yml is unchanged: new
    /// clients get the new certificate (and trust only its CA), the client already connected stays.
    @Test(.enabled(if: TestEnvironment.canRun("redis-cli", "openssl")))
    func reloadRotatesCertificates() async throws {
        let first = try TestCertificates(), second = try TestCertificates()
        let backend = try await RedisServer()
        defer { backend.stop() }
        let directory = try TemporaryDirectory()
        let (certificate, key) = ("\(directory.path)/live.crt", "\(directory.path)/live.key")
        func install(_ certificates: TestCertificates) throws {
            for (from, to) in [(certificates.serverCertificate, certificate), (certificates.serverKey, key)] {
                try? FileManager.default.removeItem(atPath: to)
                try FileManager.default.copyItem(atPath: from, toPath: to)
            }
        }
        try install(first)
        let yaml = "alpha:\n  listen: LISTEN\n  tls:\n    cert: \(certificate)\n    key: \(key)\n  groups:\n    - name: g0\n      master: \(backend.address)\n"
        let proxy = try await ProxyUnderTest(yaml: yaml, configFile: "\(directory.path)/proxy.yml")
        defer { Task { await proxy.stop() } }
        let (old, new) = (TLSRedisCLI(certificates: first), TLSRedisCLI(certificates: second))
        #expect(try old.run(port: proxy.port, "SET", "k", "v").output == "OK")
        #expect(try new.run(port: proxy.port, "GET", "k").status != 0, "the second CA is not trusted yet")

        try install(second)
        let reload = try old.run(port: proxy.port, "PROXY", "RELOAD")
        #expect(reload.output == "OK reloaded: pool 'alpha': TLS files re-read", "\(reload)")
        #expect(try new.run(port: proxy.port, "GET", "k").output == "v")
        #expect(try old.run(port: proxy.port, "GET", "k").status != 0, "new clients get the new certificate")
    }

    /// Changes only a restart can make are refused, naming them; nothing else applies with them.
    @Test func restartOnlyChangesAreRefused() async throws {
        let a = try await RedisServer(), b = try await RedisServer()
        defer { a.stop(); b.stop() }
        let directory = try TemporaryDirectory()
        let file = "\(directory.path)/proxy.yml"
        let proxy = try await ProxyUnderTest(yaml: Self.pool(masters: [a.address]), configFile: file)
        defer { Task { await proxy.stop() } }
        let client = try proxy.client()
        try Self.write(Self.pool(masters: [b.address], listen: "127.0.0.1:1"), to: file)
        guard case .error(let message) = try client.command("PROXY", "RELOAD") else { throw TestFailure("not refused") }
        #expect(message.contains("pool 'alpha': listen changed; that needs a restart"), "\(message)")
        try Self.write(Self.pool(masters: [a.address]).replacingOccurrences(of: "alpha:", with: "beta:"), to: file)
        guard case .error(let renamed) = try client.command("PROXY", "RELOAD") else { throw TestFailure("not refused") }
        #expect(renamed.contains("pools can only be added or removed by a restart (added: beta) (removed: alpha)"), "\(renamed)")
        #expect(try client.command("SET", "k", "v") == .status("OK"))
        #expect(try RedisTestClient(port: a.port).command("GET", "k") == .bulk("v"))
        #expect(try client.command("PROXY", "RELOAD", "NOW") == .error("ERR syntax error"))
    }

    /// A new client password: clients already authenticated stay so (as Redis's `requirepass`),
    /// new ones need the new password.
    @Test func passwordChangeKeepsAuthenticatedClients() async throws {
        let a = try await RedisServer()
        defer { a.stop() }
        let directory = try TemporaryDirectory()
        let file = "\(directory.path)/proxy.yml"
        let proxy = try await ProxyUnderTest(yaml: Self.pool(masters: [a.address], extra: "  password: old\n"), configFile: file)
        defer { Task { await proxy.stop() } }
        let client = try proxy.client()
        #expect(try client.command("AUTH", "old") == .status("OK"))
        try Self.write(Self.pool(masters: [a.address], extra: "  password: new\n"), to: file)
        guard case .status = try client.command("PROXY", "RELOAD") else { throw TestFailure("PROXY RELOAD") }
        #expect(try client.command("SET", "k", "v") == .status("OK"))
        let newcomer = try proxy.client()
        #expect(try newcomer.command("GET", "k") == .error("NOAUTH Authentication required."))
        #expect(try newcomer.command("AUTH", "old") == .error("WRONGPASS invalid username-password pair or user is disabled."))
        #expect(try newcomer.command("AUTH", "new") == .status("OK"))
        #expect(try newcomer.command("GET", "k") == .bulk("v"))
    }

    /// The binary: SIGHUP applies a new master; `shardgate reload` prints the proxy's answer, and
    /// exits 1 when a placement change needs --force, 0 with it.
    @Test func sighupAndTheReloadCommand() async throws {
        let a = try await RedisServer(), b = try await RedisServer()
        defer { a.stop(); b.stop() }
        let directory = try TemporaryDirectory()
        let port = try freePort()
        let file = "\(directory.path)/proxy.yml"
        let listen = "127.0.0.1:\(port)"
        try Self.write(Self.pool(masters: [a.address, b.address], listen: listen, weights: [1, 1]), to: file)
        let proxy = try ManagedProcess(CLITests.binary, ["proxy", "-c", file, "--stats-listen", "off"], name: "proxy", directory: directory.path)
        defer { proxy.stop() }
        try await waitUntil("proxy listening") { (try? RedisTestClient(port: port, timeoutSeconds: 1).command("PING")) == .status("PONG") }
        let client = try RedisTestClient(port: port)

        // Group g1 moves to A: every key ends up there.
        try Self.write(Self.pool(masters: [a.address, a.address], listen: listen, weights: [1, 1]), to: file)
        proxy.signal(SIGHUP)
        try await waitUntil("SIGHUP applied") {
            _ = try RedisTestClient(port: a.port).command("FLUSHALL")
            for index in 0..<20 { _ = try client.command("SET", "k\(index)", "1") }
            return try Self.dbsize(a) == 20
        }
        #expect(proxy.log.contains("configuration reloaded"), "\(proxy.log)")

        try Self.write(Self.pool(masters: [a.address, b.address], listen: listen, weights: [1, 3]), to: file)
        let refused = try run(CLITests.binary, ["reload", "-c", file])
        #expect(refused.status == 1, "\(refused.output)")
        #expect(refused.output.contains("reload with force"), "\(refused.output)")
        let forced = try run(CLITests.binary, ["reload", "-c", file, "--force"])
        #expect(forced.status == 0, "\(forced.output)")
        #expect(forced.output.hasPrefix("OK reloaded: pool 'alpha': groups, placement changed (forced): "), "\(forced.output)")
        #expect(try client.command("PING") == .status("PONG"), "the client stayed connected through the reloads")
        _ = try RedisTestClient(port: a.port).command("FLUSHALL")
        for index in 0..<20 { _ = try client.command("SET", "k\(index)", "1") }
        #expect(try Self.dbsize(b) > 0, "g1 is on B again")
    }
}
