import Commands
import RedisText

/// A key pattern of a selector, with the access it grants (`~` both, `%R~` read, `%W~` write).
package struct ACLKeyPattern: Equatable {
    package var pattern: [UInt8]
    package var read: Bool
    package var write: Bool

    package var description: String {
        let text = String(decoding: pattern, as: UTF8.self)
        if read && write { return "~" + text }
        return (read ? "%R~" : "%W~") + text
    }
}

/// What a selector permits: commands, keys, channels. A user has a root selector and maybe more
/// (`(…)` rules); a command is allowed when one of them allows it.
package struct ACLSelector {
    package var allowed = [Bool](repeating: false, count: ACLCategory.idLimit)
    /// Set by `+@all`/`allcommands`: commands the table does not know yet are allowed too.
    package var allCommands = false
    /// `+cmd|arg` for commands without subcommands: the first arguments allowed.
    package var firstArgs: [Int: [String]] = [:]
    package var allKeys = false
    package var keys: [ACLKeyPattern] = []
    package var allChannels = false
    package var channels: [[UInt8]] = []

    /// Whether it allows everything (the check is then skipped).
    package var isUnrestricted: Bool { allCommands && allKeys && allChannels && allowed.allSatisfy { $0 } }

    package mutating func setAll(_ allow: Bool) {
        for index in allowed.indices { allowed[index] = allow }
        allCommands = allow
        firstArgs = [:]
    }

    /// One command (a container with all its subcommands).
    package mutating func change(_ spec: CommandSpec, _ allow: Bool) {
        allowed[spec.id] = allow
        firstArgs[spec.id] = nil
        for sub in spec.subcommands {
            allowed[sub.id] = allow
            firstArgs[sub.id] = nil
        }
    }

    package mutating func change(category: UInt32, _ allow: Bool) {
        for top in CommandTable.redis.commands {
            if ACLCategory.masks[top.id] & category != 0 { change(top, allow) }
            for sub in top.subcommands where ACLCategory.masks[sub.id] & category != 0 { change(sub, allow) }
        }
    }

    /// Applies one selector rule (commands, keys, channels).
    package mutating func apply(_ rule: String) throws(ACLRuleError) {
        let lower = rule.lowercased()
        let bytes = Array(rule.utf8)
        switch lower {
        case "allcommands", "+@all": setAll(true)
        case "nocommands", "-@all": setAll(false)
        case "allkeys", "~*":
            allKeys = true
            keys = []
        case "resetkeys":
            allKeys = false
            keys = []
        case "allchannels", "&*":
            allChannels = true
            channels = []
        case "resetchannels":
            allChannels = false
            channels = []
        default:
            guard let first = bytes.first else { throw .syntax }
            switch first {
            case UInt8(ascii: "~"), UInt8(ascii: "%"):
                try addKeyPattern(bytes)
            case UInt8(ascii: "&"):
                if allChannels { throw .channelAfterAll }
                let pattern = Array(bytes.dropFirst())
                if !channels.contains(pattern) { channels.append(pattern) }
            case UInt8(ascii: "+"), UInt8(ascii: "-"):
                let allow = first == UInt8(ascii: "+")
                let name = String(lower.dropFirst())
                if name.hasPrefix("@") {
                    guard let category = ACLCategory.bit(String(name.dropFirst())) else { throw .unknownCommand }
                    change(category: category, allow)
                } else {
                    try changeCommand(name, allow)
                }
            default:
                throw .syntax
            }
        }
    }

    private mutating func addKeyPattern(_ bytes: [UInt8]) throws(ACLRuleError) {
        if allKeys { throw .keyAfterAll }
        var read = true
        var write = true
        var offset = 1
        if bytes[0] == UInt8(ascii: "%") {
            read = false
            write = false
            var closed = false
            while offset < bytes.count {
                let byte = bytes[offset] | 0x20
                offset += 1
                if byte == UInt8(ascii: "r") && !read {
                    read = true
                } else if byte == UInt8(ascii: "w") && !write {
                    write = true
                } else if bytes[offset - 1] == UInt8(ascii: "~") {
                    closed = true
                    break
                } else {
                    throw .syntax
                }
            }
            guard closed, read || write else { throw .syntax }
        }
        let pattern = Array(bytes[offset...])
        if read && write && pattern == [UInt8(ascii: "*")] {
            allKeys = true
            keys = []
            return
        }
        if let existing = keys.firstIndex(where: { $0.pattern == pattern }) {
            keys[existing].read = keys[existing].read || read
            keys[existing].write = keys[existing].write || write
        } else {
            keys.append(ACLKeyPattern(pattern: pattern, read: read, write: write))
        }
    }

    private mutating func changeCommand(_ name: String, _ allow: Bool) throws(ACLRuleError) {
        let table = CommandTable.redis
        if let spec = table.lookup(fullName: name) {
            return change(spec, allow)
        }
        // `+cmd|arg` of a command without subcommands allows one first argument (split at the
        // last `|`, as Redis does).
        guard allow, let bar = name.lastIndex(of: "|"), let container = table.lookup(fullName: String(name[..<bar])) else {
            throw .unknownCommand
        }
        if container.isSubcommand { throw .subcommandFirstArg }
        let argument = String(name[name.index(after: bar)...])
        if argument.isEmpty { throw .syntax }
        if container.hasSubcommands { throw .unknownCommand }
        var args = firstArgs[container.id] ?? []
        if !args.contains(argument) { args.append(argument) }
        firstArgs[container.id] = args
    }

    // MARK: - Describing

    /// The selector as ACL LIST spells it: keys, channels, command rules.
    package var description: String {
        var parts: [String] = []
        if allKeys { parts.append("~*") } else { parts += keys.map(\.description) }
        if allChannels {
            parts.append("&*")
        } else {
            parts.append("resetchannels")
            parts += channels.map { "&" + String(decoding: $0, as: UTF8.self) }
        }
        parts.append(commandRules)
        return parts.joined(separator: " ")
    }

    /// Its keys as ACL GETUSER shows them.
    package var keysText: String { allKeys ? "~*" : keys.map(\.description).joined(separator: " ") }

    /// Its channels as ACL GETUSER shows them.
    package var channelsText: String {
        allChannels ? "&*" : channels.map { "&" + String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
    }

    /// The command rules that rebuild this selector's bits, found as Redis 7.0 finds them: start
    /// from `+@all` or `-@all`, then, while some category not yet used agrees with more of the
    /// remaining commands than it disagrees with, apply the one with the fewest disagreements
    /// (the most agreements on a tie); then the single commands still different.
    package var commandRules: String {
        var rules: [String] = []
        var fake = ACLSelector()
        let additive = !allCommands
        rules.append(additive ? "-@all" : "+@all")
        fake.setAll(!additive)
        var temp = self
        var applied = Set<Int>()
        while true {
            var best: Int?
            var fewestDifferent = Int.max
            var mostSame = 0
            for index in ACLCategory.names.indices where !applied.contains(index) {
                let bit: UInt32 = 1 << UInt32(index)
                var on = 0
                var off = 0
                for id in ACLCategory.commandIDs where ACLCategory.masks[id] & bit != 0 {
                    if temp.allowed[id] { on += 1 } else { off += 1 }
                }
                let different = additive ? off : on
                let same = additive ? on : off
                if same > different && (different < fewestDifferent || (different == fewestDifferent && same > mostSame)) {
                    best = index
                    fewestDifferent = different
                    mostSame = same
                }
            }
            guard let index = best else { break }
            let bit: UInt32 = 1 << UInt32(index)
            rules.append((additive ? "+@" : "-@") + ACLCategory.names[index])
            fake.change(category: bit, additive)
            temp.change(category: bit, !additive)
            applied.insert(index)
        }
        let table = CommandTable.redis
        for top in table.commands.sorted(by: { $0.name < $1.name }) {
            for spec in [top] + top.subcommands {
                if allowed[spec.id] != fake.allowed[spec.id] {
                    rules.append((allowed[spec.id] ? "+" : "-") + spec.name)
                    fake.change(spec, allowed[spec.id])
                }
            }
            if !allowed[top.id], let args = firstArgs[top.id] {
                for arg in args { rules.append("+\(top.name)|\(arg)") }
            }
        }
        return rules.joined(separator: " ")
    }

    // MARK: - Checking

    /// `allkeys`, or a `*` pattern that grants reading.
    package var readsEveryKey: Bool { allKeys || keys.contains { $0.read && $0.pattern == [UInt8(ascii: "*")] } }

    /// Why this selector refuses the command: the denial and the argument it is about.
    package func check(_ spec: CommandSpec, _ arguments: ACLArguments) -> ACLDenial? {
        if !allowed[spec.id] && !spec.flags.contains(.noAuth) {
            guard let args = firstArgs[spec.id], arguments.count > 1,
                args.contains(where: { $0 == arguments.string(1).lowercased() })
            else { return ACLDenial(kind: .command, position: 0) }
        }
        if !allKeys && (spec.hasKeys || spec.hasMovableKeys) {
            for key in arguments.keys(of: spec) {
                let read = key.flags.contains(.access)
                let write = !key.flags.intersection([.insert, .delete, .update]).isEmpty
                let bytes = arguments.bytes(key.index)
                let granted = keys.contains { pattern in
                    (!read || pattern.read) && (!write || pattern.write) && GlobMatch.matches(pattern.pattern, bytes)
                }
                if !granted { return ACLDenial(kind: .key, position: key.index) }
            }
        }
        if !allChannels {
            for channel in arguments.channels(of: spec) {
                let bytes = arguments.bytes(channel.index)
                let granted = channel.isPattern
                    ? channels.contains(bytes)
                    : channels.contains { GlobMatch.matches($0, bytes) }
                if !granted { return ACLDenial(kind: .channel, position: channel.index) }
            }
        }
        return nil
    }
}
