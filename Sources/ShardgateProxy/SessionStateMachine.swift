import ACL
import Commands
import NIOCore
import OrderedCollections

/// What the session machine knows of a backend connection lent to one client (`Lease`; tests use
/// their own): enough to pick it for a request, never to do I/O on it.
protocol SessionLease: AnyObject {
    var group: Int { get }
    var protocolVersion: Int { get }
    var database: Int { get }
}

/// One client's protocol state, without I/O: whether it authenticated, the RESP version it chose
/// with HELLO, its database, its subscriptions, its MULTI queue, the connections lent to it and the
/// one that carries its WATCH, and whether the session is closing.
///
/// `ClientSession` (the channel handler) parses a request, resolves its spec and policy, and hands
/// them to `requestReceived`; the machine decides and returns what to do as a concrete enum, and
/// the handler does it (routes, writes, leases, closes). Other events — a backend's answer to a
/// SELECT, a lease that now carries a WATCH, RESET, the connection going away — come in the same
/// way. Time is passed in, never read here, so every state is a unit test that runs in microseconds.
/// Leases are `LeaseHandle`s: the handler takes them from the loop's pool and gives them back when
/// the machine says so; the machine decides which one a request uses and when one is done.
///
/// The per-request path for a plain GET or SET is a few comparisons and one switch: no allocation
/// (error texts are built only when an error is answered).
struct SessionStateMachine<LeaseHandle: SessionLease> {
    /// Whether requests are still read.
    enum Phase: Equatable, Sendable {
        /// Requests are read and run.
        case open
        /// QUIT, a protocol error, a cross-protocol probe, CLIENT KILL or shutdown: nothing more is
        /// read; the connection closes once the replies due before are written.
        case closing
        /// The connection is gone.
        case closed
    }

    private(set) var phase: Phase = .open
    private(set) var isAuthenticated: Bool
    /// The user the client runs as: the default user until AUTH or HELLO AUTH names another.
    private(set) var user: ACLUser
    /// RESP version chosen with HELLO: replies come from backend connections speaking the same one.
    private(set) var protocolVersion = 2
    /// The database this client SELECTed (the pool's `database` until it does).
    private(set) var database: Int
    /// Between MULTI and EXEC/DISCARD: the commands queued so far.
    private(set) var transaction: Transaction?
    /// Connections lent to this client (one per group, RESP version and database at most): while it
    /// blocks (BLPOP…), waits (WAIT) or watches keys, its requests for that group go there, in order.
    private(set) var leases: [LeaseHandle] = []
    /// The lease that carries the client's WATCH, from the moment it is sent there until EXEC,
    /// DISCARD, UNWATCH or RESET.
    private(set) var watching: LeaseHandle?
    /// The group whose keys the client watches.
    var watchedGroup: Int? { watching?.group }
    /// The channels, patterns and shard channels this client subscribed to, in order (an
    /// unsubscribe-all walks them in that order, as Redis does).
    private(set) var subscriptions = OrderedSet<SubscriptionKey>()
    /// The groups this client wrote to since its last WAIT (bit g; all bits when g >= 64).
    private(set) var writtenGroups: UInt64 = 0
    /// What the client said about itself (CLIENT SETNAME, SETINFO, NO-EVICT, NO-TOUCH; HELLO SETNAME).
    private(set) var attributes = ClientAttributes()
    /// When the client last sent something (CLIENT LIST's idle).
    private(set) var lastActive: NIODeadline
    /// When the connection was accepted (CLIENT LIST's age).
    let createdAt: NIODeadline
    /// Read-your-writes: per group, when this client's last write there was acknowledged (empty when
    /// the pool does not ask for read-your-writes).
    private var writeAcknowledged: [NIODeadline]

    /// The pool's users (`users:`, and `password:` for the default user). A reload replaces them
    /// (`usersReloaded`).
    private(set) var users: ProxyUsers
    /// The pool's `database`: a client's database until it SELECTs another, and again after RESET.
    let defaultDatabase: Int
    /// The pool's `keyless_group`: where a transaction without keys goes, and what WAIT waits for
    /// when the client wrote nowhere.
    let keylessGroup: Int

    init(users: ProxyUsers, database: Int, keylessGroup: Int = 0, readYourWritesGroups: Int = 0, now: NIODeadline) {
        self.users = users
        self.user = users.defaultUser
        self.keylessGroup = keylessGroup
        self.isAuthenticated = users.defaultUserNeedsNoAuth
        self.defaultDatabase = database
        self.database = database
        self.createdAt = now
        self.lastActive = now
        self.writeAcknowledged = Array(repeating: .distantPast, count: readYourWritesGroups)
    }

    // MARK: - Requests

    /// A reply the proxy writes itself, from static bytes.
    enum LocalReply: Equatable, Sendable {
        case ok
        case queued
        case emptyArray

        var bytes: StaticString {
            switch self {
            case .ok: return "+OK\r\n"
            case .queued: return "+QUEUED\r\n"
            case .emptyArray: return "*0\r\n"
            }
        }
    }

    /// Inside MULTI, what decides the group of a command before it is queued.
    enum QueueKeys: Equatable, Sendable {
        /// No keys (PING, ECHO, a keyless command): it fits any transaction.
        case none
        /// The command's keys, from its key specs.
        case command
        /// PUBLISH: its channel, placed as a key would be.
        case channel
    }

    /// What the handler does with one request.
    enum RequestAction {
        /// False when the request is refused or the session closes instead of running it.
        var runs: Bool {
            switch self {
            case .error, .close, .drop: false
            default: true
            }
        }

        /// Run it as `policy` says: route it to its group(s), or answer it locally. The common path.
        case run(CommandPolicy)
        /// Inside MULTI: find the groups of its keys (`keys`), then call `queue(_:keys:)`.
        case queue(QueueKeys)
        /// Answer with a static reply.
        case reply(LocalReply)
        /// Answer with this error.
        case error(String)
        /// WATCH: find the one group its keys live in, then call `watch(group:)`.
        case watch
        /// UNWATCH of a watching client: the request goes on the watch's lease, which answers it.
        case unwatch(LeaseHandle)
        /// EXEC: `MULTI`, the queued frames and `EXEC` go to `group`'s master as one block.
        case execute(Transaction, group: Int)
        /// EXEC of a client that watches: the block goes on `lease` (the server checks the watched
        /// keys there), which may go back afterwards.
        case executeWatched(Transaction, on: LeaseHandle)
        /// EXEC after a queue-time error: `-EXECABORT`, nothing sent; the WATCH on `unwatch` first
        /// ends (an UNWATCH nobody reads).
        case abortTransaction(unwatch: LeaseHandle?)
        /// DISCARD: `+OK`; the WATCH on `unwatch` ends first.
        case discard(unwatch: LeaseHandle?)
        /// Write every reply due before, then `reply` (if any), then close.
        case close(LocalReply?)
        /// The session is closing: nothing more runs.
        case drop
    }

    static var execAbortError: String { "EXECABORT Transaction discarded because of previous errors." }

    /// A request whose command is `spec` (the subcommand for a container given one) and whose
    /// policy is `policy`, with `argumentCount` arguments (the name included). `refusal` says why
    /// the client's user may not run it (Redis's NOPERM error), or nil; it is asked only for a user
    /// with restrictions, after the NOAUTH check, as Redis orders them.
    @inline(__always)
    mutating func requestReceived(
        _ spec: CommandSpec, policy: CommandPolicy, argumentCount: Int, refusal: (ACLUser) -> String? = { _ in nil }
    ) -> RequestAction {
        guard phase == .open else { return .drop }
        if case .closeSilently = policy { return close(nil) }
        guard spec.acceptsArgumentCount(argumentCount) else { return reject(RedisErrors.wrongArity(spec.name)) }
        if !isAuthenticated && !spec.flags.contains(.noAuth) { return reject(RedisErrors.noAuth) }
        if !user.unrestricted, let refused = refusal(user) { return reject(refused) }
        if !subscriptions.isEmpty && protocolVersion == 2 && !Self.allowedWhileSubscribed(policy) {
            return .error(Self.subscribedModeError(spec.name))
        }
        if transaction != nil && !Self.runsImmediately(policy) { return queueing(spec, policy) }
        switch policy {
        case .transaction(let command): return transactionCommand(command)
        case .local(.quit): return close(.ok)
        default: return .run(policy)
        }
    }

    /// What the handler does with a request that names no command it can run.
    enum InvalidRequestAction: Equatable {
        case error(String)
        /// Close without a reply.
        case close
        case drop
    }

    /// A request naming no command, or a container's unknown subcommand: answered with `message`,
    /// and a transaction in progress is doomed, as in Redis.
    mutating func invalidRequest(_ message: String) -> InvalidRequestAction {
        guard phase == .open else { return .drop }
        if transaction != nil { _ = transaction!.reject(message) }
        return .error(message)
    }

    /// An HTTP request line where a command was expected (Redis's cross-protocol scripting guard):
    /// closed without a reply.
    mutating func crossProtocolProbe() -> InvalidRequestAction {
        guard phase == .open else { return .drop }
        phase = .closing
        return .close
    }

    /// A RESP2 client with subscriptions may only run these (Redis's rule); RESP3 clients may run
    /// anything.
    static func allowedWhileSubscribed(_ policy: CommandPolicy) -> Bool {
        switch policy {
        case .pubsub, .local(.ping), .local(.quit), .local(.reset), .closeSilently: return true
        default: return false
        }
    }

    static func subscribedModeError(_ name: String) -> String {
        "ERR Can't execute '\(name)': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
    }

    /// Commands that run at once even inside MULTI (Redis's exceptions, and QUIT).
    static func runsImmediately(_ policy: CommandPolicy) -> Bool {
        switch policy {
        case .transaction(let command): return command != .unwatch
        case .local(.quit), .local(.reset), .closeSilently: return true
        default: return false
        }
    }

    /// A PING of a subscribed RESP2 client is answered as a message-shaped array.
    var answersPingAsMessage: Bool { !subscriptions.isEmpty && protocolVersion == 2 }

    private mutating func close(_ reply: LocalReply?) -> RequestAction {
        phase = .closing
        return .close(reply)
    }

    /// A request refused before it runs; inside MULTI this also dooms the transaction, as in Redis.
    private mutating func reject(_ message: String) -> RequestAction {
        if transaction != nil { _ = transaction!.reject(message) }
        return .error(message)
    }

    // MARK: - MULTI, EXEC, DISCARD, WATCH, UNWATCH

    private mutating func transactionCommand(_ command: TransactionCommand) -> RequestAction {
        switch command {
        case .multi:
            guard transaction == nil else { return .error("ERR MULTI calls can not be nested") }
            transaction = Transaction(group: watchedGroup)
            return .reply(.ok)
        case .exec:
            guard let queued = transaction else { return .error("ERR EXEC without MULTI") }
            transaction = nil
            let execution = queued.execution(keylessGroup: keylessGroup)
            if execution == .abort {
                return .abortTransaction(unwatch: endWatch())
            }
            // WATCH's check happens on the server, so a watching client's EXEC always reaches it.
            if let lease = endWatch() { return .executeWatched(queued, on: lease) }
            switch execution {
            case .abort, .empty: return .reply(.emptyArray)
            case .send(let group): return .execute(queued, group: group)
            }
        case .discard:
            guard transaction != nil else { return .error("ERR DISCARD without MULTI") }
            transaction = nil
            return .discard(unwatch: endWatch())
        case .watch:
            guard transaction == nil else { return .error("ERR WATCH inside MULTI is not allowed") }
            return .watch
        case .unwatch:
            guard let lease = endWatch() else { return .reply(.ok) }
            return .unwatch(lease)
        }
    }

    /// Ends the WATCH, if any: the lease that carried it.
    private mutating func endWatch() -> LeaseHandle? {
        defer { watching = nil }
        return watching
    }

    /// Inside MULTI: whether and how `spec` can be queued.
    private mutating func queueing(_ spec: CommandSpec, _ policy: CommandPolicy) -> RequestAction {
        if spec.flags.contains(.noMulti) { return reject("ERR Command not allowed inside a transaction") }
        if spec.isNamed("config|get") {
            // EXEC's reply is passed on whole, so the backends' secrets could not be taken out of it.
            return reject(ProxyErrors.unsupported(spec.name, because: "inside a transaction its reply would show the backends' passwords"))
        }
        switch policy {
        case .forward, .split, .blocking:
            return .queue(.command)
        case .local(.ping), .local(.echo), .transaction(.unwatch), .keylessGroup:
            return .queue(.none)
        case .byChannel:
            return .queue(.channel)
        case .refused(let reason):
            return reject(ProxyErrors.unsupported(spec.name, because: reason))
        case .everyGroup, .scan:
            return reject(ProxyErrors.unsupported(spec.name, because: "inside a transaction it would need every group at once"))
        case .pubsub, .local, .transaction, .closeSilently:
            return reject(ProxyErrors.unsupported(spec.name, because: "it cannot run inside a transaction through the proxy"))
        }
    }

    /// What a command queued inside MULTI is answered.
    enum QueueAction: Equatable {
        case reply(LocalReply)
        /// The command's keys live in `groups`, not all the transaction's: `-CROSSSLOT`, and the
        /// transaction is doomed.
        case crossSlot([Int])
        case error(String)
    }

    /// Queues `frame`, whose keys were found in `keys`.
    mutating func queue(_ frame: ByteBuffer, keys: KeyGroups) -> QueueAction {
        guard transaction != nil else { return .error("ERR shardgate: no transaction to queue in") }
        switch keys {
        case .failed(let message):
            _ = transaction!.reject(message)
            return .error(message)
        case .groups(let groups):
            if let stray = transaction!.queue(frame, keyGroups: groups) {
                return .crossSlot([transaction!.group ?? stray, stray])
            }
            return .reply(.queued)
        }
    }

    /// What WATCH does once the group of its keys is known.
    enum WatchAction: Equatable {
        /// The client already watches keys of another group: `-CROSSSLOT` naming both.
        case crossSlot([Int])
        /// Send WATCH on the client's lease of `group` (`watching`, or one it holds or takes; once
        /// every earlier reply is in, unless it holds one on the group already), then report
        /// `watchStarted(on:)`.
        case send(group: Int)
    }

    func watch(group: Int) -> WatchAction {
        if let watchedGroup, watchedGroup != group { return .crossSlot([watchedGroup, group]) }
        return .send(group: group)
    }

    /// `lease` carries the client's WATCH now.
    mutating func watchStarted(on lease: LeaseHandle) {
        watching = lease
    }

    // MARK: - Leases

    /// The lease a request for `group` goes on: the one the client holds there in its current RESP
    /// version and database, if any (its requests there then keep their order).
    @inline(__always)
    func heldLease(forGroup group: Int) -> LeaseHandle? {
        if leases.isEmpty { return nil }
        return leases.first { $0.group == group && $0.protocolVersion == protocolVersion && $0.database == database }
    }

    /// Whether the client holds a lease on `group`: a new request there needs no wait for the
    /// client's earlier replies.
    func holdsLease(onGroup group: Int) -> Bool {
        leases.contains { $0.group == group }
    }

    /// The handler took `lease` from the loop's pool for this client.
    mutating func leaseAcquired(_ lease: LeaseHandle) {
        leases.append(lease)
    }

    /// Nothing is in flight on `lease` any more: whether it goes back to the pool now (it does
    /// unless it carries the client's WATCH); it is no longer the client's then.
    mutating func leaseIdle(_ lease: LeaseHandle) -> Bool {
        guard lease !== watching, let index = leases.firstIndex(where: { $0 === lease }) else { return false }
        leases.remove(at: index)
        return true
    }

    /// The client holds a lease and watches nothing: a blocking command or WAIT of its is in
    /// flight (CLIENT LIST's flag `b`).
    var isBlocked: Bool { !leases.isEmpty && watching == nil }

    // MARK: - AUTH, HELLO, SELECT, RESET

    /// A reload replaced the pool's users: the client keeps its authentication (as Redis keeps it
    /// when `requirepass` changes) and runs as its user's new definition; one not authenticated
    /// needs no AUTH any more once the default user needs no password (Redis asks per command).
    /// False when its user is gone.
    mutating func usersReloaded(_ new: ProxyUsers) -> Bool {
        users = new
        guard let same = new[user.name] else { return false }
        user = same
        if new.defaultUserNeedsNoAuth { isAuthenticated = true }
        return true
    }

    /// AUTH [user] password: nil when accepted, else the error to answer. `AUTH password` while the
    /// default user needs none is Redis's configuration error.
    mutating func auth(user name: String?, password: [UInt8]) -> String? {
        if name == nil && users.defaultUser.noPass { return RedisErrors.authWithoutPassword }
        guard authenticate(user: name, password: password) else { return RedisErrors.wrongPass }
        return nil
    }

    /// HELLO's AUTH option: whether user `name` (the default user when nil) is on and takes
    /// `password`; the client then runs as that user. A refusal changes nothing, as in Redis.
    mutating func authenticate(user name: String?, password: [UInt8]) -> Bool {
        guard let accepted = users.authenticate(user: name, password: password) else { return false }
        user = accepted
        isAuthenticated = true
        return true
    }

    static var helloNoAuthError: String {
        "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"
    }

    /// Why HELLO cannot run now (its options parsed, AUTH applied), or nil.
    var helloRefusal: String? { isAuthenticated ? nil : Self.helloNoAuthError }

    /// HELLO's protocol switch (after `helloRefusal` said nil).
    mutating func hello(protocolVersion version: Int) {
        guard isAuthenticated else { return }
        protocolVersion = version
    }

    static var databaseOutOfRange: String { "ERR DB index is out of range" }

    /// What SELECT does.
    enum SelectAction: Equatable {
        case error(String)
        /// Ask the keyless group's master about `database` (a PING on a connection to it), then
        /// report `selected(_:)` if it exists.
        case check(database: Int)
    }

    /// SELECT `index`. Refused while the client holds a lease, which belongs to the database it was
    /// taken in.
    func select(_ index: Int) -> SelectAction {
        guard index >= 0 else { return .error(Self.databaseOutOfRange) }
        guard leases.isEmpty else {
            return .error(ProxyErrors.unsupported(
                "select", because: "this client holds a leased connection (WATCH or a blocking command in flight)"))
        }
        return .check(database: index)
    }

    /// The backend confirmed the SELECTed database.
    mutating func selected(_ database: Int) {
        self.database = database
    }

    /// What RESET leaves behind for the handler to undo.
    struct ResetAction {
        /// The client watched keys: an UNWATCH goes on this lease (nobody reads its reply).
        var unwatch: LeaseHandle?
        /// Subscriptions to leave upstream.
        var subscriptions: OrderedSet<SubscriptionKey>
    }

    /// RESET: the connection as new (no transaction, watch, subscription, selected database or name,
    /// RESP2, the default user, authenticated only if it needs no password, NO-EVICT and NO-TOUCH off).
    mutating func reset() -> ResetAction {
        transaction = nil
        attributes.name = nil
        attributes.noEvict = false
        attributes.noTouch = false
        let action = ResetAction(unwatch: endWatch(), subscriptions: subscriptions)
        subscriptions.removeAll()
        protocolVersion = 2
        database = defaultDatabase
        user = users.defaultUser
        isAuthenticated = users.defaultUserNeedsNoAuth
        return action
    }

    // MARK: - CLIENT attributes

    /// CLIENT SETNAME or HELLO's SETNAME: nil when set (an empty name clears it), else the error.
    mutating func setName(_ name: String) -> String? {
        guard ClientAttributes.isPrintable(name) else { return RedisErrors.badClientName }
        attributes.name = name.isEmpty ? nil : name
        return nil
    }

    /// CLIENT SETINFO `attribute` `value` (`attribute` lowercased, `option` as the client spelled
    /// it): nil when set, else the error.
    mutating func setInfo(_ attribute: String, option: String, value: String) -> String? {
        guard attribute == "lib-name" || attribute == "lib-ver" else { return "ERR Unrecognized option '\(option)'" }
        guard ClientAttributes.isPrintable(value) else {
            return "ERR \(attribute) cannot contain spaces, newlines or special characters."
        }
        if attribute == "lib-name" { attributes.libraryName = value } else { attributes.libraryVersion = value }
        return nil
    }

    /// CLIENT NO-EVICT / NO-TOUCH on|off.
    mutating func setNoEvict(_ on: Bool) {
        attributes.noEvict = on
    }

    mutating func setNoTouch(_ on: Bool) {
        attributes.noTouch = on
    }

    // MARK: - Subscriptions

    /// One confirmation of a (P|S)(UN)SUBSCRIBE, in Redis's words: the name (nil when an
    /// unsubscribe-all had nothing to leave) and the count of subscriptions after it.
    struct Confirmation: Equatable {
        var name: [UInt8]?
        var count: Int
    }

    /// (P|S)SUBSCRIBE `names`: one confirmation each (a name subscribed twice counts once). The
    /// handler subscribes each name upstream and sends the confirmations once all are active.
    mutating func subscribe(_ kind: SubscriptionKind, _ names: [[UInt8]]) -> [Confirmation] {
        names.map { name in
            subscriptions.append(SubscriptionKey(kind: kind, name: name))
            return Confirmation(name: name, count: subscriptionCount(for: kind))
        }
    }

    /// What a (P|S)UNSUBSCRIBE does.
    struct UnsubscribeAction {
        /// Answered at once, in order.
        var confirmations: [Confirmation]
        /// Subscriptions to leave upstream (the ones the client had).
        var leave: [SubscriptionKey]
    }

    /// (P|S)UNSUBSCRIBE `requested` (every name of `kind`, in subscription order, when empty).
    mutating func unsubscribe(_ kind: SubscriptionKind, _ requested: [[UInt8]]) -> UnsubscribeAction {
        let names = requested.isEmpty ? subscriptions.filter { $0.kind == kind }.map(\.name) : requested
        guard !names.isEmpty else {
            return UnsubscribeAction(confirmations: [Confirmation(name: nil, count: subscriptionCount(for: kind))], leave: [])
        }
        var action = UnsubscribeAction(confirmations: [], leave: [])
        for name in names {
            let key = SubscriptionKey(kind: kind, name: name)
            if subscriptions.remove(key) != nil { action.leave.append(key) }
            action.confirmations.append(Confirmation(name: name, count: subscriptionCount(for: kind)))
        }
        return action
    }

    /// What a SUBSCRIBE-family reply counts: channels and patterns together, shard channels apart.
    func subscriptionCount(for kind: SubscriptionKind) -> Int {
        subscriptions.filter { ($0.kind == .shardChannel) == (kind == .shardChannel) }.count
    }

    /// Subscriptions of exactly `kind` (CLIENT LIST's sub/psub/ssub).
    func subscriptionCount(ofKind kind: SubscriptionKind) -> Int {
        subscriptions.filter { $0.kind == kind }.count
    }

    // MARK: - Closing

    /// Shutdown, CLIENT KILL, a protocol error or the output limit: nothing more is read. False when
    /// the session was already closing.
    mutating func startClosing() -> Bool {
        guard phase == .open else { return false }
        phase = .closing
        return true
    }

    /// What the handler undoes when the connection is gone.
    struct ClosedAction {
        /// Subscriptions to leave upstream.
        var subscriptions: OrderedSet<SubscriptionKey>
        /// Leases to close, not give back: the servers then drop what they were doing for the
        /// client (a blocked pop pops nothing for a client that is gone).
        var leases: [LeaseHandle]
    }

    /// The connection is gone.
    mutating func closed() -> ClosedAction {
        phase = .closed
        transaction = nil
        watching = nil
        let action = ClosedAction(subscriptions: subscriptions, leases: leases)
        subscriptions.removeAll()
        leases.removeAll()
        return action
    }

    // MARK: - Time and writes

    /// The client sent something at `now`.
    @inline(__always)
    mutating func readArrived(at now: NIODeadline) {
        lastActive = now
    }

    /// Seconds since the connection was accepted and since the client last sent something.
    func ageAndIdleSeconds(at now: NIODeadline) -> (age: Int64, idle: Int64) {
        ((now - createdAt).nanoseconds / 1_000_000_000, (now - lastActive).nanoseconds / 1_000_000_000)
    }

    /// A write goes to `group` (WAIT waits for the groups written since the last WAIT).
    @inline(__always)
    mutating func wrote(toGroup group: Int) {
        writtenGroups |= group < 64 ? 1 << UInt64(group) : .max
    }

    /// WAIT: the groups written to since the last WAIT (`keylessGroup` if none), forgotten now.
    mutating func takeWrittenGroups(groupCount: Int) -> [Int] {
        var groups = (0..<groupCount).filter { writtenGroups & (1 << UInt64(min($0, 63))) != 0 }
        if groups.isEmpty { groups = [keylessGroup] }
        writtenGroups = 0
        return groups
    }

    /// Whether the pool wants read-your-writes (writes' acknowledgements are noted).
    var tracksWriteAcknowledgements: Bool { !writeAcknowledged.isEmpty }

    /// Read-your-writes: the client's write to `group` was acknowledged at `now`.
    @inline(__always)
    mutating func writeAcknowledged(group: Int, at now: NIODeadline) {
        if !writeAcknowledged.isEmpty { writeAcknowledged[group] = now }
    }

    /// When the client's last write to `group` was acknowledged (`distantPast`: never, or not tracked).
    @inline(__always)
    func lastWriteAcknowledged(group: Int) -> NIODeadline {
        writeAcknowledged.isEmpty ? .distantPast : writeAcknowledged[group]
    }
}

/// What a client said about itself, shown by CLIENT LIST / CLIENT INFO.
struct ClientAttributes: Equatable, Sendable {
    var name: String?
    var libraryName: String?
    var libraryVersion: String?
    var noEvict = false
    var noTouch = false

    /// Names and library attributes are printable ASCII without spaces, as in Redis.
    static func isPrintable(_ text: String) -> Bool {
        text.utf8.allSatisfy { $0 >= UInt8(ascii: "!") && $0 <= UInt8(ascii: "~") }
    }
}

/// The owning group of every key of a request, in key order, or why they cannot be found.
enum KeyGroups: Equatable {
    case groups([Int])
    case failed(String)
}
