import Foundation

/// A real Redis Sentinel deployment on loopback free ports: one master, `replicas` replicas (linked
/// before any sentinel starts) and `sentinels` redis-sentinel processes, each with its own writable
/// sentinel.conf (Sentinel rewrites its config file: it adds `sentinel myid`, the known replicas and
/// the known sentinels, and refuses to start if the file is not writable).
///
/// Everything is killed by PID in `stop()` (and, as a last resort, when the processes are released).
final class SentinelCluster: @unchecked Sendable {
    let masterName: String
    /// The ORIGINAL master (after a failover it may be dead, or a replica).
    let master: RedisServer
    let replicas: [RedisServer]
    let sentinelPorts: [Int]
    let sentinelProcesses: [ManagedProcess]
    let quorum: Int
    private let sentinelDirectory: TemporaryDirectory
    private let lock = NSLock()
    /// The live process behind each server port (replaced by `restart(port:)`).
    private var processes: [Int: ManagedProcess]

    var allServers: [RedisServer] { [master] + replicas }
    var sentinelAddresses: [String] { sentinelPorts.map { "127.0.0.1:\($0)" } }
    var sentinelDirectoryPath: String { sentinelDirectory.path }

    init(
        masterName: String = "mymaster", replicas replicaCount: Int = 2, sentinels sentinelCount: Int = 3,
        quorum: Int = 2, downAfterMilliseconds: Int = 1000, failoverTimeoutMilliseconds: Int = 5000,
        serverKind: DataServerKind = .redis, sentinelKinds: [SentinelKind]? = nil
    ) async throws {
        let kinds = sentinelKinds ?? Array(repeating: .redis, count: sentinelCount)
        let sentinelCount = kinds.count
        guard let sentinelBinary = TestEnvironment.binary("redis-sentinel") else {
            throw TestFailure("redis-sentinel is not installed")
        }
        self.masterName = masterName
        self.quorum = quorum
        // RedisServer already passes --repl-diskless-sync-delay 0.
        let master = try await RedisServer(kind: serverKind)
        var replicas: [RedisServer] = []
        for _ in 0..<replicaCount {
            let replica = try await RedisServer(kind: serverKind)
            try await replica.replicate(from: master)
            replicas.append(replica)
        }
        self.master = master
        self.replicas = replicas
        processes = Dictionary(uniqueKeysWithValues: ([master] + replicas).map { ($0.port, $0.process) })

        let directory = try TemporaryDirectory()
        sentinelDirectory = directory
        var ports: [Int] = []
        var started: [ManagedProcess] = []
        for index in 0..<sentinelCount {
            let (port, process) = try await startOnFreePort { port in
                let path = "\(directory.path)/sentinel-\(index)-\(port).conf"
                let config = """
                    port \(port)
                    bind 127.0.0.1
                    daemonize no
                    dir \(directory.path)
                    sentinel resolve-hostnames no
                    sentinel announce-hostnames no
                    sentinel announce-ip 127.0.0.1
                    sentinel announce-port \(port)
                    sentinel monitor \(masterName) 127.0.0.1 \(master.port) \(quorum)
                    sentinel down-after-milliseconds \(masterName) \(downAfterMilliseconds)
                    sentinel failover-timeout \(masterName) \(failoverTimeoutMilliseconds)
                    sentinel parallel-syncs \(masterName) 1

                    """
                try config.write(toFile: path, atomically: true, encoding: .utf8)
                switch kinds[index] {
                case .redis:
                    return try ManagedProcess(sentinelBinary, [path], name: "sentinel-\(index)-\(port)", directory: directory.path)
                case .shardgate:
                    return try ManagedProcess(
                        CLITests.binary, ["sentinel", path], name: "shardgate-sentinel-\(index)-\(port)", directory: directory.path)
                }
            }
            started.append(process)
            ports.append(port)
        }
        sentinelPorts = ports
        sentinelProcesses = started

        // Each sentinel must know the master, every replica (not down) and every other sentinel.
        // Replicas come from the master's INFO (sent as soon as a sentinel connects); the other
        // sentinels from the hello messages published every 2 s on __sentinel__:hello.
        let expectedReplicas = Set(replicas.map(\.port))
        for index in 0..<sentinelCount {
            try await waitUntil("sentinel \(index) (port \(ports[index])) to see the whole deployment", seconds: 15) {
                guard try self.currentMaster(fromSentinel: index) == master.port else { return false }
                let known = try self.sentinelTable(index, "REPLICAS")
                let healthy = known.filter { !Self.isDown($0["flags"]) }.compactMap { $0["port"].flatMap(Int.init) }
                guard Set(healthy) == expectedReplicas else { return false }
                let others = try self.sentinelTable(index, "SENTINELS").filter { !Self.isDown($0["flags"]) }
                return others.count == sentinelCount - 1
            }
        }
        try await waitForStreamingReplicas()
    }

    /// Waits until every replica has applied a write made on the master just now. A replica whose
    /// initial sync just ended may not receive the stream yet (after a diskless sync, redis-server
    /// streams only once the replica's next REPLCONF ACK arrives, up to a second later), and
    /// writes acknowledged meanwhile exist on the master alone: any failover loses them. Tests
    /// that count lost writes start from replicas in step.
    func waitForStreamingReplicas() async throws {
        let probe = "__shardgate_test_stream_probe__"
        let client = try master.client()
        _ = try client.command("SET", probe, "1")
        _ = try client.command("DEL", probe)
        let target = try master.replicationOffset()
        for replica in replicas {
            try await waitUntil("replica \(replica.port) applies the master's stream up to \(target)", seconds: 10) {
                try replica.replicationOffset() >= target
            }
        }
    }

    deinit { stop() }

    // MARK: - Queries

    /// A short-lived client to sentinel `index`.
    func sentinelClient(_ index: Int, timeoutSeconds: Int = 2) throws -> RedisTestClient {
        try RedisTestClient(port: sentinelPorts[index], timeoutSeconds: timeoutSeconds)
    }

    /// The master port sentinel `index` reports (`SENTINEL get-master-addr-by-name`), nil if unknown.
    func currentMaster(fromSentinel index: Int = 0) throws -> Int? {
        let reply = try sentinelClient(index).command("SENTINEL", "get-master-addr-by-name", masterName)
        guard case .array(let items?) = reply, items.count == 2, let port = items[1].string else { return nil }
        return Int(port)
    }

    /// `SENTINEL <subcommand> <name>` as a list of field maps (subcommand: REPLICAS, SENTINELS).
    func sentinelTable(_ index: Int, _ subcommand: String) throws -> [[String: String]] {
        let reply = try sentinelClient(index).command("SENTINEL", subcommand, masterName)
        guard case .array(let rows?) = reply else { throw TestFailure("SENTINEL \(subcommand): \(reply)") }
        return rows.map(Self.fields)
    }

    /// `SENTINEL master <name>` as a field map (flags, num-slaves, num-other-sentinels, ...).
    func sentinelMasterState(_ index: Int) throws -> [String: String] {
        Self.fields(try sentinelClient(index).command("SENTINEL", "master", masterName))
    }

    /// The indices of the sentinels whose process is still running.
    var liveSentinels: [Int] { sentinelProcesses.indices.filter { sentinelProcesses[$0].isRunning } }

    /// Waits (bounded) until a majority of the live sentinels report the same master, other than
    /// `oldPort`, and returns its port.
    func waitForFailover(from oldPort: Int, seconds: Double) async throws -> Int {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        var last: [Int: Int] = [:]
        while ContinuousClock.now < deadline {
            let live = liveSentinels
            var votes: [Int: Int] = [:]
            for index in live {
                if let port = try? currentMaster(fromSentinel: index), port != oldPort { votes[port, default: 0] += 1 }
            }
            last = votes
            if let (port, count) = votes.max(by: { $0.value < $1.value }), count * 2 > live.count { return port }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestFailure("no failover away from \(oldPort) agreed by a majority within \(seconds)s (votes: \(last))")
    }

    /// The server (original master or replica) listening on `port`.
    func server(port: Int) -> RedisServer? { allServers.first { $0.port == port } }

    /// The process currently serving `port` (the restarted one after `restart(port:)`).
    func process(port: Int) -> ManagedProcess? { lock.withLock { processes[port] } }

    /// First element of `ROLE` on `port` ("master", "slave"), nil if it does not answer.
    func role(port: Int) -> String? {
        guard let client = try? RedisTestClient(port: port, timeoutSeconds: 1),
            case .array(let items?)? = try? client.command("ROLE")
        else { return nil }
        return items.first?.string
    }

    // MARK: - Events

    /// Subscribes (on a dedicated connection) to `+switch-master` on sentinel `index`. The
    /// subscription is confirmed before this returns, so a failover triggered afterwards is seen.
    func subscribeSwitchMaster(sentinel index: Int) throws -> SwitchMasterWatcher {
        try SwitchMasterWatcher(port: sentinelPorts[index])
    }

    // MARK: - Faults

    /// SIGKILLs the current master (the running server answering `ROLE` master; sentinel 0's view
    /// breaks ties) and returns its port.
    @discardableResult
    func killMaster() -> Int? {
        let running = lock.withLock { processes.filter { $0.value.isRunning } }
        let masters = running.keys.filter { role(port: $0) == "master" }
        let view = liveSentinels.first.flatMap { try? currentMaster(fromSentinel: $0) }
        guard let port = masters.count == 1 ? masters[0] : (view.flatMap { masters.contains($0) ? $0 : nil })
        else { return nil }
        running[port]?.signal(SIGKILL)
        _ = running[port]?.waitForExit(seconds: 5)
        return port
    }

    /// SIGKILLs the server on `port` (whatever its role).
    func killServer(port: Int) {
        guard let process = process(port: port) else { return }
        process.signal(SIGKILL)
        _ = process.waitForExit(seconds: 5)
    }

    /// Starts redis-server again on `port` (same directory and options, empty data set: there is no
    /// persistence), optionally as a replica of `replicaOf`. Sentinel reconfigures a returning old
    /// master as a replica of the new one by itself.
    func restart(port: Int, replicaOf: Int? = nil) async throws {
        guard let server = server(port: port) else { throw TestFailure("no server of this cluster on \(port)") }
        let command = try server.kind.command()
        process(port: port)?.stop()
        let directory = server.directory.path
        var arguments = [
            "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory,
            "--repl-diskless-sync-delay", "0",
        ]
        if let replicaOf { arguments += ["--replicaof", "127.0.0.1", "\(replicaOf)"] }
        let process = try ManagedProcess(
            command[0], Array(command.dropFirst()) + arguments, name: "redis-\(port)-restart-\(UUID().uuidString.prefix(6))", directory: directory)
        lock.withLock { processes[port] = process }
        try await waitUntil("redis-server restarted on \(port)") {
            (try? RedisTestClient(port: port, timeoutSeconds: 1).command("PING")) != nil
        }
    }

    func stopSentinel(_ index: Int) { sentinelProcesses[index].stop() }

    /// Stops every sentinel first (so none reconfigures anything meanwhile), then every server.
    func stop() {
        for process in sentinelProcesses { process.stop() }
        for process in lock.withLock({ Array(processes.values) }) { process.stop() }
        for server in allServers { server.stop() }
    }

    // MARK: - Helpers

    static func fields(_ reply: Reply) -> [String: String] {
        guard case .array(let items?) = reply else { return [:] }
        var result: [String: String] = [:]
        var index = 0
        while index + 1 < items.count {
            if let key = items[index].string { result[key] = items[index + 1].string ?? "\(items[index + 1])" }
            index += 2
        }
        return result
    }

    static func isDown(_ flags: String?) -> Bool {
        guard let flags else { return true }
        return flags.split(separator: ",").contains { $0 == "s_down" || $0 == "o_down" || $0 == "disconnected" }
    }
}

/// Which program a sentinel of a `SentinelCluster` runs: redis-sentinel or `shardgate sentinel`.
enum SentinelKind: Sendable {
    case redis, shardgate
}

/// One `+switch-master` event: `<name> <old-ip> <old-port> <new-ip> <new-port>`.
struct SwitchMasterEvent: Sendable {
    let payload: String
    let arrival: ContinuousClock.Instant

    private var parts: [Substring] { payload.split(separator: " ") }
    var name: String { parts.count == 5 ? String(parts[0]) : "" }
    var oldAddress: String { parts.count == 5 ? "\(parts[1]):\(parts[2])" : "" }
    var newAddress: String { parts.count == 5 ? "\(parts[3]):\(parts[4])" : "" }
    var oldPort: Int? { parts.count == 5 ? Int(parts[2]) : nil }
    var newPort: Int? { parts.count == 5 ? Int(parts[4]) : nil }
}

/// Reads a sentinel's `+switch-master` channel on a background thread (reads time out every second,
/// so the thread notices `cancel()`; it ends at once when the sentinel goes away).
final class SwitchMasterWatcher: @unchecked Sendable {
    private let client: RedisTestClient
    private let lock = NSLock()
    private var received: [SwitchMasterEvent] = []
    private var cancelled = false
    private var failure: String?

    init(port: Int) throws {
        client = try RedisTestClient(port: port, timeoutSeconds: 1)
        let confirmation = try client.command("SUBSCRIBE", "+switch-master")
        guard case .array(let items?) = confirmation, items.first?.string == "subscribe" else {
            throw TestFailure("SUBSCRIBE +switch-master on \(port): \(confirmation)")
        }
        let thread = Thread { [self] in readLoop() }
        thread.name = "switch-master-\(port)"
        thread.start()
    }

    private func readLoop() {
        while !lock.withLock({ cancelled }) {
            do {
                let reply = try client.readReply()
                let arrival = ContinuousClock.now
                guard case .array(let items?) = reply, items.count == 3, items[0].string == "message",
                    let payload = items[2].string
                else { continue }
                lock.withLock { received.append(SwitchMasterEvent(payload: payload, arrival: arrival)) }
            } catch {
                let text = String(describing: error)
                if text.contains("timed out") { continue }  // EAGAIN: check `cancelled` and read on
                lock.withLock { failure = text }
                return
            }
        }
    }

    /// Every event so far, in arrival order.
    var events: [SwitchMasterEvent] { lock.withLock { received } }

    /// Waits (bounded, polling) for the first event.
    func waitForFirstEvent(seconds: Double) async throws -> SwitchMasterEvent {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if let first = events.first { return first }
            try await Task.sleep(for: .milliseconds(5))
        }
        let failure = lock.withLock { self.failure }
        throw TestFailure("no +switch-master within \(seconds)s\(failure.map { " (reader: \($0))" } ?? "")")
    }

    /// Stops the reader thread (within a second).
    func cancel() { lock.withLock { cancelled = true } }
}
