import Foundation
import Testing

/// Real clients through the proxy: redis-cli and redis-py (which sends CLIENT SETINFO on connect).
@Suite(.serialized, .enabled(if: TestEnvironment.canRun("redis-server", "redis-cli")))
struct ClientLibraryTests {
    static func twoGroupProxy(_ shards: ShardGroups, extra: String = "") async throws -> ProxyUnderTest {
        try await ProxyUnderTest(yaml: "pool:\n  listen: LISTEN\n\(extra)" + shards.groupsYAML())
    }

    @Test func redisCli() async throws {
        let shards = try await ShardGroups(groups: 2)
        defer { shards.stop() }
        let proxy = try await Self.twoGroupProxy(shards)
        let cli = try #require(TestEnvironment.redisCli)
        func cliRun(_ arguments: String...) throws -> String {
            let result = try run(cli, ["-p", "\(proxy.port)"] + arguments)
            #expect(result.status == 0)
            return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(try cliRun("PING") == "PONG")
        #expect(try cliRun("SET", "cli:a", "1") == "OK")
        #expect(try cliRun("MSET", "cli:b", "2", "cli:c", "3", "cli:d", "4") == "OK")
        #expect(try cliRun("MGET", "cli:a", "cli:b", "cli:c", "cli:d") == "1\n2\n3\n4")
        #expect(try cliRun("DEL", "cli:a", "cli:b", "cli:c", "cli:d", "cli:zz") == "4")
        #expect(try cliRun("KEYS", "cli:*") == "", "KEYS asks every group")
        #expect(try cliRun("SWAPDB", "0", "1").hasPrefix("ERR shardgate: 'swapdb' is not supported"))
        #expect(try cliRun("INFO", "server").contains("shardgate_version:"))
        // Interactive-style input through stdin, several commands on one connection.
        let piped = try run(cli, ["-p", "\(proxy.port)"], input: Data("SET cli:x 10\nINCRBY cli:x 5\nGET cli:x\n".utf8))
        #expect(piped.output.split(separator: "\n").map(String.init) == ["OK", "15", "15"])
        // --pipe mass insertion (ends with an ECHO handshake, which the proxy answers).
        var protocolText = ""
        for index in 0..<1000 {
            protocolText += "*3\r\n$3\r\nSET\r\n$\("cli:m\(index)".utf8.count)\r\ncli:m\(index)\r\n$1\r\nv\r\n"
        }
        let mass = try run(cli, ["-p", "\(proxy.port)", "--pipe"], input: Data(protocolText.utf8))
        #expect(mass.output.contains("errors: 0, replies: 1000"), "\(mass.output)")
        #expect(try shards.masters[0].keys().count + shards.masters[1].keys().count == 1001)
        await proxy.stop()
    }

    /// redis-py 5+ sends CLIENT SETINFO on connect; redis-py 8 defaults to RESP3 (HELLO 3).
    @Test(.enabled(if: TestEnvironment.isCI || TestEnvironment.hasRedisPy), arguments: ["default", "2", "3"])
    func redisPy(resp: String) async throws {
        let shards = try await ShardGroups(groups: 2)
        defer { shards.stop() }
        let proxy = try await Self.twoGroupProxy(shards, extra: "  password: py-secret\n")
        let python = try #require(TestEnvironment.python)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Clients/redis_py_workload.py").path
        let result = try run(python, [script, "\(proxy.port)", resp, "py-secret"], seconds: 60)
        #expect(result.status == 0, "\(result.output)")
        let line = try #require(result.output.split(separator: "\n").last)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(json["ping"] as? Bool == true)
        #expect(json["get"] as? String == "hello")
        let mget = try #require(json["mget"] as? [Any])
        #expect(mget.count == 51)
        #expect((0..<50).allSatisfy { mget[$0] as? String == "\($0)" })
        #expect(mget[50] is NSNull)
        #expect(json["exists"] as? Int == 3)
        #expect(json["incr"] as? [Int] == [1, 2, 3])
        #expect(json["pipeline_ok"] as? Bool == true)
        #expect(json["delete"] as? Int == 50)
        #expect((json["client_name"] as? [Any])?.last as? String == "py-worker")
        #expect(json["keys_error"] is NSNull, "KEYS is answered by every group")
        #expect(json["still_works"] as? String == "hello")
        #expect(json["info_has_version"] as? Bool == true)
        let hash = try #require(json["hash"] as? [Any])
        #expect(hash.last as? [String: String] == ["a": "1", "b": "2"])
        #expect((json["zscore"] as? [Any])?.last as? Double == 1.5)
        await proxy.stop()
    }
}
