import Foundation
import Testing

/// `shardgate up`: start the embedded default, write through the proxy, stop, start again, read back;
/// with the package's own data nodes (the default) and with redis-server (`--node-binary`).
@Suite(.serialized)
struct UpCommandTests {
    @Test(arguments: [false, true])
    func upServesStopsAndFindsItsDataAgain(withRedisServer: Bool) async throws {
        if withRedisServer && !TestEnvironment.canRun("redis-server") { return }
        let directory = try TemporaryDirectory()
        let ports = try (0..<5).map { _ in try freePort() }
        let backends = "\(directory.path)/backends"
        try FileManager.default.createDirectory(atPath: backends, withIntermediateDirectories: true)
        for (index, name) in ["a-master", "a-replica", "b-master", "b-replica"].enumerated() {
            var text = "port \(ports[index + 1])\nbind 127.0.0.1\nappendonly yes\nappendfsync always\nsave \"\"\nrepl-diskless-sync-delay 0\n"
            if name.hasSuffix("replica") { text += "replicaof 127.0.0.1 \(ports[index])\n" }
            try text.write(toFile: "\(backends)/\(name).conf", atomically: true, encoding: .utf8)
        }
        let config = """
            main:
              listen: 127.0.0.1:\(ports[0])
              read_policy: master
              groups:
                - name: a
                  master: 127.0.0.1:\(ports[1])
                  replicas: [127.0.0.1:\(ports[2])]
                - name: b
                  master: 127.0.0.1:\(ports[3])
                  replicas: [127.0.0.1:\(ports[4])]
            """
        try config.write(toFile: "\(directory.path)/proxy.yml", atomically: true, encoding: .utf8)
        var arguments = [
            "up", "-c", "\(directory.path)/proxy.yml", "--backends", backends, "--data", "\(directory.path)/data",
        ]
        if withRedisServer { arguments += ["--node-binary", TestEnvironment.redisServer ?? "redis-server"] }

        func startUp(_ name: String) async throws -> ManagedProcess {
            let process = try ManagedProcess(CLITests.binary, arguments, name: name, directory: directory.path)
            try await waitUntil("up serving", seconds: 20) {
                (try? RedisTestClient(port: ports[0], timeoutSeconds: 1).command("PING")) == .status("PONG")
            }
            return process
        }

        let first = try await startUp("up-1")
        let log = first.log
        #expect(log.contains("Shardgate is up."))
        #expect(log.contains("group 'a': master 127.0.0.1:\(ports[1]) (a-master)"))
        let client = try RedisTestClient(port: ports[0])
        let keys = (0..<50).map { "up:\($0)" }
        var mset = ["MSET"]
        for key in keys { mset += [key, "value-\(key)"] }
        #expect(try client.command(mset.map { Array($0.utf8) }) == .status("OK"))
        // The replicas replicate: every key is on its group's replica too.
        try await waitUntil("replicas have the keys", seconds: 10) {
            let onReplicas = try [ports[2], ports[4]].reduce(0) { total, port in
                guard case .array(let found?) = try RedisTestClient(port: port).command("KEYS", "up:*") else { return total }
                return total + found.count
            }
            return onReplicas == keys.count
        }
        first.signal(SIGINT)
        #expect(first.waitForExit(seconds: 20) == 0, "\(first.log)")
        for port in ports { #expect(!canConnectForTest(port), "port \(port) closed after Ctrl-C") }

        let second = try await startUp("up-2")
        defer { second.stop() }
        let again = try RedisTestClient(port: ports[0])
        let values = try again.command((["MGET"] + keys).map { Array($0.utf8) })
        #expect(values == .array(keys.map { .bulk("value-\($0)") }))
        second.signal(SIGTERM)
        #expect(second.waitForExit(seconds: 20) == 0)
    }
}

func canConnectForTest(_ port: Int) -> Bool {
    (try? RedisTestClient(port: port, timeoutSeconds: 1)) != nil
}
