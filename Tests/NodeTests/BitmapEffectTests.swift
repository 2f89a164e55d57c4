import Testing

@testable import ShardgateNode

/// What the bitmap commands describe in their `CommandEffect`: a write that changes no bit is no
/// change (no propagation, no dirty count), as Redis 7.0's `server.dirty` accounting decides it.
@Suite struct BitmapEffectTests {
    typealias Harness = CommandEffectTests.Harness

    /// The commands propagated since the last call, SELECT left out.
    private static func stream(_ harness: Harness) -> [[String]] {
        harness.propagated().filter { $0.first != "SELECT" }
    }

    @Test func setbitChangesOnlyWhenABitOrTheLengthChanges() throws {
        let harness = Harness()
        #expect(harness.effect("SETBIT", "k", "7", "1")?.dirty == 1)
        #expect(harness.effect("SETBIT", "k", "7", "1") == CommandEffect())
        #expect(harness.effect("SETBIT", "k", "6", "0") == CommandEffect())
        // Clearing a bit past the end still grows the string: a change.
        #expect(harness.effect("SETBIT", "k", "100", "0")?.dirty == 1)
        #expect(harness.effect("SETBIT", "k", "x", "1") == nil)
        _ = Self.stream(harness)
        harness.execute("SETBIT", "k", "7", "1")
        harness.execute("SETBIT", "k", "7", "0")
        #expect(Self.stream(harness) == [["SETBIT", "k", "7", "0"]])
    }

    @Test func bitfieldCountsTheWritesThatHappen() throws {
        let harness = Harness()
        #expect(harness.effect("BITFIELD", "k", "GET", "u8", "0") == CommandEffect())
        #expect(harness.effect("BITFIELD", "k", "SET", "u8", "0", "1", "INCRBY", "u8", "0", "1")?.dirty == 2)
        // Same value again: no change.
        #expect(harness.effect("BITFIELD", "k", "SET", "u8", "0", "2") == CommandEffect())
        #expect(harness.effect("BITFIELD_RO", "k", "SET", "u8", "0", "2") == nil)
        // Every write refused by OVERFLOW FAIL: the key is created (as in Redis) but nothing counts.
        #expect(harness.effect("BITFIELD", "f", "OVERFLOW", "FAIL", "SET", "u2", "0", "100") == CommandEffect())
        #expect(harness.node.keyspace.databases[0].find(Array("f".utf8), now: harness.node.commandTime) != nil)
        _ = Self.stream(harness)
        harness.execute("BITFIELD", "g", "OVERFLOW", "FAIL", "SET", "u2", "0", "100")
        harness.execute("BITFIELD", "g", "GET", "u2", "0")
        harness.execute("BITFIELD", "g", "GET", "u2", "0", "OVERFLOW", "SAT", "INCRBY", "u2", "0", "100")
        #expect(Self.stream(harness) == [["BITFIELD", "g", "GET", "u2", "0", "OVERFLOW", "SAT", "INCRBY", "u2", "0", "100"]])
    }

    @Test func bitopStoresOrDeletesTheDestination() throws {
        let harness = Harness()
        #expect(harness.effect("BITOP", "OR", "d", "missing") == CommandEffect())
        _ = harness.effect("SET", "a", "x")
        #expect(harness.effect("BITOP", "NOT", "d", "a")?.dirty == 1)
        // An empty result deletes the destination: a change.
        #expect(harness.effect("BITOP", "AND", "d", "missing")?.dirty == 1)
        #expect(harness.node.keyspace.databases[0].find(Array("d".utf8), now: harness.node.commandTime) == nil)
        #expect(harness.effect("BITOP", "NOT", "d", "a", "a") == nil)
        #expect(harness.effect("GETBIT", "a", "0") == CommandEffect())
        #expect(harness.effect("BITCOUNT", "a") == CommandEffect())
        #expect(harness.effect("BITPOS", "a", "1") == CommandEffect())
    }
}
