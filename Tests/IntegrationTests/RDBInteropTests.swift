import Foundation
import RDB
import Testing

/// The RDB module against real redis-server 7.0.15 in both directions: dumps Redis writes read back
/// equal to what Redis answers for the same keys, and files the writer produces load into Redis
/// (with deep payload sanitization on, and `redis-check-rdb` agreeing) holding exactly what was
/// written. Every comparison goes through Redis's own commands.
@Suite(.serialized, .enabled(if: TestEnvironment.canRun("redis-server")))
struct RDBInteropTests {
    // MARK: Redis → reader

    @Test func readerMatchesWhatRedisSaved() async throws {
        let redis = try await RedisServer(["--enable-debug-command", "yes"])
        defer { redis.stop() }
        let client = try redis.client()
        let expectations = try Self.fillWithEveryEncoding(client)

        // The test is only meaningful if Redis really used each encoding.
        let seen = Set(expectations.map(\.encoding))
        #expect(seen.isSuperset(of: ["int", "embstr", "raw", "quicklist", "intset", "hashtable", "listpack", "skiplist"]))
        for expectation in expectations {
            _ = try client.command("SELECT", "\(expectation.database)")
            let encoding = try client.command([Array("OBJECT".utf8), Array("ENCODING".utf8), expectation.key])
            #expect(encoding.string == expectation.encoding, "encoding of \(Self.show(expectation.key)) in db \(expectation.database)")
        }

        #expect(try client.command("SAVE") == .status("OK"))
        let file = try Self.contents(redis.directory.path + "/dump.rdb")
        var aux: [String: String] = [:]
        var functions: [String] = []
        var entries: [RDBEntry] = []
        let consumed = try RDBReader.read(
            file, aux: { aux[$0.nameText] = $0.valueText }, functionLibrary: { functions.append(String(decoding: $0, as: UTF8.self)) },
            entry: { entries.append($0) })
        #expect(consumed == file.count)
        #expect(aux["redis-ver"] == "7.0.15")
        #expect(aux["redis-bits"] == "64")
        #expect(functions == [Self.functionLibrary])

        // OBJECT ENCODING says "quicklist" either way, so check in the file that `list:plain` really
        // has plain nodes: 4 nodes, the first packed ("a", a 10-byte listpack), the second plain.
        let plainList: [UInt8] = [18, 10] + Array("list:plain".utf8) + [4, 2, 10]
        let found = (0...(file.count - plainList.count)).first { Array(file[$0..<$0 + plainList.count]) == plainList }
        let at = try #require(found, "list:plain as a quicklist of 4 nodes")
        #expect(file[at + plainList.count + 10] == 1, "second node is a plain node")

        try Self.expectSameKeyspace(entries, as: client, databases: [0, 1, 5, 15])
    }

    /// A Redis dump holding streams (several nodes, deleted entries, consumer groups with PELs,
    /// a consumer without pending entries, an empty stream with a group) is read and written back
    /// byte for byte the same (uncompressed), and Redis loads the copy with the same XINFO STREAM FULL.
    @Test func streamsInRedisDumpRoundTrip() async throws {
        let redis = try await RedisServer(["--rdbcompression", "no", "--stream-node-max-entries", "4"])
        defer { redis.stop() }
        let client = try redis.client()
        for index in 0..<30 {
            _ = try client.command("XADD", "events", "\(index + 1)-\(index % 3)", "field", "\(index)", index % 4 == 0 ? "other" : "field2", "x")
        }
        _ = try client.command("XDEL", "events", "5-1", "6-2", "13-0")
        _ = try client.command("XGROUP", "CREATE", "events", "g1", "0")
        _ = try client.command("XGROUP", "CREATE", "events", "g2", "$", "ENTRIESREAD", "30")
        _ = try client.command("XREADGROUP", "GROUP", "g1", "alice", "COUNT", "5", "STREAMS", "events", ">")
        _ = try client.command("XREADGROUP", "GROUP", "g1", "bob", "COUNT", "3", "STREAMS", "events", ">")
        _ = try client.command("XGROUP", "CREATECONSUMER", "events", "g1", "idle")
        _ = try client.command("XGROUP", "CREATE", "empty", "g", "$", "MKSTREAM")
        #expect(try client.command("SAVE") == .status("OK"))
        let file = try Self.contents(redis.directory.path + "/dump.rdb")
        var entries: [RDBEntry] = []
        try RDBReader.read(file) { entries.append($0) }
        #expect(entries.allSatisfy { $0.value.typeName == "stream" })
        for entry in entries {
            var original = RDBWriter(compression: false)
            original.write(entry)
            let rewrittenFile = Array(original.take().dropFirst(9))  // after the REDIS0010 magic
            let expected = try Self.contents(redis.directory.path + "/dump.rdb")
            let found = (0...(expected.count - rewrittenFile.count)).contains {
                Array(expected[$0..<$0 + rewrittenFile.count]) == rewrittenFile
            }
            #expect(found, "\(String(decoding: entry.key, as: UTF8.self)) is written as Redis wrote it")
        }
        let directory = try TemporaryDirectory()
        try Self.writeFile(directory.path + "/copy.rdb") { writer, flush in
            writer.writeDefaultAux(creationTime: Int(Date().timeIntervalSince1970))
            writer.selectDatabase(0, keyCount: entries.count, expiresCount: 0)
            for entry in entries {
                writer.write(entry)
                try flush(&writer)
            }
        }
        try Self.expectRedisCheckAccepts(directory.path + "/copy.rdb")
        let copy = try await RedisServer(Self.loading(directory.path, "copy.rdb"))
        defer { copy.stop() }
        let copyClient = try copy.client()
        for key in ["events", "empty"] {
            #expect(try copyClient.command("XINFO", "STREAM", key, "FULL") == client.command("XINFO", "STREAM", key, "FULL"))
        }
    }

    /// A whole keyspace decoded and re-encoded by this module loads into a second Redis with the
    /// same `DEBUG DIGEST` (Redis's hash over every key, value and the presence of expiry), the
    /// same expiry times and the same function library.
    @Test func redisDumpSurvivesReaderAndWriter() async throws {
        let original = try await RedisServer(["--enable-debug-command", "yes"])
        defer { original.stop() }
        let client = try original.client()
        _ = try Self.fillWithEveryEncoding(client)
        #expect(try client.command("SAVE") == .status("OK"))
        let dump = try Self.contents(original.directory.path + "/dump.rdb")

        var functions: [[UInt8]] = []
        var byDatabase: [Int: [RDBEntry]] = [:]
        try RDBReader.read(dump, functionLibrary: { functions.append($0) }) { byDatabase[$0.database, default: []].append($0) }

        let directory = try TemporaryDirectory()
        try Self.writeFile(directory.path + "/copy.rdb") { writer, flush in
            writer.writeDefaultAux(creationTime: Int(Date().timeIntervalSince1970))
            for library in functions { writer.writeFunctionLibrary(library) }
            for (database, entries) in byDatabase.sorted(by: { $0.key < $1.key }) {
                writer.selectDatabase(database, keyCount: entries.count, expiresCount: entries.filter { $0.expireAtMilliseconds != nil }.count)
                for entry in entries {
                    writer.write(entry)
                    try flush(&writer)
                }
            }
        }
        try Self.expectRedisCheckAccepts(directory.path + "/copy.rdb")
        let copy = try await RedisServer(Self.loading(directory.path, "copy.rdb"))
        defer { copy.stop() }
        let copyClient = try copy.client()
        let digest = try client.command("DEBUG", "DIGEST")
        #expect(digest.string?.count == 40)
        #expect(try copyClient.command("DEBUG", "DIGEST") == digest)
        for (database, entries) in byDatabase {
            _ = try client.command("SELECT", "\(database)")
            _ = try copyClient.command("SELECT", "\(database)")
            for entry in entries where entry.expireAtMilliseconds != nil {
                let expected = try client.command([Array("PEXPIRETIME".utf8), entry.key])
                #expect(try copyClient.command([Array("PEXPIRETIME".utf8), entry.key]) == expected)
            }
        }
        #expect(try copyClient.command("FCALL", "rdbtest_echo", "0", "hello") == .bulk("hello"))
    }

    // MARK: writer → Redis

    @Test func redisLoadsWhatTheWriterWrote() async throws {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let entries = Self.everyKindOfEntry(now: now)
        let directory = try TemporaryDirectory()
        try Self.writeFile(directory.path + "/x.rdb") { writer, flush in
            writer.writeDefaultAux(creationTime: Int(now / 1000), usedMemory: 1_000_000)
            writer.writeFunctionLibrary(Array(Self.functionLibrary.utf8))
            let databases = Dictionary(grouping: entries, by: \.database)
            for database in databases.keys.sorted() {
                let keys = databases[database]!
                writer.selectDatabase(database, keyCount: keys.count, expiresCount: keys.filter { $0.expireAtMilliseconds != nil }.count)
                for entry in keys {
                    writer.write(entry)
                    try flush(&writer)
                }
            }
        }
        try Self.expectRedisCheckAccepts(directory.path + "/x.rdb")

        // Deep sanitization makes Redis validate every listpack and intset entry by entry on load.
        let redis = try await RedisServer(Self.loading(directory.path, "x.rdb") + ["--sanitize-dump-payload", "yes"])
        defer { redis.stop() }
        let client = try redis.client()
        let live = entries.filter { ($0.expireAtMilliseconds ?? .max) > now }
        #expect(live.count == entries.count - 1, "one key was written already expired")
        try Self.expectSameKeyspace(live, as: client, databases: [0, 3, 15])

        // Redis kept the compact encodings the writer chose (and converted nothing it should not).
        let encodings: [(Int, String, String)] = [
            (0, "str:int", "int"), (0, "str:007", "embstr"), (0, "str:lzf", "raw"), (0, "list:big", "quicklist"),
            (0, "set:intset", "intset"), (0, "set:512", "intset"), (0, "set:513", "hashtable"), (0, "set:mixed", "hashtable"),
            (0, "hash:small", "listpack"), (0, "hash:512", "listpack"), (0, "hash:513", "hashtable"),
            (0, "hash:64", "listpack"), (0, "hash:65", "hashtable"), (0, "zset:small", "listpack"),
            (0, "zset:128", "listpack"), (0, "zset:129", "skiplist"), (0, "zset:65", "skiplist"),
        ]
        _ = try client.command("SELECT", "0")
        for (_, key, encoding) in encodings {
            #expect(try client.command("OBJECT", "ENCODING", key).string == encoding, "\(key)")
        }
        #expect(try client.command("FCALL", "rdbtest_echo", "0", "hi") == .bulk("hi"))
        // The loaded data is fully usable: Redis can save it again and read its own file.
        #expect(try client.command("DEBUG", "RELOAD") == .status("OK"))
        try Self.expectSameKeyspace(live, as: client, databases: [0, 3, 15])
    }

    // MARK: data

    static let functionLibrary = "#!lua name=rdbtest\nredis.register_function('rdbtest_echo', function(keys, args) return args[1] end)"

    struct Expectation {
        let database: Int
        let key: [UInt8]
        let encoding: String
    }

    /// Fills `client`'s server with every type in every encoding Redis 7.0 uses, across databases,
    /// with TTLs and binary keys; returns the encoding each key must have.
    static func fillWithEveryEncoding(_ client: RedisTestClient) throws -> [Expectation] {
        var expectations: [Expectation] = []
        var commands: [[[UInt8]]] = []
        var database = 0
        func select(_ index: Int) {
            database = index
            commands.append(["SELECT", "\(index)"].map { Array($0.utf8) })
        }
        func raw(_ parts: [[UInt8]]) { commands.append(parts) }
        func command(_ parts: String...) { commands.append(parts.map { Array($0.utf8) }) }
        func expect(_ key: String, _ encoding: String) { expectations.append(Expectation(database: database, key: Array(key.utf8), encoding: encoding)) }

        select(0)
        command("SET", "str:int", "12345"); expect("str:int", "int")
        command("SET", "str:neg", "-42"); expect("str:neg", "int")
        command("SET", "str:int64", "9223372036854775807"); expect("str:int64", "int")
        command("SET", "str:007", "007"); expect("str:007", "embstr")
        command("SET", "str:embstr", "hello world"); expect("str:embstr", "embstr")
        command("SET", "str:empty", ""); expect("str:empty", "embstr")
        command("SET", "str:raw", (0..<100).map { String(UnicodeScalar(UInt8(33 + ($0 * 37) % 90))) }.joined()); expect("str:raw", "raw")
        command("SET", "str:lzf", String(repeating: "abcdefgh", count: 1000)); expect("str:lzf", "raw")
        raw([Array("SET".utf8), Array("str:binary".utf8), (0...255).map { UInt8($0) }]); expect("str:binary", "raw")
        raw([Array("SET".utf8), [0, 255, 13, 10, 0x6B], Array("binary key".utf8)])
        expectations.append(Expectation(database: 0, key: [0, 255, 13, 10, 0x6B], encoding: "embstr"))
        command("SET", "str:ttl", "expiring", "PX", "3600000"); expect("str:ttl", "embstr")
        command("SET", "12", "integer-looking key"); expect("12", "embstr")

        command("RPUSH", "list:small", "a", "b", "1", "-5", "300", "70000", "9223372036854775807", ""); expect("list:small", "quicklist")
        raw(["RPUSH", "list:big"].map { Array($0.utf8) } + (0..<5000).map { Array(($0 % 3 == 0 ? "\($0 * 1000)" : "element-\($0)").utf8) })
        expect("list:big", "quicklist")
        command("CONFIG", "SET", "list-compress-depth", "1")
        raw(["RPUSH", "list:compressed"].map { Array($0.utf8) } + (0..<3000).map { Array("compressible-element-\($0 % 50)-padding-padding".utf8) })
        expect("list:compressed", "quicklist")
        command("CONFIG", "SET", "list-compress-depth", "0")
        command("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1000")
        command("RPUSH", "list:plain", "a", String(repeating: "p", count: 2000), "b", String(repeating: "q", count: 5000)); expect("list:plain", "quicklist")
        command("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "0")
        command("RPUSH", "list:ttl", "x"); command("PEXPIRE", "list:ttl", "7200000"); expect("list:ttl", "quicklist")

        command("SADD", "set:intset", "1", "2", "-3", "100000"); expect("set:intset", "intset")
        command("SADD", "set:intset64", "1", "9223372036854775807", "-9223372036854775808"); expect("set:intset64", "intset")
        command("SADD", "set:small", "a", "b", "c"); expect("set:small", "hashtable")
        raw(["SADD", "set:big-int"].map { Array($0.utf8) } + (0..<600).map { Array("\($0 * 3)".utf8) }); expect("set:big-int", "hashtable")

        command("HSET", "hash:small", "f1", "v1", "f2", "2", "", "empty"); expect("hash:small", "listpack")
        raw(["HSET", "hash:many"].map { Array($0.utf8) } + (0..<600).flatMap { [Array("field\($0)".utf8), Array("\($0)".utf8)] })
        expect("hash:many", "hashtable")
        command("HSET", "hash:long-value", "f", String(repeating: "v", count: 100)); expect("hash:long-value", "hashtable")

        command("ZADD", "zset:small", "1.5", "a", "-2", "b", "3", "c", "inf", "p", "-inf", "m", "0", "z", "0.1", "tenth")
        expect("zset:small", "listpack")
        raw(["ZADD", "zset:many"].map { Array($0.utf8) } + (0..<200).flatMap { [Array("\(Double($0) * 0.5 - 7)".utf8), Array("member\($0)".utf8)] })
        expect("zset:many", "skiplist")
        command("ZADD", "zset:long-member", "1", String(repeating: "m", count: 100), "-inf", "low"); expect("zset:long-member", "skiplist")
        command("ZADD", "zset:ttl", "1", "a"); command("PEXPIREAT", "zset:ttl", "4102444800000"); expect("zset:ttl", "listpack")

        select(1)
        command("SET", "db1:key", "x"); expect("db1:key", "embstr")
        command("RPUSH", "list:small", "other", "database"); expect("list:small", "quicklist")
        command("HSET", "hash:small", "db", "1"); expect("hash:small", "listpack")
        select(5)
        command("SET", "db5:ttl", "1", "PX", "5000000"); expect("db5:ttl", "int")
        command("SADD", "db5:set", "x"); command("PEXPIRE", "db5:set", "6000000"); expect("db5:set", "hashtable")
        select(15)
        command("ZADD", "db15:zset", "2", "b", "1", "a"); expect("db15:zset", "listpack")
        select(0)
        raw(["FUNCTION", "LOAD", functionLibrary].map { Array($0.utf8) })

        for (index, reply) in try client.pipeline(commands).enumerated() where reply.isError {
            throw TestFailure("setup command \(commands[index].prefix(3).map { show($0) }) failed: \(reply)")
        }
        return expectations
    }

    /// Entries of every type, in the sizes on both sides of each encoding limit, with edge values.
    static func everyKindOfEntry(now: Int64) -> [RDBEntry] {
        func b(_ text: String) -> [UInt8] { Array(text.utf8) }
        func string(_ key: String, _ value: [UInt8], expire: Int64? = nil, database: Int = 0) -> RDBEntry {
            RDBEntry(database: database, key: b(key), expireAtMilliseconds: expire, value: .string(value))
        }
        func entry(_ key: String, _ value: RDBValue, database: Int = 0, expire: Int64? = nil) -> RDBEntry {
            RDBEntry(database: database, key: b(key), expireAtMilliseconds: expire, value: value)
        }
        func hash(_ count: Int, valueLength: Int = 5) -> RDBValue {
            .hash((0..<count).map { (b("f\($0)"), [UInt8](repeating: UInt8(ascii: "a") + UInt8($0 % 26), count: valueLength)) })
        }
        func zset(_ count: Int, memberLength: Int = 0) -> RDBValue {
            .sortedSet((0..<count).map { index in
                (member: b("m\(index)") + [UInt8](repeating: 0x78, count: memberLength), score: Double(index % 17) * 1.25 - 3)
            })
        }
        var entries: [RDBEntry] = []
        for text in [
            "0", "-1", "127", "-128", "32767", "-32768", "2147483647", "-2147483648", "2147483648", "9223372036854775807",
            "-9223372036854775808", "9223372036854775808", "007", "-0", "+1", " 1", "1.5", "",
        ] {
            entries.append(string("str:\(text)", b(text)))
        }
        entries += [
            string("str:int", b("12345")),
            string("str:lzf", b(String(repeating: "redis-rdb-", count: 500))),
            string("str:binary", (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 97 &+ ($0 >> 4)) }),
            string("str:big", [UInt8](repeating: 0x41, count: 3_000_000)),
            RDBEntry(database: 0, key: [0, 255, 13, 10, 0x6B], value: .string(b("binary key"))),
            string("str:ttl", b("soon"), expire: now + 3_600_000),
            string("str:expired", b("gone"), expire: now - 1000),
            entry("list:small", .list(["a", "", "1", "-5", "300", "70000", "9223372036854775807", "007"].map(b))),
            entry(
                "list:big",
                .list((0..<20000).map { $0 % 4 == 0 ? b("\($0 - 10000)") : b("element-\($0)") }
                    + [[UInt8](repeating: 0x7A, count: 10000), b("after")]),
                expire: now + 7_200_000),
            entry("set:intset", .set(["1", "2", "-3", "100000", "9223372036854775807", "-9223372036854775808"].map(b))),
            entry("set:512", .set((0..<512).map { b("\($0 * 7 - 300)") })),
            entry("set:513", .set((0..<513).map { b("\($0)") })),
            entry("set:mixed", .set(["1", "2", "007", "x", ""].map(b))),
            entry("hash:small", .hash([(b("f1"), b("v1")), (b("f2"), b("2")), (b(""), b("")), (b("-7"), b("x"))])),
            entry("hash:512", hash(512)),
            entry("hash:513", hash(513)),
            entry("hash:64", hash(3, valueLength: 64)),
            entry("hash:65", hash(3, valueLength: 65)),
            entry(
                "zset:small",
                .sortedSet([
                    (b("a"), 1.5), (b("b"), -2), (b("inf"), .infinity), (b("-inf"), -.infinity), (b("zero"), 0),
                    (b("negzero"), -0.0), (b("tie-b"), 7), (b("tie-a"), 7), (b("tenth"), 0.1), (b("big"), 1e300),
                    (b("tiny"), .leastNonzeroMagnitude), (b("int"), 4_611_686_018_427_387_904),
                ]),
                expire: now + 10_000_000),
            entry("zset:128", zset(128)),
            entry("zset:129", zset(129)),
            entry("zset:65", zset(3, memberLength: 63)),
            string("db3:key", b("x"), database: 3),
            entry("list:small", .list([b("db3")]), database: 3),
            entry("hash:db15", .hash([(b("a"), b("1"))]), database: 15, expire: now + 3_600_000),
        ]
        return entries
    }

    // MARK: comparing through Redis

    /// A value normalized for comparison: members sorted, hashes as dictionaries, sorted sets in
    /// Redis's order (score, then member) with the sign of zero kept.
    enum Stored: Equatable {
        case string([UInt8])
        case list([[UInt8]])
        case set([[UInt8]])
        case hash([[UInt8]: [UInt8]])
        case sortedSet([Scored])
        case stream(RDBStream)

        init(_ value: RDBValue) {
            switch value {
            case .string(let bytes): self = .string(bytes)
            case .list(let elements): self = .list(elements)
            case .set(let members): self = .set(members.sorted { $0.lexicographicallyPrecedes($1) })
            case .hash(let pairs): self = .hash(Dictionary(pairs.map { ($0.field, $0.value) }, uniquingKeysWith: { a, _ in a }))
            case .sortedSet(let pairs): self = .sortedSet(Scored.redisOrder(pairs.map { Scored(member: $0.member, score: $0.score) }))
            case .stream(let stream): self = .stream(stream)
            }
        }
    }

    struct Scored: Equatable {
        let member: [UInt8]
        let score: Double

        static func == (lhs: Scored, rhs: Scored) -> Bool {
            lhs.member == rhs.member && lhs.score == rhs.score && lhs.score.sign == rhs.score.sign
        }

        static func redisOrder(_ items: [Scored]) -> [Scored] {
            items.sorted { $0.score < $1.score || ($0.score == $1.score && $0.member.lexicographicallyPrecedes($1.member)) }
        }
    }

    /// The value of `key` as Redis reports it (nil when there is no such key).
    static func fetch(_ client: RedisTestClient, _ key: [UInt8]) throws -> Stored? {
        func run(_ parts: String...) throws -> Reply { try client.command([Array(parts[0].utf8), key] + parts.dropFirst().map { Array($0.utf8) }) }
        func items(_ reply: Reply) throws -> [[UInt8]] {
            guard case .array(let items?) = reply else { throw TestFailure("expected an array, got \(reply)") }
            return try items.map {
                guard case .bulk(let bytes?) = $0 else { throw TestFailure("expected a bulk string, got \($0)") }
                return bytes
            }
        }
        switch try run("TYPE") {
        case .status("none"): return nil
        case .status("string"):
            guard case .bulk(let bytes?) = try run("GET") else { return nil }
            return .string(bytes)
        case .status("list"): return .list(try items(try run("LRANGE", "0", "-1")))
        case .status("set"): return .set(try items(try run("SMEMBERS")).sorted { $0.lexicographicallyPrecedes($1) })
        case .status("hash"):
            let flat = try items(try run("HGETALL"))
            return .hash(Dictionary(stride(from: 0, to: flat.count, by: 2).map { (flat[$0], flat[$0 + 1]) }, uniquingKeysWith: { a, _ in a }))
        case .status("zset"):
            let flat = try items(try run("ZRANGE", "0", "-1", "WITHSCORES"))
            return .sortedSet(try stride(from: 0, to: flat.count, by: 2).map {
                guard let score = Double(String(decoding: flat[$0 + 1], as: UTF8.self)) else { throw TestFailure("bad score") }
                return Scored(member: flat[$0], score: score)
            })
        case let other: throw TestFailure("unexpected TYPE reply \(other)")
        }
    }

    /// `entries` are exactly what `client`'s server holds in `databases`: same keys per database,
    /// same values, same absolute expiry.
    static func expectSameKeyspace(_ entries: [RDBEntry], as client: RedisTestClient, databases: [Int]) throws {
        let grouped = Dictionary(grouping: entries, by: \.database)
        #expect(Set(grouped.keys).isSubset(of: Set(databases)), "entries outside the databases checked")
        for database in databases {
            _ = try client.command("SELECT", "\(database)")
            let mine = grouped[database] ?? []
            guard case .array(let replies?) = try client.command("KEYS", "*") else { throw TestFailure("KEYS failed") }
            let serverKeys = Set(replies.compactMap { reply -> [UInt8]? in if case .bulk(let bytes?) = reply { bytes } else { nil } })
            #expect(serverKeys == Set(mine.map(\.key)), "keys of database \(database)")
            for entry in mine {
                let stored = try fetch(client, entry.key)
                #expect(stored == Stored(entry.value), "value of \(show(entry.key)) in database \(database)")
                let expiry = try client.command([Array("PEXPIRETIME".utf8), entry.key])
                #expect(expiry == .integer(entry.expireAtMilliseconds.map(Int.init) ?? -1), "expiry of \(show(entry.key)) in database \(database)")
            }
        }
    }

    // MARK: files and servers

    static func contents(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw TestFailure("cannot read \(path)") }
        return [UInt8](data)
    }

    /// Writes a file through the streaming API: `body` calls `flush` whenever it likes, which drains
    /// the writer into the file once more than 64 KB are pending.
    static func writeFile(
        _ path: String, _ body: (inout RDBWriter, (inout RDBWriter) throws -> Void) throws -> Void
    ) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw TestFailure("cannot create \(path)")
        }
        defer { try? handle.close() }
        var writer = RDBWriter()
        let flush: (inout RDBWriter) throws -> Void = { writer in
            if writer.pending.count > 65536 { try writer.drain { try handle.write(contentsOf: Data($0)) } }
        }
        try body(&writer, flush)
        writer.finish()
        try writer.drain { try handle.write(contentsOf: Data($0)) }
    }

    /// `redis-check-rdb` (shipped with redis-server) parses the file and says it is fine.
    static func expectRedisCheckAccepts(_ path: String) throws {
        guard let checker = TestEnvironment.binary("redis-check-rdb") else {
            if TestEnvironment.isCI { Issue.record("redis-check-rdb is not installed") }
            return
        }
        let (status, output) = try run(checker, [path])
        #expect(status == 0 && output.contains("RDB looks OK"), "redis-check-rdb: \(output)")
    }

    /// Server arguments that load `file` from `directory` (the later `--dir` overrides the helper's).
    static func loading(_ directory: String, _ file: String) -> [String] {
        ["--dir", directory, "--dbfilename", file, "--enable-debug-command", "yes"]
    }

    static func show(_ key: [UInt8]) -> String {
        key.allSatisfy { $0 >= 0x20 && $0 < 0x7F } ? String(decoding: key, as: UTF8.self) : "\(key)"
    }
}
