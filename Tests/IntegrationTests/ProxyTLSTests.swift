import Config
import Foundation
import Logging
import NIOPosix
import ShardgateProxy
import Testing

/// TLS on both sides of the proxy, with real redis-cli and redis-server and certificates openssl
/// makes for each test: `tls` (the listener, mutual TLS with `ca`) and `backend_tls`.
@Suite(.serialized, .enabled(if: TestEnvironment.canRun("redis-server", "redis-cli", "openssl")))
struct ProxyTLSTests {
    /// A pool on one plain backend whose listener speaks TLS; `extra` goes into its `tls:` block.
    static func tlsListener(_ certificates: TestCertificates, backend: String, extra: String = "") -> String {
        """
        alpha:
          listen: LISTEN
          tls:
            cert: \(certificates.serverCertificate)
            key: \(certificates.serverKey)
        \(extra)  groups:
            - {name: one, master: "\(backend)"}

        """
    }

    /// redis-cli --tls works through the listener (the keys reach the plain backend); a plain-TCP
    /// client gets no reply and is closed, and the proxy goes on serving TLS clients.
    @Test func tlsListenerServesRedisCLIAndClosesPlainClients() async throws {
        let certificates = try TestCertificates()
        let backend = try await RedisServer()
        defer { backend.stop() }
        let proxy = try await ProxyUnderTest(yaml: Self.tlsListener(certificates, backend: backend.address))
        let cli = TLSRedisCLI(certificates: certificates)
        #expect(try cli.run(port: proxy.port, "SET", "greeting", "hello").output == "OK")
        #expect(try cli.run(port: proxy.port, "GET", "greeting").output == "hello")
        #expect(try backend.client().command("GET", "greeting") == .bulk("hello"))

        let plain = try RedisTestClient(port: proxy.port, timeoutSeconds: 5)
        let started = Date()
        let reply = try? plain.command("PING")
        #expect(reply != .status("PONG"), "a plain client got a reply: \(String(describing: reply))")
        #expect(Date().timeIntervalSince(started) < 4, "the plain client was closed, not left waiting")
        plain.disconnect()

        #expect(try cli.run(port: proxy.port, "PING").output == "PONG")
        await proxy.stop()
    }

    /// With `ca`, a client without a certificate is refused; one with a certificate the CA signed
    /// is served. `protocols` and `ciphers` are accepted by the TLS library and redis-cli alike.
    @Test func mutualTLSNeedsAClientCertificate() async throws {
        let certificates = try TestCertificates()
        let backend = try await RedisServer()
        defer { backend.stop() }
        let extra = """
                ca: \(certificates.caCertificate)
                protocols: [TLSv1.2, TLSv1.3]
                ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384"

            """
        let proxy = try await ProxyUnderTest(yaml: Self.tlsListener(certificates, backend: backend.address, extra: extra))
        let anonymous = TLSRedisCLI(certificates: certificates)
        let refused = try anonymous.run(port: proxy.port, "SET", "k", "anonymous")
        #expect(refused.output != "OK", "\(refused)")
        #expect(try backend.client().command("GET", "k") == .bulk(nil), "nothing reached the backend")

        let known = TLSRedisCLI(certificates: certificates, presentsClientCertificate: true)
        #expect(try known.run(port: proxy.port, "SET", "k", "known").output == "OK")
        #expect(try known.run(port: proxy.port, "GET", "k").output == "known")
        await proxy.stop()
    }

    /// `protocols` and `ciphers` reach the TLS library: with TLS 1.2 only and one suite, openssl
    /// s_client gets exactly that, and a TLS 1.3 hello or another suite is refused.
    @Test func protocolsAndCiphersAreApplied() async throws {
        let certificates = try TestCertificates()
        let backend = try await RedisServer()
        defer { backend.stop() }
        let extra = "    protocols: [TLSv1.2]\n    ciphers: ECDHE-ECDSA-AES256-GCM-SHA384\n"
        let proxy = try await ProxyUnderTest(yaml: Self.tlsListener(certificates, backend: backend.address, extra: extra))
        guard let openssl = TestEnvironment.openssl else { throw TestFailure("openssl is not installed") }
        func hello(_ options: String...) throws -> String {
            let arguments = ["s_client", "-connect", "127.0.0.1:\(proxy.port)", "-CAfile", certificates.caCertificate, "-brief"]
            return try run(openssl, arguments + options, seconds: 10).output
        }
        let agreed = try hello("-tls1_2")
        #expect(agreed.contains("Protocol version: TLSv1.2"), "\(agreed)")
        #expect(agreed.contains("Ciphersuite: ECDHE-ECDSA-AES256-GCM-SHA384"), "\(agreed)")
        let newer = try hello("-tls1_3")
        #expect(!newer.contains("CONNECTION ESTABLISHED") && newer.contains("protocol version"), "\(newer)")
        let otherSuite = try hello("-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256")
        #expect(!otherSuite.contains("CONNECTION ESTABLISHED") && otherSuite.contains("handshake failure"), "\(otherSuite)")
        await proxy.stop()
    }

    /// A pool whose groups are TLS-only redis-servers, reached with `backend_tls`.
    static func tlsBackends(_ servers: [TLSRedisServer], backendTLS: String, timeout: Int = 1000) -> String {
        """
        alpha:
          listen: LISTEN
          timeout: \(timeout)
          backend_tls: \(backendTLS)
          groups:
        \(servers.enumerated().map { "    - {name: g\($0.offset), master: \"\($0.element.address)\"}" }.joined(separator: "\n"))

        """
    }

    /// SET, GET and a MGET split over two TLS-only backends, whose certificates are checked against
    /// the CA and the IP address the backends are reached at.
    @Test func backendTLSAcrossTwoServers() async throws {
        let certificates = try TestCertificates()
        let servers = [try await TLSRedisServer(certificates: certificates), try await TLSRedisServer(certificates: certificates)]
        defer { servers.forEach { $0.stop() } }
        let proxy = try await ProxyUnderTest(yaml: Self.tlsBackends(servers, backendTLS: "{ca: \(certificates.caCertificate)}"))
        let client = try proxy.client()
        let keys = (0..<20).map { "key:\($0)" }
        for key in keys { #expect(try client.command("SET", key, "v-\(key)") == .status("OK")) }
        #expect(try client.command("GET", "key:3") == .bulk("v-key:3"))
        let values = try client.command([Array("MGET".utf8)] + keys.map { Array($0.utf8) })
        #expect(values == .array(keys.map { Reply.bulk("v-\($0)") }))
        client.disconnect()
        await proxy.stop()
        let cli = TLSRedisCLI(certificates: certificates)
        for server in servers {
            let count = Int(try cli.run(port: server.port, "DBSIZE").output) ?? 0
            #expect(count > 0 && count < 20, "each backend holds part of the keys: \(count)")
        }
    }

    /// Every other connection a pool opens speaks TLS too: a leased one (BLPOP), the pub/sub one,
    /// and the replica watcher's ROLE checks, without which a replica never serves reads.
    @Test func leasedPubSubAndReplicaChecksUseTLS() async throws {
        let certificates = try TestCertificates()
        let master = try await TLSRedisServer(certificates: certificates)
        defer { master.stop() }
        let replica = try await TLSRedisServer(
            certificates: certificates, extra: ["--replicaof", "127.0.0.1", "\(master.port)", "--tls-replication", "yes"])
        defer { replica.stop() }
        let yaml = """
            alpha:
              listen: LISTEN
              read_policy: replica
              backend_tls: {ca: \(certificates.caCertificate)}
              groups:
                - {name: g, master: "\(master.address)", replicas: ["\(replica.address)"]}

            """
        let proxy = try await ProxyUnderTest(yaml: yaml)
        let client = try proxy.client()
        #expect(try client.command("SET", "k", "from-master") == .status("OK"))
        try await waitUntil("the replica serves reads over TLS", seconds: 10) {
            try client.command("GET", "k") == .bulk("from-master")
        }
        #expect(try client.command("BLPOP", "nothing", "0.1") == .array(nil))

        let subscriber = try proxy.client()
        #expect(
            try subscriber.command("SUBSCRIBE", "news")
                == .array([.bulk("subscribe"), .bulk("news"), .integer(1)]))
        try await waitUntil("the message reaches the subscriber") {
            try client.command("PUBLISH", "news", "hello") == .integer(1)
        }
        #expect(try subscriber.readReply() == .array([.bulk("message"), .bulk("news"), .bulk("hello")]))
        subscriber.disconnect()
        client.disconnect()
        await proxy.stop()
    }

    /// In a Sentinel pool, `backend_tls` covers the Sentinels too: the master is found through a
    /// TLS-only redis-sentinel and served over TLS.
    @Test func sentinelsAreAskedOverTLS() async throws {
        let certificates = try TestCertificates()
        let master = try await TLSRedisServer(certificates: certificates)
        defer { master.stop() }
        let sentinel = try await TLSSentinel(certificates: certificates, monitoring: master, as: "cache")
        defer { sentinel.stop() }
        let yaml = """
            alpha:
              listen: LISTEN
              sentinels: ["\(sentinel.address)"]
              backend_tls: {ca: \(certificates.caCertificate)}
              groups: [{name: cache}]

            """
        let proxy = try await ProxyUnderTest(yaml: yaml)
        let client = try proxy.client()
        #expect(try client.command("SET", "k", "found-through-sentinel") == .status("OK"))
        #expect(try TLSRedisCLI(certificates: certificates).run(port: master.port, "GET", "k").output == "found-through-sentinel")
        client.disconnect()
        await proxy.stop()
    }

    /// A backend whose certificate is not trusted (another CA, or not for the name or address it is
    /// reached at), or that speaks plain TCP, is unreachable: the client gets the proxy's backend
    /// error at once, not a hang. The right `server_name` is accepted, and `verify: false` accepts
    /// any certificate.
    @Test func untrustedBackendIsUnreachable() async throws {
        let certificates = try TestCertificates()
        let server = try await TLSRedisServer(certificates: certificates)
        defer { server.stop() }
        let named = try await TLSRedisServer(certificates: certificates, named: true)
        defer { named.stop() }
        let plainServer = try await RedisServer()
        defer { plainServer.stop() }
        let ca = certificates.caCertificate
        let cases: [(yaml: String, reason: String)] = [
            (Self.tlsBackends([server], backendTLS: "{ca: \(certificates.otherCACertificate)}"), "CERTIFICATE_VERIFY_FAILED"),
            (Self.tlsBackends([named], backendTLS: "{ca: \(ca)}"), "certificate does not name the IP address"),
            (Self.tlsBackends([named], backendTLS: "{ca: \(ca), server_name: redis.example}"), "certificate is not for redis.example"),
            (
                Self.tlsBackends([], backendTLS: "{ca: \(ca)}", timeout: 500)
                    + "    - {name: plain, master: \"\(plainServer.address)\"}\n",
                // The request's timeout and the handshake's are the same: either may say it first.
                ""
            ),
        ]
        for (yaml, reason) in cases {
            let proxy = try await ProxyUnderTest(yaml: yaml)
            let client = try proxy.client()
            let started = Date()
            let reply = try client.command("GET", "k")
            guard case .error(let text) = reply else {
                Issue.record("expected the backend error, got \(reply)\n\(yaml)")
                continue
            }
            #expect(text.hasPrefix("ERR shardgate: group "), "\(text)")
            if !reason.isEmpty { #expect(text.contains("cannot connect (") && text.contains(reason), "\(text)") }
            #expect(Date().timeIntervalSince(started) < 3, "answered within the connect timeout")
            #expect(try client.command("PING") == .status("PONG"), "the client stays connected")
            client.disconnect()
            await proxy.stop()
        }

        for (target, backendTLS) in [(named, "{ca: \(ca), server_name: localhost}"), (server, "{ca: \(certificates.otherCACertificate), verify: false}")] {
            let proxy = try await ProxyUnderTest(yaml: Self.tlsBackends([target], backendTLS: backendTLS))
            #expect(try proxy.client().command("SET", "k", "v") == .status("OK"), "\(backendTLS)")
            await proxy.stop()
        }
    }

    /// `shardgate proxy` logs a client's failed handshake once, with its address and the reason,
    /// and goes on serving.
    @Test func failedClientHandshakeIsLoggedOnce() async throws {
        let certificates = try TestCertificates()
        let backend = try await RedisServer()
        defer { backend.stop() }
        let port = try freePort()
        let path = certificates.path("proxy.yml")
        try Self.tlsListener(certificates, backend: backend.address).replacingOccurrences(of: "LISTEN", with: "127.0.0.1:\(port)")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let proxy = try ManagedProcess(
            CLITests.binary, ["proxy", "-c", path, "--log-level", "notice"], name: "proxy", directory: certificates.directory.path)
        defer { proxy.stop() }
        let cli = TLSRedisCLI(certificates: certificates)
        try await waitUntil("the proxy serves TLS", seconds: 10) { (try? cli.run(port: port, "PING").output) == "PONG" }

        let plain = try RedisTestClient(port: port, timeoutSeconds: 5)
        _ = try? plain.command("PING")
        plain.disconnect()
        try await waitUntil("the failed handshake is logged") { proxy.log.contains("TLS handshake with a client failed") }
        #expect(try cli.run(port: port, "PING").output == "PONG")
        let lines = proxy.log.split(separator: "\n").filter { $0.contains("TLS handshake with a client failed") }
        #expect(lines.count == 1, "\(proxy.log)")
        #expect(lines.first?.contains("client=") == true && lines.first?.contains("WRONG_VERSION_NUMBER") == true, "\(lines)")
    }

    /// A certificate file that is missing, a file that holds no certificate, a key that does not
    /// match its certificate: the start (and `shardgate check`) refuse, naming the key and the file.
    @Test func unusableCertificateFilesAreRefusedByName() async throws {
        let certificates = try TestCertificates()
        let missing = certificates.path("missing.crt")
        let notPEM = certificates.path("server.ext")
        let cases: [(cert: String, key: String, keyPath: String, words: [String])] = [
            (missing, certificates.serverKey, "alpha.tls.cert", [missing, "No such file"]),
            (notPEM, certificates.serverKey, "alpha.tls.cert", [notPEM, "no PEM certificate"]),
            (certificates.serverCertificate, certificates.clientKey, "alpha.tls.key", [certificates.clientKey, "does not match"]),
        ]
        for (cert, key, keyPath, words) in cases {
            let yaml = "alpha:\n  listen: 127.0.0.1:0\n  tls: {cert: \(cert), key: \(key)}\n  groups: [{name: one, master: \"127.0.0.1:7001\"}]\n"
            let config = try ProxyConfigLoader.parse(yaml, file: "tls.yml")
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let server = ProxyServer(config: config, group: group, logger: Logger(label: "tls-test"), configPath: "tls.yml")
            do {
                try await server.start()
                Issue.record("the proxy started with \(keyPath) unusable")
                await server.stop()
            } catch let error as ConfigError {
                #expect(error.issues.map(\.keyPath) == [keyPath], "\(error)")
                for word in words { #expect(error.description.contains(word), "\(error)") }
            }
            try await group.shutdownGracefully()

            let file = certificates.path("check.yml")
            try yaml.write(toFile: file, atomically: true, encoding: .utf8)
            let check = try run(CLITests.binary, ["check", "-c", file])
            #expect(check.status == 2, "\(check.output)")
            #expect(check.output.contains("check.yml: \(keyPath): "), "\(check.output)")
            for word in words { #expect(check.output.contains(word), "\(check.output)") }
            let start = try run(CLITests.binary, ["proxy", "-c", file], seconds: 20)
            #expect(start.status == 2 && start.output.contains("check.yml: \(keyPath): "), "\(start.output)")
        }

        // Every unusable file is named in one run, on both sides.
        let file = certificates.path("many.yml")
        try """
            alpha:
              listen: 127.0.0.1:0
              tls: {cert: \(missing), key: \(certificates.serverKey), ca: \(notPEM)}
              backend_tls: {ca: \(certificates.path("missing-ca.crt")), cert: \(certificates.clientCertificate), key: \(missing)}
              groups: [{name: one, master: "127.0.0.1:7001"}]

            """.write(toFile: file, atomically: true, encoding: .utf8)
        let check = try run(CLITests.binary, ["check", "-c", file])
        #expect(check.status == 2, "\(check.output)")
        for keyPath in ["alpha.tls.cert", "alpha.tls.ca", "alpha.backend_tls.ca", "alpha.backend_tls.key"] {
            #expect(check.output.contains("many.yml: \(keyPath): "), "\(keyPath): \(check.output)")
        }
    }
}
