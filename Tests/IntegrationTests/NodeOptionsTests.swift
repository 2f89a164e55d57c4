import Foundation
import Testing

/// Directives that act on connections do what they say, beside redis-server given the same ones:
/// `timeout`, `protected-mode`, `tcp-keepalive`, `rdbchecksum`, `loglevel` changed by CONFIG SET, and
/// `port` and `bind` changed by CONFIG SET.
@Suite(.serialized, .enabled(if: TestEnvironment.canRun("redis-server")))
struct NodeOptionsTests {
    /// Idle clients are closed after `timeout` seconds; subscribed and blocked ones are not.
    @Test func timeoutClosesIdleClients() async throws {
        let servers = try await RedisAndNode(["--timeout", "1"])
        defer { servers.stop() }
        for server in [servers.redis, servers.node] {
            let idle = try server.client()
            let subscriber = try server.client()
            #expect(try subscriber.command("SUBSCRIBE", "c") == .array([.bulk("subscribe"), .bulk("c"), .integer(1)]))
            let blocked = try server.client()
            try blocked.sendRaw(RedisTestClient.encode([Array("BLPOP".utf8), Array("l".utf8), Array("0".utf8)]))
            #expect(try idle.command("PING") == .status("PONG"))
            try await Task.sleep(for: .milliseconds(2600))
            #expect(throws: (any Error).self, "\(server.kind): the idle client is closed") { try idle.command("PING") }
            #expect(try subscriber.command("PING") == .array([.bulk("pong"), .bulk("")]), "\(server.kind)")
            _ = try server.client().command("RPUSH", "l", "x")
            #expect(try blocked.readReply() == .array([.bulk("l"), .bulk("x")]), "\(server.kind)")
        }
    }

    /// Without a password, protected mode (on by default) lets in only 127.0.0.1 and ::1, with
    /// Redis's own refusal; `protected-mode no` or a password opens the door.
    @Test func protectedModeRefusesOtherAddressesAsRedisDoes() async throws {
        let defaults = try await RedisAndNode()
        defer { defaults.stop() }
        let refusals = try [defaults.redis, defaults.node].map { server in
            try RedisTestClient(port: server.port, source: "127.0.0.2").command("PING")
        }
        #expect(refusals[0].isError)
        #expect(refusals[1] == refusals[0])
        for extra in [["--protected-mode", "no"], ["--requirepass", "secret"]] {
            let open = try await startNode(extra)
            defer { open.stop() }
            let reply = try RedisTestClient(port: open.port, source: "127.0.0.2").command("PING")
            #expect(reply == .status("PONG") || reply == .error("NOAUTH Authentication required."), "\(extra): \(reply)")
        }
        // CONFIG SET takes effect for the next connection.
        _ = try defaults.node.client().command("CONFIG", "SET", "protected-mode", "no")
        #expect(try RedisTestClient(port: defaults.node.port, source: "127.0.0.2").command("PING") == .status("PONG"))
    }

    /// `tcp-keepalive` (300 by default) arms the kernel's keepalive timer on client connections; 0
    /// does not.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/net/tcp")))
    func tcpKeepaliveArmsTheTimer() async throws {
        let on = try await startNode()
        defer { on.stop() }
        let off = try await startNode(["--tcp-keepalive", "0"])
        defer { off.stop() }
        let clients = try [on.client(), off.client()]
        for client in clients { #expect(try client.command("PING") == .status("PONG")) }
        func timers(_ port: Int) async throws -> [TCPSocket] {
            var sockets: [TCPSocket] = []
            try await waitUntil("connections settle") {
                sockets = try TCPSocket.all().filter { $0.state == 1 && $0.localPort == port }
                return !sockets.isEmpty && sockets.allSatisfy { $0.timer != 1 }
            }
            return sockets
        }
        let armed = try await timers(on.port)
        let unarmed = try await timers(off.port)
        #expect(armed.allSatisfy { $0.timer == 2 }, "\(armed)")
        #expect(unarmed.allSatisfy { $0.timer == 0 }, "\(unarmed)")
    }

    /// `loglevel` changed by CONFIG SET changes what reaches the log at once.
    @Test func loglevelChangesAtRuntime() async throws {
        let directory = try TemporaryDirectory()
        let log = "\(directory.path)/node.log"
        let node = try await startNode(["--logfile", log, "--loglevel", "warning", "--timeout", "1"], directory: directory)
        defer { node.stop() }
        func closeAnIdleClient() async throws {
            let idle = try node.client()
            #expect(try idle.command("PING") == .status("PONG"))
            // Reading (not sending, which would make it active again) until the node closes it.
            #expect(throws: (any Error).self) { try idle.readReply() }
        }
        try await closeAnIdleClient()
        #expect(!(try String(contentsOfFile: log, encoding: .utf8)).contains("closing idle client"), "info lines hidden at warning")
        #expect(try node.client().command("CONFIG", "SET", "loglevel", "verbose") == .status("OK"))
        try await closeAnIdleClient()
        try await waitUntil("the line reaches the log") {
            (try String(contentsOfFile: log, encoding: .utf8)).contains("closing idle client")
        }
    }

    /// `rdbchecksum no` ends the dump in a zero checksum, as redis-server does, and a dump whose
    /// checksum is wrong then loads; with the default the checksum is written and checked.
    @Test func rdbchecksumDecidesWhetherTheDumpIsChecksummed() async throws {
        func trailer(_ server: RedisServer) throws -> [UInt8] {
            _ = try server.client().command("SET", "k", "v")
            #expect(try server.client().command("SAVE") == .status("OK"))
            let dump = try Data(contentsOf: URL(fileURLWithPath: "\(server.directory.path)/dump.rdb"))
            return Array(dump.suffix(8))
        }
        let off = try await RedisAndNode(["--rdbchecksum", "no"])
        let on = try await RedisAndNode()
        defer { off.stop(); on.stop() }
        #expect(try trailer(off.redis) == [UInt8](repeating: 0, count: 8))
        #expect(try trailer(off.node) == [UInt8](repeating: 0, count: 8))
        let checksummed = try trailer(on.node)
        #expect(checksummed != [UInt8](repeating: 0, count: 8))
        #expect(try trailer(on.redis) != [UInt8](repeating: 0, count: 8))

        // A wrong checksum: refused with the default, loaded with `rdbchecksum no`.
        let path = "\(on.node.directory.path)/dump.rdb"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count - 1] ^= 0xFF
        let corrupt = try TemporaryDirectory()
        try bytes.write(to: URL(fileURLWithPath: "\(corrupt.path)/dump.rdb"))
        await #expect(throws: (any Error).self) { _ = try await startNode([], directory: corrupt) }
        let lenient = try await startNode(["--rdbchecksum", "no"], directory: corrupt)
        defer { lenient.stop() }
        #expect(try lenient.client().command("GET", "k") == .bulk("v"))
    }

    /// CONFIG REWRITE writes `replicaof <host> <port>` as redis-server does (two arguments, not one
    /// quoted string), and a node restarted from the file is a replica of that master again.
    @Test func configRewriteWritesReplicaofAsRedisDoes() async throws {
        var lines: [String?] = []
        for kind in [DataServerKind.redis, .shardgateNode] {
            let directory = try TemporaryDirectory()
            let file = directory.path + "/server.conf"
            try "# kept by the rewrite\n".write(toFile: file, atomically: true, encoding: .utf8)
            let server = try await RedisServer(kind: kind, directory: directory, configFile: file)
            #expect(try server.client().command("REPLICAOF", "127.0.0.1", "1") == .status("OK"))
            #expect(try server.client().command("CONFIG", "REWRITE") == .status("OK"))
            server.stop()
            let text = try String(contentsOfFile: file, encoding: .utf8)
            #expect(text.hasPrefix("# kept by the rewrite\n"))
            lines.append(text.split(separator: "\n").first { $0.hasPrefix("replicaof") }.map(String.init))
            guard kind == .shardgateNode else { continue }
            let restarted = try await RedisServer(kind: kind, directory: directory, configFile: file)
            defer { restarted.stop() }
            guard case .array(let role?) = try restarted.client().command("ROLE") else {
                Issue.record("ROLE is not an array")
                continue
            }
            #expect(role.first == .bulk(Array("slave".utf8)) && role.dropFirst().first == .bulk(Array("127.0.0.1".utf8)))
        }
        #expect(lines.first == "replicaof 127.0.0.1 1")
        #expect(lines.last == lines.first, "node: \(lines.last.map { $0 ?? "none" } ?? "none")")
    }

    /// CONFIG SET port/bind listen anew as Redis does: connected clients stay, the old port closes;
    /// a busy port or an address the machine lacks is refused with Redis's text, and nothing changes
    /// (not even the other settings of the same CONFIG SET).
    @Test func configSetPortAndBindListenAnew() async throws {
        let busy = try await RedisServer()
        defer { busy.stop() }
        let outcome = try await both { port in
            let client = try RedisTestClient(port: port)
            let newPort = try freePort()
            var replies = try client.rawPipeline([["CONFIG", "SET", "port", String(newPort)], ["PING"], ["CONFIG", "GET", "port"]])
            let moved = try RedisTestClient(port: newPort)
            replies += try moved.rawPipeline([
                ["PING"],
                ["CONFIG", "SET", "maxmemory", "5000000", "port", String(busy.port)],
                ["CONFIG", "GET", "maxmemory"], ["CONFIG", "GET", "port"],
                ["CONFIG", "SET", "bind", "127.0.0.1 -::1"], ["CONFIG", "SET", "bind", "192.0.2.1"], ["CONFIG", "GET", "bind"],
                ["CONFIG", "SET", "port", String(newPort)],
            ])
            replies.append((try? RedisTestClient(port: port).command("PING")) == nil ? "old port closed" : "old port open")
            replies.append(try RedisTestClient(port: newPort).command("PING").description)
            return replies.map { $0.replacingOccurrences(of: String(newPort), with: "<new>") }
        }
        guard let results = outcome else { return }
        #expect(results.node == results.redis)
        #expect(results.redis.contains("-ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs.\r\n"))
    }
}
