import Config
import Testing

/// Parses `yaml`, expecting success.
func parseOK(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> ProxyConfig {
    do {
        return try ProxyConfigLoader.parse(yaml, file: "proxy.yml")
    } catch {
        Issue.record("unexpected config error:\n\(error)", sourceLocation: sourceLocation)
        throw error
    }
}

/// Parses `yaml`, expecting failure, and returns the issues.
func parseIssues(_ yaml: String, file: String = "proxy.yml") -> [ConfigIssue] {
    do {
        let config = try ProxyConfigLoader.parse(yaml, file: file)
        Issue.record("expected a config error, got \(config)")
        return []
    } catch {
        return error.issues
    }
}

/// One issue a test expects: where, and a fragment of the message.
struct ExpectedIssue: Sendable, CustomStringConvertible {
    var line: Int?
    var keyPath: String
    var fragment: String

    init(_ line: Int?, _ keyPath: String, _ fragment: String) {
        self.line = line
        self.keyPath = keyPath
        self.fragment = fragment
    }

    var description: String { "\(line.map(String.init) ?? "-"): \(keyPath): …\(fragment)…" }

    func matches(_ issue: ConfigIssue) -> Bool {
        issue.line == line && issue.keyPath == keyPath && issue.message.contains(fragment)
    }
}

/// An invalid configuration and the issues it must produce.
struct InvalidCase: Sendable, CustomTestStringConvertible {
    var label: String
    var yaml: String
    var expected: [ExpectedIssue]
    /// When set, exactly this many issues must be reported.
    var count: Int?

    init(_ label: String, _ yaml: String, count: Int? = nil, _ expected: ExpectedIssue...) {
        self.label = label
        self.yaml = yaml
        self.expected = expected
        self.count = count
    }

    var testDescription: String { label }
}

func expectIssues(_ testCase: InvalidCase, sourceLocation: SourceLocation = #_sourceLocation) {
    let issues = parseIssues(testCase.yaml)
    let listing = issues.map(\.description).joined(separator: "\n")
    for expected in testCase.expected {
        #expect(
            issues.contains(where: expected.matches), "missing \(expected) in:\n\(listing)",
            sourceLocation: sourceLocation)
    }
    if let count = testCase.count {
        #expect(issues.count == count, "expected \(count) issues, got:\n\(listing)", sourceLocation: sourceLocation)
    }
    // Every issue names the file, a line and (except YAML syntax errors) a key path.
    for issue in issues {
        #expect(issue.line != nil, "no line: \(issue)", sourceLocation: sourceLocation)
        #expect(issue.description.hasPrefix("proxy.yml:\(issue.line ?? 0): "), sourceLocation: sourceLocation)
    }
}
