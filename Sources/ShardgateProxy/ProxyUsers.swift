import ACL

/// The pool's users: `users:` (Redis ACL rule lines, checked at load) and `password:` (the default
/// user's password, as Redis's `requirepass`). ACL users are objects with mutable rules, so each
/// event loop makes its own from the config once, and its clients share them without locks.
final class ProxyUsers {
    private let byName: [String: ACLUser]
    /// The user of a client that has not authenticated as another (Redis's `default`).
    let defaultUser: ACLUser
    /// The users' names in order (ACL USERS, ACL LIST).
    let names: [String]

    /// Users from the pool's lines. The default user starts as Redis's (every command, key and
    /// channel, no password unless `password` gives one); a `default` line redefines it from a
    /// reset, as Redis's `user default` line does. Lines that fail are skipped: the loader refused them.
    init(lines: [String], password: String?) {
        let defaultUser = ACLUser(name: "default")
        for rule in ACLRules.defaultUser { try? defaultUser.apply(rule) }
        try? defaultUser.apply(password.map { ">" + $0 } ?? "nopass")
        var byName = ["default": defaultUser]
        for line in lines {
            let words = ACLRules.words(ofLine: line)
            let isDefault = words.first == "default"
            guard let user = try? ACLUser.make(line: words, reset: isDefault) else { continue }
            if isDefault { defaultUser.copyRules(from: user) } else { byName[user.name] = user }
        }
        self.defaultUser = defaultUser
        self.byName = byName
        self.names = byName.keys.sorted()
    }

    subscript(name: String) -> ACLUser? { byName[name] }

    /// The user `name` (the default user when nil) if it is on and takes `password`.
    func authenticate(user name: String?, password: [UInt8]) -> ACLUser? {
        guard let user = byName[name ?? "default"], user.accepts(password: password) else { return nil }
        return user
    }

    /// Whether a new connection is authenticated from the start: the default user is on and needs
    /// no password (Redis's rule).
    var defaultUserNeedsNoAuth: Bool { defaultUser.enabled && defaultUser.noPass }
}
