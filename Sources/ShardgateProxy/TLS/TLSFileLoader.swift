import Config
import NIOCore
import NIOSSL
#if canImport(Glibc)
import Glibc
#endif

/// Builds a pool's TLS contexts from PEM files, turning each problem into a ``ConfigIssue`` that
/// names the key and the file (missing, unreadable, not PEM, encrypted, key not matching the
/// certificate) instead of an error from deep inside the TLS library.
struct TLSFileLoader {
    let configFile: String
    let pool: String
    private(set) var issues: [ConfigIssue] = []

    /// How long a closing connection waits for the peer's close_notify after sending its own. Redis
    /// does not wait at all; NIOSSL's default (5 s) would hold a shutdown for every idle TLS client
    /// that does not answer.
    static let closeNotifyWait = TimeAmount.milliseconds(100)

    init(configFile: String, pool: String) {
        self.configFile = configFile
        self.pool = pool
    }

    /// The listener's context: its certificate and key, and with `ca` mutual TLS.
    mutating func listenerContext(_ tls: ListenerTLS) -> NIOSSLContext? {
        // Every file is tried before giving up, so one run names every unusable one.
        let chain = certificates(tls.certificate, key: "tls.cert")
        let key = privateKey(tls.privateKey, key: "tls.key")
        var clientCA: [NIOSSLCertificate]?
        var clientCAUsable = true
        if let path = tls.clientCA {
            clientCA = certificates(path, key: "tls.ca")
            clientCAUsable = clientCA != nil
        }
        guard let chain, let key, clientCAUsable else { return nil }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        if let clientCA {
            // Clients must present a certificate this CA signed; their names are not checked.
            configuration.certificateVerification = .noHostnameVerification
            configuration.trustRoots = .certificates(clientCA)
        }
        if let lowest = tls.protocols.first, let highest = tls.protocols.last {
            configuration.minimumTLSVersion = lowest.nioVersion
            configuration.maximumTLSVersion = highest.nioVersion
        }
        if !tls.ciphers.isEmpty { configuration.cipherSuites = tls.ciphers.joined(separator: ":") }
        configuration.shutdownTimeout = Self.closeNotifyWait
        return context(configuration, what: "tls", certificate: tls.certificate, privateKey: tls.privateKey)
    }

    /// The context for connections to backends and Sentinels.
    mutating func connectorContext(_ tls: BackendTLS) -> NIOSSLContext? {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = tls.verify ? .fullVerification : .none
        configuration.shutdownTimeout = Self.closeNotifyWait
        var usable = true
        if let ca = tls.ca {
            let roots = certificates(ca, key: "backend_tls.ca")
            if let roots { configuration.trustRoots = .certificates(roots) } else { usable = false }
        }
        if let certificatePath = tls.certificate, let keyPath = tls.privateKey {
            let chain = certificates(certificatePath, key: "backend_tls.cert")
            let key = privateKey(keyPath, key: "backend_tls.key")
            if let chain, let key {
                configuration.certificateChain = chain.map { .certificate($0) }
                configuration.privateKey = .privateKey(key)
            } else {
                usable = false
            }
        }
        guard usable else { return nil }
        return context(configuration, what: "backend_tls", certificate: tls.certificate, privateKey: tls.privateKey)
    }

    // MARK: Files

    private mutating func certificates(_ path: String, key: String) -> [NIOSSLCertificate]? {
        guard isReadable(path, key: key) else { return nil }
        guard let found = try? NIOSSLCertificate.fromPEMFile(path), !found.isEmpty else {
            report(key, "\(path) holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)")
            return nil
        }
        return found
    }

    private mutating func privateKey(_ path: String, key: String) -> NIOSSLPrivateKey? {
        guard isReadable(path, key: key) else { return nil }
        // A passphrase is never asked for (the proxy runs unattended): an encrypted key fails here.
        let asked = PassphraseAsked()
        let callback: NIOSSLPassphraseCallback<[UInt8]> = { _ in
            asked.value = true
            throw PassphraseAsked.Refused()
        }
        if let loaded = try? NIOSSLPrivateKey(file: path, format: .pem, passphraseCallback: callback) {
            return loaded
        }
        report(
            key,
            asked.value
                ? "\(path) is an encrypted private key; give an unencrypted one (the proxy cannot ask for a passphrase)"
                : "\(path) holds no PEM private key (expected -----BEGIN PRIVATE KEY----- or an RSA/EC key)")
        return nil
    }

    private mutating func isReadable(_ path: String, key: String) -> Bool {
        guard let file = fopen(path, "r") else {
            report(key, "cannot read \(path): \(String(cString: strerror(errno)))")
            return false
        }
        fclose(file)
        return true
    }

    private mutating func context(
        _ configuration: TLSConfiguration, what: String, certificate: String?, privateKey: String?
    ) -> NIOSSLContext? {
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch NIOSSLError.failedToLoadPrivateKey where certificate != nil && privateKey != nil {
            // The key file alone loaded (`privateKey(_:key:)`): the library refuses it next to the certificate.
            report(
                "\(what).key", "the private key \(privateKey ?? "") does not match the certificate \(certificate ?? "")")
            return nil
        } catch {
            report(what, "cannot set up TLS: \(BackendConnection.describe(error))")
            return nil
        }
    }

    private mutating func report(_ key: String, _ message: String) {
        issues.append(ConfigIssue(file: configFile, line: nil, keyPath: "\(pool).\(key)", message: message))
    }
}

/// Notes that a key file asked for a passphrase.
private final class PassphraseAsked {
    var value = false
    struct Refused: Error {}
}

extension TLSProtocolVersion {
    var nioVersion: TLSVersion {
        switch self {
        case .tls12: .tlsv12
        case .tls13: .tlsv13
        }
    }
}
