import Yams

/// One `key: value` pair of a YAML map, with the key as text.
struct Entry {
    let key: String
    let keyNode: Node
    let value: Node
}

/// Collects issues while reading composed YAML nodes; every reader reports its own problems and
/// returns `nil`, so parsing always continues and all issues are found in one pass.
struct ConfigReader {
    let file: String
    private(set) var issues: [ConfigIssue] = []

    init(file: String) {
        self.file = file
    }

    mutating func report(_ node: Node?, _ path: String, _ message: String) {
        report(line: node?.mark?.line, path, message)
    }

    mutating func report(line: Int?, _ path: String, _ message: String) {
        issues.append(ConfigIssue(file: file, line: line, keyPath: path, message: message))
    }

    // MARK: Maps

    /// The pairs of a map in order, with YAML merge keys (`<<: *defaults`) applied. Reports
    /// non-map values (as "expected `what`") and non-string keys.
    mutating func entries(of node: Node, _ path: String, what: String = "a map") -> [Entry]? {
        guard case .mapping(let mapping) = node else {
            report(node, path, "expected \(what), got \(describe(node))")
            return nil
        }
        var explicit: [Entry] = []
        var merged: [Entry] = []
        for (keyNode, value) in mapping {
            guard case .scalar(let scalar) = keyNode, !isNull(keyNode) else {
                report(keyNode, path, "map keys must be strings, got \(describe(keyNode))")
                continue
            }
            if scalar.string == "<<" && scalar.style == .plain {
                let sources: [Node]
                if case .sequence(let sequence) = value { sources = Array(sequence) } else { sources = [value] }
                for source in sources {
                    if let more = entries(of: source, path, what: "a map to merge (<<)") { merged += more }
                }
                continue
            }
            explicit.append(Entry(key: scalar.string, keyNode: keyNode, value: value))
        }
        var seen = Set(explicit.map(\.key))
        for entry in merged where seen.insert(entry.key).inserted {
            explicit.append(entry)
        }
        return explicit
    }

    /// Reports every entry whose key is not in `allowed`, suggesting a close match.
    mutating func rejectUnknown(_ entries: [Entry], allowed: [String], _ path: String) {
        for entry in entries where !allowed.contains(entry.key) {
            report(entry.keyNode, join(path, entry.key), unknownKeyMessage(entry.key, allowed: allowed))
        }
    }

    // MARK: Scalars

    /// Any non-null scalar, as written.
    mutating func string(_ node: Node, _ path: String) -> String? {
        guard case .scalar(let scalar) = node, !isNull(node) else {
            report(node, path, "expected a string, got \(describe(node))")
            return nil
        }
        return scalar.string
    }

    /// A decimal integer in `minimum...maximum` (quoted numbers are accepted, like twemproxy does).
    /// `maximum` defaults to `Int32.max`; pass `Int.max` for no practical upper bound.
    mutating func int(_ node: Node, _ path: String, minimum: Int, maximum: Int = Int(Int32.max)) -> Int? {
        guard case .scalar(let scalar) = node, !isNull(node) else {
            report(node, path, "expected an integer, got \(describe(node))")
            return nil
        }
        guard let value = parseDecimal(scalar.string) else {
            report(node, path, "expected an integer, got \(describe(node))")
            return nil
        }
        guard value >= minimum && value <= maximum else {
            let requirement: String
            if maximum == Int(Int32.max) || maximum == Int.max {
                requirement = minimum == 1 ? "must be greater than 0" : "must be \(minimum) or more"
            } else {
                requirement = "must be between \(minimum) and \(maximum)"
            }
            report(node, path, "\(requirement), got \(value)")
            return nil
        }
        return value
    }

    mutating func bool(_ node: Node, _ path: String) -> Bool? {
        if case .scalar(let scalar) = node {
            switch scalar.string {
            case "true", "True", "TRUE": return true
            case "false", "False", "FALSE": return false
            default: break
            }
        }
        report(node, path, "expected true or false, got \(describe(node))")
        return nil
    }

    /// `host:port`; unix socket paths get their own "not supported" message. A listen address may use
    /// port 0 (the system picks a free port, reported in the log and INFO).
    mutating func endpoint(_ node: Node, _ path: String, allowAnyPort: Bool = false) -> Endpoint? {
        guard let text = string(node, path) else { return nil }
        if allowAnyPort, text.hasSuffix(":0"), case .success(let endpoint) = Endpoint.parse(String(text.dropLast()) + "1") {
            return Endpoint(host: endpoint.host, port: 0)
        }
        if text.hasPrefix("/") {
            report(node, path, "unix domain sockets are not supported yet, got \(quote(text)); use host:port")
            return nil
        }
        switch Endpoint.parse(text) {
        case .success(let endpoint):
            return endpoint
        case .failure(.malformed):
            report(node, path, "expected host:port, got \(quote(text))")
        case .failure(.badPort(let port)):
            report(node, path, "port must be a number between 1 and 65535, got \(quote(port)) in \(quote(text))")
        }
        return nil
    }

    /// A scalar that must be one of `type`'s raw values.
    mutating func choice<T: RawRepresentable & CaseIterable>(_ node: Node, _ path: String, _ what: String) -> T?
    where T.RawValue == String {
        guard let text = string(node, path) else { return nil }
        if let value = T(rawValue: text) { return value }
        let options = T.allCases.map(\.rawValue).joined(separator: ", ")
        report(node, path, "unknown \(what) \(quote(text)); expected one of: \(options)")
        return nil
    }
}

// MARK: - Helpers

func join(_ path: String, _ key: String) -> String {
    path.isEmpty ? key : "\(path).\(key)"
}

func isNull(_ node: Node) -> Bool {
    guard case .scalar(let scalar) = node, scalar.style == .plain else { return false }
    return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
}

/// How a value appears in "expected X, got Y" messages.
func describe(_ node: Node) -> String {
    switch node {
    case .scalar(let scalar): return isNull(node) ? "null" : quote(scalar.string)
    case .mapping: return "a map"
    case .sequence: return "a list"
    case .alias: return "an alias"
    }
}

func quote(_ text: some StringProtocol) -> String {
    String(text).debugDescription
}

func quote(bytes: [UInt8]) -> String {
    quote(String(decoding: bytes, as: UTF8.self))
}

/// Optional `-`, then ASCII digits only (no `+`, `_`, `0x`, or spaces).
func parseDecimal(_ text: String) -> Int? {
    let digits = text.hasPrefix("-") ? text.dropFirst() : Substring(text)
    guard !digits.isEmpty, digits.count <= 18, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
        return nil
    }
    return Int(text)
}

func unknownKeyMessage(_ key: String, allowed: [String]) -> String {
    let best = allowed.map { ($0, editDistance(key, $0)) }.min { $0.1 < $1.1 }
    if let best, best.1 <= 2 {
        return "unknown key \(quote(key)) (did you mean \(quote(best.0))?)"
    }
    return "unknown key \(quote(key))"
}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.utf8), b = Array(b.utf8)
    var previous = Array(0...b.count)
    for i in 1...max(a.count, 1) where !a.isEmpty {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...max(b.count, 1) where !b.isEmpty {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
        }
        previous = current
    }
    return a.isEmpty ? b.count : previous[b.count]
}
