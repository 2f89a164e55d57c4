import Config
import Routing
import Testing

@Suite struct TwemproxyConfigTests {
    /// twemproxy 0.5.0's conf/nutcracker.yml redis pools (alpha, beta) unchanged, plus pools in
    /// the same style exercising port 11211, weights and every other twemproxy key.
    static let nutcracker = """
        alpha:
          listen: 127.0.0.1:22121
          hash: fnv1a_64
          distribution: ketama
          auto_eject_hosts: true
          redis: true
          server_retry_timeout: 2000
          server_failure_limit: 1
          servers:
           - 127.0.0.1:6379:1

        beta:
          listen: 127.0.0.1:22122
          hash: fnv1a_64
          hash_tag: "{}"
          distribution: ketama
          auto_eject_hosts: false
          timeout: 400
          redis: true
          servers:
           - 127.0.0.1:6380:1 server1
           - 127.0.0.1:6381:1 server2
           - 127.0.0.1:6382:1 server3
           - 127.0.0.1:6383:1 server4

        gamma:
          listen: 127.0.0.1:22123
          hash: hsieh
          distribution: modula
          timeout: 0
          backlog: 1024
          preconnect: true
          redis: true
          redis_auth: hunter2
          redis_db: 5
          server_connections: 2
          client_connections: 100
          tcpkeepalive: true
          reuseport: true
          servers:
           - 127.0.0.1:11211:1
           - 127.0.0.1:11212:10
           - cache.example.com:11211:100000
           - 10.0.0.9:06379:3
        """

    @Test func parsesNutcrackerPools() throws {
        let config = try parseOK(Self.nutcracker)
        #expect(config.pools.map(\.name) == ["alpha", "beta", "gamma"])
        #expect(config.pools.allSatisfy { $0.isTwemproxyPool })
        #expect(config.pools.allSatisfy { $0.groups.allSatisfy(\.replicas.isEmpty) })
        #expect(config.pools.allSatisfy { $0.readPolicy == .master })

        let alpha = config.pools[0]
        #expect(alpha.listen == Endpoint(host: "127.0.0.1", port: 22121))
        #expect(alpha.autoEjectHosts)
        #expect(alpha.serverRetryTimeoutMilliseconds == 2000)
        #expect(alpha.serverFailureLimit == 1)
        #expect(alpha.timeoutMilliseconds == PoolConfig.noTimeout)
        #expect(alpha.backlog == 512)
        #expect(alpha.password == nil && alpha.auth == nil)
        #expect(
            alpha.groups == [
                GroupConfig(
                    name: "127.0.0.1:6379", hashName: "127.0.0.1:6379", master: Endpoint(host: "127.0.0.1", port: 6379))
            ])

        let beta = config.pools[1]
        #expect(beta.hashTag == .braces)
        #expect(beta.timeoutMilliseconds == 400)
        #expect(!beta.autoEjectHosts)
        #expect(beta.groups.map(\.name) == ["server1", "server2", "server3", "server4"])
        #expect(beta.groups.map(\.hashName) == ["server1", "server2", "server3", "server4"])
        #expect(beta.groups.map(\.master?.port) == [6380, 6381, 6382, 6383])
        #expect(beta.hashedNodes[0] == HashedNode(name: Array("server1".utf8), weight: 1))

        let gamma = config.pools[2]
        #expect(gamma.hash == .hsieh)
        #expect(gamma.distribution == .modula)
        #expect(gamma.timeoutMilliseconds == PoolConfig.noTimeout)
        #expect(gamma.backlog == 1024)
        #expect(gamma.preconnect)
        #expect(gamma.password == "hunter2")
        #expect(gamma.auth == BackendAuth(password: "hunter2"))
        #expect(gamma.database == 5)
        #expect(gamma.serverConnections == 2)
        #expect(gamma.clientConnections == 100)
        #expect(gamma.tcpKeepalive && gamma.reusePort)
        #expect(
            gamma.groups.map(\.name) == [
                "127.0.0.1:11211", "127.0.0.1:11212", "cache.example.com:11211", "10.0.0.9:06379",
            ])
        // twemproxy drops the port from the ketama name when it is 11211, and keeps it as written.
        #expect(gamma.groups.map(\.hashName) == ["127.0.0.1", "127.0.0.1:11212", "cache.example.com", "10.0.0.9:06379"])
        #expect(gamma.groups.map(\.weight) == [1, 10, 100_000, 3])
        #expect(gamma.groups[3].master == Endpoint(host: "10.0.0.9", port: 6379))
    }

    struct NameCase: Sendable, CustomTestStringConvertible {
        var line: String
        var name: String
        var hashName: String
        var master: Endpoint
        var weight: Int
        var testDescription: String { line }
    }

    @Test(arguments: [
        NameCase(line: "127.0.0.1:6379:1", name: "127.0.0.1:6379", hashName: "127.0.0.1:6379",
                 master: Endpoint(host: "127.0.0.1", port: 6379), weight: 1),
        NameCase(line: "127.0.0.1:11211:2", name: "127.0.0.1:11211", hashName: "127.0.0.1",
                 master: Endpoint(host: "127.0.0.1", port: 11211), weight: 2),
        NameCase(line: "127.0.0.1:11211:1 mc", name: "mc", hashName: "mc",
                 master: Endpoint(host: "127.0.0.1", port: 11211), weight: 1),
        NameCase(line: "redis.local:6379:7 primary-1", name: "primary-1", hashName: "primary-1",
                 master: Endpoint(host: "redis.local", port: 6379), weight: 7),
        NameCase(line: "[::1]:6379:1", name: "[::1]:6379", hashName: "[::1]:6379",
                 master: Endpoint(host: "::1", port: 6379), weight: 1),
    ])
    func serverLineNames(_ testCase: NameCase) throws {
        let config = try parseOK(
            """
            p:
              listen: 127.0.0.1:22121
              redis: true
              servers:
                - "\(testCase.line)"
            """)
        let group = try #require(config.pools.first?.groups.first)
        #expect(group.name == testCase.name)
        #expect(group.hashName == testCase.hashName)
        #expect(group.master == testCase.master)
        #expect(group.weight == testCase.weight)
    }
}
