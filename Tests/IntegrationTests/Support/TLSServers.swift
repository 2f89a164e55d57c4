import Foundation

/// redis-cli over TLS, trusting `certificates`' CA, optionally with the client certificate.
struct TLSRedisCLI {
    let certificates: TestCertificates
    var presentsClientCertificate = false

    /// Runs one command against `port` (bounded: 10 s); the output without its trailing newline.
    func run(port: Int, _ arguments: String...) throws -> (status: Int32, output: String) {
        guard let cli = TestEnvironment.redisCli else { throw TestFailure("redis-cli is not installed") }
        var options = ["--tls", "--cacert", certificates.caCertificate]
        if presentsClientCertificate {
            options += ["--cert", certificates.clientCertificate, "--key", certificates.clientKey]
        }
        let result = try IntegrationTests.run(
            cli, options + ["-h", "127.0.0.1", "-p", "\(port)"] + arguments, seconds: 10)
        return (result.status, result.output.trimmingCharacters(in: .newlines))
    }
}

/// A real redis-server that speaks TLS only (`--port 0 --tls-port P`), with `certificates`'
/// server certificate (or the one for a name only, `named`); clients need no certificate of their
/// own. Killed by PID when stopped.
final class TLSRedisServer: @unchecked Sendable {
    let port: Int
    let process: ManagedProcess
    let directory: TemporaryDirectory

    /// `extra`: more redis-server arguments (`--replicaof`, `--tls-replication yes`).
    init(certificates: TestCertificates, named: Bool = false, extra: [String] = []) async throws {
        guard let binary = TestEnvironment.redisServer else { throw TestFailure("redis-server is not installed") }
        let directory = try TemporaryDirectory()
        self.directory = directory
        (port, process) = try await startOnFreeTLSPort(certificates) { port in
            try ManagedProcess(
                binary,
                [
                    "--port", "0", "--tls-port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                    "--dir", directory.path, "--tls-cert-file",
                    named ? certificates.namedCertificate : certificates.serverCertificate,
                    "--tls-key-file", named ? certificates.namedKey : certificates.serverKey,
                    "--tls-ca-cert-file", certificates.caCertificate, "--tls-auth-clients", "no",
                ] + extra,
                name: "redis-tls-\(port)", directory: directory.path)
        }
    }

    var address: String { "127.0.0.1:\(port)" }

    func stop() { process.stop() }
}

/// A real redis-sentinel that speaks TLS only, to its clients and to the master it monitors as
/// `name` (`tls-replication yes`). Killed by PID when stopped.
final class TLSSentinel: @unchecked Sendable {
    let port: Int
    let process: ManagedProcess
    let directory: TemporaryDirectory

    init(certificates: TestCertificates, monitoring master: TLSRedisServer, as name: String) async throws {
        guard let binary = TestEnvironment.redisServer else { throw TestFailure("redis-server is not installed") }
        let directory = try TemporaryDirectory()
        self.directory = directory
        (port, process) = try await startOnFreeTLSPort(certificates) { port in
            // Sentinel rewrites its configuration file: it must be its own and writable.
            let path = "\(directory.path)/sentinel-\(port).conf"
            try """
                port 0
                tls-port \(port)
                bind 127.0.0.1
                dir \(directory.path)
                tls-cert-file \(certificates.serverCertificate)
                tls-key-file \(certificates.serverKey)
                tls-ca-cert-file \(certificates.caCertificate)
                tls-auth-clients no
                tls-replication yes
                sentinel monitor \(name) 127.0.0.1 \(master.port) 1

                """.write(toFile: path, atomically: true, encoding: .utf8)
            return try ManagedProcess(binary, [path, "--sentinel"], name: "sentinel-tls-\(port)", directory: directory.path)
        }
    }

    var address: String { "127.0.0.1:\(port)" }

    func stop() { process.stop() }
}

/// Starts a TLS-only server on a free port and waits until the server answering there (over TLS)
/// is this very process; a process that exits (its port was taken) is started again elsewhere.
private func startOnFreeTLSPort(
    _ certificates: TestCertificates, _ launch: (Int) throws -> ManagedProcess
) async throws -> (port: Int, process: ManagedProcess) {
    let cli = TLSRedisCLI(certificates: certificates)
    var problem = "no attempt"
    for _ in 0..<5 {
        let port = try freePort()
        let process = try launch(port)
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline && process.isRunning {
            if let info = try? cli.run(port: port, "INFO", "server"), info.output.contains("process_id:\(process.pid)") {
                return (port, process)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        problem = process.isRunning ? "not serving TLS on \(port)" : "exited (port \(port) taken?)"
        process.stop(grace: 1)
    }
    throw TestFailure("cannot start a TLS server: \(problem)")
}
