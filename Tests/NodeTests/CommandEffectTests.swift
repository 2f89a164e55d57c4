import Commands
import Logging
import NIOCore
import NIOEmbedded
import RESP
import Testing

@testable import ShardgateNode

/// What commands describe in their `CommandEffect`, and how the node applies it: the rewrites
/// decided where the arguments are parsed, and the order in which the stream receives them.
@Suite struct CommandEffectTests {
    /// A node on an embedded loop, with one client, whose propagation stream is read back.
    final class Harness {
        let loop = EmbeddedEventLoop()
        let node: Node
        let client: ClientConnection

        init() {
            node = Node(settings: NodeSettings(), configFile: nil, loop: loop, logger: Logger(label: "test"))
            client = Self.connect(node, id: 1)
            // A consumer makes the node propagate (as a replica would).
            node.propagation.consumers.append { _ in }
        }

        static func connect(_ node: Node, id: Int) -> ClientConnection {
            ClientConnection(id: id, channel: EmbeddedChannel(loop: node.loop as! EmbeddedEventLoop), authenticated: true, now: 0)
        }

        private func request(_ arguments: [String]) -> RESPRequest {
            RESPRequest(arguments: arguments.map { Array($0.utf8) })
        }

        /// Runs the command's handler alone and returns what it described (nil: it failed).
        func effect(_ arguments: String..., client: ClientConnection? = nil) -> CommandEffect? {
            let request = request(arguments)
            guard case .run(let handler, let spec) = node.resolve(request) else { return nil }
            var spans: [RESPRequest.ArgumentSpan] = []
            request.collectSpans(into: &spans)
            var call = CommandCall(node: node, client: client ?? self.client, request: request, spec: spec, spans: spans)
            do {
                try handler.run(&call)
            } catch {
                #expect(call.effect == CommandEffect(), "a failed command describes no change")
                return nil
            }
            node.apply(call.effect, of: call)
            return call.effect
        }

        /// Runs a request the way a client's request runs.
        func execute(_ arguments: String..., client: ClientConnection? = nil) {
            node.execute(request(arguments), from: client ?? self.client)
        }

        /// The commands propagated since the last call, as argument lists.
        func propagated() -> [[String]] {
            var buffer = node.propagation.pending
            node.propagation.pending.clear()
            var commands: [[String]] = []
            var parser = RESPRequestParser()
            while let request = try? parser.next(from: &buffer) {
                commands.append((0..<request.argumentCount).map { request.string($0) })
            }
            return commands
        }
    }

    private static func bytes(_ strings: String...) -> [[UInt8]] { strings.map { Array($0.utf8) } }

    @Test func setWithARelativeTimePropagatesTheDeadline() throws {
        let harness = Harness()
        let effect = try #require(harness.effect("SET", "k", "v", "EX", "100"))
        #expect(effect.dirty == 1)
        guard case .commands(let commands) = effect.propagation, commands.count == 1 else {
            Issue.record("expected one rewritten command, got \(effect.propagation)")
            return
        }
        #expect(Array(commands[0].prefix(4)) == Self.bytes("SET", "k", "v", "PXAT"))
        let deadline = try #require(Int64(String(decoding: commands[0][4], as: UTF8.self)))
        // Relative to the command's time (which the harness, running the handler alone, leaves as it was).
        #expect(deadline == harness.node.commandTime + 100_000)
    }

    @Test func commandsPropagateAsSentUnlessTheirTextWouldMeanSomethingElse() throws {
        let harness = Harness()
        #expect(harness.effect("SET", "k", "v")?.propagation == .asSent)
        #expect(harness.effect("SET", "k", "w", "GET")?.propagation == .commands([Self.bytes("SET", "k", "w")]))
        #expect(harness.effect("SET", "k", "x", "PXAT", "99999999999999")?.propagation
            == .commands([Self.bytes("SET", "k", "x", "PXAT", "99999999999999")]))
        #expect(harness.effect("EXPIREAT", "k", "99999999999")?.propagation
            == .commands([Self.bytes("PEXPIREAT", "k", "99999999999000")]))
        #expect(harness.effect("GETEX", "k", "PERSIST")?.propagation == .commands([Self.bytes("PERSIST", "k")]))
        #expect(harness.effect("INCRBYFLOAT", "f", "1.5")?.propagation == .commands([Self.bytes("SET", "f", "1.5", "KEEPTTL")]))
        #expect(harness.effect("EXPIRE", "k", "-1")?.propagation == .commands([Self.bytes("DEL", "k")]))
        #expect(harness.effect("RPUSH", "l", "a")?.propagation == .asSent)
    }

    @Test func aCommandThatChangesNothingHasNoEffect() throws {
        let harness = Harness()
        _ = harness.effect("SET", "k", "v")
        #expect(harness.effect("SET", "k", "w", "NX") == CommandEffect())
        #expect(harness.effect("EXPIRE", "missing", "10") == CommandEffect())
        #expect(harness.effect("GET", "k") == CommandEffect())
        // Failures (checked inside `effect`): a bad time, a wrong type.
        #expect(harness.effect("SET", "k", "v", "EX", "-1") == nil)
        #expect(harness.effect("LPUSH", "k", "x") == nil)
        _ = harness.propagated()
        harness.execute("SET", "k", "w", "NX")
        harness.execute("LPUSH", "k", "x")
        #expect(harness.propagated().isEmpty)
    }

    @Test func databaseWideCommandsNameWhatTheyChanged() throws {
        let harness = Harness()
        let flush = try #require(harness.effect("FLUSHDB"))
        #expect(flush.dirty == 0 && flush.forcesPropagation && flush.modifiedKeys == .flushed([0]))
        #expect(harness.effect("SWAPDB", "0", "1")?.modifiedKeys == .swapped(0, 1))
        _ = harness.effect("SET", "k", "v")
        #expect(harness.effect("MOVE", "k", "2")?.otherModifiedKeys == [.init(database: 2, key: Array("k".utf8))])
        _ = harness.effect("SET", "c", "v")
        #expect(harness.effect("COPY", "c", "d", "DB", "3")?.otherModifiedKeys == [.init(database: 3, key: Array("d".utf8))])
        #expect(harness.effect("COPY", "c", "e")?.otherModifiedKeys == [])
    }

    @Test func theDatasetCountsEachCommandsChanges() {
        let harness = Harness()
        harness.execute("RPUSH", "l", "a", "b", "c")
        harness.execute("SET", "k", "v", "NX")
        harness.execute("SET", "k", "v", "NX")
        #expect(harness.node.persistence.dirty == 4)
    }

    /// A push that serves a blocked pop: the push goes first, then the pop as the non-blocking
    /// command it became (what Redis 7.0 propagates), never the blocking command's text.
    @Test func aServedBlockedPopIsPropagatedAfterThePushAsAPop() {
        let harness = Harness()
        let waiting = Harness.connect(harness.node, id: 2)
        harness.execute("BLPOP", "l", "0", client: waiting)
        harness.execute("BLMOVE", "src", "dst", "RIGHT", "LEFT", "0", client: Harness.connect(harness.node, id: 3))
        #expect(harness.propagated().isEmpty)
        harness.execute("RPUSH", "l", "a", "b")
        harness.execute("RPUSH", "src", "x")
        #expect(harness.propagated() == [
            ["SELECT", "0"], ["RPUSH", "l", "a", "b"], ["LPOP", "l"],
            // A served BLMOVE names its directions in Redis's own lower-case words.
            ["RPUSH", "src", "x"], ["LMOVE", "src", "dst", "right", "left"],
        ])
    }

    /// Inside EXEC the commands propagate one by one, wrapped in MULTI/EXEC; clients blocked on a
    /// key the transaction filled are served after it.
    @Test func aTransactionPropagatesAsOneBlockAndServesWaitersAfterwards() {
        let harness = Harness()
        harness.execute("BLPOP", "q", "0", client: Harness.connect(harness.node, id: 2))
        for command in [["MULTI"], ["RPUSH", "q", "1"], ["SET", "t", "v", "EX", "100"], ["EXEC"]] {
            harness.node.execute(RESPRequest(arguments: command.map { Array($0.utf8) }), from: harness.client)
        }
        let stream = harness.propagated()
        #expect(stream.map { $0[0] } == ["SELECT", "MULTI", "RPUSH", "SET", "EXEC", "LPOP"])
        #expect(stream[3].count == 5 && stream[3][3] == "PXAT")
    }

    /// The SELECT a transaction starts with stays before MULTI, one inside stays inside; a
    /// transaction that changes nothing propagates nothing.
    @Test func aTransactionsSelectsStayWhereTheyBelong() {
        let harness = Harness()
        for command in [["MULTI"], ["SET", "x", "1"], ["SELECT", "3"], ["SET", "y", "2"], ["EXEC"], ["MULTI"], ["GET", "y"], ["EXEC"]] {
            harness.node.execute(RESPRequest(arguments: command.map { Array($0.utf8) }), from: harness.client)
        }
        #expect(harness.propagated() == [
            ["SELECT", "0"], ["MULTI"], ["SET", "x", "1"], ["SELECT", "3"], ["SET", "y", "2"], ["EXEC"],
        ])
    }

    /// Without an AOF or replicas nothing is propagated, so no rewrite is built.
    @Test func aNodeThatPropagatesNothingBuildsNoRewrite() {
        let harness = Harness()
        harness.node.propagation.consumers.removeAll()
        #expect(harness.effect("SET", "k", "v", "EX", "100") == CommandEffect(dirty: 1))
    }
}
