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
            } else if machine.answersPingAsMessage {
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
            // The machine closes the session for QUIT; it never runs here.
            break
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
        case .reset:
            resetCommand()
        case .wait:
            waitCommand(request)
        case .slowlog:
            slowlogCommand(request)
        case .monitor:
            monitorCommand()
        case .latency:
            latencyCommand(request)
        case .acl:
            aclCommand(request)
        case .time:
            // The proxy's own clock: with several groups there is no one server to ask.
            let now = UnixTime.microseconds()
            respond { buffer in
                buffer.writeRESPArrayHeader(2)
                buffer.writeRESPBulkString(String(now / 1_000_000))
                buffer.writeRESPBulkString(String(now % 1_000_000))
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
        let database: Int
        switch machine.select(Int(index)) {
        case .error(let message): return respondError(message)
        case .check(let checked): database = checked
        }
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

    /// The keyless group answered the PING of a SELECT.
    func selectAnswered(_ sequence: UInt64, database: Int, reply: ByteBuffer) {
        guard RESPReplyReader.isError(reply) else {
            machine.selected(database)
            return complete(sequence) { $0.writeStaticString("+OK\r\n") }
        }
        let text = String(buffer: reply)
        if text.contains("DB index is out of range") {
            return complete(sequence) { $0.writeRESPError(Machine.databaseOutOfRange) }
        }
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

    private func authCommand(_ request: RESPRequest) {
        guard request.argumentCount <= 3 else { return respondError(RedisErrors.syntax) }
        let user = request.argumentCount == 3 ? request.string(1) : nil
        let password = request.withArgument(request.argumentCount - 1) { Array($0) }
        if let error = machine.auth(user: user, password: password) { return respondError(error) }
        authenticationChanged()
        respond(.ok)
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
                guard machine.authenticate(user: user, password: password) else {
                    return respondError(RedisErrors.wrongPass)
                }
                authenticationChanged()
                index += 3
            } else if option == "setname" && remaining >= 1 {
                newName = request.string(index + 1)
                index += 2
            } else {
                return respondError("ERR Syntax error in HELLO option '\(request.string(index))'")
            }
        }
        if let refusal = machine.helloRefusal { return respondError(refusal) }
        if let newName {
            if let error = machine.setName(newName) { return respondError(error) }
        }
        machine.hello(protocolVersion: requestedVersion)
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
            if let error = machine.setName(request.string(2)) { return respondError(error) }
            respond(.ok)
        case "getname":
            guard arity(2) else { return }
            if let name = machine.attributes.name { respond { $0.writeRESPBulkString(name) } } else { respondNull() }
        case "id":
            guard arity(2) else { return }
            let id = self.id
            respond { $0.writeRESPInteger(id) }
        case "setinfo":
            guard arity(4) else { return }
            let option = request.string(2)
            if let error = machine.setInfo(option.lowercased(), option: option, value: request.string(3)) {
                return respondError(error)
            }
            respond(.ok)
        case "info":
            guard arity(2) else { return }
            let line = clientInfoLine() + "\n"
            respond { $0.writeRESPBulkString(line) }
        case "list":
            clientList(request)
        case "kill":
            clientKill(request)
        case "no-evict", "no-touch":
            guard arity(3) else { return }
            let value = request.string(2).lowercased()
            guard value == "on" || value == "off" else { return respondError(RedisErrors.syntax) }
            if sub == "no-evict" { machine.setNoEvict(value == "on") } else { machine.setNoTouch(value == "on") }
            respond(.ok)
        default:
            if runtime.commands.lookup(fullName: "client|\(sub)") == nil {
                return respondError(RedisErrors.unknownSubcommand(request.string(1), of: "client"))
            }
            respondError(ProxyErrors.unsupported("client|\(sub)", because: "clients are connected to the proxy, not to one server"))
        }
    }

    /// This client as a line of CLIENT LIST / CLIENT INFO, with Redis 7.0's fields (those that
    /// describe a server's buffers are the proxy's own, or 0).
    func clientInfoLine() -> String {
        let (age, idle) = machine.ageAndIdleSeconds(at: .now())
        var flags = ""
        if !subscriptions.isEmpty { flags += "P" }
        if machine.transaction != nil { flags += "x" }
        if machine.isBlocked { flags += "b" }
        let attributes = machine.attributes
        if attributes.noEvict { flags += "e" }
        if attributes.noTouch { flags += "T" }
        if flags.isEmpty { flags = "N" }
        let count = { (kind: SubscriptionKind) in self.machine.subscriptionCount(ofKind: kind) }
        return "id=\(id) addr=\(remoteAddressText) laddr=\(localAddressText) fd=0 name=\(attributes.name ?? "") age=\(age) idle=\(idle) "
            + "flags=\(flags) db=\(database) sub=\(count(.channel)) psub=\(count(.pattern)) ssub=\(count(.shardChannel)) "
            + "multi=\(machine.transaction.map { $0.frames.count } ?? -1) qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 "
            + "omem=0 tot-mem=0 events=r cmd=NULL user=\(machine.user.name) redir=-1 resp=\(protocolVersion) "
            + "lib-name=\(attributes.libraryName ?? "") lib-ver=\(attributes.libraryVersion ?? "")"
    }

    /// CLIENT LIST [TYPE normal|pubsub|master|replica] [ID id …]: every client of the pool, on
    /// every event loop.
    private func clientList(_ request: RESPRequest) {
        var filter = ClientFilter()
        var index = 2
        while index < request.argumentCount {
            let option = request.string(index).lowercased()
            if option == "type", index + 1 < request.argumentCount {
                filter.type = request.string(index + 1).lowercased()
                guard ["normal", "pubsub", "master", "replica", "slave"].contains(filter.type!) else {
                    return respondError("ERR Unknown client type '\(request.string(index + 1))'")
                }
                index += 2
            } else if option == "id", index + 1 < request.argumentCount {
                var ids: [Int] = []
                index += 1
                while index < request.argumentCount {
                    guard let id = Int(request.string(index)), id > 0 else { return respondError("ERR Invalid client ID") }
                    ids.append(id)
                    index += 1
                }
                filter.ids = ids
            } else {
                return respondError(RedisErrors.syntax)
            }
        }
        let sequence = reserveSlot()
        let bound = NIOLoopBound(self, eventLoop: loop.eventLoop)
        let chosen = filter
        loop.pool.onEveryLoop(deliveredOn: loop.eventLoop) { loop in
            loop.sessions.values.filter { chosen.matches($0) }.map { ($0.id, $0.clientInfoLine()) }
        }.whenComplete { result in
            let lines = ((try? result.get()) ?? []).flatMap { $0 }.sorted { $0.0 < $1.0 }.map { $0.1 + "\n" }
            bound.value.complete(sequence) { $0.writeRESPBulkString(lines.joined()) }
        }
    }

    /// CLIENT KILL addr, or CLIENT KILL [ID id] [ADDR addr] [LADDR addr] [TYPE type] [USER u] [SKIPME yes|no].
    private func clientKill(_ request: RESPRequest) {
        var filter = ClientFilter()
        var oldForm = false
        if request.argumentCount == 3 {
            filter.address = request.string(2)
            oldForm = true
            filter.skip = nil
        } else {
            guard request.argumentCount >= 4, request.argumentCount % 2 == 0 else { return respondError(RedisErrors.syntax) }
            filter.skip = id
            for index in stride(from: 2, to: request.argumentCount, by: 2) {
                let value = request.string(index + 1)
                switch request.string(index).lowercased() {
                case "id":
                    guard let id = Int(value), id > 0 else { return respondError("ERR client-id should be greater than 0") }
                    filter.ids = [id]
                case "addr": filter.address = value
                case "laddr": filter.localAddress = value
                case "type":
                    let type = value.lowercased()
                    guard ["normal", "pubsub", "master", "replica", "slave"].contains(type) else {
                        return respondError("ERR Unknown client type '\(value)'")
                    }
                    filter.type = type
                case "user":
                    guard machine.users[value] != nil else { return respondError("ERR No such user '\(value)'") }
                    filter.user = value
                case "skipme":
                    switch value.lowercased() {
                    case "yes": filter.skip = id
                    case "no": filter.skip = nil
                    default: return respondError(RedisErrors.syntax)
                    }
                default:
                    return respondError(RedisErrors.syntax)
                }
            }
        }
        let sequence = reserveSlot()
        let bound = NIOLoopBound(self, eventLoop: loop.eventLoop)
        let (chosen, answersOK) = (filter, oldForm)
        loop.pool.onEveryLoop(deliveredOn: loop.eventLoop) { loop in
            let doomed = loop.sessions.values.filter { chosen.matches($0) }
            for session in doomed { session.kill() }
            return doomed.count
        }.whenComplete { result in
            let killed = ((try? result.get()) ?? []).reduce(0, +)
            bound.value.complete(sequence) { reply in
                if answersOK {
                    if killed > 0 { reply.writeStaticString("+OK\r\n") } else { reply.writeRESPError("ERR No such client") }
                } else {
                    reply.writeRESPInteger(killed)
                }
            }
        }
    }

    /// RESET: the connection as new (no transaction, watch, subscription or selected database,
    /// RESP2, not authenticated when the pool has a password).
    private func resetCommand() {
        let reset = machine.reset()
        stopMonitoring()
        if let lease = reset.unwatch { unwatch(lease) }
        leave(reset.subscriptions)
        authenticationChanged()
        respond { $0.writeStaticString("+RESET\r\n") }
    }

    /// WAIT numreplicas timeout: on a lease of every group this client wrote to since its last WAIT
    /// (the keyless group if none), a PUBLISH that replicates (so the lease's own offset covers the
    /// client's writes, which were acknowledged before), then WAIT; the reply is the smallest count.
    /// Shared connections never wait.
    private func waitCommand(_ request: RESPRequest) {
        guard Int(request.string(1)) != nil, let timeout = Int(request.string(2)) else {
            return respondError(RedisErrors.notInteger)
        }
        guard timeout >= 0 else { return respondError("ERR timeout is negative") }
        let groups = machine.takeWrittenGroups(groupCount: loop.groups.count)
        let frame = request.frame
        afterEarlierReplies { [self] in
            let call = EveryGroupCall(merge: .minimum, write: false, session: self, sequence: reserveSlot(), groups: groups)
            for group in groups {
                guard let lease = lease(forGroup: group, failing: .everyGroup(call, group: group)) else { continue }
                lease.connection.send(Self.waitPublishFrame, to: .discard)
                lease.connection.send(frame, to: .everyGroup(call, group: group))
            }
        }
    }

    static let waitPublishFrame = RESPRequest(arguments: [Array("PUBLISH".utf8), Array("__shardgate:wait".utf8), []]).frame

    /// `onEveryLoop` for CLIENT KILL: close this client after what is queued for it.
    func kill() {
        drain()
    }
}

/// Which clients CLIENT LIST / CLIENT KILL select.
struct ClientFilter: Sendable {
    var ids: [Int]?
    var type: String?
    var address: String?
    var localAddress: String?
    /// Clients running as this user (CLIENT KILL USER).
    var user: String?
    /// The caller, left out (SKIPME yes).
    var skip: Int?

    func matches(_ session: ClientSession) -> Bool {
        if let ids, !ids.contains(session.id) { return false }
        if let address, session.remoteAddressText != address { return false }
        if let localAddress, session.localAddressText != localAddress { return false }
        if let user, session.machine.user.name != user { return false }
        if let skip, session.id == skip { return false }
        switch type {
        case nil, "normal"?: return type == nil || session.subscriptions.isEmpty
        case "pubsub"?: return !session.subscriptions.isEmpty
        default: return false  // the proxy's clients are never masters or replicas
        }
    }
}

extension ClientSession {

    // MARK: COMMAND

    private func commandCommand(_ request: RESPRequest) {
        let table = runtime.commands
        guard request.argumentCount >= 2 else {
            let reply = table.commandReply()
            return respond { $0.writeBytes(reply) }
        }
        let sub = request.string(1).lowercased()
        // Each subcommand's arity from the table (GETKEYSANDFLAGS takes -4 in 7.0, GETKEYS -3).
        if let spec = table.lookup(fullName: "command|\(sub)"), !spec.acceptsArgumentCount(request.argumentCount) {
            return respondError(RedisErrors.wrongArity("command|\(sub)"))
        }
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
        case "getkeys", "getkeysandflags":
            return commandGetKeys(request, withFlags: sub == "getkeysandflags")
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

    /// COMMAND GETKEYS / GETKEYSANDFLAGS: the keys (and their specs' flags) from the command table.
    private func commandGetKeys(_ request: RESPRequest, withFlags: Bool) {
        let name = withFlags ? "command|getkeysandflags" : "command|getkeys"
        guard request.argumentCount >= 3 else { return respondError(RedisErrors.wrongArity(name)) }
        let table = runtime.commands
        let spans = request.allSpans()
        request.frame.withUnsafeReadableBytes { bytes in
            func argument(_ index: Int) -> UnsafeRawBufferPointer {
                UnsafeRawBufferPointer(rebasing: bytes[spans[index + 2].range])
            }
            let count = request.argumentCount - 2
            guard let spec = table.resolve(argumentCount: count, { index, body in body(argument(index)) })?.spec else {
                return respondError("ERR Invalid command specified")
            }
            guard spec.acceptsArgumentCount(count) else {
                return respondError("ERR Invalid number of arguments specified for command")
            }
            guard let keys = try? spec.keyIndicesAndFlags(argumentCount: count, argument: argument), !keys.isEmpty else {
                return respondError("ERR The command has no key arguments")
            }
            let values = keys.map { (Array(argument($0.index)), $0.flags) }
            let resp3 = protocolVersion == 3
            respond { reply in
                reply.writeRESPArrayHeader(values.count)
                for (key, flags) in values {
                    guard withFlags else {
                        reply.writeRESPBulkString(key)
                        continue
                    }
                    reply.writeRESPArrayHeader(2)
                    reply.writeRESPBulkString(key)
                    let names = KeySpec.Flags.redisNames.filter { flags.contains($0.flag) }.map(\.name)
                    reply.writeStaticString(resp3 ? "~" : "*")
                    reply.writeString("\(names.count)\r\n")
                    for name in names { reply.writeString("+\(name)\r\n") }
                }
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
