import Foundation

/// Certificates made by `openssl` for one test, in a scratch directory: a CA, a server
/// certificate for 127.0.0.1 and localhost signed by it, one for the name localhost only (no IP
/// address: reached by IP, its name must be given), a client certificate, and a second CA that
/// signed none of these (to be trusted by mistake). EC P-256 keys: fast to make.
final class TestCertificates: @unchecked Sendable {
    let directory: TemporaryDirectory

    var caCertificate: String { path("ca.crt") }
    var serverCertificate: String { path("server.crt") }
    var serverKey: String { path("server.key") }
    var namedCertificate: String { path("named.crt") }
    var namedKey: String { path("named.key") }
    var clientCertificate: String { path("client.crt") }
    var clientKey: String { path("client.key") }
    var otherCACertificate: String { path("other-ca.crt") }

    init() throws {
        guard let openssl = TestEnvironment.openssl else { throw TestFailure("openssl is not installed") }
        directory = try TemporaryDirectory()
        try makeCA(openssl, "ca", name: "Shardgate Test CA")
        try makeCA(openssl, "other-ca", name: "Some Other CA")
        try makeLeaf(
            openssl, "server", name: "localhost",
            extensions: "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
        try makeLeaf(openssl, "named", name: "localhost", extensions: "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n")
        try makeLeaf(openssl, "client", name: "shardgate-test-client", extensions: "extendedKeyUsage=clientAuth\n")
    }

    func path(_ name: String) -> String { "\(directory.path)/\(name)" }

    private func makeCA(_ openssl: String, _ stem: String, name: String) throws {
        try openSSL(
            openssl,
            ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", path("\(stem).key"), "-out", path("\(stem).crt"), "-days", "2", "-subj", "/CN=\(name)"])
    }

    private func makeLeaf(_ openssl: String, _ stem: String, name: String, extensions: String) throws {
        try extensions.write(toFile: path("\(stem).ext"), atomically: true, encoding: .utf8)
        try openSSL(
            openssl,
            ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", path("\(stem).key"), "-out", path("\(stem).csr"), "-subj", "/CN=\(name)"])
        try openSSL(
            openssl,
            ["x509", "-req", "-in", path("\(stem).csr"), "-CA", caCertificate, "-CAkey", path("ca.key"),
             "-CAcreateserial", "-out", path("\(stem).crt"), "-days", "2", "-extfile", path("\(stem).ext")])
    }

    private func openSSL(_ openssl: String, _ arguments: [String]) throws {
        let result = try run(openssl, arguments, seconds: 20)
        guard result.status == 0 else {
            throw TestFailure("openssl \(arguments.prefix(2).joined(separator: " ")) failed: \(result.output)")
        }
    }
}
