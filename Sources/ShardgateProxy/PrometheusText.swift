/// Prometheus's text exposition format (version 0.0.4): `# HELP` and `# TYPE` once per family,
/// then its samples with their labels. Written by hand rather than through a metrics library: the
/// counters live in each event loop's plain structs (no atomics on the request path) and are read
/// only when `/metrics` is scraped, so there is nothing for a registry to hold between scrapes.
struct PrometheusText {
    enum Kind: String {
        case counter, gauge, histogram
    }

    private(set) var text = ""

    /// Starts a family; its samples follow.
    mutating func family(_ name: String, _ kind: Kind, _ help: String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(kind.rawValue)\n"
    }

    mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Int) {
        text += "\(name)\(Self.labels(labels)) \(value)\n"
    }

    mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Double) {
        text += "\(name)\(Self.labels(labels)) \(Self.number(value))\n"
    }

    /// A histogram's samples in seconds: the cumulative `_bucket`s, `_sum` and `_count`.
    mutating func histogram(_ name: String, _ labels: [(String, String)], _ buckets: LatencyBuckets) {
        let cumulative = buckets.cumulative
        for (index, bound) in LatencyBuckets.bounds.enumerated() {
            sample("\(name)_bucket", labels + [("le", Self.number(Double(bound) / 1e9))], cumulative[index])
        }
        sample("\(name)_bucket", labels + [("le", "+Inf")], buckets.count)
        sample("\(name)_sum", labels, Double(buckets.sumNanoseconds) / 1e9)
        sample("\(name)_count", labels, buckets.count)
    }

    /// `{a="x",b="y"}` with backslashes, quotes and line breaks escaped; empty without labels.
    static func labels(_ labels: [(String, String)]) -> String {
        guard !labels.isEmpty else { return "" }
        return "{" + labels.map { "\($0.0)=\"\(escaped($0.1))\"" }.joined(separator: ",") + "}"
    }

    static func escaped(_ value: String) -> String {
        guard value.contains(where: { $0 == "\\" || $0 == "\"" || $0 == "\n" }) else { return value }
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    /// A float as Prometheus reads it (Go's `ParseFloat`): Swift's shortest round-trip spelling.
    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        return "\(value)"
    }
}
