import ACL
import Commands
import RESP

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
        for rule in ACLRules.defaultUser { try? defaultUser.apply(rule) }
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
        do { _ = try ACLUser.make(line: words) } catch { return error.message }
        return nil
    }

    /// Defines `name` from scratch (a new user's state, or `reset` when `reset`), then the rules,
    /// keeping its object so that clients authenticated as it keep it. The rules must be valid
    /// (`ruleError`).
    func define(_ name: String, rules: [String], reset: Bool = false) {
        let scratch = ACLUser(name: name, allChannelsByDefault: allChannelsByDefault)
        for rule in (try? ACLRules.mergeSelectors((reset ? ["reset"] : []) + rules)) ?? [] { try? scratch.apply(rule) }
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
