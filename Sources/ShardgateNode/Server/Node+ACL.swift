import Commands
import RESP

/// ACL steps that cross components: a client's user, authentication, the permission check with
/// its log entry, clients of a deleted user.
extension Node {
    func user(of client: ClientConnection) -> ACLUser { client.user ?? access.defaultUser }

    /// The NOPERM error for a command `client`'s user may not run (logged), or nil.
    func aclRefusal(_ spec: CommandSpec, request: RESPRequest, client: ClientConnection) -> String? {
        let user = user(of: client)
        let arguments = ACLArguments(request)
        guard let denial = user.check(spec, arguments) else { return nil }
        logDenial(denial, spec: spec, arguments: arguments, user: user, client: client,
                  context: client.flags.queued != nil ? "multi" : "toplevel")
        return denial.error(spec)
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

    /// `requirepass` changed: it is the default user's password.
    func requirePassChanged() {
        access.setDefaultPassword(settings.requirePass)
    }
}
