import ACL
import Commands
import NIOCore
import OrderedCollections
import RESP

/// One client connection: parses its requests, routes each one, and writes the replies back strictly
/// in request order, whichever groups they came from.
///
/// The client's protocol state (authentication, RESP version, database, subscriptions, MULTI, WATCH,
/// which leases it holds, closing) is `machine`'s: each request goes through
/// `SessionStateMachine.requestReceived`, and this handler performs the action it returns. What stays
/// here is I/O: the reply slots and backpressure, routing, the backend connections, the lease pool and
/// the pub/sub hub.
///
/// Every request takes the next slot in `slots`; a reply fills its slot, and replies are written from
/// the head as soon as the head is filled. Local replies to an idle client skip the queue.
final class ClientSession: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Slot {
        case waiting
        case ready(ByteBuffer)
        /// Write this (if any), then close: QUIT, protocol errors, cross-protocol probes.
        case close(ByteBuffer?)
    }

    let loop: PoolLoop
    /// The pool's configuration for this request (a reload replaces the loop's).
    var runtime: PoolRuntime { loop.runtime }
    let id: Int
    typealias Machine = SessionStateMachine<Lease>
    /// The client's protocol state; this handler performs what it decides.
    var machine: Machine
    private var context: ChannelHandlerContext!
    private var parser: RESPRequestParser
    private var input: ByteBuffer?
    private var outbound: ByteBuffer
    private var slots = CircularBuffer<Slot>(initialCapacity: 4)
    /// When each slot's request arrived and its command, beside `slots`: the request is counted,
    /// timed and checked for an error reply when its slot leaves (`removeHeadSlot`). nil unless the
    /// loop `timesRequests`, so such a client holds no buffer (optional rather than `lazy`: a lazy
    /// property is mutated through get and set, which copies the buffer every time).
    private var slotStarts: CircularBuffer<SlotStart>?
    /// Each slot's request and backend round trip, for the SLOWLOG, kept only when the loop
    /// `logsSlowRequests` (apart from `slotStarts`, which stays a small plain value to copy).
    private var slotRequests: CircularBuffer<SlowSlot>?
    struct SlotStart {
        var time: UInt64
        /// The command's id, -1 for an unknown command, `notARequest` for a pub/sub push.
        var command: Int32
        static let notARequest = Int32.min
    }
    struct SlowSlot {
        var request: RESPRequest?
        /// The backend's round trip for its reply (0: answered by the proxy, or split over groups).
        var backendNanoseconds: UInt64 = 0
    }
    /// The command being dispatched now (what a slot reserved now answers), -1 if unknown.
    private var currentCommand: Int32 = -1
    /// The request being dispatched now, when the loop `logsSlowRequests`.
    private var currentRequest: RESPRequest?
    /// Sequence number of `slots.first`.
    private var headSequence: UInt64 = 0
    private var isDirty = false
    private(set) var isOpen = true
    /// Closed on a protocol or socket error rather than by the client (twemproxy's `client_err`).
    private var closedOnError = false
    /// No further requests are read (QUIT, protocol error, shutdown).
    private var isClosing: Bool { machine.phase != .open }
    private var readingPaused = false
    /// Stopped reading because a backend it sent to is congested (resumed by `backendUncongested`).
    private var backendBlocked = false
    /// Requests may be waiting in `input`: the last run stopped before the parser ran dry.
    private var inputWaiting = false
    /// Bytes of replies held in `slots`, waiting for an earlier reply.
    private var heldReplyBytes = 0
    /// Running average size of this client's replies (0 before the first): with `slots.count` it
    /// estimates how many reply bytes are on their way (`windowIsFull`).
    private var averageReplyBytes = 0
    var protocolVersion: Int { machine.protocolVersion }
    var database: Int { machine.database }
    var subscriptions: OrderedSet<SubscriptionKey> { machine.subscriptions }
    /// MONITOR: this client receives the pool's request feed (`ClientSession+Monitor`).
    var isMonitor = false
    /// Blocking commands (BLPOP…) sent and not yet answered: the client is blocked while > 0.
    var blockingInFlight = 0
    /// A request waiting for every earlier reply before it runs (see `afterEarlierReplies`).
    private var barrier: (() -> Void)?

    /// Stop reading from a client with this many replies outstanding until it catches up.
    static let maximumPendingReplies = 16 * 1024
    /// Stop reading from a client with this many bytes of replies held for it until it catches up.
    static let maximumHeldReplyBytes = 1024 * 1024
    /// Requests in flight for one client before the size of its replies is known.
    static let initialWindow = 128
    /// Requests are forwarded for a client while its replies on their way are estimated below this
    /// (but at least `minimumWindow` requests): a client that pipelines large reads cannot make a
    /// backend build gigabytes of replies for it, nor make the other clients of the group wait
    /// behind them.
    static let inFlightReplyBudget = 8 * 1024 * 1024
    static let minimumWindow = 16

    let remoteAddressText: String
    let localAddressText: String

    init(loop: PoolLoop, id: Int, remoteAddress: SocketAddress?, localAddress: SocketAddress? = nil) {
        self.loop = loop
        self.remoteAddressText = remoteAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "?"
        self.localAddressText = localAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "?"
        self.id = id
        let config = loop.runtime.config
        self.machine = Machine(
            users: loop.users, database: config.database, keylessGroup: config.keylessGroup,
            readYourWritesGroups: config.readYourWrites ? config.groups.count : 0, now: .now())
        self.parser = RESPRequestParser(authenticated: machine.isAuthenticated)
        self.outbound = loop.allocator.buffer(capacity: 0)
        if loop.timesRequests { slotStarts = CircularBuffer(initialCapacity: 4) }
        if loop.logsSlowRequests { slotRequests = CircularBuffer(initialCapacity: 4) }
    }

    /// AUTH, HELLO or RESET changed whether the client is authenticated: the parser's limits follow.
    func authenticationChanged() {
        parser.authenticated = machine.isAuthenticated
    }

    // MARK: - Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func channelActive(context: ChannelHandlerContext) {
        loop.sessionOpened(self)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        isOpen = false
        slots.removeAll()
        slotStarts?.removeAll()
        slotRequests?.removeAll()
        heldReplyBytes = 0
        input = nil
        let closed = machine.closed()
        stopMonitoring()
        leave(closed.subscriptions)
        drop(closed.leases)
        if closedOnError { loop.stats.clientErrors += 1 } else { loop.stats.clientEOF += 1 }
        loop.sessionClosed(self)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !isClosing else { return }
        machine.readArrived(at: loop.clientReadStarted())
        var incoming = unwrapInboundIn(data)
        input.accumulate(&incoming, allocator: context.channel.allocator)
        processInput()
    }

    /// Runs every complete request buffered, until a backend it sends to is congested, the client's
    /// window of replies on their way is full, or a request must wait for every earlier reply
    /// (`barrier`).
    private func processInput() {
        guard isOpen, input != nil else {
            inputWaiting = false
            return updateReadInterest()
        }
        do {
            while !isClosing && barrier == nil {
                if backendBlocked || isBackedUp {
                    inputWaiting = true
                    break
                }
                guard let request = try parser.next(from: &input!) else {
                    inputWaiting = false
                    break
                }
                dispatch(request)
            }
        } catch {
            loop.stats.protocolErrors += 1
            closedOnError = true
            _ = machine.startClosing()
            var reply = ByteBuffer()
            reply.writeRESPError("ERR \(error.message)")
            finish(with: reply, answering: false)
        }
        if input?.readableBytes == 0 { input = nil }
        updateReadInterest()
    }

    /// Holds back `run` (a request that takes a lease) until every earlier reply is in: a lease is
    /// a connection of its own, so this keeps the client's earlier requests before it, as on one
    /// connection to Redis. Reading pauses meanwhile. Called with nothing to run right after a
    /// request reserved its slot, it holds back the requests after it until it is answered (SELECT).
    func afterEarlierReplies(_ run: @escaping () -> Void) {
        if slots.isEmpty { return run() }
        // It runs after its dispatch returned: the request it answers is put back for that time
        // (its command, SLOWLOG's arguments).
        let (command, request) = (currentCommand, currentRequest)
        barrier = { [unowned self] in
            (currentCommand, currentRequest) = (command, request)
            run()
            currentRequest = nil
        }
    }

    /// The last pending reply went out: run what waited for it, then what is buffered behind it.
    private func liftBarrier() {
        guard let run = barrier, slots.isEmpty else { return }
        barrier = nil
        run()
        processInput()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        // NIO reports this from inside our own writes and flushes: requests left waiting run from
        // the next flush, never from here (a reply answered here could be cleared with `outbound`).
        if context.channel.isWritable && inputWaiting { markDirty() }
        updateReadInterest()
        context.fireChannelWritabilityChanged()
    }

    /// `client_timeout`: closes the client when it sent nothing for `limitSeconds`, unless it is
    /// subscribed or still waits for replies (a blocking command), as Redis exempts them.
    func closeIfIdle(at now: NIODeadline, limitSeconds: Int64) {
        guard isOpen, !isClosing, slots.isEmpty, machine.subscriptions.isEmpty,
            machine.ageAndIdleSeconds(at: now).idle >= limitSeconds
        else { return }
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        closedOnError = true
        context.close(promise: nil)
    }

    /// No more requests are run for now: the client's socket is full (it is not reading its replies),
    /// or enough replies are already on their way to it.
    private var isBackedUp: Bool {
        !context.channel.isWritable || windowIsFull
    }

    private var windowIsFull: Bool {
        let inFlight = slots.count
        if averageReplyBytes == 0 { return inFlight >= Self.initialWindow }
        return inFlight >= Self.minimumWindow && inFlight * averageReplyBytes >= Self.inFlightReplyBudget
    }

    @inline(__always)
    private func noteReplySize(_ bytes: Int) {
        averageReplyBytes = averageReplyBytes == 0 ? max(bytes, 1) : averageReplyBytes + (bytes - averageReplyBytes) / 8
    }

    /// A backend this client was waiting for can take requests again: run what is buffered, read on.
    func backendUncongested() {
        guard backendBlocked else { return }
        backendBlocked = false
        processInput()
    }

    /// Reads are paused while the client has too many replies outstanding, its socket is full, or a
    /// backend it sends to is congested.
    private func updateReadInterest() {
        let shouldPause = isClosing || barrier != nil || backendBlocked || slots.count >= Self.maximumPendingReplies
            || heldReplyBytes >= Self.maximumHeldReplyBytes || isBackedUp
        guard shouldPause != readingPaused, isOpen else { return }
        readingPaused = shouldPause
        context.channel.setOption(ChannelOptions.autoRead, value: !shouldPause).whenFailure { _ in }
    }

    // MARK: - Replies in order

    /// Reserves the next reply slot; the reply arrives later through `complete`.
    @inline(__always)
    func reserveSlot() -> UInt64 {
        let sequence = headSequence &+ UInt64(slots.count)
        appendSlot(.waiting)
        return sequence
    }

    @inline(__always)
    private func appendSlot(_ slot: Slot, command: Int32? = nil) {
        slots.append(slot)
        guard loop.timesRequests else { return }
        let command = command ?? currentCommand
        slotStarts!.append(SlotStart(time: loop.eventTime, command: command))
        if loop.logsSlowRequests { slotRequests!.append(SlowSlot(request: command == SlotStart.notARequest ? nil : currentRequest)) }
    }

    /// Takes the head slot out; what its request needs to be finished (`requestFinished`) once its
    /// reply is known, nil when the loop times nothing.
    @inline(__always)
    private func removeHeadSlot() -> (start: SlotStart, slow: SlowSlot?)? {
        slots.removeFirst()
        guard loop.timesRequests else { return nil }
        return (slotStarts!.removeFirst(), loop.logsSlowRequests ? slotRequests!.removeFirst() : nil)
    }

    /// The head slot left for the client with `reply` (an error when it starts with `-`).
    @inline(__always)
    private func slotLeft(reply: ByteBuffer?) {
        guard let head = removeHeadSlot() else { return }
        requestFinished(head.start, head.slow, reply: reply, at: reply?.readerIndex ?? 0)
    }

    /// `reply` holds the request's reply from `index` on.
    private func requestFinished(_ start: SlotStart, _ slow: SlowSlot?, reply: ByteBuffer?, at index: Int) {
        guard start.command != SlotStart.notARequest else { return }
        // The error's code is read only for what counts it (`/metrics`, INFO errorstats).
        let failed = loop.measures && reply?.getInteger(at: index) == UInt8(ascii: "-")
        loop.requestFinished(
            command: Int(start.command), started: start.time, backendNanoseconds: slow?.backendNanoseconds ?? 0,
            error: failed ? ErrorCode(reply!, at: index) : nil, request: slow?.request, session: self)
    }

    /// The reply for slot `sequence` is here (from a backend that took `backendNanoseconds`, when
    /// the loop times requests).
    func complete(_ sequence: UInt64, with reply: ByteBuffer, backendNanoseconds: UInt64 = 0) {
        guard let offset = slotOffset(sequence) else { return }
        noteReplySize(reply.readableBytes)
        if backendNanoseconds > 0, slotRequests != nil {
            slotRequests![slotRequests!.index(slotRequests!.startIndex, offsetBy: offset)].backendNanoseconds = backendNanoseconds
        }
        if offset == 0 {
            slotLeft(reply: reply)
            headSequence &+= 1
            emit(reply)
            writeReadySlots()
        } else {
            hold(reply, at: offset)
        }
    }

    /// Keeps a reply that must wait for an earlier one; the client is closed when that makes it
    /// hold more than its `client_output_buffer_limit`.
    private func hold(_ reply: ByteBuffer, at offset: Int) {
        slots[slots.index(slots.startIndex, offsetBy: offset)] = .ready(reply)
        heldReplyBytes += reply.readableBytes
        enforceOutputLimit()
    }

    /// The reply for slot `sequence` is built by `build`: straight into the outgoing buffer when the
    /// slot is at the head (merged replies avoid a buffer of their own).
    func complete(_ sequence: UInt64, writing build: (inout ByteBuffer) -> Void) {
        guard let offset = slotOffset(sequence) else { return }
        if offset == 0 {
            let head = removeHeadSlot()
            headSequence &+= 1
            let replyStart = outbound.writerIndex
            build(&outbound)
            if let head { requestFinished(head.start, head.slow, reply: outbound, at: replyStart) }
            markDirty()
            writeReadySlots()
        } else {
            var reply = ByteBuffer()
            build(&reply)
            hold(reply, at: offset)
        }
    }

    private func slotOffset(_ sequence: UInt64) -> Int? {
        guard isOpen else { return nil }
        let offset = Int(truncatingIfNeeded: sequence &- headSequence)
        return offset >= 0 && offset < slots.count ? offset : nil
    }

    /// Answers the current request locally: written at once when nothing is pending before it.
    /// `isRequest` false: a pub/sub push, which answers no request.
    func respond(isRequest: Bool = true, _ build: (inout ByteBuffer) -> Void) {
        let command = isRequest ? currentCommand : SlotStart.notARequest
        if slots.isEmpty {
            let start = outbound.writerIndex
            build(&outbound)
            if loop.timesRequests {
                requestFinished(
                    SlotStart(time: loop.eventTime, command: command), SlowSlot(request: isRequest ? currentRequest : nil),
                    reply: outbound, at: start)
            }
            markDirty()
        } else {
            var reply = ByteBuffer()
            build(&reply)
            holdBehindPending(reply, command: command)
        }
    }

    /// A local reply that replies still due from backends come before: it waits in a slot of its own.
    private func holdBehindPending(_ reply: ByteBuffer, command: Int32) {
        appendSlot(.waiting, command: command)
        hold(reply, at: slots.count - 1)
    }

    func respondError(_ message: String) {
        respond { $0.writeRESPError(message) }
    }

    /// A HELP reply: Redis's header line, `body`, then HELP itself (`CommandHelp.lines`).
    func respondHelp(_ command: String, _ body: [String]) {
        let lines = CommandHelp.lines(command, body)
        respond { reply in
            reply.writeRESPArrayHeader(lines.count)
            for line in lines { reply.writeRESPSimpleString(line) }
        }
    }

    /// Ends the session after every earlier reply and then `reply` (if any) are written (the
    /// machine is closing already). `answering`: whether that ends a request (QUIT) or not (a
    /// protocol error, a shutdown).
    private func finish(with reply: ByteBuffer?, answering: Bool = true) {
        appendSlot(.close(reply), command: answering ? nil : SlotStart.notARequest)
        writeReadySlots()
    }

    /// Shutdown: stop reading, close once in-flight replies are written.
    func drain() {
        guard machine.startClosing() else { return }
        finish(with: nil, answering: false)
        updateReadInterest()
    }

    private func writeReadySlots() {
        while let head = slots.first {
            switch head {
            case .waiting:
                return
            case .ready(let reply):
                slotLeft(reply: reply)
                headSequence &+= 1
                heldReplyBytes -= reply.readableBytes
                emit(reply)
            case .close(let reply):
                slotLeft(reply: reply)
                if let reply { emit(reply) }
                flush()
                isOpen = false
                context.close(promise: nil)
                return
            }
        }
        if barrier != nil && slots.isEmpty { liftBarrier() }
        if readingPaused { updateReadInterest() }
    }

    @inline(__always)
    private func emit(_ reply: ByteBuffer) {
        if reply.readableBytes >= BackendConnection.copyLimit {
            if outbound.readableBytes > 0 {
                context.write(wrapOutboundOut(outbound), promise: nil)
                outbound.clear()
            }
            context.write(wrapOutboundOut(reply), promise: nil)
        } else {
            outbound.writeImmutableBuffer(reply)
        }
        markDirty()
    }

    @inline(__always)
    private func markDirty() {
        guard !isDirty else { return }
        isDirty = true
        loop.markDirty(self)
    }

    func flush() {
        isDirty = false
        guard context.channel.isActive else { return }
        // Requests left waiting while the window was full: replies have come back since.
        if inputWaiting && !isClosing && !backendBlocked && !isBackedUp { processInput() }
        if outbound.readableBytes > 0 {
            context.write(wrapOutboundOut(outbound), promise: nil)
        }
        context.flush()
        // The write has completed (or holds its own reference): reuse the storage.
        outbound.clear()
        if outbound.capacity > 256 * 1024 { outbound = loop.allocator.buffer(capacity: 0) }
        if !context.channel.isWritable { enforceOutputLimit() }
    }

    // MARK: - Output limit

    /// Bytes of replies the client has not read: held in slots, gathered for the next flush, and
    /// still in the channel because the client's socket is full.
    var unsentReplyBytes: Int {
        var used = heldReplyBytes + outbound.readableBytes
        if !context.channel.isWritable,
            let buffered = try? context.channel.syncOptions?.getOption(.bufferedWritableBytes)
        {
            used += buffered
        }
        return used
    }

    /// Closes the client at once, dropping its replies, when it holds more unsent replies than the
    /// pool's `client_output_buffer_limit` (like Redis's hard output buffer limit).
    private func enforceOutputLimit() {
        let limit = runtime.config.clientOutputBufferLimit
        guard limit > 0, isOpen else { return }
        let used = unsentReplyBytes
        guard used > limit else { return }
        loop.stats.outputLimitDisconnections += 1
        loop.logger.warning(
            "client closed for exceeding client_output_buffer_limit",
            metadata: ["client": "\(remoteAddressText)", "unsent": "\(used)", "limit": "\(limit)"])
        _ = machine.startClosing()
        isOpen = false
        slots.removeAll()
        slotStarts?.removeAll()
        slotRequests?.removeAll()
        heldReplyBytes = 0
        outbound.clear()
        input = nil
        context.close(promise: nil)
    }

    // MARK: - Dispatch

    private func dispatch(_ request: RESPRequest) {
        loop.stats.commandsProcessed += 1
        currentCommand = -1
        if loop.logsSlowRequests { currentRequest = request }
        // Not kept past its dispatch: an idle client holds no request (slots keep their own).
        defer { if loop.logsSlowRequests { currentRequest = nil } }
        guard let resolved = runtime.commands.resolve(request) else {
            return unknownCommand(request)
        }
        var spec = resolved.command
        var policy = runtime.policies[spec.id]
        if spec.hasSubcommands, case .local = policy {
            // Local containers (CLIENT, COMMAND) check their own subcommands.
        } else if resolved.subcommandIsUnknown {
            return perform(machine.invalidRequest(RedisErrors.unknownSubcommand(request.string(1), of: spec.name)))
        } else if let sub = resolved.subcommand {
            spec = sub
            policy = runtime.policies[sub.id]
        }
        currentCommand = Int32(truncatingIfNeeded: spec.id)
        loop.stats.commandCalls[spec.id] += 1
        if isMonitor && spec.touchesKeyspace { return respondError(RedisErrors.monitorTouchesKeyspace) }
        // A local container (CLIENT, ACL) keeps its own spec here; ACL rules name its subcommands,
        // and an unknown one gets its error from the container, before any permission, as in Redis.
        let checked = resolved.subcommandIsUnknown ? nil : resolved.subcommand ?? spec
        let action = machine.requestReceived(spec, policy: policy, argumentCount: request.argumentCount) { user in
            checked.flatMap { Self.refusal(of: user, $0, request) }
        }
        // MONITOR shows what runs, as Redis does: not what NOAUTH, NOPERM or arity refused.
        if loop.pool.monitorCount.load(ordering: .relaxed) > 0, action.runs { feedMonitors(request, spec: spec, policy: policy) }
        perform(action, request, spec: spec)
    }

    /// Why `user` may not run `spec` with `request`'s arguments (its commands, keys and channels,
    /// as the data node checks them): Redis's NOPERM error, or nil.
    static func refusal(of user: ACLUser, _ spec: CommandSpec, _ request: RESPRequest) -> String? {
        user.check(spec, ACLArguments(request)).map { $0.error(spec) }
    }

    /// Does what the machine decided for `request`.
    @inline(__always)
    private func perform(_ action: Machine.RequestAction, _ request: RESPRequest, spec: CommandSpec) {
        switch action {
        case .run(let policy):
            run(request, spec: spec, policy: policy)
        case .queue(let keys):
            queueInTransaction(request, spec: spec, keys: keys)
        case .reply(let reply):
            respond(reply)
        case .error(let message):
            respondError(message)
        case .watch:
            watch(request, spec: spec)
        case .unwatch(let lease):
            unwatch(lease, request)
        case .execute(let transaction, let group):
            execute(transaction, group: group)
        case .executeWatched(let transaction, let lease):
            executeWatched(transaction, on: lease)
        case .abortTransaction(let lease):
            if let lease { unwatch(lease) }
            respondError(Machine.execAbortError)
        case .discard(let lease):
            if let lease { unwatch(lease) }
            respond(.ok)
        case .close(let reply):
            finish(with: reply.map { reply in
                var buffer = ByteBuffer()
                buffer.writeStaticString(reply.bytes)
                return buffer
            })
        case .drop:
            break
        }
    }

    /// Runs a request the machine let through, as its command's policy says.
    @inline(__always)
    private func run(_ request: RESPRequest, spec: CommandSpec, policy: CommandPolicy) {
        switch policy {
        case .forward(let write):
            forward(request, spec: spec, write: write)
        case .split(let kind, let write):
            split(request, spec: spec, kind: kind, write: write)
        case .local(let command):
            answerLocally(command, request)
        case .everyGroup(let merge, let write):
            sendToEveryGroup(request, merge: merge, write: write)
        case .pubsub(let command):
            pubSubCommand(command, request)
        case .byChannel:
            sendByChannel(request)
        case .keylessGroup(let write):
            sendToKeylessGroup(request, write: write, spec: spec)
        case .scan:
            scan(request)
        case .blocking:
            sendBlocking(request, spec: spec)
        case .refused(let reason):
            respondError(ProxyErrors.unsupported(spec.name, because: reason))
        case .transaction, .closeSilently:
            // The machine answers these itself.
            break
        }
    }

    /// A reply from static bytes.
    func respond(_ reply: Machine.LocalReply) {
        guard !slots.isEmpty else { return respond { $0.writeStaticString(reply.bytes) } }
        holdBehindPending(Self.sharedBuffer(reply), command: currentCommand)
    }

    /// A local reply's bytes in a buffer made once and shared: a reply that must wait behind
    /// others in its own slot (a pipelined transaction's `+QUEUED`) then costs no allocation.
    private static func sharedBuffer(_ reply: Machine.LocalReply) -> ByteBuffer {
        switch reply {
        case .ok: return okBuffer
        case .queued: return queuedBuffer
        case .emptyArray: return emptyArrayBuffer
        }
    }
    private static let okBuffer = ByteBuffer(staticString: Machine.LocalReply.ok.bytes)
    private static let queuedBuffer = ByteBuffer(staticString: Machine.LocalReply.queued.bytes)
    private static let emptyArrayBuffer = ByteBuffer(staticString: Machine.LocalReply.emptyArray.bytes)

    /// CROSSSLOT for keys that live in `groups` (counted; the groups named once each, in order).
    func respondCrossSlot(_ groups: [Int]) {
        loop.stats.crossSlotErrors += 1
        var names: [String] = []
        for group in groups where !names.contains(loop.groups[group].name) { names.append(loop.groups[group].name) }
        respondError(ProxyErrors.crossSlot(names))
    }

    private func unknownCommand(_ request: RESPRequest) {
        let name = request.string(0)
        if CrossProtocolGuard.isHTTPLine(name) { return perform(machine.crossProtocolProbe()) }
        if name.lowercased() == "proxy" { return proxyCommand(request) }
        loop.stats.commandCalls[loop.stats.commandCalls.count - 1] += 1
        let arguments = (1..<min(request.argumentCount, 128)).map { request.string($0) }
        perform(machine.invalidRequest(RedisErrors.unknownCommand(name, arguments: arguments)))
    }

    private func perform(_ action: Machine.InvalidRequestAction) {
        switch action {
        case .error(let message): respondError(message)
        case .close: finish(with: nil)
        case .drop: break
        }
    }

    /// Sends a request whose keys all live in one group.
    private func forward(_ request: RESPRequest, spec: CommandSpec, write: Bool) {
        if spec.flags.contains(.blocking) && Self.blocks(request) { return sendBlocking(request, spec: spec) }
        let group: Int
        if let keyIndex = spec.singleKeyIndex {
            guard let owner = request.withArgument(keyIndex, { loop.group(forKey: $0) }) else {
                return respondError(ProxyErrors.noGroup(spec.name))
            }
            group = owner
        } else {
            let keys = keyGroups(request, spec: spec)
            switch keys {
            case .failed(let message):
                return respondError(message)
            case .groups(let groups):
                // EVAL/FCALL with no keys: the keyless group runs it.
                guard let first = groups.first else { return sendToKeylessGroup(request, write: write) }
                guard groups.allSatisfy({ $0 == first }) else { return respondCrossSlot(groups) }
                group = first
            }
        }
        send(request.frame, toGroup: group, write: write, target: replyTarget(write: write, group: group))
    }

    /// The owning group of every key of `request`, in key order.
    func keyGroups(_ request: RESPRequest, spec: CommandSpec) -> KeyGroups {
        if let keyIndex = spec.singleKeyIndex {
            guard let group = request.withArgument(keyIndex, { loop.group(forKey: $0) }) else {
                return .failed(ProxyErrors.noGroup(spec.name))
            }
            return .groups([group])
        }
        let spans = request.allSpans()
        var sortPatterns = false
        let found = request.frame.withUnsafeReadableBytes { bytes -> KeyGroups in
            func argument(_ index: Int) -> UnsafeRawBufferPointer {
                UnsafeRawBufferPointer(rebasing: bytes[spans[index].range])
            }
            let indices: [Int]
            do throws(KeyExtractionError) {
                indices = try spec.keyIndices(argumentCount: request.argumentCount, argument: argument)
            } catch {
                switch error {
                case .invalidArguments:
                    return .failed(ProxyErrors.badKeyArguments(spec.name))
                case .incompleteKeySpecs:
                    // With one group there is one possible destination whatever the keys are.
                    if loop.groups.count == 1 { return .groups([0]) }
                    if spec.isNamed("sort") || spec.isNamed("sort_ro") {
                        sortPatterns = true
                        return .groups([])
                    }
                    return .failed(ProxyErrors.unsupported(spec.name, because: "its keys cannot be located"))
                }
            }
            var groups: [Int] = []
            groups.reserveCapacity(indices.count)
            for index in indices {
                guard let group = loop.group(forKey: argument(index)) else {
                    return .failed(ProxyErrors.noGroup(spec.name))
                }
                groups.append(group)
            }
            return .groups(groups)
        }
        return sortPatterns ? sortGroups(request, spec: spec) : found
    }

    /// Chooses the backend of `group` for a read or write and sends `frame` to it.
    func send(_ frame: ByteBuffer, toGroup group: Int, write: Bool, target: ReplyTarget) {
        guard let connection = connection(forGroup: group, write: write, failing: target) else { return }
        connection.send(frame, to: target)
        if connection.isCongested { wait(for: connection) }
    }

    /// Stops reading (and running buffered requests) until `connection` is no longer congested.
    private func wait(for connection: BackendConnection) {
        backendBlocked = true
        connection.waitUntilUncongested(self)
    }

    /// The connection a read or write for `group` goes to; nil (after failing `target` with the
    /// reason) when there is none.
    func connection(forGroup group: Int, write: Bool, failing target: ReplyTarget) -> BackendConnection? {
        // A client with a lease on this group (it watches keys, or a blocking command of its is in
        // flight) talks to the group over it, reads included, so its requests keep their order.
        if let lease = machine.heldLease(forGroup: group) { return lease.connection }
        let backends = loop.groups[group]
        let set: BackendSet
        if write {
            guard let master = backends.master else {
                target.fail(ProxyErrors.noMaster(backends.name, problem: backends.problem))
                return nil
            }
            set = master
        } else {
            let writtenAt = machine.lastWriteAcknowledged(group: group)
            guard let chosen = backends.readTarget(runtime.config.readPolicy, writtenAt: writtenAt) else {
                if backends.master == nil {
                    target.fail(ProxyErrors.noMaster(backends.name, problem: backends.problem))
                } else {
                    target.fail(ProxyErrors.noReplica(backends.name))
                }
                return nil
            }
            set = chosen
        }
        if database != runtime.config.database { return set.pick(protocolVersion: protocolVersion, database: database) }
        return set.pick(protocolVersion: protocolVersion)
    }

    /// The target for a request's reply: with read-your-writes, a write's acknowledgement is noted.
    @inline(__always)
    func replyTarget(write: Bool, group: Int) -> ReplyTarget {
        let sequence = reserveSlot()
        if write { machine.wrote(toGroup: group) }
        if write && machine.tracksWriteAcknowledgements { return .clientWrite(self, sequence: sequence, group: group) }
        return .client(self, sequence: sequence)
    }

    /// Read-your-writes: the client's write to `group` was acknowledged now.
    func noteWriteAcknowledged(group: Int) {
        if machine.tracksWriteAcknowledgements { machine.writeAcknowledged(group: group, at: .now()) }
    }

    /// MGET, MSET, DEL, UNLINK, EXISTS, TOUCH: one request per group, merged in key order.
    private func split(_ request: RESPRequest, spec: CommandSpec, kind: SplitKind, write: Bool) {
        let width = kind == .pairs ? 2 : 1
        guard (request.argumentCount - 1) % width == 0 else {
            return respondError(RedisErrors.wrongArity(spec.name))
        }
        let spans = request.allSpans()
        var groups: [Int] = []
        groups.reserveCapacity(request.argumentCount / width)
        let failed: Bool = request.frame.withUnsafeReadableBytes { bytes in
            var index = 1
            while index < request.argumentCount {
                guard let group = loop.group(forKey: UnsafeRawBufferPointer(rebasing: bytes[spans[index].range]))
                else { return true }
                groups.append(group)
                index += width
            }
            return false
        }
        if failed { return respondError(ProxyErrors.noGroup(spec.name)) }
        if groups.allSatisfy({ $0 == groups[0] }) {
            return send(request.frame, toGroup: groups[0], write: write, target: replyTarget(write: write, group: groups[0]))
        }
        loop.stats.splitCommands += 1
        let fanOut = FanOut(kind: kind, session: self, sequence: reserveSlot(), keyGroups: groups, write: write)
        loop.stats.fragments += fanOut.parts.count
        for part in fanOut.parts.indices {
            let target = ReplyTarget.part(fanOut, index: part)
            guard let connection = connection(forGroup: fanOut.parts[part].group, write: write, failing: target)
            else { continue }
            connection.send(to: target) { buffer in
                fanOut.encodePart(part, of: request, spans: spans, keyGroups: groups, width: width, into: &buffer)
            }
            if connection.isCongested { wait(for: connection) }
        }
    }
}
