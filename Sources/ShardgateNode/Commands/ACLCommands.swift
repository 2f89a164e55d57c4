import ACL
import Commands

/// ACL: users, their rules, the log of refused commands (`Server/AccessControl.swift`).
enum ACLCommands {
    static var all: [(String, CommandHandler)] {[
        ("acl|setuser", .init(setUser)), ("acl|getuser", .init(getUser)), ("acl|deluser", .init(delUser)), ("acl|list", .init(list)),
        ("acl|users", .init(users)), ("acl|whoami", .init(whoami)), ("acl|cat", .init(cat)), ("acl|genpass", .init(genpass)),
        ("acl|dryrun", .init(dryrun)), ("acl|log", .init(log)), ("acl|help", .init(help)), ("acl|load", .init(load)), ("acl|save", .init(save)),
    ]}

    /// Joins `(…)` selector rules split over several arguments, as Redis does.
    static func mergeSelectors(_ rules: [String]) throws(CommandError) -> [String] {
        do { return try ACLRules.mergeSelectors(rules) } catch { throw CommandError("ERR " + error.message) }
    }

    static func setUser(_ call: inout CommandCall) throws(CommandError) {
        let name = call.string(2)
        if name.utf8.contains(where: { $0 == UInt8(ascii: " ") || $0 == 0 }) {
            throw CommandError("ERR Usernames can't contain spaces or null characters")
        }
        let control = call.node.access
        let rules = try mergeSelectors((3..<call.count).map { call.string($0) })
        // Rules apply to a copy: a failing one leaves the user as it was.
        let scratch = ACLUser(name: name, allChannelsByDefault: control.allChannelsByDefault)
        if let existing = control.user(name) { scratch.copyRules(from: existing) }
        for rule in rules {
            do {
                try scratch.apply(rule)
            } catch {
                throw CommandError("ERR Error in ACL SETUSER modifier '\(rule)': \(error.message)")
            }
        }
        let user = control.createUser(name)
        user.copyRules(from: scratch)
        call.node.killSubscribersRevoked(of: user)
        call.client.ok()
    }

    /// Redis's error for a subcommand given the wrong arguments.
    private static func subcommandSyntax(_ call: CommandCall) -> CommandError {
        CommandError("ERR unknown subcommand or wrong number of arguments for '\(call.string(1))'. Try ACL HELP.")
    }

    static func getUser(_ call: inout CommandCall) throws(CommandError) {
        let client = call.client
        guard let user = call.node.access.user(call.string(2)) else { return client.null() }
        client.mapHeader(6)
        client.bulk("flags")
        // A set in RESP3 (an array in RESP2), as Redis sends it; the passwords stay an array.
        let flags = user.flags
        client.setHeader(flags.count)
        for flag in flags { client.bulk(flag) }
        client.bulk("passwords")
        client.arrayHeader(user.passwords.count)
        for password in user.passwords { client.bulk(password) }
        describeSelector(user.root, to: client)
        client.bulk("selectors")
        client.arrayHeader(user.selectors.count)
        for selector in user.selectors {
            client.mapHeader(3)
            describeSelector(selector, to: client)
        }
    }

    private static func describeSelector(_ selector: ACLSelector, to client: ClientConnection) {
        client.bulk("commands")
        client.bulk(selector.commandRules)
        client.bulk("keys")
        client.bulk(selector.keysText)
        client.bulk("channels")
        client.bulk(selector.channelsText)
    }

    static func delUser(_ call: inout CommandCall) throws(CommandError) {
        let node = call.node
        var names: [String] = []
        for index in 2..<call.count {
            let name = call.string(index)
            if name == "default" { throw CommandError("ERR The 'default' user cannot be removed") }
            names.append(name)
        }
        var deleted = 0
        for name in names {
            guard let user = node.access.user(name) else { continue }
            node.access.deleteUser(name)
            node.killClients(of: user)
            deleted += 1
        }
        call.client.integer(deleted)
    }

    static func list(_ call: inout CommandCall) throws(CommandError) {
        let control = call.node.access
        let names = control.sortedNames
        call.client.arrayHeader(names.count)
        for name in names { call.client.bulk("user \(name) \(control.user(name)!.description)") }
    }

    static func users(_ call: inout CommandCall) throws(CommandError) {
        let names = call.node.access.sortedNames
        call.client.arrayHeader(names.count)
        for name in names { call.client.bulk(name) }
    }

    static func whoami(_ call: inout CommandCall) throws(CommandError) {
        call.client.bulk(call.node.user(of: call.client).name)
    }

    static func cat(_ call: inout CommandCall) throws(CommandError) {
        guard call.count <= 3 else { throw subcommandSyntax(call) }
        guard call.count == 3 else {
            call.client.arrayHeader(ACLCategory.names.count)
            for name in ACLCategory.names { call.client.bulk(name) }
            return
        }
        guard let bit = ACLCategory.bit(call.string(2)) else {
            throw CommandError("ERR Unknown category '\(call.string(2))'")
        }
        let names = ACLCategory.commandNames(inCategory: bit)
        call.client.arrayHeader(names.count)
        for name in names { call.client.bulk(name) }
    }

    static func genpass(_ call: inout CommandCall) throws(CommandError) {
        if call.count > 3 { throw subcommandSyntax(call) }
        guard let password = ACLPasswords.generate(bits: call.count == 3 ? call.string(2) : nil) else {
            throw CommandError(ACLPasswords.badBits)
        }
        call.client.bulk(password)
    }

    static func dryrun(_ call: inout CommandCall) throws(CommandError) {
        let name = call.string(2)
        let arguments = ACLArguments((3..<call.count).map { call.bytes($0) })
        switch ACLDryrun(user: call.node.access.user(name), named: name, arguments) {
        case .allowed: call.client.ok()
        case .denied(let explanation): call.client.bulk(explanation)
        case .error(let message): throw CommandError(message)
        }
    }

    static func log(_ call: inout CommandCall) throws(CommandError) {
        let control = call.node.access
        var count = 10
        if call.count > 3 { throw subcommandSyntax(call) }
        if call.count == 3 {
            if call.matches(2, "reset") {
                control.log = []
                return call.client.ok()
            }
            guard let value = Int(call.string(2)), value >= 0 else {
                throw CommandError(RedisErrors.notInteger)
            }
            count = value
        }
        let client = call.client
        let entries = control.log.prefix(count)
        client.arrayHeader(entries.count)
        let now = call.node.now
        for entry in entries {
            client.mapHeader(7)
            client.bulk("count")
            client.integer(entry.count)
            client.bulk("reason")
            client.bulk(entry.reason)
            client.bulk("context")
            client.bulk(entry.context)
            client.bulk("object")
            client.bulk(entry.object)
            client.bulk("username")
            client.bulk(entry.username)
            client.bulk("age-seconds")
            client.double(Double(now - entry.createdAt) / 1000)
            client.bulk("client-info")
            client.bulk(entry.clientInfo)
        }
    }

    /// ACL LOAD: the users of `aclfile` replace every user; clients of users it drops are closed.
    static func load(_ call: inout CommandCall) throws(CommandError) {
        let node = call.node
        let path = node.settings.aclFile
        guard !path.isEmpty else { throw noFile }
        let bytes: [UInt8]?
        do { bytes = try FileIO.read(path) } catch { bytes = nil }
        guard let bytes else {
            throw CommandError("ERR Error loading ACLs, opening file '\(path)': No such file or directory")
        }
        let (removed, error) = node.access.load(text: String(decoding: bytes, as: UTF8.self), path: path)
        if let error {
            throw CommandError("ERR \(error)WARNING: ACL errors detected, no change to the previously active ACL rules was performed")
        }
        for user in removed { node.killClients(of: user) }
        call.client.ok()
    }

    /// ACL SAVE: every user, as ACL LIST shows them, to `aclfile` (written whole, then renamed).
    static func save(_ call: inout CommandCall) throws(CommandError) {
        let node = call.node
        let path = node.settings.aclFile
        guard !path.isEmpty else { throw noFile }
        let text = node.access.listing.map { $0 + "\n" }.joined()
        do {
            try FileIO.writeAtomically(path, Array(text.utf8))
        } catch {
            throw CommandError("ERR There was an error trying to save the ACLs. Please check the server logs for more information")
        }
        call.client.ok()
    }

    static let noFile = CommandError(
            "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.")

    static func help(_ call: inout CommandCall) throws(CommandError) {
        call.client.helpReply("ACL", CommandHelp.acl)
    }
}
