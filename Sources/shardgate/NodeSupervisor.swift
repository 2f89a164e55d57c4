import Foundation
import Logging
import ServiceLifecycle

/// One data node of the embedded default, as described by a redis.conf-style file in `backends/`.
struct NodeDescription: Sendable {
    let name: String
    let configPath: String
    let port: Int
    /// `host:port` of its master when the file says `replicaof`.
    let replicaOf: String?

    /// Reads the few directives `up` needs to know about; the node itself reads the whole file.
    static func load(_ path: String) throws -> NodeDescription {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var port = 6379
        var replicaOf: String?
        for line in text.split(whereSeparator: \.isNewline) {
            let words = line.split(whereSeparator: \.isWhitespace).map(String.init)
            guard let directive = words.first?.lowercased(), !directive.hasPrefix("#") else { continue }
            if directive == "port", words.count == 2, let value = Int(words[1]) { port = value }
            if directive == "replicaof" || directive == "slaveof", words.count == 3 { replicaOf = "\(words[1]):\(words[2])" }
        }
        let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        return NodeDescription(name: name, configPath: path, port: port, replicaOf: replicaOf)
    }
}

/// Runs the data nodes as child processes, forwards their output with a `[name]` prefix, and stops
/// them (SIGTERM, then SIGKILL after a grace period) when the service group shuts down.
final class NodeSupervisor: Service, @unchecked Sendable {
    private let nodes: [NodeDescription]
    private let command: [String]
    private let dataDirectory: String
    private let logger: Logger
    private let lock = NSLock()
    private var children: [(node: NodeDescription, pid: pid_t)] = []

    /// `command` starts a node given its config file: e.g. `["/usr/bin/redis-server"]`.
    init(nodes: [NodeDescription], command: [String], dataDirectory: String, logger: Logger) {
        self.nodes = nodes
        self.command = command
        self.dataDirectory = dataDirectory
        self.logger = logger
    }

    /// Starts masters before replicas and waits (bounded) until each accepts connections.
    func start() async throws {
        for node in nodes.sorted(by: { ($0.replicaOf == nil ? 0 : 1) < ($1.replicaOf == nil ? 0 : 1) }) {
            let directory = "\(dataDirectory)/\(node.name)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let configPath = URL(fileURLWithPath: node.configPath).standardizedFileURL.path
            let pid = try spawnWithPrefixedOutput(command + [configPath, "--dir", directory], prefix: node.name)
            lock.withLock { children.append((node, pid)) }
            try await waitForPort(node.port, name: node.name, pid: pid)
        }
    }

    func run() async throws {
        try? await gracefulShutdown()
        stopAll()
    }

    func stopAll() {
        let running = lock.withLock { () -> [(node: NodeDescription, pid: pid_t)] in
            defer { children.removeAll() }
            return children
        }
        for child in running.reversed() { kill(child.pid, SIGTERM) }
        for child in running.reversed() {
            if !waitForExit(child.pid, seconds: 10) {
                logger.warning("node did not stop in time, killing it", metadata: ["node": "\(child.node.name)"])
                kill(child.pid, SIGKILL)
                _ = waitForExit(child.pid, seconds: 5)
            }
        }
    }

    private func waitForPort(_ port: Int, name: String, pid: pid_t) async throws {
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            if canConnect(port) { return }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                throw UpError("node '\(name)' exited during start-up (status \(status)); see its [\(name)] lines above")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw UpError("node '\(name)' did not accept connections on port \(port) within 15 s")
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
