import Config
import Foundation
import Logging
import NIOPosix
import ShardgateProxy
import Testing

/// `reuseport` and `tcpkeepalive` do what proxy.yml says, seen from the kernel: two proxies share a
/// port, and the proxy's sockets carry a keepalive timer.
@Suite(.serialized)
struct ProxySocketOptionsTests {
    static func pool(listen: String, master: RedisServer, _ extra: String = "") -> String {
        "main:\n  listen: \(listen)\n\(extra)  groups:\n    - name: a\n      master: \(master.address)\n"
    }

    @Test(.enabled(if: TestEnvironment.canRun("redis-server")))
    func reuseportLetsTwoProxiesServeOnePort() async throws {
        let first = try await RedisServer()
        defer { first.stop() }
        let second = try await RedisServer()
        defer { second.stop() }
        let one = try await ProxyUnderTest(yaml: Self.pool(listen: "LISTEN", master: first, "  reuseport: true\n"))
        let port = one.port
        let two: ProxyUnderTest
        do {
            two = try await ProxyUnderTest(
                yaml: Self.pool(listen: "127.0.0.1:\(port)", master: second, "  reuseport: true\n"))
        } catch {
            await one.stop()
            throw error
        }
        // The kernel picks a listener per connection (by a hash of its addresses): new connections
        // reach both proxies, each of which writes to its own server.
        var clients: [RedisTestClient] = []
        func hits(_ server: RedisServer) throws -> Int {
            Int(try server.client().command("GET", "hits").string ?? "0") ?? 0
        }
        do {
            for _ in 0..<200 {
                let client = try RedisTestClient(port: port)
                #expect(try client.command("INCR", "hits").isError == false)
                clients.append(client)
                if try hits(first) > 0, try hits(second) > 0 { break }
            }
            #expect(try hits(first) > 0, "the first proxy served some of \(clients.count) connections")
            #expect(try hits(second) > 0, "the second proxy served some of \(clients.count) connections")
            #expect(try hits(first) + hits(second) == clients.count)
        } catch {
            Issue.record(error)
        }
        for client in clients { client.disconnect() }
        await two.stop()
        await one.stop()
    }

    /// Without `reuseport` on both, the second proxy cannot listen, and says why.
    @Test func withoutReuseportTheSecondProxyFailsToListen() async throws {
        let master = "  groups:\n    - name: a\n      master: 127.0.0.1:1\n"
        for (first, second) in [("", ""), ("", "  reuseport: true\n"), ("  reuseport: true\n", "")] {
            let one = try await ProxyUnderTest(yaml: "main:\n  listen: LISTEN\n\(first)\(master)")
            let config = try ProxyConfigLoader.parse("main:\n  listen: 127.0.0.1:\(one.port)\n\(second)\(master)")
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            var logger = Logger(label: "test")
            logger.logLevel = .error
            let server = ProxyServer(config: config, group: group, logger: logger)
            let error = await #expect(throws: ListenError.self) { try await server.start() }
            let text = error?.description ?? ""
            #expect(text.hasPrefix("pool 'main' cannot listen on 127.0.0.1:\(one.port): Address already in use"), "\(text)")
            #expect(text.contains("`reuseport: true`"), "\(text)")
            await server.stop()
            try await group.shutdownGracefully()
            await one.stop()
        }
    }

    /// The same through the CLI: `shardgate proxy` on a taken port exits non-zero with that error.
    @Test func proxyCommandReportsAPortInUse() async throws {
        let holder = try await ProxyUnderTest(yaml: "main:\n  listen: LISTEN\n  groups: [{name: a, master: \"127.0.0.1:1\"}]\n")
        let directory = try TemporaryDirectory()
        let path = "\(directory.path)/proxy.yml"
        try "main:\n  listen: 127.0.0.1:\(holder.port)\n  groups: [{name: a, master: \"127.0.0.1:1\"}]\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let proxy = try ManagedProcess(CLITests.binary, ["proxy", "-c", path], name: "proxy", directory: directory.path)
        let status = proxy.waitForExit(seconds: 20)
        await holder.stop()
        #expect(status != nil && status != 0, "exit status \(String(describing: status))\n\(proxy.log)")
        #expect(proxy.log.contains("pool 'main' cannot listen on 127.0.0.1:\(holder.port): Address already in use"), "\(proxy.log)")
    }

    /// With `tcpkeepalive: true` the kernel runs a keepalive timer on the proxy's connection to the
    /// backend and on the client connection it accepted; without it, on neither.
    @Test(.enabled(if: TestEnvironment.canRun("redis-server") && FileManager.default.fileExists(atPath: "/proc/net/tcp")))
    func tcpkeepaliveArmsTheKernelsKeepaliveTimer() async throws {
        let withKeepalive = try await RedisServer()
        defer { withKeepalive.stop() }
        let without = try await RedisServer()
        defer { without.stop() }
        let on = try await ProxyUnderTest(yaml: Self.pool(listen: "LISTEN", master: withKeepalive, "  tcpkeepalive: true\n"))
        let off = try await ProxyUnderTest(yaml: Self.pool(listen: "LISTEN", master: without))
        do {
            let onClient = try on.client()
            let offClient = try off.client()
            #expect(try onClient.command("SET", "k", "v") == .status("OK"))
            #expect(try offClient.command("SET", "k", "v") == .status("OK"))

            // The proxy's end of each connection: to the server's port (backend), from the proxy's
            // port (client). Waits out a retransmit timer that a reply in flight may still show.
            func timers(_ matches: @escaping (TCPSocket) -> Bool) async throws -> [TCPSocket] {
                var sockets: [TCPSocket] = []
                try await waitUntil("connections settle") {
                    sockets = try TCPSocket.all().filter { $0.state == 1 && matches($0) }
                    return !sockets.isEmpty && sockets.allSatisfy { $0.timer != 1 }
                }
                return sockets
            }
            let onBackend = try await timers { $0.remotePort == withKeepalive.port }
            let onAccepted = try await timers { $0.localPort == on.port }
            let offBackend = try await timers { $0.remotePort == without.port }
            let offAccepted = try await timers { $0.localPort == off.port }
            #expect(onBackend.allSatisfy { $0.timer == 2 }, "backend connections with tcpkeepalive: \(onBackend)")
            #expect(onAccepted.allSatisfy { $0.timer == 2 }, "client connections with tcpkeepalive: \(onAccepted)")
            #expect(offBackend.allSatisfy { $0.timer == 0 }, "backend connections without: \(offBackend)")
            #expect(offAccepted.allSatisfy { $0.timer == 0 }, "client connections without: \(offAccepted)")
            onClient.disconnect()
            offClient.disconnect()
        } catch {
            Issue.record(error)
        }
        await on.stop()
        await off.stop()
    }

    @Test func optionsCommandPrintsTheTable() throws {
        let markdown = try run(CLITests.binary, ["options", "--markdown"])
        #expect(markdown.status == 0)
        #expect(markdown.output == PoolOptions.markdown())
        let text = try run(CLITests.binary, ["options"])
        #expect(text.status == 0)
        for option in PoolOptions.all {
            #expect(text.output.contains("\n\(option.name) (") || text.output.hasPrefix("\(option.name) ("), "\(option.name)")
        }
    }

    @Test func checkListsTheKeysSetAwayFromTheirDefaults() throws {
        let directory = try TemporaryDirectory()
        let path = "\(directory.path)/proxy.yml"
        try """
            main:
              listen: 127.0.0.1:7000
              timeout: 250
              backlog: 512
              tcpkeepalive: true
              password: hunter2
              groups: [{name: a, master: "127.0.0.1:7001"}]
            cache:
              listen: 127.0.0.1:7100
              redis: true
              servers: ["127.0.0.1:7101:1"]
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try run(CLITests.binary, ["check", "-c", path])
        #expect(result.status == 0, "\(result.output)")
        let lines = result.output.split(separator: "\n").map(String.init)
        let main = try #require(lines.firstIndex { $0.contains("pool 'main'") }, "\(result.output)")
        let cache = try #require(lines.firstIndex { $0.contains("pool 'cache'") }, "\(result.output)")
        // backlog: 512 is the default, so it is not listed; the password is not printed.
        #expect(Array(lines[(main + 1)..<cache]) == ["  timeout: 250", "  password: (set)", "  tcpkeepalive: true"])
        #expect(!result.output.contains("hunter2"))
        // A twemproxy pool with nothing set: its timeout default (none) is not a change.
        #expect(lines[cache + 1].hasSuffix(": OK"), "\(result.output)")
    }
}
