/// A user's rules as Redis reads them from ACL SETUSER's arguments or a `user` line of a config.
package enum ACLRules {
    /// The rules of Redis's default user at startup (before `requirepass` gives it a password).
    package static let defaultUser = ["on", "~*", "&*", "+@all"]

    /// A user line's words: the name, then its rules (split at spaces and tabs, as Redis splits a
    /// line of its config).
    package static func words(ofLine line: String) -> [String] {
        line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
    }

    /// Joins `(…)` selector rules split over several words, as Redis does.
    package static func mergeSelectors(_ rules: [String]) throws(ACLRuleError) -> [String] {
        var merged: [String] = []
        var open: String?
        for rule in rules {
            if var selector = open {
                selector += " " + rule
                if rule.hasSuffix(")") { merged.append(selector); open = nil } else { open = selector }
            } else if rule.hasPrefix("(") && !rule.hasSuffix(")") {
                open = rule
            } else {
                merged.append(rule)
            }
        }
        if let open {
            throw ACLRuleError(message: "Unmatched parenthesis in acl selector starting at '\(open.split(separator: " ").first ?? "")'.")
        }
        return merged
    }
}

/// A `<name> <rules…>` line that cannot make a user: the rule refused (nil when the words as a
/// whole are wrong: no name, an unclosed selector) and Redis's reason.
package struct ACLLineError: Error {
    package let rule: String?
    package let message: String
}

extension ACLUser {
    /// The user a `<name> <rules…>` line describes, made as Redis makes a configured user: a new
    /// user (off, no commands, keys or channels), or with `reset` its reset state, then each rule.
    package static func make(
        line words: [String], reset: Bool = false, allChannelsByDefault: Bool = false
    ) throws(ACLLineError) -> ACLUser {
        guard let name = words.first else { throw ACLLineError(rule: nil, message: "Syntax error") }
        let user = ACLUser(name: name, allChannelsByDefault: allChannelsByDefault)
        let rules: [String]
        do {
            rules = try ACLRules.mergeSelectors((reset ? ["reset"] : []) + words.dropFirst())
        } catch {
            throw ACLLineError(rule: nil, message: error.message)
        }
        for rule in rules {
            do { try user.apply(rule) } catch { throw ACLLineError(rule: rule, message: error.message) }
        }
        return user
    }
}
