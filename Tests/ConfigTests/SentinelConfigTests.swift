import Config
import Routing
import Testing

/// Sentinel-managed pools (`sentinels:`), `max_replica_lag` and `read_your_writes`.
@Suite struct SentinelConfigTests {
    @Test func everySentinelKeySet() throws {
        let config = try parseOK(
            """
            main:
              listen: 127.0.0.1:6380
              sentinels: [127.0.0.1:26379, 127.0.0.1:26380, 127.0.0.1:26381]
              sentinel_auth: secret
              sentinel_timeout: 100
              sentinel_poll: 500
              max_replica_lag: {bytes: 1048576, seconds: 10}
              read_your_writes: true
              read_policy: prefer-replica
              groups:
                - name: mymaster
                - name: other
                  weight: 3
            """)
        let pool = try #require(config.pools.first)
        #expect(pool.usesSentinel)
        #expect(
            pool.sentinels == [26379, 26380, 26381].map { Endpoint(host: "127.0.0.1", port: $0) })
        #expect(pool.sentinelAuth == BackendAuth(password: "secret"))
        #expect(pool.sentinelTimeoutMilliseconds == 100)
        #expect(pool.sentinelPollMilliseconds == 500)
        #expect(pool.maxReplicaLagBytes == 1_048_576)
        #expect(pool.maxReplicaLagSeconds == 10)
        #expect(pool.readYourWrites)
        #expect(pool.readPolicy == .preferReplica)
        #expect(pool.auth == nil)
        #expect(
            pool.groups == [
                GroupConfig(name: "mymaster", master: nil),
                GroupConfig(name: "other", master: nil, weight: 3),
            ])
        #expect(pool.groups.allSatisfy { $0.master == nil && $0.replicas.isEmpty })
        #expect(pool.hashedNodes.map(\.weight) == [1, 3])
    }

    @Test func sentinelDefaults() throws {
        let config = try parseOK(
            """
            main:
              listen: 127.0.0.1:6380
              sentinels: ["[::1]:26379"]
              groups: [{name: mymaster}]
            """)
        let pool = try #require(config.pools.first)
        #expect(pool.usesSentinel)
        #expect(pool.sentinels == [Endpoint(host: "::1", port: 26379)])
        #expect(pool.sentinelAuth == nil)
        #expect(pool.sentinelTimeoutMilliseconds == 250)
        #expect(pool.sentinelPollMilliseconds == 1000)
        #expect(pool.maxReplicaLagBytes == nil)
        #expect(pool.maxReplicaLagSeconds == nil)
        #expect(!pool.readYourWrites)
        #expect(pool.readPolicy == .master)
        #expect(pool.groups == [GroupConfig(name: "mymaster", master: nil)])
    }

    @Test func poolsWithoutSentinelsKeepTheirDefaults() throws {
        let config = try parseOK(
            """
            plain:
              listen: 127.0.0.1:6380
              groups: [{name: a, master: "h:1"}]
            twem:
              listen: 127.0.0.1:6381
              redis: true
              servers: [127.0.0.1:7001:1]
            """)
        for pool in config.pools {
            #expect(!pool.usesSentinel)
            #expect(pool.sentinels.isEmpty)
            #expect(pool.sentinelAuth == nil)
            #expect(pool.sentinelTimeoutMilliseconds == 250)
            #expect(pool.sentinelPollMilliseconds == 1000)
            #expect(pool.maxReplicaLagBytes == nil && pool.maxReplicaLagSeconds == nil)
            #expect(!pool.readYourWrites)
            #expect(pool.groups.allSatisfy { $0.master != nil })
        }
        // The memberwise default keeps code that builds pools by hand non-Sentinel.
        let built = PoolConfig(
            name: "x", listen: Endpoint(host: "h", port: 1), groups: [GroupConfig(name: "g", master: nil)])
        #expect(!built.usesSentinel)
        #expect(built.sentinelTimeoutMilliseconds == 250 && built.sentinelPollMilliseconds == 1000)
    }

    @Test func sentinelAuthMapAndSlots() throws {
        let config = try parseOK(
            """
            main:
              listen: 127.0.0.1:6380
              distribution: slots
              auth: backendpass
              sentinels:
                - sentinel-a.internal:26379
                - sentinel-b.internal:26379
              sentinel_auth: {user: watcher, password: p}
              groups:
                - {name: shard-a, slots: 0-8191}
                - {name: shard-b, slots: 8192-16383}
            """)
        let pool = try #require(config.pools.first)
        #expect(pool.sentinels.map(\.host) == ["sentinel-a.internal", "sentinel-b.internal"])
        #expect(pool.sentinelAuth == BackendAuth(username: "watcher", password: "p"))
        #expect(pool.auth == BackendAuth(password: "backendpass"))
        #expect(pool.groups.map(\.slots) == [[SlotRange(lower: 0, upper: 8191)], [SlotRange(lower: 8192, upper: 16383)]])
    }

    /// `read_your_writes` also applies to fixed replicas (reads after a write go to the master), and is
    /// accepted (if pointless) with `read_policy: master`.
    @Test func readYourWritesWithoutSentinels() throws {
        let config = try parseOK(
            """
            main:
              listen: 127.0.0.1:6380
              read_policy: master
              read_your_writes: true
              groups:
                - name: a
                  master: 127.0.0.1:7001
                  replicas: [127.0.0.1:7002]
            """)
        let pool = try #require(config.pools.first)
        #expect(!pool.usesSentinel)
        #expect(pool.readYourWrites)
        #expect(pool.groups[0].master == Endpoint(host: "127.0.0.1", port: 7001))
    }

    static let invalid: [InvalidCase] = [
        InvalidCase(
            "master and replicas given in a Sentinel pool",
            """
            main:
              listen: 127.0.0.1:6380
              sentinels: [127.0.0.1:26379]
              groups:
                - name: mymaster
                  master: 127.0.0.1:6379
                  replicas: [127.0.0.1:6378]
                - name: other
            """, count: 2,
            ExpectedIssue(6, "main.groups[0].master", "not used in a Sentinel pool: the Sentinels report each group's master"),
            ExpectedIssue(7, "main.groups[0].replicas", "give only the group's `name` (the Sentinel master name)")),
        InvalidCase(
            "empty sentinels list",
            """
            main:
              listen: 127.0.0.1:6380
              sentinels: []
              groups: [{name: mymaster}]
            """, count: 1,
            ExpectedIssue(3, "main.sentinels", "expected at least one Sentinel host:port")),
        InvalidCase(
            "bad sentinel addresses (groups still checked in Sentinel mode)",
            """
            main:
              listen: 127.0.0.1:6380
              sentinels:
                - localhost
                - 127.0.0.1:99999
                - 127.0.0.1:26379
              groups: [{name: mymaster}]
            other:
              listen: 127.0.0.1:6381
              sentinels: 127.0.0.1:26379
              groups: [{name: mymaster}]
            """, count: 3,
            ExpectedIssue(4, "main.sentinels[0]", "expected host:port, got \"localhost\""),
            ExpectedIssue(5, "main.sentinels[1]", "port must be a number between 1 and 65535, got \"99999\""),
            ExpectedIssue(10, "other.sentinels", "expected a list of Sentinel host:port addresses, got \"127.0.0.1:26379\"")),
        InvalidCase(
            "duplicate sentinels",
            """
            main:
              listen: 127.0.0.1:6380
              sentinels:
                - sentinel.local:26379
                - 127.0.0.1:26380
                - Sentinel.Local:26379
                - 127.0.0.1:26380
              groups: [{name: mymaster}]
            """, count: 2,
            ExpectedIssue(6, "main.sentinels[2]", "duplicate sentinel Sentinel.Local:26379 (also main.sentinels[0] at line 4)"),
            ExpectedIssue(7, "main.sentinels[3]", "duplicate sentinel 127.0.0.1:26380 (also main.sentinels[1] at line 5)")),
        InvalidCase(
            "bad max_replica_lag",
            """
            a:
              listen: 127.0.0.1:6380
              sentinels: [127.0.0.1:26379]
              max_replica_lag: {bytes: 0, seconds: -1, second: 3}
              groups: [{name: mymaster}]
            b:
              listen: 127.0.0.1:6381
              max_replica_lag: {}
              groups: [{name: x, master: "h:1"}]
            c:
              listen: 127.0.0.1:6382
              max_replica_lag: 10
              groups: [{name: x, master: "h:1"}]
            d:
              listen: 127.0.0.1:6383
              max_replica_lag: {bytes: 1mb}
              groups: [{name: x, master: "h:1"}]
            """, count: 9,
            ExpectedIssue(4, "a.max_replica_lag.bytes", "must be greater than 0, got 0"),
            ExpectedIssue(4, "a.max_replica_lag.seconds", "must be greater than 0, got -1"),
            ExpectedIssue(4, "a.max_replica_lag.second", "unknown key \"second\" (did you mean \"seconds\"?)"),
            ExpectedIssue(8, "b.max_replica_lag", "give `bytes`, `seconds` or both"),
            ExpectedIssue(12, "c.max_replica_lag", "expected a map {bytes: ..., seconds: ...}, got \"10\""),
            ExpectedIssue(16, "d.max_replica_lag.bytes", "expected an integer, got \"1mb\""),
            ExpectedIssue(8, "b.max_replica_lag", "only used with replicas"),
            ExpectedIssue(12, "c.max_replica_lag", "only used with replicas"),
            ExpectedIssue(16, "d.max_replica_lag", "only used with replicas")),
        InvalidCase(
            "sentinels in a twemproxy pool",
            """
            beta:
              listen: 127.0.0.1:22122
              redis: true
              sentinels: [127.0.0.1:26379]
              sentinel_poll: 500
              read_your_writes: true
              servers:
               - 127.0.0.1:6380:1
            """, count: 3,
            ExpectedIssue(4, "beta.sentinels", "twemproxy has no Sentinel support"),
            ExpectedIssue(4, "beta.sentinels", "convert `servers:` to Shardgate `groups:`"),
            ExpectedIssue(5, "beta.sentinel_poll", "\"sentinel_poll\" is a Shardgate key, but this is a twemproxy pool"),
            ExpectedIssue(6, "beta.read_your_writes", "\"read_your_writes\" is a Shardgate key")),
        InvalidCase(
            "missing master without sentinels",
            """
            main:
              listen: 127.0.0.1:6380
              groups:
                - name: mymaster
                - name: b
                  replicas: [127.0.0.1:7002]
            """, count: 2,
            ExpectedIssue(4, "main.groups[0].master", "missing required key (the master's host:port; or list `sentinels`"),
            ExpectedIssue(5, "main.groups[1].master", "missing required key")),
        InvalidCase(
            "Sentinel master names",
            """
            main:
              listen: 127.0.0.1:6380
              sentinels: [127.0.0.1:26379]
              groups:
                - name: my master
                - name: ""
                - weight: 2
                - name: ok
                - name: ok
            """, count: 4,
            ExpectedIssue(5, "main.groups[0].name", "a Sentinel master name cannot contain spaces, got \"my master\""),
            ExpectedIssue(6, "main.groups[1].name", "must not be empty"),
            ExpectedIssue(7, "main.groups[2].name", "missing required key"),
            ExpectedIssue(9, "main.groups[4].name", "duplicate group name \"ok\" (also main.groups[3] at line 8)")),
        InvalidCase(
            "bad Sentinel settings",
            """
            main:
              listen: 127.0.0.1:6380
              sentinels: [127.0.0.1:26379]
              sentinel_auth: ""
              sentinel_timeout: 0
              sentinel_poll: soon
              read_your_writes: maybe
              groups: [{name: mymaster}]
            other:
              listen: 127.0.0.1:6381
              sentinels: [127.0.0.1:26379]
              sentinel_auth: {user: u}
              sentinel_timout: 5
              groups: [{name: mymaster}]
            """, count: 6,
            ExpectedIssue(4, "main.sentinel_auth", "omit `sentinel_auth` to connect to the Sentinels without AUTH"),
            ExpectedIssue(5, "main.sentinel_timeout", "must be greater than 0, got 0"),
            ExpectedIssue(6, "main.sentinel_poll", "expected an integer, got \"soon\""),
            ExpectedIssue(7, "main.read_your_writes", "expected true or false, got \"maybe\""),
            ExpectedIssue(12, "other.sentinel_auth.password", "missing required key"),
            ExpectedIssue(13, "other.sentinel_timout", "did you mean \"sentinel_timeout\"?")),
        InvalidCase(
            "Sentinel settings without sentinels",
            """
            main:
              listen: 127.0.0.1:6380
              sentinel_auth: secret
              sentinel_timeout: 100
              sentinel_poll: 100
              groups: [{name: a, master: "h:1"}]
            """, count: 3,
            ExpectedIssue(3, "main.sentinel_auth", "only used with `sentinels`"),
            ExpectedIssue(4, "main.sentinel_timeout", "only used with `sentinels`"),
            ExpectedIssue(5, "main.sentinel_poll", "only used with `sentinels`")),
    ]

    @Test(arguments: invalid) func sentinelErrors(_ testCase: InvalidCase) { expectIssues(testCase) }

    @Test func sentinelIssueFormat() {
        let issues = parseIssues(
            """
            main:
              listen: 127.0.0.1:6380
              sentinels: [127.0.0.1:26379]
              groups:
                - name: mymaster
                  master: 127.0.0.1:6379
            """)
        #expect(
            issues.map(\.description) == [
                "proxy.yml:6: main.groups[0].master: not used in a Sentinel pool: the Sentinels report each group's "
                    + "master and replicas; give only the group's `name` (the Sentinel master name)"
            ])
    }
}
