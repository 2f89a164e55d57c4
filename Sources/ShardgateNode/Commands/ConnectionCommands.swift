import ACL
import Commands
import RedisText

/// Connection-scoped commands: PING, AUTH, HELLO, SELECT, CLIENT, COMMAND, QUIT, RESET.
enum ConnectionCommands {
    static var all: [(String, CommandHandler)] {[
        ("ping", .init(ping)), ("echo", .init(echo)), ("quit", .init(quit)), ("select", .init(select)), ("auth", .init(auth)), ("hello", .init(hello)),
        ("reset", .init(reset)), ("client|id", .init(clientID)), ("client|getname", .init(clientGetName)),
        ("client|setname", .init(clientSetName)), ("client|info", .init(clientInfo)),
        ("client|list", .init(clientList)), ("client|kill", .init(clientKill)), ("command", .init(command)),
        ("command|count", .init(commandCount)), ("command|info", .init(commandInfo)), ("command|docs", .init(commandDocs)),
        ("command|list", .init(commandList)), ("command|getkeys", .init(commandGetKeys)),
        ("command|getkeysandflags", .init(commandGetKeysAndFlags)),
    ]}

    static func ping(_ call: inout CommandCall) throws(CommandError) {
        // The table's arity (-1) lets any count through; PING itself takes at most one argument.
        guard call.count <= 2 else { throw CommandError(RedisErrors.wrongArity("ping")) }
        if call.client.flags.subscriptionCount > 0 && call.client.protocolVersion == 2 {
            // Inside a RESP2 subscription PING answers with a pong message array.
            call.client.arrayHeader(2)
            call.client.bulk("pong")
            if call.count == 2 { call.argument(1) { call.client.bulk($0) } } else { call.client.bulk("") }
            return
        }
        if call.count == 1 {
            call.client.reply.writeStaticString("+PONG\r\n")
        } else {
            call.argument(1) { call.client.bulk($0) }
        }
    }

    static func echo(_ call: inout CommandCall) throws(CommandError) {
        call.argument(1) { call.client.bulk($0) }
    }

    static func quit(_ call: inout CommandCall) throws(CommandError) {
        call.client.ok()
        call.client.closeAfterReply = true
    }

    static func select(_ call: inout CommandCall) throws(CommandError) {
        let index = try call.intArgument(1)
        guard index >= 0 && index < call.node.keyspace.databases.count else { throw CommandError(RedisErrors.dbIndexOutOfRange) }
        call.client.database = index
        call.client.ok()
    }

    static func auth(_ call: inout CommandCall) throws(CommandError) {
        guard call.count <= 3 else { throw .syntax }
        let user = call.count == 3 ? call.string(1) : nil
        // Without requirepass, AUTH <password> alone is an error (the default user has nopass).
        if user == nil && call.node.access.defaultUser.noPass {
            throw CommandError(RedisErrors.authWithoutPassword)
        }
        guard call.node.authenticate(call.client, user: user, password: call.bytes(call.count - 1), command: call.string(0)) else {
            throw CommandError(RedisErrors.wrongPass)
        }
        call.client.ok()
    }

    static func hello(_ call: inout CommandCall) throws(CommandError) {
        var index = 1
        var version = call.client.protocolVersion
        if call.count >= 2 {
            version = try call.integer(1, error: CommandError("ERR Protocol version is not an integer or out of range"))
            guard version == 2 || version == 3 else { throw CommandError(RedisErrors.noProto) }
            index = 2
        }
        // Options take effect in order, as in Redis: a SETNAME before a failing AUTH (or before
        // the NOAUTH refusal) has already named the client.
        while index < call.count {
            let remaining = call.count - index - 1
            if call.matches(index, "auth") && remaining >= 2 {
                guard call.node.authenticate(call.client, user: call.string(index + 1), password: call.bytes(index + 2), command: call.string(0))
                else {
                    throw CommandError(RedisErrors.wrongPass)
                }
                index += 3
            } else if call.matches(index, "setname") && remaining >= 1 {
                let name = call.bytes(index + 1)
                guard isValidName(name) else { throw CommandError(RedisErrors.badClientName) }
                call.client.name = name.isEmpty ? nil : name
                index += 2
            } else {
                throw CommandError("ERR Syntax error in HELLO option '\(call.string(index))'")
            }
        }
        guard call.client.authenticated else {
            throw CommandError("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
        }
        call.client.protocolVersion = version
        let client = call.client
        client.mapHeader(7)
        client.bulk("server")
        client.bulk("redis")
        client.bulk("version")
        client.bulk(NodeInfo.redisVersion)
        client.bulk("proto")
        client.integer(version)
        client.bulk("id")
        client.integer(client.id)
        client.bulk("mode")
        client.bulk("standalone")
        client.bulk("role")
        client.bulk(call.node.replicationRole)
        client.bulk("modules")
        client.arrayHeader(0)
    }

    static func reset(_ call: inout CommandCall) throws(CommandError) {
        let client = call.client
        call.node.clientWillClose(client)
        client.flags = ClientFlags()
        client.database = 0
        client.protocolVersion = 2
        client.name = nil
        client.user = nil
        client.authenticated = call.node.access.defaultUser.noPass
        client.simple("RESET")
    }

    static func isValidName(_ name: [UInt8]) -> Bool {
        name.allSatisfy { $0 >= UInt8(ascii: "!") && $0 <= UInt8(ascii: "~") }
    }

    static func clientID(_ call: inout CommandCall) throws(CommandError) { call.client.integer(call.client.id) }

    static func clientGetName(_ call: inout CommandCall) throws(CommandError) {
        if let name = call.client.name { call.client.bulk(name) } else { call.client.null() }
    }

    static func clientSetName(_ call: inout CommandCall) throws(CommandError) {
        let name = call.bytes(2)
        guard isValidName(name) else { throw CommandError(RedisErrors.badClientName) }
        call.client.name = name.isEmpty ? nil : name
        call.client.ok()
    }

    static func clientSetInfo(_ call: inout CommandCall) throws(CommandError) {
        let value = call.bytes(3)
        let isName = call.matches(2, "lib-name")
        guard isName || call.matches(2, "lib-ver") else {
            throw CommandError("ERR Unrecognized option '\(call.string(2))'")
        }
        guard isValidName(value) else {
            throw CommandError("ERR \(isName ? "lib-name" : "lib-ver") cannot contain spaces, newlines or special characters.")
        }
        if isName { call.client.libraryName = call.string(3) } else { call.client.libraryVersion = call.string(3) }
        call.client.ok()
    }

    static func clientInfo(_ call: inout CommandCall) throws(CommandError) {
        call.client.verbatim(call.node.clientInfoLine(call.client, current: call.client, running: "client|info") + "\n")
    }

    static func clientList(_ call: inout CommandCall) throws(CommandError) {
        var selected = call.node.clients.connected.values.sorted { $0.id < $1.id }
        if call.count >= 4 && call.matches(2, "type") {
            let type = call.string(3).lowercased()
            guard ["normal", "master", "replica", "slave", "pubsub"].contains(type) else {
                throw CommandError("ERR Unknown client type '\(call.string(3))'")
            }
            selected = selected.filter { call.node.clientType($0) == (type == "slave" ? "replica" : type) }
        } else if call.count >= 4 && call.matches(2, "id") {
            var ids: Set<Int> = []
            for index in 3..<call.count {
                // Any integer: ids that name no client are left out, as in Redis.
                ids.insert(try call.integer(index, error: CommandError("ERR Invalid client ID")))
            }
            selected = selected.filter { ids.contains($0.id) }
        } else if call.count != 2 {
            throw .syntax
        }
        var text = ""
        for client in selected { text += call.node.clientInfoLine(client, current: call.client) + "\n" }
        call.client.verbatim(text)
    }

    /// CLIENT KILL addr, or the filter form (ID, TYPE, ADDR, LADDR, SKIPME, USER).
    static func clientKill(_ call: inout CommandCall) throws(CommandError) {
        let node = call.node
        if call.count == 3 {
            let address = call.string(2)
            guard let target = node.clients.connected.values.first(where: { $0.remoteAddress == address }) else {
                throw CommandError("ERR No such client")
            }
            node.kill(target)
            return call.client.ok()
        }
        guard call.count % 2 == 0 else { throw .syntax }
        var id: Int?
        var type: String?
        var address: String?
        var localAddress: String?
        var skipMe = true
        var user: ACLUser?
        for index in stride(from: 2, to: call.count, by: 2) {
            if call.matches(index, "id") {
                id = try call.rangeInteger(index + 1, min: 1, max: Int.max, message: "client-id should be greater than 0")
            } else if call.matches(index, "type") {
                let value = call.string(index + 1).lowercased()
                guard ["normal", "master", "replica", "slave", "pubsub"].contains(value) else {
                    throw CommandError("ERR Unknown client type '\(call.string(index + 1))'")
                }
                type = value == "slave" ? "replica" : value
            } else if call.matches(index, "addr") {
                address = call.string(index + 1)
            } else if call.matches(index, "laddr") {
                localAddress = call.string(index + 1)
            } else if call.matches(index, "skipme") {
                if call.matches(index + 1, "yes") { skipMe = true } else if call.matches(index + 1, "no") { skipMe = false } else { throw .syntax }
            } else if call.matches(index, "user") {
                guard let named = node.access.user(call.string(index + 1)) else {
                    throw CommandError("ERR No such user '\(call.string(index + 1))'")
                }
                user = named
            } else {
                throw .syntax
            }
        }
        var killed = 0
        for client in node.clients.connected.values {
            if let id, client.id != id { continue }
            if let type, node.clientType(client) != type { continue }
            if let address, client.remoteAddress != address { continue }
            if let localAddress, client.localAddress != localAddress { continue }
            if skipMe && client === call.client { continue }
            if let user, node.user(of: client) !== user { continue }
            node.kill(client)
            killed += 1
        }
        call.client.integer(killed)
    }

    static func command(_ call: inout CommandCall) throws(CommandError) {
        call.client.reply.writeBytes(CommandTable.redis.commandReply())
    }

    static func commandCount(_ call: inout CommandCall) throws(CommandError) {
        call.client.reply.writeBytes(CommandTable.redis.commandCountReply())
    }

    static func commandInfo(_ call: inout CommandCall) throws(CommandError) {
        let table = CommandTable.redis
        guard call.count > 2 else {
            call.client.reply.writeBytes(table.commandReply())
            return
        }
        let specs = (2..<call.count).map { index in call.argument(index) { table.lookup(fullName: $0) } }
        call.client.reply.writeBytes(table.commandInfoReply(specs))
    }

    static func commandDocs(_ call: inout CommandCall) throws(CommandError) {
        let table = CommandTable.redis
        let specs = call.count > 2 ? (2..<call.count).compactMap { index in call.argument(index) { table.lookup(fullName: $0) } } : nil
        call.client.reply.writeBytes(table.commandDocsReply(specs))
    }

    /// COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]: commands and
    /// subcommands (`container|sub`).
    static func commandList(_ call: inout CommandCall) throws(CommandError) {
        let table = CommandTable.redis
        var names: [String] = []
        for spec in table.commands {
            names.append(spec.name)
            for sub in spec.subcommands { names.append(sub.name) }
        }
        if call.count != 2 {
            guard call.count == 5, call.matches(2, "filterby") else { throw .syntax }
            let value = call.string(4)
            if call.matches(3, "module") {
                names = []
            } else if call.matches(3, "aclcat") {
                let category = value.lowercased()
                names = names.filter { name in
                    table.lookup(fullName: name).map { aclCategories($0).contains(category) } ?? false
                }
            } else if call.matches(3, "pattern") {
                let pattern = Array(value.utf8)
                names = names.filter { GlobMatch.matches(pattern, Array($0.utf8), noCase: true) }
            } else {
                throw .syntax
            }
        }
        call.client.arrayHeader(names.count)
        for name in names { call.client.bulk(name) }
    }

    /// A command's ACL categories as Redis derives them: from its flags (write, read, admin and
    /// dangerous, pubsub, fast or slow, blocking) and its group.
    static func aclCategories(_ spec: CommandSpec) -> Set<String> {
        var categories: Set<String> = []
        if spec.flags.contains(.write) { categories.insert("write") }
        if spec.flags.contains(.readonly) { categories.insert("read") }
        if spec.flags.contains(.admin) { categories.formUnion(["admin", "dangerous"]) }
        if spec.flags.contains(.pubsub) { categories.insert("pubsub") }
        if spec.flags.contains(.blocking) { categories.insert("blocking") }
        categories.insert(spec.flags.contains(.fast) ? "fast" : "slow")
        switch spec.group {
        case "generic": categories.insert("keyspace")
        case "sorted-set": categories.insert("sortedset")
        case "server", "cluster", "sentinel", "module": break
        default: categories.insert(spec.group)
        }
        return categories
    }

    static func commandGetKeysAndFlags(_ call: inout CommandCall) throws(CommandError) {
        let (_, keys) = try keysOfCommandArgument(call)
        call.client.arrayHeader(keys.count)
        for key in keys {
            call.client.arrayHeader(2)
            call.argument(key.index + 2) { call.client.bulk($0) }
            let names = KeySpec.Flags.redisNames.filter { key.flags.contains($0.flag) && $0.flag != .variableFlags && $0.flag != .incomplete }
            call.client.setHeader(names.count)
            // Status strings, as Redis writes flags.
            for name in names { call.client.simple(name.name) }
        }
    }

    /// The command named by COMMAND GETKEYS' arguments and its keys (argument indices from 0 at
    /// the command name) with their spec flags, with Redis's errors.
    private static func keysOfCommandArgument(
        _ call: CommandCall
    ) throws(CommandError) -> (CommandSpec, [(index: Int, flags: KeySpec.Flags)]) {
        let count = call.count - 2
        guard let spec = CommandTable.redis.resolve(argumentCount: count, { index, body in call.argument(index + 2, body) })?.spec else {
            throw CommandError("ERR Invalid command specified")
        }
        guard spec.hasKeys || spec.hasMovableKeys else { throw CommandError("ERR The command has no key arguments") }
        guard spec.acceptsArgumentCount(count) else {
            throw CommandError("ERR Invalid number of arguments specified for command")
        }
        // Redis's order: a command without key specs, then the arity, then arguments naming no key
        // (an empty list for commands whose keys are optional).
        // SORT's and SORT_RO's key specs are incomplete (BY/GET patterns name keys no spec can find):
        // the first key from the specs, then, as Redis's own key finder, SORT's last STORE key.
        let isSort = spec.isNamed("sort") || spec.isNamed("sort_ro")
        let found = call.request.frame.withUnsafeReadableBytes { bytes in
            try? spec.keyIndicesAndFlags(argumentCount: count, options: isSort ? .partial : []) {
                UnsafeRawBufferPointer(rebasing: bytes[call.spans[$0 + 2].range])
            }
        }
        guard var keys = found else {
            if spec.flags.contains(.noMandatoryKeys) { return (spec, []) }
            throw CommandError("ERR Invalid arguments specified for command")
        }
        // SET's key is only read too with GET (Redis's own key finder for SET says so).
        if spec.isNamed("set") && !(3..<count).contains(where: { call.matches($0 + 2, "get") }) {
            keys = keys.map { ($0.index, [.overwrite, .update]) }
        }
        if spec.isNamed("sort") {
            // Redis's sortGetKeys: LIMIT skips two arguments and GET and BY one (unchecked), and
            // the last STORE followed by an argument names the destination.
            var store: Int?
            var index = 2
            while index < count {
                if call.matches(index + 2, "limit") {
                    index += 2
                } else if call.matches(index + 2, "get") || call.matches(index + 2, "by") {
                    index += 1
                } else if call.matches(index + 2, "store") && index + 1 < count {
                    store = index + 1
                }
                index += 1
            }
            if let store { keys.append((store, [.overwrite, .update])) }
        }
        guard !keys.isEmpty || spec.flags.contains(.noMandatoryKeys) else {
            throw CommandError("ERR Invalid arguments specified for command")
        }
        return (spec, keys)
    }

    static func commandGetKeys(_ call: inout CommandCall) throws(CommandError) {
        let (_, keys) = try keysOfCommandArgument(call)
        call.client.arrayHeader(keys.count)
        for key in keys { call.argument(key.index + 2) { call.client.bulk($0) } }
    }
}
