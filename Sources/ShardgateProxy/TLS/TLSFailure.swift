import NIOSSL

/// TLS errors in a few words for logs and client-visible errors: BoringSSL's reason codes
/// (`CERTIFICATE_VERIFY_FAILED`) without its error numbers and source file positions.
enum TLSFailure {
    /// The TLS error in words, or nil when `error` is not one of the TLS library's.
    static func describe(_ error: any Error) -> String? {
        switch error {
        case NIOSSLError.handshakeFailed(let inner):
            return "TLS handshake failed (\(reasons(inner)))"
        case let error as BoringSSLError:
            return "TLS error (\(reasons(error)))"
        case let error as NIOSSLExtraError where error == .failedToValidateHostname:
            return hostnameMismatch(error)
        case let error as NIOSSLExtraError:
            return "TLS: \(error)"
        case let error as NIOSSLError:
            return "TLS: \(error)"
        default:
            return nil
        }
    }

    /// NIOSSL says `Couldn't find <name> in certificate from peer`, `<none>` when the server was
    /// reached by IP address without `server_name`.
    private static func hostnameMismatch(_ error: NIOSSLExtraError) -> String {
        let text = "\(error)"
        guard let start = text.firstRange(of: "Couldn't find "), let end = text.firstRange(of: " in certificate") else {
            return "TLS: the server's certificate is not for this server"
        }
        let name = text[start.upperBound..<end.lowerBound]
        if name == "<none>" {
            return "TLS: the server's certificate does not name the IP address connected to; set `server_name` to check a host name"
        }
        return "TLS: the server's certificate is not for \(name)"
    }

    private static func reasons(_ error: BoringSSLError) -> String {
        switch error {
        case .sslError(let stack), .unknownError(let stack):
            let found = stack.map { reason(from: $0.description) }
            return found.isEmpty ? "\(error)" : found.joined(separator: ", ")
        default:
            return "\(error)"
        }
    }

    /// `Error: 268435581 error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED at
    /// file.cc:123` gives `CERTIFICATE_VERIFY_FAILED`; a message without that shape is kept whole.
    static func reason(from text: String) -> String {
        var message = Substring(text)
        if message.hasPrefix("Error:") { message = message.dropFirst("Error:".count) }
        if let at = message.firstRange(of: " at ") { message = message[..<at.lowerBound] }
        if message.contains("error:"), let colon = message.lastIndex(of: ":") {
            message = message[message.index(after: colon)...]
        }
        return message.drop { $0 == " " || ($0 >= "0" && $0 <= "9") }.description
    }
}
