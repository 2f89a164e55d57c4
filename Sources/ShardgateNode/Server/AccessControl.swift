import Commands
import RESP

/// Redis's ACL categories, in Redis's order (ACL CAT, the order ACL LIST tries them in).
enum ACLCategory {
    static let names = [
        "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap", "hyperloglog", "geo",
        "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous", "connection", "transaction", "scripting",
    ]

    static func bit(_ name: String) -> UInt32? {
        names.firstIndex(of: name.lowercased()).map { 1 << UInt32($0) }
    }

    /// Every command id of the table (top-level commands, then each one's subcommands), in name order.
    static let commandIDs: [Int] = {
        var ids: [Int] = []
        for spec in CommandTable.redis.commands.sorted(by: { $0.name < $1.name }) {
            ids.append(spec.id)
            for sub in spec.subcommands { ids.append(sub.id) }
        }
        return ids
    }()

    /// One past the largest command id.
    static let idLimit = (commandIDs.max() ?? 0) + 1

    /// Each command's categories (bits of `names`), read from its COMMAND INFO entry as Redis 7 sends it.
    static let masks: [UInt32] = {
        var masks = [UInt32](repeating: 0, count: idLimit)
        for id in commandIDs {
            let spec = CommandTable.redis[id]
            masks[id] = CommandTable.redis.withInfoReply(for: spec) { categoryMask(ofInfo: $0) }
        }
        return masks
    }()

    /// The categories element (the 7th) of a RESP2 COMMAND INFO entry.
    private static func categoryMask(ofInfo bytes: UnsafeRawBufferPointer) -> UInt32 {
        var reader = Reader(bytes: bytes)
        guard reader.header() != nil else { return 0 }
        for _ in 0..<6 { reader.skip() }
        guard let count = reader.header() else { return 0 }
        var mask: UInt32 = 0
        for _ in 0..<count {
            if let line = reader.line(), line.hasPrefix("+@"), let bit = bit(String(line.dropFirst(2))) { mask |= bit }
        }
        return mask
    }

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var position = 0

        mutating func line() -> String? {
            var end = position
            while end + 1 < bytes.count && !(bytes[end] == 13 && bytes[end + 1] == 10) { end += 1 }
            guard end + 1 < bytes.count else { return nil }
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[position..<end]), as: UTF8.self)
            position = end + 2
            return text
        }

        /// Reads an aggregate or bulk header's count.
        mutating func header() -> Int? {
            guard let text = line(), let first = text.first, "*$%~".contains(first) else { return nil }
            return Int(text.dropFirst())
        }

        mutating func skip() {
            guard position < bytes.count else { return }
            let type = bytes[position]
            guard let text = line() else { return }
            switch type {
            case UInt8(ascii: "*"), UInt8(ascii: "~"):
                for _ in 0..<max(0, Int(text.dropFirst()) ?? 0) { skip() }
            case UInt8(ascii: "%"):
                for _ in 0..<max(0, 2 * (Int(text.dropFirst()) ?? 0)) { skip() }
            case UInt8(ascii: "$"):
                let length = Int(text.dropFirst()) ?? -1
                if length >= 0 { position += length + 2 }
            default:
                break
            }
        }
    }
}

/// Why a rule of ACL SETUSER was refused (Redis's texts).
struct ACLRuleError: Error {
    let message: String

    static let unknownCommand = ACLRuleError(message: "Unknown command or category name in ACL")
    static let syntax = ACLRuleError(message: "Syntax error")
    static let keyAfterAll = ACLRuleError(message:
        "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns")
    static let channelAfterAll = ACLRuleError(message:
        "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels")
    static let noSuchPassword = ACLRuleError(message: "The password you are trying to remove from the user does not exist")
    static let badHash = ACLRuleError(message:
        "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters")
    static let subcommandFirstArg = ACLRuleError(message: "Allowing first-arg of a subcommand is not supported")
}

/// A key pattern of a selector, with the access it grants (`~` both, `%R~` read, `%W~` write).
struct ACLKeyPattern: Equatable {
    var pattern: [UInt8]
    var read: Bool
    var write: Bool

    var description: String {
        let text = String(decoding: pattern, as: UTF8.self)
        if read && write { return "~" + text }
        return (read ? "%R~" : "%W~") + text
    }
}

/// What a selector permits: commands, keys, channels. A user has a root selector and maybe more
/// (`(…)` rules); a command is allowed when one of them allows it.
struct ACLSelector {
    var allowed = [Bool](repeating: false, count: ACLCategory.idLimit)
    /// Set by `+@all`/`allcommands`: commands the table does not know yet are allowed too.
    var allCommands = false
    /// `+cmd|arg` for commands without subcommands: the first arguments allowed.
    var firstArgs: [Int: [String]] = [:]
    var allKeys = false
    var keys: [ACLKeyPattern] = []
    var allChannels = false
    var channels: [[UInt8]] = []

    /// Whether it allows everything (the check is then skipped).
    var isUnrestricted: Bool { allCommands && allKeys && allChannels && allowed.allSatisfy { $0 } }

    mutating func setAll(_ allow: Bool) {
        for index in allowed.indices { allowed[index] = allow }
        allCommands = allow
        firstArgs = [:]
    }

    /// One command (a container with all its subcommands).
    mutating func change(_ spec: CommandSpec, _ allow: Bool) {
        allowed[spec.id] = allow
        firstArgs[spec.id] = nil
        for sub in spec.subcommands {
            allowed[sub.id] = allow
            firstArgs[sub.id] = nil
        }
    }

    mutating func change(category: UInt32, _ allow: Bool) {
        for top in CommandTable.redis.commands {
            if ACLCategory.masks[top.id] & category != 0 { change(top, allow) }
            for sub in top.subcommands where ACLCategory.masks[sub.id] & category != 0 { change(sub, allow) }
        }
    }

    /// Applies one selector rule (commands, keys, channels).
    mutating func apply(_ rule: String) throws(ACLRuleError) {
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
    var description: String {
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

    /// The command rules that rebuild this selector's bits, found as Redis 7.0 finds them: start
    /// from `+@all` or `-@all`, then, while some category not yet used agrees with more of the
    /// remaining commands than it disagrees with, apply the one with the fewest disagreements
    /// (the most agreements on a tie); then the single commands still different.
    var commandRules: String {
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

    /// Why this selector refuses the command: the denial and the argument it is about.
    func check(_ spec: CommandSpec, _ arguments: ACLArguments) -> ACLDenial? {
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

/// A refused command: what was refused, and the argument (0 for the command itself).
struct ACLDenial {
    enum Kind: Int { case command = 1, key = 2, auth = 3, channel = 4 }
    let kind: Kind
    let position: Int
}

/// A request's arguments for the ACL check, copied once (only for restricted users).
struct ACLArguments {
    let values: [[UInt8]]

    init(_ request: RESPRequest) {
        values = (0..<request.argumentCount).map { index in request.withArgument(index) { Array($0) } }
    }

    init(_ values: [[UInt8]]) { self.values = values }

    var count: Int { values.count }
    func bytes(_ index: Int) -> [UInt8] { values[index] }
    func string(_ index: Int) -> String { String(decoding: values[index], as: UTF8.self) }

    /// The command's keys with their key-spec flags; for the commands whose flags depend on
    /// their arguments (SET with or without GET, BITFIELD with only GETs, SORT ... STORE), the
    /// flags those arguments give, as Redis's own key finders report them.
    func keys(of spec: CommandSpec) -> [(index: Int, flags: KeySpec.Flags)] {
        var keys = withPointers { pointers in
            (try? spec.keyIndicesAndFlags(argumentCount: values.count, options: .partial) { pointers[$0] }) ?? []
        }
        let words = values.dropFirst(2).map { String(decoding: $0, as: UTF8.self).lowercased() }
        switch spec {
        case "set":
            // Options follow the value (argument 3 on).
            if !words.dropFirst().contains("get") { keys = keys.map { ($0.index, [.overwrite, .update]) } }
        case "bitfield":
            let writes = words.contains("set") || words.contains("incrby")
            keys = keys.map { ($0.index, writes ? [.readWrite, .access, .update] : [.readOnly, .access]) }
        case "sort":
            if let store = words.firstIndex(of: "store"), store + 3 < values.count {
                keys.append((store + 3, [.overwrite, .update]))
            }
        default:
            break
        }
        return keys
    }

    private func withPointers<T>(_ body: ([UnsafeRawBufferPointer]) -> T) -> T {
        let joined = values.flatMap { $0 }
        return joined.withUnsafeBytes { all in
            var offset = 0
            var pointers: [UnsafeRawBufferPointer] = []
            for value in values {
                pointers.append(UnsafeRawBufferPointer(rebasing: all[offset..<offset + value.count]))
                offset += value.count
            }
            return body(pointers)
        }
    }

    /// Channels a pub/sub command publishes or subscribes to (patterns marked).
    func channels(of spec: CommandSpec) -> [(index: Int, isPattern: Bool)] {
        switch spec {
        case "publish", "spublish":
            return count > 1 ? [(1, false)] : []
        case "subscribe", "ssubscribe":
            return (1..<max(1, count)).map { ($0, false) }
        case "psubscribe":
            return (1..<max(1, count)).map { ($0, true) }
        default:
            return []
        }
    }
}

/// A user: whether it may log in, with which passwords, and its selectors.
final class ACLUser {
    let name: String
    var enabled = false
    var noPass = false
    /// SHA-256 digests (hex) of its passwords, in the order they were added.
    var passwords: [String] = []
    var root = ACLSelector()
    var selectors: [ACLSelector] = []
    /// `sanitize-payload` (true), `skip-sanitize-payload` (false), or neither (nil).
    var sanitizePayload: Bool?
    /// Nothing to check: the root selector allows every command, key and channel.
    private(set) var unrestricted = false

    /// `acl-pubsub-default allchannels` when the user was made: its root selector, a `reset` and
    /// each new selector start with every channel.
    let allChannelsByDefault: Bool

    init(name: String, allChannelsByDefault: Bool = false) {
        self.name = name
        self.allChannelsByDefault = allChannelsByDefault
        root.allChannels = allChannelsByDefault
    }

    func refresh() { unrestricted = root.isUnrestricted }

    /// Takes `other`'s flags, passwords and selectors.
    func copyRules(from other: ACLUser) {
        enabled = other.enabled
        noPass = other.noPass
        passwords = other.passwords
        root = other.root
        selectors = other.selectors
        sanitizePayload = other.sanitizePayload
        refresh()
    }

    /// Its flags as ACL GETUSER and ACL LIST name them.
    var flags: [String] {
        var flags = [enabled ? "on" : "off"]
        if noPass { flags.append("nopass") }
        if let sanitizePayload { flags.append(sanitizePayload ? "sanitize-payload" : "skip-sanitize-payload") }
        return flags
    }

    /// Applies one rule (user-level or of the root selector).
    func apply(_ rule: String) throws(ACLRuleError) {
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

    static func isHash(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    func accepts(password: [UInt8]) -> Bool {
        guard enabled else { return false }
        if noPass { return true }
        return passwords.contains(SHA256.hex(password))
    }

    /// ACL LIST's line (without `user <name> `).
    var description: String {
        var parts = flags
        parts += passwords.map { "#" + $0 }
        parts.append(root.description)
        parts += selectors.map { "(" + $0.description + ")" }
        return parts.joined(separator: " ")
    }

    /// Why the user may not run the command (the most telling denial of its selectors), or nil.
    func check(_ spec: CommandSpec, _ arguments: ACLArguments) -> ACLDenial? {
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

/// One ACL LOG entry; repeated denials of the same kind update it (`count`).
struct ACLLogEntry {
    var count: Int
    let reason: String
    let context: String
    let object: String
    let username: String
    var createdAt: Int64
    var clientInfo: String
    let entryID: Int
    var timestampCreated: Int64
    var timestampLastUpdated: Int64
}

/// The users, and the log of refused commands and authentications.
final class AccessControl {
    private(set) var users: [String: ACLUser] = [:]
    /// The user of clients that did not authenticate as another (`requirepass` sets its password).
    let defaultUser: ACLUser
    var log: [ACLLogEntry] = []
    var nextLogID = 0
    /// `acllog-max-len`.
    var logMaxLength = 128
    /// `acl-pubsub-default allchannels`: users made from now on start with every channel.
    var allChannelsByDefault = false

    init(requirePass: String?) {
        defaultUser = ACLUser(name: "default")
        users["default"] = defaultUser
        resetDefault(requirePass: requirePass)
    }

    /// The default user as Redis makes it at startup: on, every command, key and channel.
    func resetDefault(requirePass: String?) {
        for rule in ["on", "~*", "&*", "+@all"] { try? defaultUser.apply(rule) }
        setDefaultPassword(requirePass)
    }

    /// `requirepass`: the default user's only password (nopass without one).
    func setDefaultPassword(_ password: String?) {
        if let password {
            try? defaultUser.apply("resetpass")
            try? defaultUser.apply(">" + password)
        } else {
            try? defaultUser.apply("nopass")
        }
    }

    func user(_ name: String) -> ACLUser? { users[name] }

    func createUser(_ name: String) -> ACLUser {
        if let user = users[name] { return user }
        let user = ACLUser(name: name, allChannelsByDefault: allChannelsByDefault)
        user.refresh()
        users[name] = user
        return user
    }

    func deleteUser(_ name: String) { users[name] = nil }

    var sortedNames: [String] { users.keys.sorted() }

    /// Records a denial, merging it with a similar entry made within the last minute.
    func record(reason: String, context: String, object: String, username: String, clientInfo: String, now: Int64) {
        if let index = log.firstIndex(where: {
            $0.reason == reason && $0.context == context && $0.object == object && $0.username == username
                && now - $0.timestampLastUpdated < 60_000
        }) {
            var entry = log.remove(at: index)
            entry.count += 1
            entry.createdAt = now
            entry.clientInfo = clientInfo
            entry.timestampLastUpdated = now
            log.insert(entry, at: 0)
            return
        }
        log.insert(ACLLogEntry(
            count: 1, reason: reason, context: context, object: object, username: username, createdAt: now,
            clientInfo: clientInfo, entryID: nextLogID, timestampCreated: now, timestampLastUpdated: now), at: 0)
        nextLogID += 1
        while log.count > logMaxLength { log.removeLast() }
    }
}

extension AccessControl {
    /// Why a `user <name> <rules...>` line (as words, the name first) is invalid, or nil.
    static func ruleError(_ words: [String]) -> String? {
        guard let name = words.first else { return "Syntax error" }
        let user = ACLUser(name: name)
        do {
            let rules = try ACLCommands.mergeSelectors(Array(words.dropFirst()))
            for rule in rules {
                do { try user.apply(rule) } catch { return error.message }
            }
        } catch {
            return String(error.message.dropFirst(4))
        }
        return nil
    }

    /// Defines `name` from scratch (a new user's state, or `reset` when `reset`), then the rules,
    /// keeping its object so that clients authenticated as it keep it. The rules must be valid
    /// (`ruleError`).
    func define(_ name: String, rules: [String], reset: Bool = false) {
        let scratch = ACLUser(name: name, allChannelsByDefault: allChannelsByDefault)
        for rule in (try? ACLCommands.mergeSelectors((reset ? ["reset"] : []) + rules)) ?? [] { try? scratch.apply(rule) }
        createUser(name).copyRules(from: scratch)
    }

    /// ACL LIST's lines (ACL SAVE's file).
    var listing: [String] { sortedNames.map { "user \($0) \(users[$0]!.description)" } }

    /// Replaces every user with those of an ACL file's text (ACL LOAD); the default user, when the
    /// file has none, is made as at startup. Returns the error (`path:line: ...`) without changing
    /// anything when a line is invalid. As in Redis, every other user is made anew: the old ones
    /// are returned (their clients are disconnected).
    func load(text: String, path: String) -> (removed: [ACLUser], error: String?) {
        var parsed: [(String, [String])] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            if words.isEmpty || words[0].hasPrefix("#") { continue }
            guard words[0] == "user", words.count >= 2 else {
                return ([], "\(path):\(number + 1) should start with user keyword followed by the username. ")
            }
            if let failure = Self.ruleError(Array(words.dropFirst())) {
                return ([], "\(path):\(number + 1): \(failure). ")
            }
            if parsed.contains(where: { $0.0 == words[1] }) {
                return ([], "\(path):\(number + 1): Duplicate user '\(words[1])' found. ")
            }
            parsed.append((words[1], Array(words.dropFirst(2))))
        }
        let names = Set(parsed.map(\.0))
        var removed: [ACLUser] = []
        for name in sortedNames where name != "default" {
            removed.append(users[name]!)
            deleteUser(name)
        }
        if !names.contains("default") { define("default", rules: ["on", "nopass", "~*", "&*", "+@all"]) }
        for (name, rules) in parsed { define(name, rules: rules) }
        return (removed, nil)
    }
}
