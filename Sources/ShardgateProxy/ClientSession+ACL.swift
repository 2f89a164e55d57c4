import ACL
import Commands
import NIOCore
import RESP

/// ACL at the proxy: the pool's users (`users:` in proxy.yml) described as Redis describes its
/// own. They are read-only here: SETUSER, DELUSER, LOAD and SAVE would change what proxy.yml says,
/// and the proxy keeps no ACL LOG.
extension ClientSession {
    func aclCommand(_ request: RESPRequest) {
        let sub = request.string(1).lowercased()
        guard let spec = runtime.commands.lookup(fullName: "acl|\(sub)") else {
            return respondError(RedisErrors.unknownSubcommand(request.string(1), of: "acl"))
        }
        guard spec.acceptsArgumentCount(request.argumentCount) else { return respondError(RedisErrors.wrongArity(spec.name)) }
        let users = machine.users
        switch sub {
        case "whoami":
            let name = machine.user.name
            respond { $0.writeRESPBulkString(name) }
        case "users":
            respondArray(users.names)
        case "list":
            respondArray(users.names.compactMap { name in users[name].map { "user \(name) \($0.description)" } })
        case "getuser":
            guard let user = users[request.string(2)] else { return respondNull() }
            getUser(user)
        case "cat":
            guard request.argumentCount <= 3 else { return respondError(Self.aclSyntax(request)) }
            guard request.argumentCount == 3 else { return respondArray(ACLCategory.names) }
            guard let bit = ACLCategory.bit(request.string(2)) else {
                return respondError("ERR Unknown category '\(request.string(2))'")
            }
            respondArray(ACLCategory.commandNames(inCategory: bit))
        case "dryrun":
            let arguments = ACLArguments((3..<request.argumentCount).map { index in request.withArgument(index) { Array($0) } })
            switch ACLDryrun(user: users[request.string(2)], named: request.string(2), arguments) {
            case .allowed: respond(.ok)
            case .denied(let explanation): respond { $0.writeRESPBulkString(explanation) }
            case .error(let message): respondError(message)
            }
        case "genpass":
            guard request.argumentCount <= 3 else { return respondError(Self.aclSyntax(request)) }
            guard let password = ACLPasswords.generate(bits: request.argumentCount == 3 ? request.string(2) : nil) else {
                return respondError(ACLPasswords.badBits)
            }
            respond { $0.writeRESPBulkString(password) }
        case "help":
            respondHelp("ACL", CommandHelp.acl)
        case "log":
            respondError(ProxyErrors.unsupported(spec.name, because: "the proxy keeps no ACL log"))
        default:
            respondError(ProxyErrors.unsupported(spec.name, because: "the proxy's users are configured in proxy.yml (`users:`)"))
        }
    }

    /// Redis's error for an ACL subcommand given the wrong arguments.
    private static func aclSyntax(_ request: RESPRequest) -> String {
        "ERR unknown subcommand or wrong number of arguments for '\(request.string(1))'. Try ACL HELP."
    }

    private func respondArray(_ items: [String]) {
        respond { reply in
            reply.writeRESPArrayHeader(items.count)
            for item in items { reply.writeRESPBulkString(item) }
        }
    }

    /// ACL GETUSER's map, in Redis 7.0's order: flags, passwords (digests), the root selector's
    /// commands, keys and channels, then the other selectors.
    private func getUser(_ user: ACLUser) {
        let resp3 = protocolVersion == 3
        func mapHeader(_ pairs: Int, _ reply: inout ByteBuffer) {
            if resp3 { reply.writeRESPHeader(UInt8(ascii: "%"), pairs) } else { reply.writeRESPArrayHeader(2 * pairs) }
        }
        func selector(_ selector: ACLSelector, _ reply: inout ByteBuffer) {
            for (key, value) in [("commands", selector.commandRules), ("keys", selector.keysText), ("channels", selector.channelsText)] {
                reply.writeRESPBulkString(key)
                reply.writeRESPBulkString(value)
            }
        }
        respond { reply in
            mapHeader(6, &reply)
            // The flags are a set in RESP3, the passwords an array, as Redis sends them.
            for (key, values, isSet) in [("flags", user.flags, resp3), ("passwords", user.passwords, false)] {
                reply.writeRESPBulkString(key)
                if isSet { reply.writeRESPHeader(UInt8(ascii: "~"), values.count) } else { reply.writeRESPArrayHeader(values.count) }
                for value in values { reply.writeRESPBulkString(value) }
            }
            selector(user.root, &reply)
            reply.writeRESPBulkString("selectors")
            reply.writeRESPArrayHeader(user.selectors.count)
            for other in user.selectors {
                mapHeader(3, &reply)
                selector(other, &reply)
            }
        }
    }
}
