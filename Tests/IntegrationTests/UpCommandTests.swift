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
            // The proxy answers before `up` prints its topology, and the log is read from a pipe.
            try await waitUntil("topology printed", seconds: 10) { process.log.contains("Shardgate is up.") }
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

/// `shardgate up` with sentinels in backends/: the proxy follows them, a kill -9 of the master is
/// logged and failed over, and the killed node, restarted by `up`, comes back as a replica.
@Suite(.serialized)
struct UpWithSentinelsTests {
    @Test func upRestartsAKilledMasterThatSentinelsFailedOver() async throws {
        let directory = try TemporaryDirectory()
        let ports = try (0..<6).map { _ in try freePort() }
        let (proxyPort, masterPort, replicaPort) = (ports[0], ports[1], ports[2])
        let sentinelPorts = Array(ports[3...])
        let backends = "\(directory.path)/backends"
        try FileManager.default.createDirectory(atPath: backends, withIntermediateDirectories: true)
        let node = "bind 127.0.0.1\nappendonly yes\nsave \"\"\nrepl-diskless-sync-delay 0\n"
        try "port \(masterPort)\n\(node)".write(toFile: "\(backends)/g-master.conf", atomically: true, encoding: .utf8)
        try "port \(replicaPort)\n\(node)replicaof 127.0.0.1 \(masterPort)\n"
            .write(toFile: "\(backends)/g-replica.conf", atomically: true, encoding: .utf8)
        for (index, port) in sentinelPorts.enumerated() {
            try """
                port \(port)
                bind 127.0.0.1
                sentinel monitor g 127.0.0.1 \(masterPort) 2
                sentinel down-after-milliseconds g 1000
                sentinel failover-timeout g 5000

                """.write(toFile: "\(backends)/sentinel-\(index).conf", atomically: true, encoding: .utf8)
        }
        try """
            main:
              listen: 127.0.0.1:\(proxyPort)
              read_policy: master
              timeout: 500
              sentinels: [\(sentinelPorts.map { "127.0.0.1:\($0)" }.joined(separator: ", "))]
              groups:
                - name: g
            """.write(toFile: "\(directory.path)/proxy.yml", atomically: true, encoding: .utf8)
        let up = try ManagedProcess(
            CLITests.binary, ["up", "-c", "\(directory.path)/proxy.yml", "--backends", backends, "--data", "\(directory.path)/data"],
            name: "up", directory: directory.path)
        defer { up.stop() }
        try await waitUntil("up serving", seconds: 20) {
            (try? RedisTestClient(port: proxyPort, timeoutSeconds: 1).command("SET", "k", "1")) == .status("OK")
        }
        #expect(up.log.contains("sentinels: sentinel-0 on 127.0.0.1:\(sentinelPorts[0])"), "\(up.log)")
        // backends/ stays as written; each sentinel rewrites its own copy.
        #expect(!(try String(contentsOfFile: "\(backends)/sentinel-0.conf", encoding: .utf8)).contains("myid"))
        try await waitUntil("every sentinel knows the replica and the other sentinels", seconds: 15) {
            try sentinelPorts.allSatisfy { port in
                let client = try RedisTestClient(port: port, timeoutSeconds: 1)
                guard case .array(let replicas?) = try client.command("SENTINEL", "REPLICAS", "g"),
                    case .array(let others?) = try client.command("SENTINEL", "SENTINELS", "g")
                else { return false }
                return replicas.count == 1 && others.count == 2
            }
        }
        guard case .bulk(let info?) = try RedisTestClient(port: masterPort).command("INFO", "server"),
            let pidLine = String(decoding: info, as: UTF8.self).split(separator: "\r\n").first(where: { $0.hasPrefix("process_id:") }),
            let pid = Int32(pidLine.dropFirst("process_id:".count))
        else { throw TestFailure("no process_id in the master's INFO") }
        // The walk-through of the README: writes through the proxy while the master is killed.
        let load = WriteLoad(port: proxyPort, clients: 8, prefix: "up")
        try await Task.sleep(for: .milliseconds(600))
        let killedAt = ContinuousClock.now
        kill(pid, SIGKILL)
        try await waitUntil("the proxy writes to the promoted replica", seconds: 20) {
            guard (try? RedisTestClient(port: proxyPort, timeoutSeconds: 1).command("SET", "after", "1")) == .status("OK") else { return false }
            return (try? RedisTestClient(port: replicaPort, timeoutSeconds: 1).command("GET", "after")) == .bulk("1")
        }
        try await Task.sleep(for: .milliseconds(500))
        let writes = load.stop()
        let lastBefore = writes.filter { $0.acknowledged && $0.sentAt < killedAt }.map(\.answeredAt).max()
        let firstAfter = writes.filter { $0.acknowledged && $0.sentAt > killedAt }.map(\.answeredAt).min()
        let durable = writes.filter { $0.acknowledged && $0.answeredAt < killedAt - .milliseconds(50) }
        let lost = try SentinelFollowTests.missing(durable, on: replicaPort)
        if let lastBefore, let firstAfter {
            print("[up] kill -9 of the master: write gap \(SentinelFollowTests.milliseconds(firstAfter - lastBefore)) ms, \(durable.count) writes acknowledged before it, \(lost.count) lost")
            // down-after-milliseconds (1000) + 1.5 s.
            #expect(firstAfter - lastBefore <= .milliseconds(2500))
        } else {
            Issue.record("no acknowledged write before or after the kill")
        }
        #expect(durable.count > 100)
        #expect(lost.isEmpty, "\(lost.count) acknowledged writes lost, e.g. \(lost.first.map(\.key) ?? "")")
        #expect(up.log.contains("status=signal 9 (SIGKILL)"), "\(up.log)")
        try await waitUntil("the restarted old master replicates from the new one", seconds: 20) {
            guard case .bulk(let bytes?) = try RedisTestClient(port: masterPort, timeoutSeconds: 1).command("INFO", "replication")
            else { return false }
            let text = String(decoding: bytes, as: UTF8.self)
            return text.contains("role:slave\r\n") && text.contains("master_port:\(replicaPort)\r\n")
        }
        #expect(up.log.contains("restarted"))
        // The promoted node rewrote its working copy (REPLICAOF NO ONE, CONFIG REWRITE), not backends/.
        #expect(try String(contentsOfFile: "\(backends)/g-replica.conf", encoding: .utf8) == "port \(replicaPort)\n\(node)replicaof 127.0.0.1 \(masterPort)\n")
        #expect(FileManager.default.fileExists(atPath: "\(directory.path)/data/g-replica/g-replica.conf"))
        // It was not restarted while the sentinels still named it master (it would have stayed one).
        #expect(up.log.contains("waiting for the sentinels to fail it over before restarting it"), "\(up.log)")
        up.signal(SIGTERM)
        #expect(up.waitForExit(seconds: 20) == 0, "\(up.log)")

        // A second `up` starts from the topology the failover left: the promoted node is master.
        let again = try ManagedProcess(
            CLITests.binary, ["up", "-c", "\(directory.path)/proxy.yml", "--backends", backends, "--data", "\(directory.path)/data"],
            name: "up-2", directory: directory.path)
        defer { again.stop() }
        try await waitUntil("the second up serves the data written after the failover", seconds: 20) {
            (try? RedisTestClient(port: proxyPort, timeoutSeconds: 1).command("GET", "after")) == .bulk("1")
        }
        func role(_ port: Int) -> String? {
            guard case .array(let items?)? = try? RedisTestClient(port: port, timeoutSeconds: 1).command("ROLE") else { return nil }
            return items.first?.string
        }
        #expect(role(replicaPort) == "master")
        #expect(role(masterPort) == "slave")
        again.signal(SIGTERM)
        #expect(again.waitForExit(seconds: 20) == 0, "\(again.log)")
    }
}
