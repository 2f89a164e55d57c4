import Commands
import NIOCore
import Testing

@testable import ShardgateProxy

/// A client's protocol state without sockets: each test feeds requests (a command's spec and policy,
/// as the handler resolves them) and the handler's reports, and checks the actions returned.
@Suite struct SessionStateMachineTests {
    /// A lease as the machine sees it: no connection behind it.
    final class TestLease: SessionLease, CustomStringConvertible {
        let group: Int
        let protocolVersion: Int
        let database: Int

        init(group: Int, protocolVersion: Int = 2, database: Int = 0) {
            self.group = group
            self.protocolVersion = protocolVersion
            self.database = database
        }

        var description: String { "lease \(group)" }
    }

    typealias Machine = SessionStateMachine<TestLease>
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
    let frame = ByteBuffer(string: "*1\r\n$4\r\nPING\r\n")

    /// A pool of `groups` groups; `password` set: clients must AUTH first; `users`: its `users:` lines.
    static func machine(
        password: String? = nil, users: [String] = [], keylessGroup: Int = 0, readYourWritesGroups: Int = 0
    ) -> Machine {
        Machine(
            users: ProxyUsers(lines: users, password: password), database: 0, keylessGroup: keylessGroup,
            readYourWritesGroups: readYourWritesGroups, now: start)
    }

    /// The request `name` (`container|sub` for a subcommand) with `arguments` arguments after the
    /// name, in a pool of `groups` groups; the action, described.
    static func send(_ machine: inout Machine, _ name: String, arguments: Int = 0, groups: Int = 2) -> String {
        guard let spec = CommandTable.redis.lookup(fullName: name) else {
            Issue.record("no command \(name)")
            return "?"
        }
        let policy = CommandPolicy.make(for: spec, groupCount: groups)
        let count = arguments + (spec.isSubcommand ? 2 : 1)
        return describe(machine.requestReceived(spec, policy: policy, argumentCount: count))
    }

    static func describe(_ action: Machine.RequestAction) -> String {
        switch action {
        case .run(let policy):
            switch policy {
            case .forward(let write): return write ? "forward write" : "forward read"
            case .split: return "split"
            case .local(let command): return "local \(command.rawValue)"
            case .pubsub(let command): return "pubsub \(command.rawValue)"
            case .everyGroup: return "every group"
            case .keylessGroup: return "keyless group"
            case .blocking: return "blocking"
            case .refused: return "refused"
            default: return "run"
            }
        case .queue(let keys): return "queue \(keys)"
        case .reply(let reply): return "reply \(reply)"
        case .error(let message): return "error \(message)"
        case .watch: return "watch"
        case .unwatch(let lease): return "unwatch on \(lease)"
        case .execute(let transaction, let group): return "execute \(transaction.frames.count) in \(group)"
        case .executeWatched(let transaction, let lease): return "execute \(transaction.frames.count) on \(lease)"
        case .abortTransaction(let lease): return lease.map { "abort and unwatch on \($0)" } ?? "abort"
        case .discard(let lease): return lease.map { "discard and unwatch on \($0)" } ?? "discard"
        case .close(let reply): return reply.map { "close after \($0)" } ?? "close"
        case .drop: return "drop"
        }
    }

    // MARK: Authentication

    @Test func commandsBeforeAuthAreRefusedExceptNoAuthOnes() {
        var machine = Self.machine(password: "secret")
        #expect(!machine.isAuthenticated)
        #expect(Self.send(&machine, "get", arguments: 1) == "error \(RedisErrors.noAuth)")
        #expect(Self.send(&machine, "auth", arguments: 1) == "local auth")
        #expect(Self.send(&machine, "hello", arguments: 1) == "local hello")
        #expect(Self.send(&machine, "quit") == "close after ok")
    }

    @Test func arityIsCheckedBeforeAuthentication() {
        var machine = Self.machine(password: "secret")
        #expect(Self.send(&machine, "get") == "error \(RedisErrors.wrongArity("get"))")
    }

    @Test func authWithTheRightPasswordLetsCommandsThrough() {
        var machine = Self.machine(password: "secret")
        let wrongPassword = machine.auth(user: nil, password: Array("wrong".utf8))
        #expect(wrongPassword == RedisErrors.wrongPass)
        let unknownUser = machine.auth(user: "someone", password: Array("secret".utf8))
        #expect(unknownUser == RedisErrors.wrongPass)
        #expect(!machine.isAuthenticated)
        let rightPassword = machine.auth(user: "default", password: Array("secret".utf8))
        #expect(rightPassword == nil)
        #expect(machine.isAuthenticated)
        #expect(Self.send(&machine, "get", arguments: 1) == "forward read")
        #expect(Self.send(&machine, "set", arguments: 2) == "forward write")
    }

    @Test func authWithoutAPasswordConfiguredIsAnError() {
        var machine = Self.machine()
        #expect(machine.isAuthenticated)
        let withoutUser = machine.auth(user: nil, password: Array("x".utf8))
        #expect(withoutUser == RedisErrors.authWithoutPassword)
        let asDefault = machine.auth(user: "default", password: Array("x".utf8))
        #expect(asDefault == nil, "any password for default, as Redis")
    }

    @Test func helloNeedsAuthenticationUnlessItAuthenticates() {
        var machine = Self.machine(password: "secret")
        #expect(machine.helloRefusal == Machine.helloNoAuthError)
        machine.hello(protocolVersion: 3)
        #expect(machine.protocolVersion == 2, "not switched before authentication")
        let refused = machine.authenticate(user: "default", password: Array("nope".utf8))
        #expect(!refused)
        let accepted = machine.authenticate(user: "default", password: Array("secret".utf8))
        #expect(accepted)
        #expect(machine.helloRefusal == nil)
        machine.hello(protocolVersion: 3)
        #expect(machine.protocolVersion == 3)
    }

    // MARK: Subscribed mode

    @Test func aSubscribedRESP2ClientRunsOnlyPubSubPingQuitReset() {
        var machine = Self.machine()
        #expect(Self.send(&machine, "get", arguments: 1) == "forward read")
        let confirmations = machine.subscribe(.channel, [Array("news".utf8)])
        #expect(confirmations == [Machine.Confirmation(name: Array("news".utf8), count: 1)])
        #expect(Self.send(&machine, "get", arguments: 1) == "error \(Machine.subscribedModeError("get"))")
        #expect(Self.send(&machine, "subscribe", arguments: 1) == "pubsub subscribe")
        #expect(Self.send(&machine, "punsubscribe") == "pubsub punsubscribe")
        #expect(Self.send(&machine, "ping") == "local ping")
        #expect(machine.answersPingAsMessage)
        #expect(Self.send(&machine, "reset") == "local reset")
        #expect(Self.send(&machine, "quit") == "close after ok")
    }

    @Test func aSubscribedRESP3ClientRunsAnything() {
        var machine = Self.machine()
        machine.hello(protocolVersion: 3)
        _ = machine.subscribe(.pattern, [Array("n*".utf8)])
        #expect(Self.send(&machine, "get", arguments: 1) == "forward read")
        #expect(!machine.answersPingAsMessage, "PING answers PONG in RESP3")
    }

    @Test func subscriptionCountsFollowRedis() {
        var machine = Self.machine()
        let (a, b, p, s) = (Array("a".utf8), Array("b".utf8), Array("p*".utf8), Array("s".utf8))
        let channels = machine.subscribe(.channel, [a, b, a])
        #expect(channels.map(\.count) == [1, 2, 2], "a name subscribed twice counts once")
        let pattern = machine.subscribe(.pattern, [p])
        #expect(pattern.map(\.count) == [3], "channels and patterns count together")
        let shard = machine.subscribe(.shardChannel, [s])
        #expect(shard.map(\.count) == [1], "shard channels apart")

        let one = machine.unsubscribe(.channel, [b, Array("never".utf8)])
        #expect(one.confirmations == [Machine.Confirmation(name: b, count: 2), Machine.Confirmation(name: Array("never".utf8), count: 2)])
        #expect(one.leave == [SubscriptionKey(kind: .channel, name: b)], "only what the client had is left upstream")

        let all = machine.unsubscribe(.channel, [])
        #expect(all.confirmations == [Machine.Confirmation(name: a, count: 1)], "every channel, in order")
        #expect(all.leave == [SubscriptionKey(kind: .channel, name: a)])
        let none = machine.unsubscribe(.channel, [])
        #expect(none.confirmations == [Machine.Confirmation(name: nil, count: 1)], "nothing left: one confirmation without a name")
        #expect(none.leave.isEmpty)

        let closed = machine.closed()
        #expect(closed.subscriptions.count == 2, "the pattern and the shard channel are left upstream")
        #expect(machine.subscriptions.isEmpty)
    }

    // MARK: MULTI / EXEC

    @Test func commandsInsideMultiAreQueuedAndSentAtExec() {
        var machine = Self.machine()
        #expect(Self.send(&machine, "multi") == "reply ok")
        #expect(Self.send(&machine, "multi") == "error ERR MULTI calls can not be nested")
        #expect(Self.send(&machine, "set", arguments: 2) == "queue command")
        let firstSet = machine.queue(frame, keys: .groups([1]))
        #expect(firstSet == .reply(.queued))
        #expect(Self.send(&machine, "mget", arguments: 2) == "queue command")
        let mget = machine.queue(frame, keys: .groups([1, 1]))
        #expect(mget == .reply(.queued))
        #expect(Self.send(&machine, "ping") == "queue none")
        let ping = machine.queue(frame, keys: .groups([]))
        #expect(ping == .reply(.queued))
        #expect(Self.send(&machine, "publish", arguments: 2) == "queue channel")
        #expect(Self.send(&machine, "exec") == "execute 3 in 1", "the transaction is its keys' group's")
        #expect(machine.transaction == nil)
        #expect(Self.send(&machine, "exec") == "error ERR EXEC without MULTI")
    }

    @Test func aKeyInAnotherGroupDoomsTheTransaction() {
        var machine = Self.machine()
        _ = Self.send(&machine, "multi")
        _ = Self.send(&machine, "set", arguments: 2)
        let inGroup1 = machine.queue(frame, keys: .groups([1]))
        #expect(inGroup1 == .reply(.queued))
        _ = Self.send(&machine, "set", arguments: 2)
        let inGroup0 = machine.queue(frame, keys: .groups([0]))
        #expect(inGroup0 == .crossSlot([1, 0]))
        _ = Self.send(&machine, "get", arguments: 1)
        let later = machine.queue(frame, keys: .groups([1]))
        #expect(later == .reply(.queued), "later commands still queue")
        #expect(Self.send(&machine, "exec") == "abort")
    }

    @Test func queueTimeErrorsDoomTheTransaction() {
        for doom in ["unknown command", "arity", "no-multi", "every group", "key failure"] {
            var machine = Self.machine()
            _ = Self.send(&machine, "multi")
            switch doom {
            case "unknown command":
                let unknown = machine.invalidRequest("ERR unknown command 'x'")
                #expect(unknown == .error("ERR unknown command 'x'"))
            case "arity":
                #expect(Self.send(&machine, "get").hasPrefix("error ERR wrong number"))
            case "no-multi":
                #expect(Self.send(&machine, "save") == "error ERR Command not allowed inside a transaction")
            case "every group":
                #expect(Self.send(&machine, "keys", arguments: 1).hasPrefix("error ERR shardgate: 'keys' is not supported"))
            default:
                _ = Self.send(&machine, "get", arguments: 1)
                let keyFailure = machine.queue(frame, keys: .failed("ERR bad keys"))
                #expect(keyFailure == .error("ERR bad keys"))
            }
            #expect(Self.send(&machine, "exec") == "abort", "after \(doom)")
        }
    }

    @Test func errorsOutsideTheMachinesQueueDoNotDoom() {
        var machine = Self.machine()
        _ = Self.send(&machine, "multi")
        #expect(Self.send(&machine, "watch", arguments: 1) == "error ERR WATCH inside MULTI is not allowed")
        #expect(Self.send(&machine, "exec") == "reply emptyArray")
    }

    @Test func keylessTransactionsGoToTheKeylessGroup() {
        var machine = Self.machine(keylessGroup: 1)
        _ = Self.send(&machine, "multi")
        #expect(Self.send(&machine, "lastsave") == "queue none")
        let lastSave = machine.queue(frame, keys: .groups([]))
        #expect(lastSave == .reply(.queued))
        #expect(Self.send(&machine, "exec") == "execute 1 in 1")
    }

    /// EXEC's reply is passed on whole, so CONFIG GET (whose reply loses the backends' passwords
    /// on its own) is refused inside MULTI, and dooms it.
    @Test func configGetIsRefusedInsideATransaction() {
        var machine = Self.machine()
        _ = Self.send(&machine, "multi")
        #expect(Self.send(&machine, "config|get", arguments: 1).hasPrefix("error ERR shardgate: 'config|get' is not supported"))
        #expect(Self.send(&machine, "exec") == "abort")
    }

    @Test func discardEndsTheTransaction() {
        var machine = Self.machine()
        #expect(Self.send(&machine, "discard") == "error ERR DISCARD without MULTI")
        _ = Self.send(&machine, "multi")
        #expect(Self.send(&machine, "discard") == "discard")
        #expect(machine.transaction == nil)
        #expect(Self.send(&machine, "get", arguments: 1) == "forward read")
    }

    // MARK: WATCH

    @Test func watchKeepsTheClientInOneGroupUntilExec() {
        var machine = Self.machine()
        let lease = TestLease(group: 1)
        #expect(Self.send(&machine, "watch", arguments: 1) == "watch")
        #expect(machine.watch(group: 1) == .send(group: 1))
        machine.leaseAcquired(lease)
        machine.watchStarted(on: lease)
        #expect(machine.watchedGroup == 1)
        #expect(machine.watch(group: 0) == .crossSlot([1, 0]))
        #expect(machine.watch(group: 1) == .send(group: 1))
        _ = Self.send(&machine, "multi")
        #expect(machine.transaction?.group == 1, "the transaction starts in the watched group")
        _ = Self.send(&machine, "set", arguments: 2)
        let stray = machine.queue(frame, keys: .groups([0]))
        #expect(stray == .crossSlot([1, 0]))
        #expect(Self.send(&machine, "exec") == "abort and unwatch on lease 1")
        #expect(machine.watching == nil)
    }

    @Test func aWatchingClientsExecGoesOnItsLeaseEvenWhenEmpty() {
        var machine = Self.machine()
        let lease = TestLease(group: 0)
        machine.leaseAcquired(lease)
        machine.watchStarted(on: lease)
        _ = Self.send(&machine, "multi")
        #expect(Self.send(&machine, "exec") == "execute 0 on lease 0")
        #expect(machine.watching == nil)
    }

    @Test func unwatchAndDiscardEndTheWatch() {
        var machine = Self.machine()
        let lease = TestLease(group: 1)
        #expect(Self.send(&machine, "unwatch") == "reply ok", "nothing watched: answered here")
        machine.leaseAcquired(lease)
        machine.watchStarted(on: lease)
        #expect(Self.send(&machine, "unwatch") == "unwatch on lease 1")
        #expect(machine.watchedGroup == nil)
        machine.watchStarted(on: lease)
        _ = Self.send(&machine, "multi")
        #expect(Self.send(&machine, "unwatch") == "queue none", "UNWATCH inside MULTI is queued")
        #expect(Self.send(&machine, "discard") == "discard and unwatch on lease 1")
        #expect(Self.send(&machine, "unwatch") == "reply ok")
    }

    // MARK: Leases

    @Test func requestsForALeasedGroupUseTheLeaseOfTheirProtocolAndDatabase() {
        var machine = Self.machine()
        #expect(machine.heldLease(forGroup: 1) == nil)
        #expect(!machine.holdsLease(onGroup: 1))
        let lease = TestLease(group: 1)
        machine.leaseAcquired(lease)
        #expect(machine.heldLease(forGroup: 1) === lease)
        #expect(machine.heldLease(forGroup: 0) == nil)
        #expect(machine.isBlocked, "a lease without a WATCH: a blocking command is in flight")
        machine.hello(protocolVersion: 3)
        #expect(machine.heldLease(forGroup: 1) == nil, "a RESP2 lease does not answer a RESP3 client")
        #expect(machine.holdsLease(onGroup: 1), "but its requests there still keep their order")
    }

    @Test func anIdleLeaseGoesBackUnlessItCarriesTheWatch() {
        var machine = Self.machine()
        let blocking = TestLease(group: 0)
        let watched = TestLease(group: 1)
        machine.leaseAcquired(blocking)
        machine.leaseAcquired(watched)
        machine.watchStarted(on: watched)
        #expect(!machine.isBlocked)
        let watchedIdle = machine.leaseIdle(watched)
        #expect(!watchedIdle, "kept while it carries the WATCH")
        let blockingIdle = machine.leaseIdle(blocking)
        #expect(blockingIdle)
        let again = machine.leaseIdle(blocking)
        #expect(!again, "given back once")
        #expect(Self.send(&machine, "unwatch") == "unwatch on lease 1")
        let afterUnwatch = machine.leaseIdle(watched)
        #expect(afterUnwatch)
        #expect(machine.leases.isEmpty)
    }

    @Test func closingHandsBackEveryLeaseToClose() {
        var machine = Self.machine()
        let lease = TestLease(group: 0)
        machine.leaseAcquired(lease)
        machine.watchStarted(on: lease)
        let closed = machine.closed()
        #expect(closed.leases.count == 1 && closed.leases[0] === lease)
        #expect(machine.leases.isEmpty && machine.watching == nil)
    }

    // MARK: Closing

    @Test func quitClosesAfterEarlierRepliesAndNothingRunsAfter() {
        var machine = Self.machine()
        _ = Self.send(&machine, "multi")
        #expect(Self.send(&machine, "quit") == "close after ok", "QUIT runs at once inside MULTI")
        #expect(machine.phase == .closing)
        #expect(Self.send(&machine, "get", arguments: 1) == "drop")
        let invalid = machine.invalidRequest("ERR x")
        #expect(invalid == .drop)
        let closingAgain = machine.startClosing()
        #expect(!closingAgain, "already closing")
        _ = machine.closed()
        #expect(machine.phase == .closed)
        #expect(machine.transaction == nil)
    }

    @Test func crossProtocolProbesCloseWithoutAReply() {
        var machine = Self.machine(password: "secret")
        let probe = machine.crossProtocolProbe()
        #expect(probe == .close, "even before AUTH")
        #expect(machine.phase == .closing)
        #expect(Self.send(&machine, "auth", arguments: 1) == "drop")
    }

    @Test func shutdownClosesOnce() {
        var machine = Self.machine()
        let first = machine.startClosing()
        #expect(first)
        let second = machine.startClosing()
        #expect(!second)
        #expect(Self.send(&machine, "ping") == "drop")
    }

    // MARK: SELECT and RESET

    @Test func selectIsCheckedThenConfirmed() {
        var machine = Self.machine()
        #expect(machine.select(-1) == .error(Machine.databaseOutOfRange))
        #expect(machine.select(3) == .check(database: 3))
        #expect(machine.database == 0, "only once the backend confirmed it")
        machine.selected(3)
        #expect(machine.database == 3)
        machine.leaseAcquired(TestLease(group: 0, database: 3))
        #expect(machine.select(4) != .check(database: 4), "a lease belongs to its database")
    }

    @Test func resetMakesTheConnectionNew() {
        var machine = Self.machine(password: "secret")
        _ = machine.auth(user: nil, password: Array("secret".utf8))
        machine.hello(protocolVersion: 3)
        machine.selected(5)
        let lease = TestLease(group: 1)
        machine.leaseAcquired(lease)
        machine.watchStarted(on: lease)
        _ = machine.subscribe(.channel, [Array("a".utf8)])
        _ = Self.send(&machine, "multi")
        #expect(Self.send(&machine, "reset") == "local reset", "RESET runs at once inside MULTI")
        let reset = machine.reset()
        #expect(reset.unwatch === lease)
        #expect(reset.subscriptions.count == 1)
        #expect(machine.transaction == nil && machine.watching == nil && machine.subscriptions.isEmpty)
        #expect(machine.protocolVersion == 2 && machine.database == 0)
        #expect(!machine.isAuthenticated)
        #expect(Self.send(&machine, "get", arguments: 1) == "error \(RedisErrors.noAuth)")
    }

    @Test func clientAttributesAreCheckedAndResetClearsTheNameAndFlags() {
        var machine = Self.machine()
        let spaced = machine.setName("two words")
        #expect(spaced == RedisErrors.badClientName)
        let named = machine.setName("worker-1")
        #expect(named == nil)
        let badOption = machine.setInfo("lib-colour", option: "LIB-COLOUR", value: "x")
        #expect(badOption == "ERR Unrecognized option 'LIB-COLOUR'")
        let badValue = machine.setInfo("lib-name", option: "lib-name", value: "redis py")
        #expect(badValue == "ERR lib-name cannot contain spaces, newlines or special characters.")
        let library = machine.setInfo("lib-name", option: "LIB-NAME", value: "redis-py")
        #expect(library == nil)
        machine.setNoEvict(true)
        machine.setNoTouch(true)
        #expect(machine.attributes == ClientAttributes(
            name: "worker-1", libraryName: "redis-py", libraryVersion: nil, noEvict: true, noTouch: true))
        _ = machine.reset()
        #expect(machine.attributes == ClientAttributes(name: nil, libraryName: "redis-py", libraryVersion: nil))
        _ = machine.setName("x")
        let cleared = machine.setName("")
        #expect(cleared == nil && machine.attributes.name == nil, "an empty name clears it")
    }

    // MARK: Time and writes

    @Test func idleAndAgeComeFromTheTimesPassedIn() {
        var machine = Self.machine()
        machine.readArrived(at: Self.start + .seconds(5))
        let (age, idle) = machine.ageAndIdleSeconds(at: Self.start + .seconds(12))
        #expect(age == 12)
        #expect(idle == 7)
    }

    @Test func readYourWritesNotesAcknowledgements() {
        var tracked = Self.machine(readYourWritesGroups: 2)
        #expect(tracked.tracksWriteAcknowledgements)
        #expect(tracked.lastWriteAcknowledged(group: 1) == .distantPast)
        tracked.writeAcknowledged(group: 1, at: Self.start + .seconds(1))
        #expect(tracked.lastWriteAcknowledged(group: 1) == Self.start + .seconds(1))
        #expect(tracked.lastWriteAcknowledged(group: 0) == .distantPast)
        var untracked = Self.machine()
        untracked.writeAcknowledged(group: 0, at: Self.start)
        #expect(!untracked.tracksWriteAcknowledgements)
        #expect(untracked.lastWriteAcknowledged(group: 0) == .distantPast)
    }

    @Test func waitCoversTheGroupsWrittenSinceTheLastWait() {
        var machine = Self.machine(keylessGroup: 2)
        let nothingWritten = machine.takeWrittenGroups(groupCount: 3)
        #expect(nothingWritten == [2], "nothing written: the keyless group")
        machine.wrote(toGroup: 0)
        machine.wrote(toGroup: 1)
        machine.wrote(toGroup: 1)
        let written = machine.takeWrittenGroups(groupCount: 3)
        #expect(written == [0, 1])
        let afterWait = machine.takeWrittenGroups(groupCount: 3)
        #expect(afterWait == [2], "forgotten after WAIT")
    }
}
