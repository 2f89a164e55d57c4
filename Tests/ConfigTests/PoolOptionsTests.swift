import Config
import Foundation
import Testing

/// The option table against the loader, PoolConfig's defaults and README.md.
@Suite struct PoolOptionsTests {
    /// A value other than the default for every key that has one, and how `check` shows it. A key
    /// added to the table without an entry here fails `everyKeySetsItsField`.
    static let examples: [String: (yaml: String, shown: String)] = [
        "hash": ("murmur", "murmur"),
        "hash_tag": ("\"[]\"", "\"[]\""),
        "distribution": ("modula", "modula"),
        "read_policy": ("any", "any"),
        "timeout": ("250", "250"),
        "server_connections": ("3", "3"),
        "client_connections": ("10", "10"),
        "client_timeout": ("30", "30"),
        "drain_timeout": ("2500", "2500"),
        "slowlog_log_slower_than": ("10000", "10000"),
        "slowlog_max_len": ("16", "16"),
        "latency_monitor_threshold": ("100", "100"),
        "password": ("secret", "(set)"),
        "users": ("[\"app on >p ~app:* +get\", \"r on nopass +@read\"]", "[app, r]"),
        "auth": ("{user: u, password: p}", "(set)"),
        "redis_auth": ("secret", "(set)"),
        "database": ("2", "2"),
        "redis_db": ("3", "3"),
        "auto_eject_hosts": ("true", "true"),
        "server_failure_limit": ("5", "5"),
        "server_retry_timeout": ("100", "100"),
        "preconnect": ("true", "true"),
        "backlog": ("64", "64"),
        "tcpkeepalive": ("true", "true"),
        "reuseport": ("true", "true"),
        "tls": (
            "{cert: s.crt, key: s.key, ca: c.crt, protocols: [TLSv1.3], ciphers: \"AES128-SHA\"}",
            "{cert: s.crt, key: s.key, ca: c.crt, protocols: [TLSv1.3], ciphers: \"AES128-SHA\"}"
        ),
        "backend_tls": ("{ca: ca.crt, server_name: redis.internal, verify: false}", "{ca: ca.crt, server_name: redis.internal, verify: false}"),
        "client_output_buffer_limit": ("64mb", "64mb"),
        "leased_connections": ("8", "8"),
        "routes": ("{\"rq:\": b, \"a:\": a}", "{\"a:\": a, \"rq:\": b}"),
        "keyless_group": ("b", "b"),
        "sentinels": ("[127.0.0.1:26379, 127.0.0.1:26380]", "[127.0.0.1:26379, 127.0.0.1:26380]"),
        "sentinel_auth": ("secret", "(set)"),
        "sentinel_timeout": ("100", "100"),
        "sentinel_poll": ("200", "200"),
        "sentinel_subscriptions": ("2", "2"),
        "max_replica_lag": ("{bytes: 100, seconds: 5}", "{bytes: 100, seconds: 5}"),
        "read_your_writes": ("true", "true"),
    ]

    /// A valid pool of `kind` with `key: value` added (Sentinel-managed when the key needs it).
    static func pool(_ kind: PoolKind, _ key: String, _ value: String) -> String {
        let line = "  \(key): \(value)\n"
        if kind == .twemproxy {
            return "p:\n  listen: 127.0.0.1:6380\n  redis: true\n\(line)  servers:\n    - 127.0.0.1:7001:1\n    - 127.0.0.1:7002:1 b\n"
        }
        if key == "sentinels" || PoolOptions.byName[key]?.needsSentinels == true {
            let sentinels = key == "sentinels" ? "" : "  sentinels: [127.0.0.1:26379]\n"
            return "p:\n  listen: 127.0.0.1:6380\n\(sentinels)\(line)  groups: [{name: a}, {name: b}]\n"
        }
        return """
            p:
              listen: 127.0.0.1:6380
            \(line)  groups:
                - {name: a, master: "127.0.0.1:7001", replicas: ["127.0.0.1:7002"]}
                - {name: b, master: "127.0.0.1:7003"}

            """
    }

    @Test func tableIsConsistent() {
        #expect(Set(PoolOptions.all.map(\.name)).count == PoolOptions.all.count, "one entry per key")
        for option in PoolOptions.all {
            if let target = option.sameAs {
                #expect(PoolOptions.byName[target] != nil, "\(option.name) is the same as an unknown key \(target)")
            }
            #expect(!option.doc.isEmpty && !option.value.isEmpty, "\(option.name) is documented")
            #expect(option.isRequired || !option.defaultText(in: .native).isEmpty, "\(option.name) has a default")
        }
    }

    /// Setting each key changes the pool the loader returns, in the way `check` reports: no key is
    /// parsed and then dropped.
    @Test func everyKeySetsItsField() throws {
        for option in PoolOptions.all where !option.isRequired {
            let example = try #require(Self.examples[option.name], "no example for \(option.name)")
            for kind in [PoolKind.native, .twemproxy] where option.pools.accept(kind) {
                let yaml = Self.pool(kind, option.name, example.yaml)
                let pool = try #require(try parseOK(yaml).pools.first)
                let unset = try #require(try parseOK(Self.pool(kind, "#", "")).pools.first)
                #expect(option.setting(in: pool) == example.shown, "\(kind) \(option.name) as read:\n\(yaml)")
                #expect(pool != unset, "\(kind) \(option.name) changes the pool")
                let changed = PoolOptions.changedSettings(of: pool)
                let expected = option.sameAs != nil && kind == .native ? (option.sameAs ?? "") : option.name
                #expect(
                    changed.contains { $0.key == expected && $0.value == example.shown },
                    "\(kind) \(option.name): check shows \(changed)")
            }
        }
    }

    /// A pool that sets nothing is PoolConfig's defaults: the loader has no defaults of its own.
    @Test func unsetKeysArePoolConfigDefaults() throws {
        for kind in [PoolKind.native, .twemproxy] {
            let pool = try #require(try parseOK(Self.pool(kind, "#", "")).pools.first)
            let built = PoolConfig(name: pool.name, listen: pool.listen, groups: pool.groups, kind: kind)
            #expect(pool == built, "\(kind)")
            #expect(PoolOptions.changedSettings(of: pool).isEmpty, "\(kind): \(PoolOptions.changedSettings(of: pool))")
        }
        #expect(PoolOptions.byName["timeout"]?.defaultText(in: .native) == "1000")
        #expect(PoolOptions.byName["timeout"]?.defaultText(in: .twemproxy) == "none")
        #expect(PoolOptions.byName["client_output_buffer_limit"]?.defaultText(in: .native) == "256mb")
        #expect(PoolOptions.byName["keyless_group"]?.defaultText(in: .native) == "the first group")
        #expect(PoolOptions.byName["listen"]?.defaultText(in: .native) == "required")
    }

    @Test func keysOfTheOtherKindOfPoolAreRefusedWithTheirOwnMessage() {
        let twemproxyOnly = PoolOptions.all.filter { $0.pools == .twemproxy && $0.name != "servers" }
        #expect(twemproxyOnly.map(\.name) == ["redis", "redis_auth"])
        for option in twemproxyOnly {
            let issues = parseIssues(Self.pool(.native, option.name, "x"))
            #expect(issues.map(\.keyPath) == ["p.\(option.name)"], "\(issues)")
            #expect(issues.first?.message.contains("accepted only in twemproxy pools") == true, "\(issues)")
        }
        for option in PoolOptions.all where option.pools == .native && option.name != "groups" {
            let issues = parseIssues(Self.pool(.twemproxy, option.name, "x"))
            #expect(issues.map(\.keyPath) == ["p.\(option.name)"], "\(option.name): \(issues)")
            #expect(issues.first?.line == 4, "\(issues)")
        }
    }

    /// README.md's key reference is exactly what the table renders.
    @Test func readmeListsEveryKey() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        let begin = try #require(text.range(of: "<!-- BEGIN options"), "README.md has no BEGIN options marker")
        let afterBegin = try #require(text.range(of: "-->\n", range: begin.upperBound..<text.endIndex))
        let end = try #require(text.range(of: "<!-- END options -->", range: afterBegin.upperBound..<text.endIndex))
        let documented = String(text[afterBegin.upperBound..<end.lowerBound])
        let rendered = PoolOptions.markdown()
        let firstDifference = zip(documented.split(separator: "\n"), rendered.split(separator: "\n"))
            .first { $0 != $1 }
        #expect(
            documented == rendered,
            """
            README.md's option table differs from the option table (Sources/Config/PoolOptions.swift); \
            paste `swift run shardgate options --markdown` between its markers. First difference:
            README: \(firstDifference.map { String($0.0) } ?? "(line count differs)")
            table:  \(firstDifference.map { String($0.1) } ?? "")
            """)
    }
}
