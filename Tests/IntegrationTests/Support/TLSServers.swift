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
        let cli = TLSRedisCLI(certificates: certificates)
        var problem = "no attempt"
        for _ in 0..<5 {
            let port = try freePort()
            let process = try ManagedProcess(
                binary,
                [
                    "--port", "0", "--tls-port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                    "--dir", directory.path, "--tls-cert-file",
                    named ? certificates.namedCertificate : certificates.serverCertificate,
                    "--tls-key-file", named ? certificates.namedKey : certificates.serverKey, "--tls-ca-cert-file", certificates.caCertificate,
                    "--tls-auth-clients", "no",
                ] + extra,
                name: "redis-tls-\(port)", directory: directory.path)
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline && process.isRunning {
                // Ours when the server answering on the port has our PID (a free port can be taken).
                if let info = try? cli.run(port: port, "INFO", "server"), info.output.contains("process_id:\(process.pid)") {
                    (self.port, self.process) = (port, process)
                    return
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            problem = process.isRunning ? "not serving TLS on \(port)" : "exited (port \(port) taken?)"
            process.stop(grace: 1)
        }
        throw TestFailure("cannot start a TLS redis-server: \(problem)")
    }

    var address: String { "127.0.0.1:\(port)" }

    func stop() { process.stop() }
}
