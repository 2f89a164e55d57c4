import Foundation

/// A free TCP port on 127.0.0.1 (bound to port 0, read back, released).
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket() failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw TestFailure("bind() failed") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A child process owned by a test: output goes to a log file, and it is killed by PID when the test
/// is done with it (or when this object goes away), so nothing outlives a failing test.
///
/// Spawned with `posix_spawn` and an empty signal mask: the test runner's threads block some signals,
/// and a child inheriting that mask would never see SIGTERM.
final class ManagedProcess: @unchecked Sendable {
    let pid: pid_t
    let logPath: String
    let name: String
    private var exitStatus: Int32?

    init(_ executable: String, _ arguments: [String], name: String, directory: String) throws {
        self.name = name
        self.logPath = "\(directory)/\(name).log"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        let result = posix_spawn(&child, executable, &actions, &attributes, argv, environ)
        guard result == 0 else { throw TestFailure("cannot start \(executable): error \(result)") }
        pid = child
    }

    /// True until the process has exited (and then reaps it).
    var isRunning: Bool {
        if exitStatus != nil { return false }
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == pid {
            exitStatus = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
            return false
        }
        if result == 0 { return true }
        // Not reapable by us (another part of the test process reaped or adopted it): ask the kernel.
        guard kill(pid, 0) == 0 else { return false }
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        return !stat.contains(") Z ")
    }

    func signal(_ number: Int32) {
        if isRunning { kill(pid, number) }
    }

    /// SIGTERM, then SIGKILL if it is still there after `grace` seconds.
    func stop(grace: Double = 3) {
        guard isRunning else { return }
        kill(pid, SIGCONT)
        kill(pid, SIGTERM)
        if waitForExit(seconds: grace) == nil {
            kill(pid, SIGKILL)
            _ = waitForExit(seconds: 5)
        }
    }

    /// Waits (bounded) for the process to exit and returns its exit status (128+signal if killed).
    func waitForExit(seconds: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while isRunning && Date() < deadline { usleep(2_000) }
        return exitStatus
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    deinit {
        if isRunning {
            kill(pid, SIGCONT)
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }
}

/// A scratch directory removed when the test is done.
final class TemporaryDirectory: @unchecked Sendable {
    let path: String
    init() throws {
        path = NSTemporaryDirectory() + "shardgate-test-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    /// `SHARDGATE_KEEP_TEST_DIRS=1` keeps every directory (and the logs in it) for a post-mortem.
    deinit {
        if ProcessInfo.processInfo.environment["SHARDGATE_KEEP_TEST_DIRS"] == "1" { return }
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Runs a command to completion (bounded) and returns its exit status and output.
@discardableResult
func run(_ executable: String, _ arguments: [String], input: Data? = nil, seconds: Double = 30) throws
    -> (status: Int32, output: String)
{
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    let stdin = Pipe()
    process.standardInput = stdin
    try process.run()
    if let input { stdin.fileHandleForWriting.write(input) }
    try stdin.fileHandleForWriting.close()
    var collected = Data()
    let deadline = Date().addingTimeInterval(seconds)
    let handle = output.fileHandleForReading
    while true {
        let chunk = handle.availableData
        if chunk.isEmpty { break }
        collected.append(chunk)
        if Date() > deadline { break }
    }
    while process.isRunning && Date() < deadline { usleep(5_000) }
    if process.isRunning {
        process.terminate()
        throw TestFailure("\(executable) \(arguments.joined(separator: " ")) did not finish in \(seconds)s")
    }
    return (process.terminationStatus, String(decoding: collected, as: UTF8.self))
}

/// Starts a server on a free port and waits until the server answering there is this very process.
///
/// A free port can be taken between choosing it and the server binding it (parallel tests, outgoing
/// connections); the server then exits, or worse, another server answers. So: `isOurs` must confirm
/// the answer came from our process, and a process that exits is started again on another port.
func startOnFreePort(
    attempts: Int = 5, seconds: Double = 10, _ launch: (Int) throws -> ManagedProcess,
    isOurs: @escaping (RedisTestClient, ManagedProcess) -> Bool = { client, process in
        guard case .bulk(let bytes?)? = try? client.command("INFO", "server") else { return false }
        return String(decoding: bytes, as: UTF8.self).contains("process_id:\(process.pid)\r\n")
    }
) async throws -> (port: Int, process: ManagedProcess) {
    var problem = "no attempt"
    for _ in 0..<attempts {
        let port = try freePort()
        let process = try launch(port)
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline && process.isRunning {
            if let client = try? RedisTestClient(port: port, timeoutSeconds: 1), isOurs(client, process) {
                return (port, process)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        problem = process.isRunning ? "not serving on \(port) after \(seconds)s" : "exited (port \(port) taken?)"
        process.stop(grace: 1)
    }
    throw TestFailure("cannot start a server: \(problem)")
}
