import Foundation
import Testing

/// Shardgate must place every key exactly where twemproxy does, given the same nutcracker.yml:
/// both proxies run on the same three redis-servers and each server's key set is compared.
@Suite(.serialized, .enabled(if: TestEnvironment.canRun("redis-server", "nutcracker")))
struct NutcrackerCompatibilityTests {
    /// 10,000 keys: text keys plus binary keys with high bytes, NULs and CR/LF inside.
    static let testKeys: [[UInt8]] = {
        var generator = SplitMix64(seed: 0x5EED)
        var keys: [[UInt8]] = (0..<6000).map { Array("user:\($0):profile".utf8) }
        for _ in 0..<4000 {
            let length = Int(generator.next() % 40) + 1
            keys.append((0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) })
        }
        return Array(Set(keys)).sorted { $0.lexicographicallyPrecedes($1) }
    }()

    static let cases: [(distribution: String, hash: String, named: Bool)] = [
        ("ketama", "fnv1a_64", true),
        ("ketama", "murmur", false),
        ("ketama", "md5", true),
        ("modula", "crc32a", true),
        ("modula", "one_at_a_time", false),
    ]

    @Test(arguments: 0..<cases.count)
    func placementMatchesNutcracker(case index: Int) async throws {
        let (distribution, hash, named) = Self.cases[index]
        let servers = try await ShardGroups(groups: 3).masters
        defer { servers.forEach { $0.stop() } }
        let weights = [1, 2, 1]
        func yaml(listen: String) -> String {
            var text = """
                alpha:
                  listen: \(listen)
                  hash: \(hash)
                  distribution: \(distribution)
                  redis: true
                  timeout: 2000
                  servers:

                """
            for (number, server) in servers.enumerated() {
                text += "    - \(server.address):\(weights[number])\(named ? " server\(number + 1)" : "")\n"
            }
            return text
        }

        let nutcracker = try await Nutcracker { port in yaml(listen: "127.0.0.1:\(port)") }
        defer { nutcracker.stop() }
        let twemproxyPlacement = try Self.place(Self.testKeys, through: try RedisTestClient(port: nutcracker.port), on: servers)

        let proxy = try await ProxyUnderTest(yaml: yaml(listen: "LISTEN"))
        let shardgatePlacement = try Self.place(Self.testKeys, through: try proxy.client(), on: servers)
        await proxy.stop()

        #expect(Self.testKeys.count >= 9_900)
        #expect(twemproxyPlacement.map(\.count).allSatisfy { $0 > 100 }, "every server holds keys")
        var differences = 0
        for (number, keys) in twemproxyPlacement.enumerated() where keys != shardgatePlacement[number] {
            differences += keys.symmetricDifference(shardgatePlacement[number]).count
        }
        #expect(differences == 0, "\(differences) keys placed differently for \(distribution)/\(hash)")
    }

    /// Writes every key through `proxy`, then reads back which server holds which keys, and empties them.
    static func place(_ keys: [[UInt8]], through proxy: RedisTestClient, on servers: [RedisServer]) throws -> [Set<[UInt8]>] {
        for chunk in stride(from: 0, to: keys.count, by: 500) {
            let commands = keys[chunk..<min(chunk + 500, keys.count)].map { [Array("SET".utf8), $0, Array("1".utf8)] }
            let replies = try proxy.pipeline(commands)
            guard replies.allSatisfy({ $0 == .status("OK") }) else {
                throw TestFailure("a SET failed: \(replies.first { $0 != .status("OK") }!)")
            }
        }
        let placement = try servers.map { try $0.keys() }
        for server in servers { _ = try server.client().command("FLUSHALL") }
        return placement
    }
}

/// A tiny deterministic generator so the binary keys are the same on every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
