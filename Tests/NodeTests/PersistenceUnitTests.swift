import Testing

@testable import ShardgateNode

/// The pure parts of persistence: the multi-part AOF manifest and the dataset ⇄ RDB conversion.
@Suite struct PersistenceUnitTests {
    // MARK: Manifest

    @Test func manifestRoundTripsRedisFormat() throws {
        // As Redis 7.0 writes it after a rewrite with a history file not yet deleted.
        let text = """
            file appendonly.aof.2.base.rdb seq 2 type b
            file appendonly.aof.1.base.rdb seq 1 type h
            file appendonly.aof.2.incr.aof seq 2 type i
            file appendonly.aof.3.incr.aof seq 3 type i

            """
        let manifest = try AOFManifest.parse(text)
        #expect(manifest.base == AOFManifest.File(name: "appendonly.aof.2.base.rdb", sequence: 2, kind: .base))
        #expect(manifest.history.map(\.name) == ["appendonly.aof.1.base.rdb"])
        #expect(manifest.incrementals.map(\.sequence) == [2, 3])
        #expect(manifest.baseSequence == 2 && manifest.incrementalSequence == 3)
        #expect(manifest.text == text)
    }

    @Test func manifestRewriteCycle() throws {
        var manifest = AOFManifest()
        let base = manifest.replaceBase(prefix: "appendonly.aof")
        let first = manifest.addIncremental(prefix: "appendonly.aof")
        #expect(base.name == "appendonly.aof.1.base.rdb" && first.name == "appendonly.aof.1.incr.aof")
        // BGREWRITEAOF: a new incremental file at the fork, a new base when the child is done.
        let second = manifest.addIncremental(prefix: "appendonly.aof")
        let newBase = manifest.replaceBase(prefix: "appendonly.aof")
        manifest.retireIncrementals(keeping: second)
        #expect(newBase.name == "appendonly.aof.2.base.rdb")
        #expect(manifest.incrementals == [second])
        #expect(Set(manifest.history.map(\.name)) == ["appendonly.aof.1.base.rdb", "appendonly.aof.1.incr.aof"])
        manifest.history = []
        #expect(manifest.text == "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n")
    }

    @Test(arguments: [
        "file a.rdb seq 1",
        "file a.rdb seq x type b",
        "file a.rdb seq 1 type z",
        "file a.rdb seq 1 type b\nfile b.rdb seq 2 type b",
        "file a.aof seq 2 type i\nfile b.aof seq 1 type i",
    ])
    func malformedManifestsAreRejected(_ text: String) {
        #expect(throws: AOFManifest.ParseError.self) { try AOFManifest.parse(text) }
    }

    // MARK: Snapshot

    @Test func datasetSurvivesSnapshotRoundTrip() throws {
        var settings = NodeSettings()
        settings.databases = 4
        let source = (0..<4).map { Database(index: $0) }
        source[0].add(Array("int".utf8), .string(Array("12345".utf8)))
        source[0].add(Array("ttl".utf8), .string(Array("v".utf8)), expireAt: 4_000_000_000_000)
        let list = ListObject()
        for index in 0..<2000 { list.elements.append(Array("e\(index)".utf8)) }
        source[0].add(Array("list".utf8), .list(list))
        source[2].add(
            Array("hash".utf8), .hash(HashObject(pairs: [(Array("f".utf8), Array("v".utf8))], settings: settings)))
        source[2].add(
            Array("set".utf8), .set(SetObject(members: (0..<600).map { Array("\($0)".utf8) }, settings: settings)))
        source[3].add(
            Array("zset".utf8),
            .sortedSet(SortedSetObject(entries: [(Array("a".utf8), 1.5), (Array("b".utf8), -2)], settings: settings)))
        source[3].add(Array("expired".utf8), .string([1]), expireAt: 1000)

        var bytes: [UInt8] = []
        try Snapshot.write(source, creationTime: 1_700_000_000, compression: true) { (chunk) throws(FileIO.Failure) in
            bytes.append(contentsOf: chunk)
        }
        let target = (0..<4).map { Database(index: $0) }
        let result = try bytes.withUnsafeBytes {
            try Snapshot.load($0, into: target, settings: settings, now: 2_000_000_000_000, dropExpired: true)
        }
        #expect(result.loaded == 6 && result.expired == 1 && result.length == bytes.count)
        #expect(result.aux["redis-ver"] == "7.0.15")
        #expect(target.map(\.count) == [3, 0, 2, 1])
        func value(_ database: Int, _ key: String) -> Value? {
            target[database].find(Array(key.utf8), now: 0).map { target[database].value(at: $0) }
        }
        guard case .string(let number)? = value(0, "int"), case .list(let list)? = value(0, "list"),
            case .hash(let hash)? = value(2, "hash"), case .set(let set)? = value(2, "set"),
            case .sortedSet(let sortedSet)? = value(3, "zset")
        else {
            Issue.record("types changed in the round trip")
            return
        }
        #expect(number == Array("12345".utf8))
        #expect(Array(list.elements) == (0..<2000).map { Array("e\($0)".utf8) })
        #expect(hash.pairs.map { $0.0 + [0] + $0.1 } == [Array("f\0v".utf8)])
        #expect(Set(set.members) == Set((0..<600).map { Array("\($0)".utf8) }))
        #expect(sortedSet.entries.map(\.1) == [-2, 1.5])
        let slot = try #require(target[0].find(Array("ttl".utf8), now: 0))
        #expect(target[0].expireAt(slot: slot) == 4_000_000_000_000)
    }

    @Test func snapshotWithTooManyDatabasesIsRefused() throws {
        let source = (0..<3).map { Database(index: $0) }
        source[2].add(Array("k".utf8), .string([1]))
        var bytes: [UInt8] = []
        try Snapshot.write(source, creationTime: 0, compression: false) { (chunk) throws(FileIO.Failure) in
            bytes.append(contentsOf: chunk)
        }
        let target = (0..<2).map { Database(index: $0) }
        #expect(throws: Snapshot.LoadError.self) {
            try bytes.withUnsafeBytes {
                try Snapshot.load($0, into: target, settings: NodeSettings(), now: 0, dropExpired: true)
            }
        }
    }
}
