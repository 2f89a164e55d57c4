import Config
import Foundation
import Routing
import Testing

@Suite struct NativeConfigTests {
    @Test func everyKeySet() throws {
        let config = try parseOK(
            """
            # Shardgate proxy.yml with every key
            main:
              listen: 127.0.0.1:6380
              hash: murmur
              hash_tag: "{}"
              distribution: slots
              read_policy: prefer-replica
              timeout: 250
              server_connections: 4
              password: secret
              auth: {user: proxy, password: backendpass}
              database: 3
              auto_eject_hosts: false
              server_failure_limit: 5
              server_retry_timeout: 10000
              preconnect: true
              client_connections: 1000
              backlog: 128
              tcpkeepalive: true
              reuseport: true
              groups:
                - name: shard-a
                  master: 127.0.0.1:7001
                  replicas: [127.0.0.1:7002, "[::1]:7003"]
                  weight: 2
                  slots: 0-5460
                - name: shard-b
                  master: redis-b.internal:7004
                  slots: [5461-8000, 8001, 8002-10922]
                - name: shard-c
                  master: 127.0.0.1:7005
                  replicas: []
                  slots: 10923-16383
            """)
        #expect(config.pools.count == 1)
        let pool = try #require(config.pools.first)
        #expect(pool.name == "main")
        #expect(pool.listen == Endpoint(host: "127.0.0.1", port: 6380))
        #expect(pool.hash == .murmur)
        #expect(pool.hashTag == .braces)
        #expect(pool.distribution == .slots)
        #expect(pool.readPolicy == .preferReplica)
        #expect(pool.timeoutMilliseconds == 250)
        #expect(pool.serverConnections == 4)
        #expect(pool.password == "secret")
        #expect(pool.auth == BackendAuth(username: "proxy", password: "backendpass"))
        #expect(pool.database == 3)
        #expect(pool.autoEjectHosts == false)
        #expect(pool.serverFailureLimit == 5)
        #expect(pool.serverRetryTimeoutMilliseconds == 10000)
        #expect(pool.preconnect)
        #expect(pool.clientConnections == 1000)
        #expect(pool.backlog == 128)
        #expect(pool.tcpKeepalive)
        #expect(pool.reusePort)
        #expect(!pool.isTwemproxyPool)
        #expect(
            pool.groups == [
                GroupConfig(
                    name: "shard-a", master: Endpoint(host: "127.0.0.1", port: 7001),
                    replicas: [Endpoint(host: "127.0.0.1", port: 7002), Endpoint(host: "::1", port: 7003)], weight: 2,
                    slots: [SlotRange(lower: 0, upper: 5460)]),
                GroupConfig(
                    name: "shard-b", master: Endpoint(host: "redis-b.internal", port: 7004),
                    slots: [
                        SlotRange(lower: 5461, upper: 8000), SlotRange(lower: 8001, upper: 8001),
                        SlotRange(lower: 8002, upper: 10922),
                    ]),
                GroupConfig(
                    name: "shard-c", master: Endpoint(host: "127.0.0.1", port: 7005),
                    slots: [SlotRange(lower: 10923, upper: 16383)]),
            ])
        #expect(pool.groups.allSatisfy { $0.hashName == $0.name })
        #expect(pool.groups[0].replicas[1].description == "[::1]:7003")
    }

    @Test func defaults() throws {
        let config = try parseOK(
            """
            cache:
              listen: 0.0.0.0:6380
              groups:
                - name: only
                  master: 127.0.0.1:6379
            """)
        let pool = try #require(config.pools.first)
        #expect(pool.hash == .fnv1a_64)
        #expect(pool.hashTag == nil)
        #expect(pool.distribution == .ketama)
        #expect(pool.readPolicy == .master)
        #expect(pool.timeoutMilliseconds == 1000)
        #expect(pool.serverConnections == 1)
        #expect(pool.password == nil)
        #expect(pool.auth == nil)
        #expect(pool.database == 0)
        #expect(!pool.autoEjectHosts)
        #expect(pool.serverFailureLimit == 2)
        #expect(pool.serverRetryTimeoutMilliseconds == 30000)
        #expect(!pool.preconnect)
        #expect(pool.clientConnections == 0)
        #expect(pool.backlog == 512)
        #expect(!pool.tcpKeepalive)
        #expect(!pool.reusePort)
        #expect(pool.groups == [GroupConfig(name: "only", master: Endpoint(host: "127.0.0.1", port: 6379))])
        #expect(pool.hashedNodes == [HashedNode(name: Array("only".utf8), weight: 1)])
    }

    @Test func clientOutputBufferLimit() throws {
        func limit(_ value: String?) throws -> Int {
            let line = value.map { "  client_output_buffer_limit: \($0)\n" } ?? ""
            let config = try parseOK("p:\n  listen: 127.0.0.1:6380\n\(line)  groups:\n    - name: a\n      master: 127.0.0.1:7001\n")
            return try #require(config.pools.first).clientOutputBufferLimit
        }
        #expect(try limit(nil) == 256 << 20)
        #expect(try limit("0") == 0)
        #expect(try limit("1048576") == 1 << 20)
        #expect(try limit("64mb") == 64 << 20)
        #expect(try limit("2GB") == 2 << 30)
        #expect(try limit("10k") == 10_000)
        #expect(try limit("512kb") == 512 << 10)
        for bad in ["-1", "10xb", "mb", "1.5mb", "\"\"", "[1]"] {
            #expect(throws: ConfigError.self, "\(bad)") { try ProxyConfigLoader.parse(
                "p:\n  listen: 127.0.0.1:6380\n  client_output_buffer_limit: \(bad)\n  groups:\n    - name: a\n      master: 127.0.0.1:7001\n") }
        }
    }

    @Test func rangePoolsKeepFileOrderAndOpenEnds() throws {
        let config = try parseOK(
            """
            ranged:
              listen: 127.0.0.1:6390
              distribution: range
              auth: plainpass
              redis_db: 2
              groups:
                - name: late
                  master: 127.0.0.1:7003
                  range: {from: "t"}
                - name: early
                  master: 127.0.0.1:7001
                  range: {from: "", to: "m"}
                - name: middle
                  master: 127.0.0.1:7002
                  range: {from: m, to: "t"}
            other:
              listen: 127.0.0.1:6391
              groups: [{name: x, master: "127.0.0.1:7009"}]
            """)
        #expect(config.pools.map(\.name) == ["ranged", "other"])
        let pool = config.pools[0]
        #expect(pool.auth == BackendAuth(password: "plainpass"))
        #expect(pool.database == 2)
        #expect(pool.groups.map(\.name) == ["late", "early", "middle"])
        #expect(
            pool.groups.map(\.range) == [
                KeyRange(from: Array("t".utf8), to: nil),
                KeyRange(from: nil, to: Array("m".utf8)),
                KeyRange(from: Array("m".utf8), to: Array("t".utf8)),
            ])
        #expect(pool.groups.allSatisfy { $0.slots.isEmpty })
    }

    @Test func rangeStringsAreUTF8Bytes() throws {
        let config = try parseOK(
            """
            r:
              listen: 127.0.0.1:6390
              distribution: range
              groups:
                - {name: a, master: "h:1", range: {to: "é"}}
                - {name: b, master: "h:2", range: {from: "é", to: null}}
            """)
        #expect(config.pools[0].groups[0].range == KeyRange(from: nil, to: [0xC3, 0xA9]))
        #expect(config.pools[0].groups[1].range == KeyRange(from: [0xC3, 0xA9], to: nil))
    }

    @Test func singleGroupCoversEverything() throws {
        let slots = try parseOK(
            """
            s:
              listen: 127.0.0.1:6390
              distribution: slots
              groups: [{name: all, master: "h:1", slots: 0-16383}]
            """)
        #expect(slots.pools[0].groups[0].slots == [SlotRange(lower: 0, upper: 16383)])
        let range = try parseOK(
            """
            r:
              listen: 127.0.0.1:6390
              distribution: range
              groups: [{name: all, master: "h:1", range: {}}]
            """)
        #expect(range.pools[0].groups[0].range == KeyRange(from: nil, to: nil))
    }

    @Test func yamlAnchorsAndMergeKeys() throws {
        let config = try parseOK(
            """
            defaults: &defaults
              listen: 127.0.0.1:7000
              timeout: 50
              groups: [{name: d, master: "h:1"}]
            second:
              <<: *defaults
              listen: 127.0.0.1:7001
            """)
        #expect(config.pools.map(\.listen.port) == [7000, 7001])
        #expect(config.pools.map(\.timeoutMilliseconds) == [50, 50])
    }

    @Test func loadReadsFilesAndNamesThemInIssues() throws {
        let path = "/tmp/shardgate-config-test-\(UInt64.random(in: 0...UInt64.max)).yml"
        try "p:\n  listen: 127.0.0.1:1\n  groups: [{name: g, master: \"h:1\"}]\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try ProxyConfigLoader.load(path: path).pools.count == 1)

        try "p:\n  listen: nowhere\n  groups: [{name: g, master: \"h:1\"}]\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let error = #expect(throws: ConfigError.self) { try ProxyConfigLoader.load(path: path) }
        #expect(error?.description == "\(path):2: p.listen: expected host:port, got \"nowhere\"")

        let missing = #expect(throws: ConfigError.self) { try ProxyConfigLoader.load(path: path + ".absent") }
        #expect(missing?.issues.first?.message.hasPrefix("cannot read the file") == true)
    }

    @Test func routesAndKeylessGroup() throws {
        let config = try ProxyConfigLoader.parse("""
            main:
              listen: 127.0.0.1:6380
              keyless_group: b
              routes:
                "rq:": b
                "rq:special:": a
              groups:
                - name: a
                  master: 127.0.0.1:7001
                - name: b
                  master: 127.0.0.1:7002
            """, file: "t.yml")
        let pool = try #require(config.pools.first)
        #expect(pool.keylessGroup == 1)
        func route(_ key: String) -> Int? { Array(key.utf8).withUnsafeBytes { pool.routes.group(forKey: $0) } }
        #expect(route("rq:queue:default") == 1)
        #expect(route("rq:special:x") == 0, "the longest prefix wins")
        #expect(route("rq") == nil)
        #expect(route("other") == nil)
    }
}
