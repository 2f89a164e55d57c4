import ACL
import Commands
import RESP
import RedisText

/// ACL steps that cross components: a client's user, authentication, the permission check with
/// its log entry, clients of a deleted user.
extension Node {
    func user(of client: ClientConnection) -> ACLUser { client.user ?? access.defaultUser }

    /// The user whose key permissions a command of `client` is held to inside the command (SORT's
    /// BY and GET), or nil for the node's own clients, which Redis runs with no user: the
    /// master's link and the append-only file being replayed. A script's commands have its caller's.
    func keyPermissionUser(of client: ClientConnection) -> ACLUser? {
        if client.flags.isMaster || (client.channel is DetachedChannel && !client.flags.isScript) { return nil }
        return user(of: client)
    }

    /// The NOPERM error for a command `client`'s user may not run (logged), or nil.
    func aclRefusal(_ spec: CommandSpec, request: RESPRequest, client: ClientConnection) -> String? {
        // What the master sends is applied whatever the default user may do (as in Redis).
        if client.flags.isMaster { return nil }
        let user = user(of: client)
        let arguments = ACLArguments(request)
        guard let denial = user.check(spec, arguments) else { return nil }
        logDenial(denial, spec: spec, arguments: arguments, user: user, client: client,
                  context: client.flags.queued != nil ? "multi" : "toplevel")
        return denial.error(spec)
    }

    /// EXEC checks each queued command again (the user's rules may have changed since it was
    /// queued): a refused one gets Redis's NOPERM error in its place. Returns whether it was refused.
    func aclRefusedAtExec(_ spec: CommandSpec, request: RESPRequest, client: ClientConnection) -> Bool {
        let user = user(of: client)
        let arguments = ACLArguments(request)
        guard let denial = user.check(spec, arguments) else { return false }
        logDenial(denial, spec: spec, arguments: arguments, user: user, client: client, context: "multi", running: "exec")
        let reason: String
        switch denial.kind {
        case .command: reason = "no permission to execute the command or subcommand"
        case .key: reason = "no permission to touch the specified keys"
        case .channel: reason = "no permission to access one of the channels used as arguments"
        case .auth: reason = "no permission"
        }
        client.error(
            "NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: \(reason)")
        return true
    }

    func logDenial(
        _ denial: ACLDenial, spec: CommandSpec, arguments: ACLArguments, user: ACLUser, client: ClientConnection,
        context: String, running: String? = nil
    ) {
        let object = denial.kind == .command ? spec.name : arguments.string(denial.position)
        access.record(
            reason: denial.reason, context: context, object: object, username: user.name,
            clientInfo: clientInfoLine(client, current: client, running: running ?? spec.name), now: now)
    }

    /// AUTH and HELLO AUTH: whether `name` (the default user when nil) accepts `password`; the
    /// client is then authenticated as that user. A refusal is logged (`command`: the command's
    /// name as sent, what the log names).
    func authenticate(_ client: ClientConnection, user name: String?, password: [UInt8], command: String) -> Bool {
        let username = name ?? "default"
        if let user = access.user(username), user.accepts(password: password) {
            client.authenticated = true
            client.user = user === access.defaultUser ? nil : user
            return true
        }
        access.record(
            reason: "auth", context: client.flags.queued != nil ? "multi" : "toplevel", object: command, username: username,
            clientInfo: clientInfoLine(client, current: client, running: command.lowercased()), now: now)
        return false
    }

    /// ACL DELUSER: the user's clients are disconnected.
    func killClients(of user: ACLUser) {
        for client in clients.connected.values where client.user === user { kill(client) }
    }

    /// The users of the config file's `user` lines, or of `aclfile` (which must not be used
    /// together, as in Redis; the file then wins and the conflict is logged).
    func loadUsers() {
        access.logMaxLength = settings.aclLogMaxLength
        access.allChannelsByDefault = settings.aclPubsubDefault == "allchannels"
        if !settings.aclFile.isEmpty {
            if !settings.users.isEmpty {
                logger.error("Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. The `user` lines are ignored.")
            }
            let bytes = (try? FileIO.read(settings.aclFile)) ?? nil
            guard let bytes else {
                return logger.error("Error loading ACLs, opening file '\(settings.aclFile)': No such file or directory")
            }
            if let error = access.load(text: String(decoding: bytes, as: UTF8.self), path: settings.aclFile).error {
                logger.error("Aborting the ACL file load: \(error)")
            }
            return
        }
        // As Redis, the default user is reset before its line applies; other users start new.
        for words in settings.users { access.define(words[0], rules: Array(words.dropFirst()), reset: words[0] == "default") }
    }

    /// ACL SETUSER changed `user`'s channels: its clients subscribed to a channel or pattern the
    /// user may no longer use are disconnected, as Redis does.
    func killSubscribersRevoked(of user: ACLUser) {
        let root = user.root
        if root.allChannels { return }
        for client in clients.connected.values where self.user(of: client) === user && client.flags.subscriptionCount > 0 {
            let flags = client.flags
            let revoked = flags.channels.contains { channel in !root.channels.contains { GlobMatch.matches($0, channel) } }
                || flags.shardChannels.contains { channel in !root.channels.contains { GlobMatch.matches($0, channel) } }
                || flags.patterns.contains { !root.channels.contains($0) }
            if revoked { kill(client) }
        }
    }

    /// `requirepass` changed: it is the default user's password.
    func requirePassChanged() {
        access.setDefaultPassword(settings.requirePass)
    }
}
