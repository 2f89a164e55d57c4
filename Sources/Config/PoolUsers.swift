import ACL
import Yams

extension ConfigReader {
    /// `users:`: Redis ACL rule lines, the user's name then its rules, each checked as Redis checks
    /// a configured user (the `default` line from a reset, as Redis's `user default`). An error
    /// names the user and the rule refused with Redis's reason; a password is never repeated.
    mutating func users(_ node: Node, _ path: String) -> [String] {
        guard case .sequence(let sequence) = node else {
            report(node, path, "expected a list of user lines such as \"app on >secret ~app:* +@read\", got \(describe(node))")
            return []
        }
        var lines: [String] = []
        var seen: [String: Int] = [:]
        for (index, item) in sequence.enumerated() {
            let itemPath = "\(path)[\(index)]"
            guard let line = string(item, itemPath) else { continue }
            let words = ACLRules.words(ofLine: line)
            guard let name = words.first else {
                report(item, itemPath, "an empty user line: give the user's name, then its rules")
                continue
            }
            if let earlier = seen[name] {
                report(item, itemPath, "user '\(name)' is already defined by \(path)[\(earlier)]: a user can only be defined once")
                continue
            }
            seen[name] = index
            do {
                _ = try ACLUser.make(line: words, reset: name == "default")
                lines.append(line)
            } catch {
                let rule = error.rule.map { "Error in ACL SETUSER modifier '\(Self.hidingPassword($0))': " } ?? ""
                report(item, itemPath, "user '\(name)': \(rule)\(error.message)")
            }
        }
        return lines
    }

    /// A rule as an error may show it: a password (`>p`, `<p`) is left out.
    static func hidingPassword(_ rule: String) -> String {
        rule.hasPrefix(">") || rule.hasPrefix("<") ? rule.prefix(1) + "…" : rule
    }
}
