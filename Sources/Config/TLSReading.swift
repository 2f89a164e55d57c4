import Yams

/// Readers for `tls:` and `backend_tls:`. They check the shape only; whether the files exist and
/// hold usable PEM is checked where they are loaded (the proxy's start and `shardgate check`).
extension ConfigReader {
    /// `tls: {cert, key, ca, protocols, ciphers}`: `cert` and `key` required.
    mutating func listenerTLS(_ node: Node, _ path: String) -> ListenerTLS? {
        guard let items = entries(of: node, path, what: "a map {cert: ..., key: ...}") else { return nil }
        rejectUnknown(items, allowed: ["cert", "key", "ca", "protocols", "ciphers"], path)
        let issuesBefore = issues.count
        var certificate: String?
        var privateKey: String?
        var settings = ListenerTLS(certificate: "", privateKey: "")
        for item in items {
            let key = join(path, item.key)
            switch item.key {
            case "cert": certificate = filePath(item.value, key)
            case "key": privateKey = filePath(item.value, key)
            case "ca": settings.clientCA = filePath(item.value, key)
            case "protocols": settings.protocols = tlsProtocols(item.value, key)
            case "ciphers": settings.ciphers = tlsCiphers(item.value, key)
            default: break
            }
        }
        for required in ["cert", "key"] where !items.contains(where: { $0.key == required }) {
            report(node, join(path, required), "missing required key (a TLS listener needs its certificate and key)")
        }
        guard issues.count == issuesBefore, let certificate, let privateKey else { return nil }
        settings.certificate = certificate
        settings.privateKey = privateKey
        return settings
    }

    /// `backend_tls: {ca, cert, key, server_name, verify}`, every key optional (`{}`: TLS, checked
    /// against the system's CAs); `cert` and `key` go together.
    mutating func backendTLS(_ node: Node, _ path: String) -> BackendTLS? {
        guard let items = entries(of: node, path, what: "a map {ca: ..., server_name: ..., verify: ...}") else {
            return nil
        }
        rejectUnknown(items, allowed: ["ca", "cert", "key", "server_name", "verify"], path)
        let issuesBefore = issues.count
        var settings = BackendTLS()
        for item in items {
            let key = join(path, item.key)
            switch item.key {
            case "ca": settings.ca = filePath(item.value, key)
            case "cert": settings.certificate = filePath(item.value, key)
            case "key": settings.privateKey = filePath(item.value, key)
            case "server_name": settings.serverName = serverName(item.value, key)
            case "verify": settings.verify = bool(item.value, key) ?? settings.verify
            default: break
            }
        }
        let given = Set(items.map(\.key))
        if given.contains("cert") != given.contains("key") {
            let missing = given.contains("cert") ? "key" : "cert"
            report(node, join(path, missing), "a client certificate needs both `cert` and `key`")
        }
        return issues.count == issuesBefore ? settings : nil
    }

    /// A host name: TLS sends no IP address as SNI, and a server reached by IP address is already
    /// checked against the certificate's addresses.
    private mutating func serverName(_ node: Node, _ path: String) -> String? {
        guard let name = nonEmptyString(node, path, hint: "omit `server_name` to check each server against its own host")
        else { return nil }
        let looksLikeIPv4 = name.allSatisfy { $0 == "." || $0.isASCII && $0.isNumber }
        if looksLikeIPv4 || name.contains(":") {
            report(
                node, path,
                "expected a host name, got the address \(quote(name)); omit `server_name` to check each server's "
                    + "certificate against the address it is reached at")
            return nil
        }
        if name.contains(where: { $0.isWhitespace }) {
            report(node, path, "a host name cannot contain spaces, got \(quote(name))")
            return nil
        }
        return name
    }

    private mutating func filePath(_ node: Node, _ path: String) -> String? {
        nonEmptyString(node, path, hint: "give the path of a PEM file")
    }

    /// `[TLSv1.2, TLSv1.3]`, or Redis's spelling `"TLSv1.2 TLSv1.3"`; sorted, no duplicates.
    private mutating func tlsProtocols(_ node: Node, _ path: String) -> [TLSProtocolVersion] {
        var names: [(name: String, node: Node)] = []
        switch node {
        case .sequence(let sequence):
            for item in sequence {
                if let name = string(item, path) { names.append((name, item)) }
            }
        case .scalar where !isNull(node):
            for name in (string(node, path) ?? "").split(separator: " ") { names.append((String(name), node)) }
        default:
            report(node, path, "expected a list such as [TLSv1.2, TLSv1.3], got \(describe(node))")
            return []
        }
        if names.isEmpty {
            report(node, path, "expected at least one of TLSv1.2, TLSv1.3; omit `protocols` to accept both")
        }
        var versions: Set<TLSProtocolVersion> = []
        for (name, item) in names {
            if let version = TLSProtocolVersion(rawValue: name) {
                versions.insert(version)
            } else if ["TLSv1", "TLSv1.0", "TLSv1.1"].contains(name) {
                report(item, path, "\(name) is not supported (deprecated and insecure); use TLSv1.2 or TLSv1.3")
            } else {
                report(item, path, "unknown TLS protocol \(quote(name)); expected TLSv1.2 or TLSv1.3")
            }
        }
        return versions.sorted()
    }

    /// `"ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384"`: names from
    /// ``ListenerTLS/cipherNames``, separated by colons (or commas, spaces: OpenSSL's separators).
    private mutating func tlsCiphers(_ node: Node, _ path: String) -> [String] {
        guard let text = nonEmptyString(node, path, hint: "omit `ciphers` to keep the library's defaults") else {
            return []
        }
        var names: [String] = []
        for name in text.split(whereSeparator: { $0 == ":" || $0 == "," || $0 == " " }).map(String.init) {
            if ListenerTLS.cipherNames.contains(name) {
                if !names.contains(name) { names.append(name) }
            } else {
                report(
                    node, path,
                    "unknown TLS 1.2 cipher \(quote(name)); give OpenSSL cipher names separated by colons, e.g. "
                        + "ECDHE-RSA-AES128-GCM-SHA256 (keywords such as HIGH or !aNULL are not supported)")
            }
        }
        return names
    }
}
