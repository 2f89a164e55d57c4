import Commands

/// A user: whether it may log in, with which passwords, and its selectors.
package final class ACLUser {
    package let name: String
    package var enabled = false
    package var noPass = false
    /// SHA-256 digests (hex) of its passwords, in the order they were added.
    package var passwords: [String] = []
    package var root = ACLSelector()
    package var selectors: [ACLSelector] = []
    /// `sanitize-payload` (true), `skip-sanitize-payload` (false), or neither (nil).
    package var sanitizePayload: Bool?
    /// Nothing to check: the root selector allows every command, key and channel.
    package private(set) var unrestricted = false

    /// `acl-pubsub-default allchannels` when the user was made: its root selector, a `reset` and
    /// each new selector start with every channel.
    package let allChannelsByDefault: Bool

    package init(name: String, allChannelsByDefault: Bool = false) {
        self.name = name
        self.allChannelsByDefault = allChannelsByDefault
        root.allChannels = allChannelsByDefault
    }

    package func refresh() { unrestricted = root.isUnrestricted }

    /// Takes `other`'s flags, passwords and selectors.
    package func copyRules(from other: ACLUser) {
        enabled = other.enabled
        noPass = other.noPass
        passwords = other.passwords
        root = other.root
        selectors = other.selectors
        sanitizePayload = other.sanitizePayload
        refresh()
    }

    /// Its flags as ACL GETUSER and ACL LIST name them.
    package var flags: [String] {
        var flags = [enabled ? "on" : "off"]
        if noPass { flags.append("nopass") }
        if let sanitizePayload { flags.append(sanitizePayload ? "sanitize-payload" : "skip-sanitize-payload") }
        return flags
    }

    /// Applies one rule (user-level or of the root selector).
    package func apply(_ rule: String) throws(ACLRuleError) {
        defer { refresh() }
        let lower = rule.lowercased()
        switch lower {
        case "on": enabled = true
        case "off": enabled = false
        case "nopass":
            noPass = true
            passwords = []
        case "resetpass":
            noPass = false
            passwords = []
        case "clearselectors": selectors = []
        case "sanitize-payload": sanitizePayload = true
        case "skip-sanitize-payload": sanitizePayload = false
        case "reset":
            for step in ["resetpass", "resetkeys", "resetchannels", "off", "-@all", "clearselectors", "sanitize-payload"] {
                try apply(step)
            }
            if allChannelsByDefault { try apply("allchannels") }
        default:
            let bytes = Array(rule.utf8)
            if rule.hasPrefix(">") {
                let digest = SHA256.hex(bytes.dropFirst())
                if !passwords.contains(digest) { passwords.append(digest) }
                noPass = false
            } else if rule.hasPrefix("#") {
                let digest = String(rule.dropFirst())
                guard Self.isHash(digest) else { throw .badHash }
                if !passwords.contains(digest) { passwords.append(digest) }
                noPass = false
            } else if rule.hasPrefix("<") {
                let digest = SHA256.hex(bytes.dropFirst())
                guard let index = passwords.firstIndex(of: digest) else { throw .noSuchPassword }
                passwords.remove(at: index)
            } else if rule.hasPrefix("!") {
                let digest = String(rule.dropFirst())
                guard Self.isHash(digest) else { throw .badHash }
                guard let index = passwords.firstIndex(of: digest) else { throw .noSuchPassword }
                passwords.remove(at: index)
            } else if rule.hasPrefix("("), rule.hasSuffix(")") {
                var selector = ACLSelector()
                selector.allChannels = allChannelsByDefault
                for part in rule.dropFirst().dropLast().split(separator: " ") { try selector.apply(String(part)) }
                selectors.append(selector)
            } else {
                try root.apply(rule)
            }
        }
    }

    package static func isHash(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    package func accepts(password: [UInt8]) -> Bool {
        guard enabled else { return false }
        if noPass { return true }
        return passwords.contains(SHA256.hex(password))
    }

    /// ACL LIST's line (without `user <name> `).
    package var description: String {
        var parts = flags
        parts += passwords.map { "#" + $0 }
        parts.append(root.description)
        parts += selectors.map { "(" + $0.description + ")" }
        return parts.joined(separator: " ")
    }

    /// Whether one of its selectors allows every command of `category` (a bit of `ACLCategory`):
    /// what the proxy asks of a user for its own admin command, which no ACL rule can name.
    package func allowsEvery(category: UInt32) -> Bool {
        let ids = ACLCategory.commandIDs.filter { ACLCategory.masks[$0] & category != 0 }
        return (CollectionOfOne(root) + selectors).contains { selector in ids.allSatisfy { selector.allowed[$0] } }
    }

    /// Whether a selector that lets the user run the command also lets it read every key
    /// (`allkeys`, `~*` or `%R~*`): what SORT's BY and GET options need, since the keys their
    /// patterns name are not known before the command runs (Redis's unrestricted key access).
    package func readsEveryKey(running spec: CommandSpec, _ arguments: ACLArguments) -> Bool {
        (CollectionOfOne(root) + selectors).contains { $0.readsEveryKey && $0.check(spec, arguments) == nil }
    }

    /// Why the user may not run the command (the most telling denial of its selectors), or nil.
    package func check(_ spec: CommandSpec, _ arguments: ACLArguments) -> ACLDenial? {
        var worst: ACLDenial?
        for selector in CollectionOfOne(root) + selectors {
            guard let denial = selector.check(spec, arguments) else { return nil }
            // The gravest denial; between equal ones, the one about the later argument (as Redis).
            if let current = worst, denial.kind.rawValue < current.kind.rawValue
                || (denial.kind == current.kind && denial.position <= current.position)
            {
                continue
            }
            worst = denial
        }
        return worst
    }
}
