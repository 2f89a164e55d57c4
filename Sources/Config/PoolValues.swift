import Routing
import Yams

/// Readers for the values of pool keys that are more than a scalar (the option table's readers).
extension ConfigReader {
    mutating func hashTag(_ node: Node, _ path: String) -> HashTag? {
        switch node {
        case .mapping(let mapping) where mapping.isEmpty:
            report(node, path, "expected two characters such as \"{}\"; quote them, unquoted {} is an empty YAML map")
            return nil
        default:
            guard let text = string(node, path) else { return nil }
            let bytes = Array(text.utf8)
            guard bytes.count == 2 else {
                report(node, path, "expected exactly two characters (the opening and closing tag), got \(quote(text))")
                return nil
            }
            return HashTag(open: bytes[0], close: bytes[1])
        }
    }

    mutating func nonEmptyString(_ node: Node, _ path: String, hint: String) -> String? {
        guard let text = string(node, path) else { return nil }
        if text.isEmpty {
            report(node, path, "must not be empty; \(hint)")
            return nil
        }
        return text
    }

    /// `auth: password` or `auth: {user: name, password: secret}` (`username` is accepted for `user`).
    /// Also `sentinel_auth`. `omitHint` ends the message for an empty password.
    mutating func backendAuth(_ node: Node, _ path: String, omitHint: String) -> BackendAuth? {
        switch node {
        case .scalar where !isNull(node):
            return nonEmptyString(node, path, hint: omitHint).map {
                BackendAuth(password: $0)
            }
        case .mapping:
            guard let items = entries(of: node, path) else { return nil }
            rejectUnknown(items, allowed: ["user", "username", "password"], path)
            var username: String?
            var secret: String?
            var sawUser = false
            for item in items {
                let key = join(path, item.key)
                switch item.key {
                case "user", "username":
                    if sawUser {
                        report(item.keyNode, key, "`user` and `username` are the same setting; give only one")
                    }
                    sawUser = true
                    username = nonEmptyString(item.value, key, hint: "omit it to use the default user")
                case "password":
                    secret = string(item.value, key)
                default:
                    break
                }
            }
            if !items.contains(where: { $0.key == "password" }) {
                report(node, join(path, "password"), "missing required key")
            }
            return secret.map { BackendAuth(username: username, password: $0) }
        default:
            report(node, path, "expected a password or {user: name, password: secret}, got \(describe(node))")
            return nil
        }
    }

    /// `sentinels: [host:port, ...]`: at least one, no duplicates (host names compared case-insensitively).
    mutating func sentinels(_ node: Node, _ path: String) -> [Endpoint] {
        guard case .sequence(let sequence) = node else {
            report(node, path, "expected a list of Sentinel host:port addresses, got \(describe(node))")
            return []
        }
        if sequence.isEmpty {
            report(
                node, path,
                "expected at least one Sentinel host:port; omit `sentinels` to give each group's master instead")
            return []
        }
        var sentinels: [Endpoint] = []
        var seen: [Endpoint: (index: Int, line: Int?)] = [:]
        for (index, item) in sequence.enumerated() {
            let itemPath = "\(path)[\(index)]"
            guard let sentinel = endpoint(item, itemPath) else { continue }
            let key = Endpoint(host: sentinel.host.lowercased(), port: sentinel.port)
            if let other = seen[key] {
                report(
                    item, itemPath,
                    "duplicate sentinel \(sentinel) (also \(path)[\(other.index)]"
                        + (other.line.map { " at line \($0)" } ?? "") + ")")
            } else {
                seen[key] = (index, item.mark?.line)
                sentinels.append(sentinel)
            }
        }
        return sentinels
    }

    /// A byte count: a non-negative integer, optionally with Redis's units (`k`/`m`/`g` are powers of
    /// 1000, `kb`/`mb`/`gb` of 1024; case-insensitive), e.g. `256mb`.
    mutating func byteSize(_ node: Node, _ path: String) -> Int? {
        guard case .scalar(let scalar) = node, !isNull(node) else {
            report(node, path, "expected a size such as 256mb, got \(describe(node))")
            return nil
        }
        let text = scalar.string.lowercased()
        let units: [(String, Int)] = [
            ("gb", 1 << 30), ("mb", 1 << 20), ("kb", 1 << 10), ("g", 1_000_000_000), ("m", 1_000_000), ("k", 1000),
            ("b", 1),
        ]
        var digits = Substring(text)
        var scale = 1
        if let unit = units.first(where: { text.hasSuffix($0.0) }) {
            digits = digits.dropLast(unit.0.count)
            scale = unit.1
        }
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let number = Int(digits),
            number <= Int.max / scale
        else {
            report(node, path, "expected a size such as 256mb (b, k, kb, m, mb, g, gb; 0 for no limit), got \(describe(node))")
            return nil
        }
        return number * scale
    }

    /// `max_replica_lag: {bytes: n, seconds: n}`, each optional but not both, each > 0.
    mutating func replicaLag(_ node: Node, _ path: String) -> (bytes: Int?, seconds: Int?) {
        guard let items = entries(of: node, path, what: "a map {bytes: ..., seconds: ...}") else { return (nil, nil) }
        rejectUnknown(items, allowed: ["bytes", "seconds"], path)
        var bytes: Int?
        var seconds: Int?
        for item in items {
            let key = join(path, item.key)
            switch item.key {
            case "bytes": bytes = int(item.value, key, minimum: 1, maximum: Int.max)
            case "seconds": seconds = int(item.value, key, minimum: 1)
            default: break
            }
        }
        if !items.contains(where: { $0.key == "bytes" || $0.key == "seconds" }) {
            report(
                node, path,
                "give `bytes`, `seconds` or both; omit `max_replica_lag` to read from replicas however far behind")
        }
        return (bytes, seconds)
    }
}
