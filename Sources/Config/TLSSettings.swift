/// A TLS protocol version a pool's listener may speak (`tls.protocols`). Older versions are
/// refused: TLS 1.0 and 1.1 are deprecated (RFC 8996), and Redis 7 no longer enables them either.
public enum TLSProtocolVersion: String, Sendable, Hashable, CaseIterable, Comparable {
    case tls12 = "TLSv1.2"
    case tls13 = "TLSv1.3"

    public static func < (lhs: Self, rhs: Self) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// `tls:`: clients reach the pool's listener over TLS only.
///
/// The loader keeps the paths as written (relative ones are relative to the proxy's working
/// directory, as Redis's `tls-cert-file`); the proxy reads the files when it starts and when
/// `shardgate check` runs, and reports a file it cannot use there.
public struct ListenerTLS: Sendable, Hashable {
    /// The certificate (chain) the listener presents, PEM.
    public var certificate: String
    /// The certificate's private key, PEM.
    public var privateKey: String
    /// When set, clients must present a certificate signed by one of these CAs (mutual TLS).
    public var clientCA: String?
    /// The versions accepted; empty means every supported one (TLS 1.2 and 1.3).
    public var protocols: [TLSProtocolVersion]
    /// The TLS 1.2 cipher suites, by OpenSSL name, in order of preference (TLS 1.3's suites are
    /// fixed by the library); empty keeps the library's defaults.
    public var ciphers: [String]

    public init(
        certificate: String, privateKey: String, clientCA: String? = nil, protocols: [TLSProtocolVersion] = [],
        ciphers: [String] = []
    ) {
        self.certificate = certificate
        self.privateKey = privateKey
        self.clientCA = clientCA
        self.protocols = protocols
        self.ciphers = ciphers
    }
}

/// `backend_tls:`: every connection the pool opens (to its backends, and to its Sentinels when it
/// follows them) speaks TLS.
public struct BackendTLS: Sendable, Hashable {
    /// The CAs that sign the servers' certificates; nil trusts the system's CA store.
    public var ca: String?
    /// A client certificate and its key, for servers that require one (`tls-auth-clients yes`).
    public var certificate: String?
    public var privateKey: String?
    /// The name sent as SNI and checked against each server's certificate; nil uses the host as
    /// written, or for an IP address checks the certificate's IP addresses.
    public var serverName: String?
    /// Check the servers' certificates (chain and name); false accepts any certificate.
    public var verify: Bool

    public init(
        ca: String? = nil, certificate: String? = nil, privateKey: String? = nil, serverName: String? = nil,
        verify: Bool = true
    ) {
        self.ca = ca
        self.certificate = certificate
        self.privateKey = privateKey
        self.serverName = serverName
        self.verify = verify
    }
}

extension ListenerTLS {
    /// The TLS 1.2 suites `ciphers` may name (OpenSSL's names; the ones the proxy's TLS library,
    /// BoringSSL, has for certificate-based TLS). Only names, no keywords (`HIGH`, `!aNULL`): a list
    /// whose rules leave nothing would only fail when the proxy starts.
    public static let cipherNames: [String] = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
        "ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA256",
        "ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA", "ECDHE-RSA-AES256-SHA",
        "AES128-GCM-SHA256", "AES256-GCM-SHA384", "AES128-SHA", "AES256-SHA",
    ]
}
