import Foundation
import Testing

/// Frames whose line ends are `\r` plus some other byte. Redis skips the byte after `\r` without
/// looking at it, so it answers these as if they were well formed; the proxy and the node must do the
/// same, before and after AUTH, on single-key and multi-key (split) commands, and stay up.
@Suite(.serialized, .enabled(if: TestEnvironment.canRun("redis-server")))
struct OddTerminatorTests {
    /// `frame(["GET", "k"], odd: 0)` spells the request with `\rX` in place of line end number `odd`.
    static func frame(_ arguments: [String], odd: Int) -> String {
        var lines = ["*\(arguments.count)"]
        for argument in arguments { lines += ["$\(argument.utf8.count)", argument] }
        var text = ""
        for (index, line) in lines.enumerated() { text += line + (index == odd ? "\rX" : "\r\n") }
        return text
    }

    static let beforeAuth: [[String]] = [
        ["AUTH", "default", "x"], ["AUTH", "wrong"], ["HELLO", "2", "AUTH", "default", "nope"], ["GET", "k"],
        ["AUTH", "secret"],
    ]
    static let afterAuth: [[String]] = [
        ["MSET", "a", "1", "b", "2", "c", "3"], ["MGET", "a", "b", "c", "d"], ["EXISTS", "a", "b", "zz"],
        ["DEL", "a", "b", "zz"], ["GET", "c"], ["SET", "k", "v"], ["TOUCH", "c", "k"], ["UNLINK", "c", "k"],
    ]

    /// Every request of `commands`, each with its odd byte at every line end in turn, one connection.
    static func exchange(_ commands: [[String]], port: Int) throws -> [Reply] {
        let client = try RedisTestClient(port: port, timeoutSeconds: 5)
        var replies: [Reply] = []
        for command in commands {
            for odd in 0..<(1 + 2 * command.count) {
                try client.sendRaw(Array(frame(command, odd: odd).utf8))
                replies.append(try client.readReply())
            }
        }
        #expect(try client.command("PING") == .status("PONG"), "still serving")
        return replies
    }

    @Test func proxyAnswersAsRedisBeforeAndAfterAuth() async throws {
        let redis = try await RedisServer(["--requirepass", "secret"])
        defer { redis.stop() }
        let backends = [try await RedisServer(), try await RedisServer()]
        defer { backends.forEach { $0.stop() } }
        let proxy = try await ProxyUnderTest(yaml: """
            pool:
              listen: LISTEN
              password: secret
              groups:
                - name: a
                  master: \(backends[0].address)
                - name: b
                  master: \(backends[1].address)
            """)
        let commands = Self.beforeAuth + Self.afterAuth
        let expected = try Self.exchange(commands, port: redis.port)
        let actual = try Self.exchange(commands, port: proxy.port)
        #expect(actual == expected)
        #expect(try proxy.client().command("PING") == .error("NOAUTH Authentication required."), "proxy still up")
        await proxy.stop()
    }

    @Test func nodeAnswersAsRedisBeforeAndAfterAuth() async throws {
        let servers = try await RedisAndNode(["--requirepass", "secret"])
        defer { servers.stop() }
        let commands = Self.beforeAuth + Self.afterAuth
        let expected = try Self.exchange(commands, port: servers.redis.port)
        let actual = try Self.exchange(commands, port: servers.node.port)
        #expect(actual == expected)
    }
}
