import Commands
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import RESP
import RedisText

/// The commands the proxy answers itself, with Redis 7's replies and error texts.
extension ClientSession {
    func answerLocally(_ command: LocalCommand, _ request: RESPRequest) {
        switch command {
        case .ping:
            if request.argumentCount > 2 {
                respondError(RedisErrors.wrongArity("ping"))
            } else if !subscriptions.isEmpty && protocolVersion == 2 {
                // A subscribed RESP2 connection answers PING as a message-shaped array.
                let message = request.argumentCount == 2 ? request.argumentBuffer(1) : ByteBuffer()
                respond { reply in
                    reply.writeRESPArrayHeader(2)
                    reply.writeRESPBulkString("pong")
                    reply.writeRESPBulkString(buffer: message)
                }
            } else if request.argumentCount == 1 {
                respond { $0.writeStaticString("+PONG\r\n") }
            } else {
                let message = request.argumentBuffer(1)
                respond { $0.writeRESPBulkString(buffer: message) }
            }
        case .echo:
            let message = request.argumentBuffer(1)
            respond { $0.writeRESPBulkString(buffer: message) }
        case .quit:
            var reply = ByteBuffer()
            reply.writeStaticString("+OK\r\n")
            finish(with: reply)
        case .auth:
            authCommand(request)
        case .hello:
            helloCommand(request)
        case .select:
            selectCommand(request)
        case .client:
            clientCommand(request)
        case .command:
            commandCommand(request)
        case .info:
            infoCommand(request)
        case .time:
            // The proxy's own clock: with several groups there is no one server to ask.
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            respond { buffer in
                buffer.writeRESPArrayHeader(2)
                buffer.writeRESPBulkString(String(now.tv_sec))
                buffer.writeRESPBulkString(String(now.tv_nsec / 1000))
            }
        }
    }

    /// SELECT n: the client's later requests use connections to database n, opened on first use.
    /// The keyless group's master is asked first (a PING on such a connection, whose handshake
    /// SELECTs n), so a database the servers lack gets Redis's error; the client's next requests
    /// wait for that answer.
    private func selectCommand(_ request: RESPRequest) {
        guard let index = request.withArgument(1, { RedisInteger.parse($0) }), index >= Int32.min, index <= Int32.max
        else { return respondError(RedisErrors.notInteger) }
        guard index >= 0 else { return respondError(Self.databaseOutOfRange) }
        // Leases belong to the database they were taken in.
        guard leases.isEmpty else {
            return respondError(ProxyErrors.unsupported("select", because: "this client holds a leased connection (WATCH or a blocking command in flight)"))
        }
        let database = Int(index)
        let sequence = reserveSlot()
        let backends = loop.groups[keylessGroup]
        guard let master = backends.master else {
            return complete(sequence) { $0.writeRESPError(ProxyErrors.noMaster(backends.name, problem: backends.problem)) }
        }
        let connection = database == runtime.config.database
            ? master.pick(protocolVersion: protocolVersion) : master.pick(protocolVersion: protocolVersion, database: database)
        connection.send(Self.pingFrame, to: .select(self, sequence: sequence, database: database))
        afterEarlierReplies {}
    }

    static let pingFrame = RESPRequest(arguments: [Array("PING".utf8)]).frame
    static let databaseOutOfRange = "ERR DB index is out of range"

    /// The keyless group answered the PING of a SELECT.
    func selectAnswered(_ sequence: UInt64, database: Int, reply: ByteBuffer) {
        guard RESPReplyReader.isError(reply) else {
            self.database = database
            return complete(sequence) { $0.writeStaticString("+OK\r\n") }
        }
        let text = String(buffer: reply)
        if text.contains("DB index is out of range") { return complete(sequence) { $0.writeRESPError(Self.databaseOutOfRange) } }
        complete(sequence, with: reply)
    }

    /// A null reply in the client's protocol: `$-1` in RESP2, `_` in RESP3.
    func respondNull() {
        if protocolVersion == 3 {
            respond { $0.writeStaticString("_\r\n") }
        } else {
            respond { $0.writeRESPNullBulk() }
        }
    }

    // MARK: AUTH and HELLO

    /// Checks a user/password pair; only the `default` user exists on the proxy.
    private func credentialsAccepted(user: String?, password: [UInt8]) -> Bool {
        if let user, user != "default" { return false }
        guard let expected = runtime.password else { return true }
        return constantTimeEquals(password, expected)
    }

    private func authCommand(_ request: RESPRequest) {
        guard request.argumentCount <= 3 else { return respondError(RedisErrors.syntax) }
        let user = request.argumentCount == 3 ? request.string(1) : nil
        let password = request.withArgument(request.argumentCount - 1) { Array($0) }
        if runtime.password == nil && user == nil {
            return respondError(RedisErrors.authWithoutPassword)
        }
        if credentialsAccepted(user: user, password: password) {
            isAuthenticated = true
            respond { $0.writeStaticString("+OK\r\n") }
        } else {
            respondError(RedisErrors.wrongPass)
        }
    }

    private func helloCommand(_ request: RESPRequest) {
        var index = 1
        var requestedVersion = protocolVersion
        if request.argumentCount >= 2 {
            guard let version = Int(request.string(1)) else {
                return respondError("ERR Protocol version is not an integer or out of range")
            }
            guard version == 2 || version == 3 else { return respondError(RedisErrors.noProto) }
            requestedVersion = version
            index = 2
        }
        var newName: String?
        while index < request.argumentCount {
            let option = request.string(index).lowercased()
            let remaining = request.argumentCount - index - 1
            if option == "auth" && remaining >= 2 {
                let user = request.string(index + 1)
                let password = request.withArgument(index + 2) { Array($0) }
                guard credentialsAccepted(user: user, password: password) else {
                    return respondError(RedisErrors.wrongPass)
                }
                isAuthenticated = true
                index += 3
            } else if option == "setname" && remaining >= 1 {
                newName = request.string(index + 1)
                index += 2
            } else {
                return respondError("ERR Syntax error in HELLO option '\(request.string(index))'")
            }
        }
        guard isAuthenticated else {
            return respondError("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
        }
        if let newName {
            guard Self.isValidClientName(newName) else { return respondError(RedisErrors.badClientName) }
            name = newName.isEmpty ? nil : newName
        }
        protocolVersion = requestedVersion
        let id = self.id
        let version = requestedVersion
        respond { reply in
            if version == 3 { reply.writeStaticString("%7\r\n") } else { reply.writeRESPArrayHeader(14) }
            for (key, value) in [("server", "redis"), ("version", ShardgateVersion.redisCompatible)] {
                reply.writeRESPBulkString(key)
                reply.writeRESPBulkString(value)
            }
            reply.writeRESPBulkString("proto")
            reply.writeRESPInteger(version)
            reply.writeRESPBulkString("id")
            reply.writeRESPInteger(id)
            for (key, value) in [("mode", "standalone"), ("role", "master")] {
                reply.writeRESPBulkString(key)
                reply.writeRESPBulkString(value)
            }
            reply.writeRESPBulkString("modules")
            reply.writeRESPArrayHeader(0)
        }
    }

    // MARK: CLIENT

    static func isValidClientName(_ name: String) -> Bool {
        name.utf8.allSatisfy { $0 >= UInt8(ascii: "!") && $0 <= UInt8(ascii: "~") }
    }

    private func clientCommand(_ request: RESPRequest) {
        guard request.argumentCount >= 2 else { return respondError(RedisErrors.wrongArity("client")) }
        let sub = request.string(1).lowercased()
        func arity(_ expected: Int) -> Bool {
            if request.argumentCount == expected { return true }
            respondError(RedisErrors.wrongArity("client|\(sub)"))
            return false
        }
        switch sub {
        case "setname":
            guard arity(3) else { return }
            let newName = request.string(2)
            guard Self.isValidClientName(newName) else { return respondError(RedisErrors.badClientName) }
            name = newName.isEmpty ? nil : newName
            respond { $0.writeStaticString("+OK\r\n") }
        case "getname":
            guard arity(2) else { return }
            if let name { respond { $0.writeRESPBulkString(name) } } else { respondNull() }
        case "id":
            guard arity(2) else { return }
            let id = self.id
            respond { $0.writeRESPInteger(id) }
        case "setinfo":
            guard arity(4) else { return }
            let attribute = request.string(2).lowercased()
            let value = request.string(3)
            guard attribute == "lib-name" || attribute == "lib-ver" else {
                return respondError("ERR Unrecognized option '\(request.string(2))'")
            }
            guard value.utf8.allSatisfy({ $0 >= UInt8(ascii: "!") && $0 <= UInt8(ascii: "~") }) else {
                return respondError("ERR \(attribute) cannot contain spaces, newlines or special characters.")
            }
            if attribute == "lib-name" { libraryName = value } else { libraryVersion = value }
            respond { $0.writeStaticString("+OK\r\n") }
        case "info":
            guard arity(2) else { return }
            let line = clientInfoLine() + "\n"
            respond { $0.writeRESPBulkString(line) }
        default:
            if runtime.commands.lookup(fullName: "client|\(sub)") == nil {
                return respondError(RedisErrors.unknownSubcommand(request.string(1), of: "client"))
            }
            respondError(ProxyErrors.unsupported("client|\(sub)", because: "clients are connected to the proxy, not to one server"))
        }
    }

    func clientInfoLine() -> String {
        let age = (NIODeadline.now() - createdAt).nanoseconds / 1_000_000_000
        return "id=\(id) addr=\(remoteAddressText) name=\(name ?? "") age=\(age) db=0 lib-name=\(libraryName ?? "") lib-ver=\(libraryVersion ?? "")"
    }

    // MARK: COMMAND

    private func commandCommand(_ request: RESPRequest) {
        let table = runtime.commands
        guard request.argumentCount >= 2 else {
            let reply = table.commandReply()
            return respond { $0.writeBytes(reply) }
        }
        let sub = request.string(1).lowercased()
        let names = (2..<request.argumentCount).map { request.string($0) }
        let reply: [UInt8]
        switch sub {
        case "count":
            guard request.argumentCount == 2 else { return respondError(RedisErrors.wrongArity("command|count")) }
            reply = table.commandCountReply()
        case "list":
            return commandList(names)
        case "info":
            reply = names.isEmpty ? table.commandReply() : table.commandInfoReply(names.map { table.lookup(fullName: $0) })
        case "docs":
            reply = table.commandDocsReply(names.isEmpty ? nil : names.compactMap { table.lookup(fullName: $0) })
        case "getkeys":
            return commandGetKeys(request)
        default:
            return respondError(RedisErrors.unknownSubcommand(request.string(1), of: "command"))
        }
        respond { $0.writeBytes(reply) }
    }

    /// `COMMAND LIST [FILTERBY MODULE m | PATTERN p]`: every name, subcommands (`config|get`) included.
    private func commandList(_ options: [String]) {
        var names = runtime.commands.commands.flatMap { [$0.name] + $0.subcommands.map(\.name) }
        switch (options.count, options.first?.lowercased(), options.count > 1 ? options[1].lowercased() : nil) {
        case (0, _, _):
            break
        case (3, "filterby", "module"):
            names = []  // the proxy has no modules
        case (3, "filterby", "pattern"):
            // Names are lowercase; Redis matches without case.
            let pattern = options[2].lowercased()
            names = names.filter { fnmatch(pattern, $0, 0) == 0 }
        default:
            return respondError(RedisErrors.syntax)
        }
        respond { reply in
            reply.writeRESPArrayHeader(names.count)
            for name in names { reply.writeRESPBulkString(name) }
        }
    }

    private func commandGetKeys(_ request: RESPRequest) {
        guard request.argumentCount >= 3 else { return respondError(RedisErrors.wrongArity("command|getkeys")) }
        let table = runtime.commands
        let spans = request.allSpans()
        request.frame.withUnsafeReadableBytes { bytes in
            func argument(_ index: Int) -> UnsafeRawBufferPointer {
                UnsafeRawBufferPointer(rebasing: bytes[spans[index + 2].range])
            }
            let count = request.argumentCount - 2
            guard var spec = table.lookup(argument(0)) else {
                return respondError("ERR Invalid command specified")
            }
            if spec.hasSubcommands && count >= 2, let sub = table.subcommand(of: spec, named: argument(1)) { spec = sub }
            guard spec.acceptsArgumentCount(count) else {
                return respondError("ERR Invalid number of arguments specified for command")
            }
            guard let keys = try? spec.keyIndices(argumentCount: count, argument: argument), !keys.isEmpty else {
                return respondError("ERR The command has no key arguments")
            }
            let values = keys.map { Array(argument($0)) }
            respond { reply in
                reply.writeRESPArrayHeader(values.count)
                for value in values { reply.writeRESPBulkString(value) }
            }
        }
    }

    // MARK: INFO

    /// INFO: the proxy's own sections, with `keyspace` summed from every group's master (asked only
    /// when that section is wanted).
    private func infoCommand(_ request: RESPRequest) {
        let sections = Set((1..<request.argumentCount).map { request.string($0).lowercased() })
        let wantsKeyspace = sections.isEmpty || !sections.isDisjoint(with: ["keyspace", "default", "all", "everything"])
        let gathering = InfoGathering(session: self, sequence: reserveSlot(), sections: sections, groups: wantsKeyspace ? loop.groups.count : 0)
        let bound = NIOLoopBound(gathering, eventLoop: loop.eventLoop)
        loop.pool.snapshots(on: loop.eventLoop).whenComplete { result in bound.value.snapshotsArrived(result) }
        guard wantsKeyspace else { return }
        for group in loop.groups.indices {
            send(Self.infoKeyspaceFrame, toGroup: group, write: true, target: .info(gathering, group: group))
        }
    }

    static let infoKeyspaceFrame = RESPRequest(arguments: [Array("INFO".utf8), Array("keyspace".utf8)]).frame
}

/// One INFO in progress: the loops' snapshots and, when the keyspace section is wanted, every
/// group's `INFO keyspace`; the reply is written once all are in.
final class InfoGathering {
    private let session: ClientSession
    private let sequence: UInt64
    private let sections: Set<String>
    private var snapshots: [LoopSnapshot]?
    private var failure: String?
    private var keyspaceTexts: [String?]
    private var outstanding: Int

    init(session: ClientSession, sequence: UInt64, sections: Set<String>, groups: Int) {
        self.session = session
        self.sequence = sequence
        self.sections = sections
        self.keyspaceTexts = Array(repeating: nil, count: groups)
        self.outstanding = groups + 1
    }

    func snapshotsArrived(_ result: Result<[LoopSnapshot], any Error>) {
        switch result {
        case .success(let snapshots): self.snapshots = snapshots
        case .failure(let error): failure = "ERR shardgate: INFO failed: \(error)"
        }
        oneArrived()
    }

    /// A group's `INFO keyspace` reply (an error leaves that group out of the sums).
    func keyspaceArrived(fromGroup group: Int, _ reply: ByteBuffer) {
        if !RESPReplyReader.isError(reply), let body = RESPReplyReader.bulkPayload(reply) {
            keyspaceTexts[group] = String(decoding: body, as: UTF8.self)
        }
        oneArrived()
    }

    private func oneArrived() {
        outstanding -= 1
        guard outstanding == 0 else { return }
        var reply = ByteBuffer()
        if let failure {
            reply.writeRESPError(failure)
        } else {
            var report = InfoReport(pool: session.loop.pool, snapshots: snapshots ?? [])
            for text in keyspaceTexts { if let text { report.addKeyspace(text) } }
            let text = report.render(sections)
            if session.protocolVersion == 3 {
                reply.writeRESPVerbatimString(text)
            } else {
                reply.writeRESPBulkString(text)
            }
        }
        session.complete(sequence, with: reply)
    }
}

/// Compares secrets in time that depends only on their lengths.
func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
    let length = max(a.count, b.count)
    for index in 0..<length {
        let x = index < a.count ? a[index] : 0
        let y = index < b.count ? b[index] : 0
        difference |= x ^ y
    }
    return difference == 0
}
