import Config
import Testing

/// `tls` and `backend_tls`: their shape as the loader reads it (the files are checked by the proxy
/// when it loads them: IntegrationTests' ProxyTLSTests).
@Suite struct TLSConfigTests {
    static func pool(_ lines: String) -> String {
        "p:\n  listen: 127.0.0.1:6380\n\(lines)  groups: [{name: a, master: \"127.0.0.1:7001\"}]\n"
    }

    @Test func listenerTLSReadsEveryKey() throws {
        let yaml = Self.pool(
            """
              tls:
                cert: /etc/s.crt
                key: /etc/s.key
                ca: /etc/ca.crt
                protocols: [TLSv1.3, TLSv1.2, TLSv1.3]
                ciphers: "ECDHE-RSA-AES128-GCM-SHA256:AES256-SHA, ECDHE-RSA-AES128-GCM-SHA256"

            """)
        let tls = try #require(try parseOK(yaml).pools.first?.tls)
        #expect(tls.certificate == "/etc/s.crt" && tls.privateKey == "/etc/s.key" && tls.clientCA == "/etc/ca.crt")
        #expect(tls.protocols == [.tls12, .tls13], "sorted, without duplicates")
        #expect(tls.ciphers == ["ECDHE-RSA-AES128-GCM-SHA256", "AES256-SHA"], "in order, without duplicates")
    }

    /// Redis's spelling of `tls-protocols` works too; leaving keys out keeps the library's defaults.
    @Test func listenerTLSDefaultsAndRedisSpelling() throws {
        let minimal = try #require(try parseOK(Self.pool("  tls: {cert: s.crt, key: s.key}\n")).pools.first?.tls)
        #expect(minimal == ListenerTLS(certificate: "s.crt", privateKey: "s.key"))
        let spelled = try #require(
            try parseOK(Self.pool("  tls: {cert: s.crt, key: s.key, protocols: \"TLSv1.2 TLSv1.3\"}\n")).pools.first?.tls)
        #expect(spelled.protocols == [.tls12, .tls13])
        #expect(try parseOK(Self.pool("")).pools.first?.tls == nil)
    }

    @Test func listenerTLSProblemsAreNamed() {
        let cases: [(lines: String, keyPath: String, fragment: String)] = [
            ("  tls: {cert: s.crt}\n", "p.tls.key", "missing required key"),
            ("  tls: {key: s.key}\n", "p.tls.cert", "missing required key"),
            ("  tls: {cert: \"\", key: s.key}\n", "p.tls.cert", "must not be empty"),
            ("  tls: {cert: s.crt, key: s.key, protocols: [TLSv1.1]}\n", "p.tls.protocols", "TLSv1.1 is not supported"),
            ("  tls: {cert: s.crt, key: s.key, protocols: [SSLv3]}\n", "p.tls.protocols", "unknown TLS protocol \"SSLv3\""),
            ("  tls: {cert: s.crt, key: s.key, protocols: []}\n", "p.tls.protocols", "at least one"),
            ("  tls: {cert: s.crt, key: s.key, ciphers: \"HIGH:!aNULL\"}\n", "p.tls.ciphers", "unknown TLS 1.2 cipher \"HIGH\""),
            ("  tls: {cert: s.crt, key: s.key, cipher: x}\n", "p.tls.cipher", "did you mean \"ciphers\""),
            ("  tls: s.crt\n", "p.tls", "expected a map"),
        ]
        for (lines, keyPath, fragment) in cases {
            let issues = parseIssues(Self.pool(lines))
            #expect(issues.contains { $0.keyPath == keyPath && $0.message.contains(fragment) }, "\(lines): \(issues)")
        }
    }

    @Test func backendTLSReadsEveryKey() throws {
        let yaml = Self.pool(
            "  backend_tls: {ca: ca.crt, cert: c.crt, key: c.key, server_name: redis.internal, verify: false}\n")
        let tls = try #require(try parseOK(yaml).pools.first?.backendTLS)
        #expect(
            tls == BackendTLS(ca: "ca.crt", certificate: "c.crt", privateKey: "c.key", serverName: "redis.internal", verify: false))
        let empty = try #require(try parseOK(Self.pool("  backend_tls: {}\n")).pools.first?.backendTLS)
        #expect(empty == BackendTLS(), "TLS with the system's CAs, verified")
        #expect(empty.verify)
    }

    @Test func backendTLSProblemsAreNamed() {
        let cases: [(lines: String, keyPath: String, fragment: String)] = [
            ("  backend_tls: {cert: c.crt}\n", "p.backend_tls.key", "needs both `cert` and `key`"),
            ("  backend_tls: {key: c.key}\n", "p.backend_tls.cert", "needs both `cert` and `key`"),
            ("  backend_tls: {verify: maybe}\n", "p.backend_tls.verify", "expected true or false"),
            ("  backend_tls: {server_name: \"\"}\n", "p.backend_tls.server_name", "must not be empty"),
            ("  backend_tls: {server_name: 10.0.0.1}\n", "p.backend_tls.server_name", "expected a host name"),
            ("  backend_tls: {server_name: \"::1\"}\n", "p.backend_tls.server_name", "expected a host name"),
            ("  backend_tls: {server_name: \"my host\"}\n", "p.backend_tls.server_name", "cannot contain spaces"),
            ("  backend_tls: {sni: x}\n", "p.backend_tls.sni", "unknown key"),
            ("  backend_tls: true\n", "p.backend_tls", "expected a map"),
        ]
        for (lines, keyPath, fragment) in cases {
            let issues = parseIssues(Self.pool(lines))
            #expect(issues.contains { $0.keyPath == keyPath && $0.message.contains(fragment) }, "\(lines): \(issues)")
        }
    }

    /// twemproxy has no TLS, but a nutcracker.yml pool may add it without being converted.
    @Test func twemproxyPoolsTakeTLS() throws {
        let yaml = """
            p:
              listen: 127.0.0.1:6380
              redis: true
              tls: {cert: s.crt, key: s.key}
              backend_tls: {ca: ca.crt}
              servers: ["127.0.0.1:7001:1"]

            """
        let pool = try #require(try parseOK(yaml).pools.first)
        #expect(pool.tls != nil && pool.backendTLS?.ca == "ca.crt")
    }
}
