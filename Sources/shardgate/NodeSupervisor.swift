import Foundation
import Logging
import ServiceLifecycle

/// One child of the embedded default, as described by a file in `backends/`: a data node
/// (redis.conf syntax) or, when the file has a `sentinel monitor` line, a sentinel.
struct NodeDescription: Sendable {
    var name: String
    let configPath: String
    let port: Int
    /// `host:port` of its master when the file says `replicaof`.
    let replicaOf: String?
    var isSentinel = false

    /// Reads the few directives `up` needs to know about; the node itself reads the whole file.
    static func load(_ path: String) throws -> NodeDescription {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var port = 6379
        var replicaOf: String?
        var isSentinel = false
        for line in text.split(whereSeparator: \.isNewline) {
            let words = line.split(whereSeparator: \.isWhitespace).map(String.init)
            guard let directive = words.first?.lowercased(), !directive.hasPrefix("#") else { continue }
            if directive == "port", words.count == 2, let value = Int(words[1]) { port = value }
            if directive == "replicaof" || directive == "slaveof" {
                // `replicaof host port`, or as one quoted argument (how the node's CONFIG REWRITE writes it).
                let address = words.dropFirst().joined(separator: " ").replacingOccurrences(of: "\"", with: "")
                    .split(separator: " ").map(String.init)
                replicaOf = address.count == 2 && address[0].lowercased() != "no" ? "\(address[0]):\(address[1])" : nil
            }
            if directive == "sentinel", words.count > 1, words[1].lowercased() == "monitor" { isSentinel = true }
        }
        let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        return NodeDescription(name: name, configPath: path, port: isSentinel && port == 6379 ? 26379 : port, replicaOf: replicaOf, isSentinel: isSentinel)
    }
}

/// Runs the data nodes and sentinels as child processes, forwards their output with a `[name]`
/// prefix, restarts a child that exits (logging its exit status), and stops them all (SIGTERM, then
/// SIGKILL after a grace period) when the service group shuts down.
final class NodeSupervisor: Service, @unchecked Sendable {
    private struct Child {
        let node: NodeDescription
        let arguments: [String]
        var pid: pid_t
        var startedAt: Date
        /// Set while the child is down: when it starts again.
        var restartAt: Date?
        var backoff: Double = 1
        var diedAt = Date.distantPast
        var waitingForFailover = false
    }

    private var sentinelPorts: [Int] { nodes.filter(\.isSentinel).map(\.port) }

    private let nodes: [NodeDescription]
    private let command: [String]
    private let sentinelCommand: [String]
    private let dataDirectory: String
    private let logger: Logger
    private let lock = NSLock()
    private var children: [Child] = []
    private var stopping = false

    /// `command` starts a node given its config file: e.g. `["/usr/bin/redis-server"]`;
    /// `sentinelCommand` a sentinel: e.g. `["/usr/bin/redis-sentinel"]`.
    init(nodes: [NodeDescription], command: [String], sentinelCommand: [String] = [], dataDirectory: String, logger: Logger) {
        self.nodes = nodes
        self.command = command
        self.sentinelCommand = sentinelCommand
        self.dataDirectory = dataDirectory
        self.logger = logger
    }

    /// Starts masters, then replicas, then sentinels, and waits (bounded) until each accepts connections.
    func start() async throws {
        func order(_ node: NodeDescription) -> Int { node.isSentinel ? 2 : node.replicaOf == nil ? 0 : 1 }
        for node in nodes.sorted(by: { order($0) < order($1) }) {
            let directory = "\(dataDirectory)/\(node.name)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let configPath = URL(fileURLWithPath: node.configPath).standardizedFileURL.path
            let arguments = node.isSentinel ? sentinelCommand + [configPath] : command + [configPath, "--dir", directory]
            let pid = try spawnWithPrefixedOutput(arguments, prefix: node.name)
            lock.withLock { children.append(Child(node: node, arguments: arguments, pid: pid, startedAt: Date())) }
            try await waitForPort(node.port, name: node.name, pid: pid)
        }
    }

    func run() async throws {
        await withGracefulShutdownHandler {
            while !lock.withLock({ stopping }) {
                supervise()
                try? await Task.sleep(for: .milliseconds(200))
            }
        } onGracefulShutdown: {
            self.lock.withLock { self.stopping = true }
        }
        stopAll()
    }

    /// Notices children that exited and restarts them: after 1 s, doubling (up to 30 s) while a
    /// child keeps exiting within 10 s of its start.
    private func supervise() {
        lock.lock()
        defer { lock.unlock() }
        guard !stopping else { return }
        let now = Date()
        for index in children.indices {
            if let restartAt = children[index].restartAt {
                guard now >= restartAt else { continue }
                // A data node the sentinels still name as a master is not restarted until they have
                // failed it over (at most 60 s): back at once, it would stay master, and writes
                // since its last fsync would be lost instead of found on the promoted replica.
                let node = children[index].node
                if !node.isSentinel, now.timeIntervalSince(children[index].diedAt) < 60,
                    sentinelPorts.contains(where: { Self.sentinel(at: $0, reportsMasterOnPort: node.port) })
                {
                    if !children[index].waitingForFailover {
                        children[index].waitingForFailover = true
                        logger.notice("waiting for the sentinels to fail it over before restarting it", metadata: ["node": "\(node.name)"])
                    }
                    children[index].restartAt = now.addingTimeInterval(0.5)
                    continue
                }
                children[index].waitingForFailover = false
                do {
                    children[index].pid = try spawnWithPrefixedOutput(children[index].arguments, prefix: children[index].node.name)
                    children[index].startedAt = now
                    children[index].restartAt = nil
                    logger.notice("restarted", metadata: ["node": "\(children[index].node.name)", "pid": "\(children[index].pid)"])
                } catch {
                    children[index].restartAt = now.addingTimeInterval(children[index].backoff)
                    logger.error("cannot restart", metadata: ["node": "\(children[index].node.name)", "error": "\(error)"])
                }
                continue
            }
            var status: Int32 = 0
            guard waitpid(children[index].pid, &status, WNOHANG) == children[index].pid else { continue }
            children[index].diedAt = now
            if now.timeIntervalSince(children[index].startedAt) >= 10 { children[index].backoff = 1 }
            let delay = children[index].backoff
            children[index].backoff = min(delay * 2, 30)
            children[index].restartAt = now.addingTimeInterval(delay)
            logger.warning(
                "child exited, restarting",
                metadata: [
                    "node": "\(children[index].node.name)", "pid": "\(children[index].pid)", "status": "\(Self.describe(status))",
                    "restart_in": "\(Int(delay)) s",
                ])
        }
    }

    /// Whether the sentinel on `sentinelPort` (127.0.0.1) lists a master at `port`, from its
    /// `INFO sentinel` (`masterN:name=...,address=ip:port,...`). False when it does not answer
    /// within 300 ms.
    static func sentinel(at sentinelPort: Int, reportsMasterOnPort port: Int) -> Bool {
        guard var link = try? RESPExchange(host: "127.0.0.1", port: sentinelPort, timeoutSeconds: 0.3) else { return false }
        defer { link.close() }
        guard case .bulk(let text?) = try? link.call(["INFO", "sentinel"]) else { return false }
        return text.split(whereSeparator: \.isNewline).contains { line in
            line.hasPrefix("master") && line.split(separator: ",").contains { $0.hasPrefix("address=") && $0.hasSuffix(":\(port)") }
        }
    }

    /// `exit 1` or `signal 9 (SIGKILL)`, from a waitpid status.
    static func describe(_ status: Int32) -> String {
        let signal = status & 0x7F
        if signal == 0 { return "exit \((status >> 8) & 0xFF)" }
        let names: [Int32: String] = [SIGKILL: "SIGKILL", SIGTERM: "SIGTERM", SIGSEGV: "SIGSEGV", SIGABRT: "SIGABRT", SIGINT: "SIGINT"]
        return "signal \(signal)" + (names[signal].map { " (\($0))" } ?? "")
    }

    func stopAll() {
        let running = lock.withLock { () -> [Child] in
            stopping = true
            defer { children.removeAll() }
            return children.filter { $0.restartAt == nil }
        }
        // Sentinels first, so none fails over a node that is only being stopped.
        stop(running.filter(\.node.isSentinel))
        stop(running.filter { !$0.node.isSentinel })
    }

    /// SIGTERM to every one of `children`, again each second (redis-server refuses a shutdown while
    /// it writes its initial AOF, and takes the next one), and SIGKILL to those still running after
    /// 10 s: one deadline for all, not one each.
    private func stop(_ children: [Child]) {
        var remaining = children
        let deadline = Date().addingTimeInterval(10)
        var lastSignal = Date.distantPast
        while !remaining.isEmpty && Date() < deadline {
            if Date().timeIntervalSince(lastSignal) >= 1 {
                for child in remaining { kill(child.pid, SIGTERM) }
                lastSignal = Date()
            }
            remaining.removeAll { child in
                var status: Int32 = 0
                let result = waitpid(child.pid, &status, WNOHANG)
                return result == child.pid || result < 0
            }
            if !remaining.isEmpty { usleep(20_000) }
        }
        for child in remaining {
            logger.warning("node did not stop in time, killing it", metadata: ["node": "\(child.node.name)"])
            kill(child.pid, SIGKILL)
            _ = waitForExit(child.pid, seconds: 5)
        }
    }

    private func waitForPort(_ port: Int, name: String, pid: pid_t) async throws {
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            if canConnect(port) { return }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                throw UpError("'\(name)' exited during start-up (\(Self.describe(status))); see its [\(name)] lines above")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw UpError("'\(name)' did not accept connections on port \(port) within 15 s")
    }
}

struct UpError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Starts `arguments` with default signal handling and an empty signal mask (so SIGTERM reaches it),
/// printing each line it writes as `[prefix] line`.
func spawnWithPrefixedOutput(_ arguments: [String], prefix: String) throws -> pid_t {
    var pipeEnds: [Int32] = [0, 0]
    guard pipe(&pipeEnds) == 0 else { throw UpError("pipe() failed") }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
    posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 2)
    posix_spawn_file_actions_addclose(&actions, pipeEnds[0])
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var mask = sigset_t()
    sigemptyset(&mask)
    posix_spawnattr_setsigmask(&attributes, &mask)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { sigaddset(&defaults, signal) }
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    let argv = arguments.map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var pid: pid_t = 0
    let result = posix_spawnp(&pid, arguments[0], &actions, &attributes, argv, environ)
    close(pipeEnds[1])
    guard result == 0 else {
        close(pipeEnds[0])
        throw UpError("cannot start \(arguments[0]): \(String(cString: strerror(result)))")
    }
    let reader = FileHandle(fileDescriptor: pipeEnds[0], closeOnDealloc: true)
    Thread.detachNewThread {
        var pending = Data()
        while true {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            pending.append(chunk)
            while let newline = pending.firstIndex(of: 0x0A) {
                // One write per line, so lines of different nodes never interleave.
                var line = Data("[\(prefix)] ".utf8)
                line.append(pending[pending.startIndex...newline])
                pending.removeSubrange(pending.startIndex...newline)
                FileHandle.standardOutput.write(line)
            }
        }
    }
    return pid
}

func canConnect(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
}

func waitForExit(_ pid: pid_t, seconds: Double) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    var status: Int32 = 0
    while Date() < deadline {
        let result = waitpid(pid, &status, WNOHANG)
        if result == pid || result < 0 { return true }
        usleep(10_000)
    }
    return false
}
