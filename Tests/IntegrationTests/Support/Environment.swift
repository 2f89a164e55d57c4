import Foundation
import Testing

/// Where the real binaries are, and whether tests that need them may run.
///
/// Interop tests skip only when a binary is missing *and* `CI` is unset; under CI a missing binary
/// fails the test instead, so CI can never pass by skipping.
enum TestEnvironment {
    static let isCI = ProcessInfo.processInfo.environment["CI"].map { !$0.isEmpty && $0 != "false" } ?? false

    static func binary(_ name: String) -> String? {
        for directory in ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"] {
            let path = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    static let redisServer = binary("redis-server")
    static let redisCli = binary("redis-cli")
    static let nutcracker = binary("nutcracker")
    static let openssl = binary("openssl")

    /// True when tests needing all of `names` should run.
    static func canRun(_ names: String...) -> Bool {
        isCI || names.allSatisfy { binary($0) != nil }
    }

    /// The `python3` first on PATH (where `pip install` put redis-py), else a system one.
    static var python: String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/python3"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return binary("python3")
    }

    /// Whether `python3 -c 'import redis'` works.
    static let hasRedisPy = hasPythonModules("redis")

    /// Whether python3 can import every one of `modules` (PyPI apps the tests drive: rq, celery).
    static func hasPythonModules(_ modules: String...) -> Bool {
        guard let python else { return false }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", "import " + modules.joined(separator: ", ")]
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Polls `condition` every 20 ms until it holds or `seconds` pass.
func waitUntil(_ what: String, seconds: Double = 5, _ condition: () async throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if (try? await condition()) == true { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw TestFailure("timed out after \(seconds)s waiting for \(what)")
}
