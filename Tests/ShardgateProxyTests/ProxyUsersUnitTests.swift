import ACL
import Commands
import NIOCore
import RESP
import Testing

@testable import ShardgateProxy

/// The pool's users in the session machine: who a client runs as, and where the permission check
/// sits among the others (the integration suite ProxyUsersTests checks the texts against Redis).
@Suite struct ProxyUsersUnitTests {
    typealias Machine = SessionStateMachineTests.Machine
    static let lines = [
        "app on >s3cret ~app:* +@read +@write -flushall", "reader on >r ~* +@read +@transaction", "gone off >g ~* +@all",
    ]

    /// The refusal the handler computes, for `words` as the request.
    static func send(_ machine: inout Machine, _ words: String...) -> String {
        let request = RESPRequest(arguments: words.map { Array($0.utf8) })
        guard let resolved = CommandTable.redis.resolve(request) else { return "unknown" }
        let spec = resolved.subcommand ?? resolved.command
        let policy = CommandPolicy.make(for: spec, groupCount: 1)
        let action = machine.requestReceived(spec, policy: policy, argumentCount: words.count) { user in
            ClientSession.refusal(of: user, spec, request)
        }
        return SessionStateMachineTests.describe(action)
    }

    @Test func defaultUserIsRedisDefaultAndTakesThePassword() {
        let open = ProxyUsers(lines: Self.lines, password: nil)
        #expect(open.defaultUserNeedsNoAuth && open.defaultUser.unrestricted)
        #expect(open.defaultUser.description == "on nopass ~* &* +@all")
        #expect(open.names == ["app", "default", "gone", "reader"])
        let locked = ProxyUsers(lines: [], password: "pw")
        #expect(!locked.defaultUserNeedsNoAuth)
        #expect(locked.authenticate(user: nil, password: Array("pw".utf8)) === locked.defaultUser)
        #expect(locked.authenticate(user: "default", password: Array("no".utf8)) == nil)
        // A `default` line starts from a reset, as Redis's `user default` line.
        let redefined = ProxyUsers(lines: ["default on >x ~k +get"], password: nil)
        #expect(redefined.defaultUser.description.hasPrefix("on sanitize-payload #"))
        #expect(!redefined.defaultUserNeedsNoAuth && !redefined.defaultUser.unrestricted)
    }

    @Test func authSwitchesTheUserAndResetGoesBackToDefault() {
        var machine = SessionStateMachineTests.machine(users: Self.lines)
        #expect(machine.user.name == "default")
        #expect(machine.auth(user: "app", password: Array("nope".utf8)) == RedisErrors.wrongPass)
        #expect(machine.auth(user: "gone", password: Array("g".utf8)) == RedisErrors.wrongPass, "an off user")
        #expect(machine.auth(user: "nobody", password: Array("g".utf8)) == RedisErrors.wrongPass)
        #expect(machine.user.name == "default")
        #expect(machine.auth(user: "app", password: Array("s3cret".utf8)) == nil)
        #expect(machine.user.name == "app")
        #expect(Self.send(&machine, "SET", "app:1", "v") == "forward write")
        #expect(Self.send(&machine, "SET", "other", "v") == "error \(Self.keyRefusal)")
        #expect(Self.send(&machine, "FLUSHALL") == "error NOPERM this user has no permissions to run the 'flushall' command")
        #expect(Self.send(&machine, "CONFIG", "GET", "x") == "error NOPERM this user has no permissions to run the 'config|get' command")
        _ = machine.reset()
        #expect(machine.user.name == "default" && machine.isAuthenticated)
        #expect(Self.send(&machine, "SET", "other", "v") == "forward write")
    }

    /// A reload: the client runs under its user's new rules, keeps its authentication, needs none
    /// once the default user has no password, and is told to go when its user is gone.
    @Test func reloadedUsers() {
        var machine = SessionStateMachineTests.machine(password: "pw", users: Self.lines)
        #expect(machine.auth(user: "app", password: Array("s3cret".utf8)) == nil)
        let kept = machine.usersReloaded(ProxyUsers(lines: ["app on >other ~app:* +@read"], password: "pw"))
        #expect(kept)
        #expect(machine.isAuthenticated && machine.user.name == "app")
        #expect(Self.send(&machine, "SET", "app:1", "v") == "error NOPERM this user has no permissions to run the 'set' command")
        let gone = !machine.usersReloaded(ProxyUsers(lines: [], password: "pw"))
        #expect(gone, "app is gone")

        var waiting = SessionStateMachineTests.machine(password: "pw")
        let newPassword = waiting.usersReloaded(ProxyUsers(lines: [], password: "new"))
        #expect(newPassword && !waiting.isAuthenticated)
        let noPassword = waiting.usersReloaded(ProxyUsers(lines: [], password: nil))
        #expect(noPassword && waiting.isAuthenticated)
    }

    static let keyRefusal = "NOPERM this user has no permissions to access one of the keys used as arguments"

    /// NOAUTH comes first; a refused command inside MULTI dooms the transaction, as in Redis.
    @Test func refusalComesAfterNoAuthAndDoomsATransaction() {
        var machine = SessionStateMachineTests.machine(password: "pw", users: Self.lines)
        #expect(Self.send(&machine, "GET", "other") == "error \(RedisErrors.noAuth)")
        #expect(machine.auth(user: "reader", password: Array("r".utf8)) == nil)
        #expect(Self.send(&machine, "GET", "other") == "forward read")
        #expect(Self.send(&machine, "MULTI") == "reply ok")
        #expect(Self.send(&machine, "SET", "k", "v") == "error NOPERM this user has no permissions to run the 'set' command")
        #expect(Self.send(&machine, "EXEC") == "abort")
    }

    /// An unrestricted user is never asked about (the handler's check is not even called).
    @Test func unrestrictedUsersSkipTheCheck() {
        var machine = SessionStateMachineTests.machine()
        var asked = false
        let spec = CommandTable.redis.lookup(fullName: "get")!
        _ = machine.requestReceived(spec, policy: .forward(write: false), argumentCount: 2) { _ in
            asked = true
            return nil
        }
        #expect(!asked)
    }
}
