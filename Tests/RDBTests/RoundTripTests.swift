import RDB
import Testing

/// Writer → reader for every type and encoding, with the edge cases that decide encodings.
/// (That Redis itself loads what the writer produces is checked in IntegrationTests/RDBInteropTests.)
struct RoundTripTests {
    /// The single key `key` written alone: the whole file, and the type byte the writer chose.
    static func written(_ write: (inout RDBWriter) -> Void) -> (file: [UInt8], type: UInt8) {
        var writer = RDBWriter()
        write(&writer)
        writer.finish()
        let file = writer.take()
        return (file, file[9] == 252 ? file[18] : file[9])
    }

    static func roundTrip(_ value: RDBValue, expireAt: Int64? = nil) throws -> (entry: RDBEntry, type: UInt8) {
        let entry = RDBEntry(database: 0, key: bytes("key"), expireAtMilliseconds: expireAt, value: value)
        let (file, type) = written { $0.write(entry) }
        let dump = try readDump(file)
        try #require(dump.entries.count == 1)
        return (dump.entries[0], type)
    }

    // MARK: strings

    @Test(arguments: [
        "", "a", "0", "-1", "127", "-128", "128", "-129", "32767", "-32768", "32768", "2147483647", "-2147483648",
        "2147483648", "-2147483649", "9223372036854775807", "-9223372036854775808", "9223372036854775808", "007",
        "-0", "+1", " 1", "1 ", "1.5", "0x10",
    ])
    func stringsKeepTheirExactBytes(value: String) throws {
        let (entry, type) = try Self.roundTrip(.string(bytes(value)))
        #expect(type == 0)
        #expect(entry.value == .string(bytes(value)))
    }

    @Test func canonical32BitIntegersAreIntegerEncoded() {
        func valueBytes(_ text: String) -> [UInt8] {
            let (file, _) = Self.written { $0.writeString(key: bytes("k"), value: bytes(text), expireAtMilliseconds: nil) }
            return Array(file[12..<file.count - 9])  // after magic, type, "k"; before EOF and checksum
        }
        #expect(valueBytes("-1") == [0xC0, 0xFF])
        #expect(valueBytes("300") == [0xC1, 0x2C, 0x01])
        #expect(valueBytes("-2147483648") == [0xC2, 0x00, 0x00, 0x00, 0x80])
        #expect(valueBytes("2147483648") == [10] + bytes("2147483648"))
        #expect(valueBytes("007") == [3] + bytes("007"))
    }

    @Test func largeAndBinaryStrings() throws {
        let binary = (0..<70000).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ $0 >> 8) }
        #expect(try Self.roundTrip(.string(binary)).entry.value == .string(binary))
        let compressible = [UInt8](repeating: 0, count: 1 << 20)
        let (file, _) = Self.written { $0.writeString(key: bytes("z"), value: compressible, expireAtMilliseconds: nil) }
        #expect(file.count < 20000, "a megabyte of zeros compresses")
        #expect(try readDump(file).entries.first?.value == .string(compressible))
        var plain = RDBWriter(compression: false)
        plain.writeString(key: bytes("z"), value: compressible, expireAtMilliseconds: nil)
        #expect(plain.pending.count > 1 << 20)
    }

    @Test func keysAreBinaryAndMayLookLikeIntegers() throws {
        for key in [bytes("12"), bytes("-5"), [0, 255, 13, 10], bytes(String(repeating: "k", count: 300)), []] {
            let (file, _) = Self.written { $0.writeString(key: key, value: bytes("v"), expireAtMilliseconds: nil) }
            #expect(try readDump(file).entries.first?.key == key)
        }
    }

    @Test func expiryDatabaseAuxAndFunctions() throws {
        var writer = RDBWriter()
        writer.writeDefaultAux(creationTime: 1_700_000_000, usedMemory: 5_000_000_000, replication: (3, "abc", 99))
        writer.writeFunctionLibrary(bytes("#!lua name=lib\nredis.register_function('f', function() return 1 end)"))
        writer.selectDatabase(0, keyCount: 1, expiresCount: 1)
        writer.writeString(key: bytes("a"), value: bytes("1"), expireAtMilliseconds: 4_102_444_800_123)
        writer.selectDatabase(15, keyCount: 2, expiresCount: 1)
        writer.writeString(key: bytes("b"), value: bytes("2"), expireAtMilliseconds: nil)
        writer.writeString(key: bytes("c"), value: bytes("3"), expireAtMilliseconds: -1)
        writer.finish()
        let dump = try readDump(writer.take())
        #expect(dump.aux == [
            "redis-ver": "7.0.15", "redis-bits": "64", "ctime": "1700000000", "used-mem": "5000000000",
            "repl-stream-db": "3", "repl-id": "abc", "repl-offset": "99", "aof-base": "0",
        ])
        #expect(dump.functions == ["#!lua name=lib\nredis.register_function('f', function() return 1 end)"])
        #expect(dump.entries.map(\.database) == [0, 15, 15])
        #expect(dump.entries.map(\.expireAtMilliseconds) == [4_102_444_800_123, nil, -1])
    }

    // MARK: lists

    @Test func smallListIsOneListpackNode() throws {
        let elements = ["a", "", "1", "-5", "300", "70000", "9223372036854775807", "007"].map(bytes)
        let (entry, type) = try Self.roundTrip(.list(elements))
        #expect(type == 18)
        #expect(entry.value == .list(elements))
    }

    @Test func largeListSplitsIntoBoundedNodes() throws {
        let elements = (0..<20000).map { index in index % 3 == 0 ? bytes(String(index)) : bytes("element-\(index)") }
            + [[UInt8](repeating: 9, count: 20000), bytes("after-a-big-one")]
        let (file, _) = Self.written { $0.writeList(key: bytes("l"), elements: elements, expireAtMilliseconds: nil) }
        #expect(try readDump(file).entries.first?.value == .list(elements))

        // Uncompressed, walk the nodes: every listpack is at most 8 KB unless it holds one big element.
        var plain = RDBWriter(compression: false)
        plain.writeList(key: bytes("l"), elements: elements, expireAtMilliseconds: nil)
        let raw = plain.take()
        var position = 12
        func length() -> Int {
            let first = raw[position]
            position += 1
            switch first >> 6 {
            case 0: return Int(first)
            case 1:
                position += 1
                return Int(first & 0x3F) << 8 | Int(raw[position - 1])
            default:
                position += 4
                return raw[position - 4..<position].reduce(0) { $0 << 8 | Int($1) }
            }
        }
        let nodes = length()
        var sizes: [Int] = []
        for _ in 0..<nodes {
            #expect(length() == 2, "packed container")
            let size = length()
            sizes.append(size)
            position += size
        }
        #expect(position == raw.count)
        #expect(nodes > 20)
        #expect(sizes.filter { $0 > 8192 }.count == 1, "only the node holding the 20000-byte element")
    }

    @Test func emptyCollectionsAreNotWritten() throws {
        var writer = RDBWriter()
        writer.writeList(key: bytes("l"), elements: [[UInt8]](), expireAtMilliseconds: nil)
        writer.writeSet(key: bytes("s"), members: [[UInt8]](), expireAtMilliseconds: nil)
        writer.writeHash(key: bytes("h"), pairs: [(field: [UInt8], value: [UInt8])](), expireAtMilliseconds: nil)
        writer.writeSortedSet(key: bytes("z"), pairs: [(member: [UInt8], score: Double)](), expireAtMilliseconds: nil)
        #expect(writer.pending == bytes("REDIS0010"))
    }

    // MARK: sets

    @Test func integerSetsUseIntsetUpTo512Members() throws {
        let small = [0, -1, 5, Int64.max, Int64.min, 40000].map { bytes(String($0)) }
        var (entry, type) = try Self.roundTrip(.set(small))
        #expect(type == 11)
        #expect(Shape(entry.value) == .set(small.map(text).sorted()))

        let limit = (0..<512).map { bytes(String($0 * 7 - 1000)) }
        (entry, type) = try Self.roundTrip(.set(limit))
        #expect(type == 11)
        #expect(Shape(entry.value) == .set(limit.map(text).sorted()))

        let over = (0..<513).map { bytes(String($0)) }
        (entry, type) = try Self.roundTrip(.set(over))
        #expect(type == 2)
        #expect(Shape(entry.value) == .set(over.map(text).sorted()))

        for mixed in [["1", "2", "007"], ["1", "x"], ["9223372036854775808"], ["-0"]] {
            (entry, type) = try Self.roundTrip(.set(mixed.map(bytes)))
            #expect(type == 2, "\(mixed)")
            #expect(Shape(entry.value) == .set(mixed.sorted()))
        }
    }

    // MARK: hashes

    @Test func hashesUseListpackWithinRedisLimits() throws {
        func pairs(_ count: Int, valueLength: Int = 3) -> [(field: [UInt8], value: [UInt8])] {
            (0..<count).map { (bytes("f\($0)"), [UInt8](repeating: UInt8(ascii: "v"), count: valueLength)) }
        }
        let cases: [([(field: [UInt8], value: [UInt8])], UInt8)] = [
            (pairs(1), 16), (pairs(512), 16), (pairs(513), 4), (pairs(5, valueLength: 64), 16),
            (pairs(5, valueLength: 65), 4), ([(bytes("1"), bytes("-2")), (bytes(""), bytes(""))], 16),
            ([(Array(repeating: 1, count: 65), bytes("x"))], 4),
        ]
        for (input, expectedType) in cases {
            let (entry, type) = try Self.roundTrip(.hash(input))
            #expect(type == expectedType)
            #expect(entry.value == .hash(input))
        }
    }

    // MARK: sorted sets

    @Test func sortedSetsKeepScoresExactly() throws {
        let scores: [Double] = [
            0, -0.0, 1, -1, 1.5, 0.1, -2.5e-300, 1e300, .infinity, -.infinity, .pi, 4_611_686_018_427_387_904,
            9_007_199_254_740_992, 9_007_199_254_740_994, .leastNonzeroMagnitude, .greatestFiniteMagnitude, -1e-7,
        ]
        let input = scores.enumerated().map { (member: bytes("m\($0.offset)"), score: $0.element) }
        for (value, expectedType) in [(input, UInt8(17)), (input + (0..<200).map { (bytes("x\($0)"), Double($0)) }, 5)] {
            let (entry, type) = try Self.roundTrip(.sortedSet(value))
            #expect(type == expectedType)
            guard case .sortedSet(let back) = entry.value else { Issue.record("not a sorted set"); continue }
            let byMember = Dictionary(back.map { (text($0.member), $0.score) }, uniquingKeysWith: { a, _ in a })
            #expect(byMember.count == value.count)
            for pair in value {
                let score = byMember[text(pair.member)]
                #expect(score == pair.score && score?.sign == pair.score.sign, "\(text(pair.member)) \(pair.score)")
            }
        }
    }

    @Test func listpackSortedSetIsInRedisOrder() throws {
        let input: [(member: [UInt8], score: Double)] = [
            (bytes("b"), 2), (bytes("a"), 2), (bytes("z"), -.infinity), (bytes("ab"), 2), (bytes("neg0"), -0.0),
            (bytes("zero"), 0), (bytes("c"), 1),
        ]
        let (entry, type) = try Self.roundTrip(.sortedSet(input))
        #expect(type == 17)
        guard case .sortedSet(let back) = entry.value else { Issue.record("not a sorted set"); return }
        #expect(back.map { text($0.member) } == ["z", "neg0", "zero", "c", "a", "ab", "b"])
    }

    @Test func sortedSetMemberLimits() throws {
        let long = [(member: [UInt8](repeating: 1, count: 65), score: 1.0)]
        #expect(try Self.roundTrip(.sortedSet(long)).type == 5)
        let limit = [(member: [UInt8](repeating: 1, count: 64), score: 1.0)]
        #expect(try Self.roundTrip(.sortedSet(limit)).type == 17)
    }

    // MARK: streaming

    @Test func drainingInPiecesGivesTheSameFileAndChecksum() throws {
        var whole = RDBWriter()
        var pieces = RDBWriter()
        var collected: [UInt8] = []
        for index in 0..<300 {
            let entry = RDBEntry(database: 0, key: bytes("k\(index)"), value: .list((0..<index).map { bytes("e\($0)") }))
            whole.write(entry)
            pieces.write(entry)
            if index % 7 == 0 { pieces.drain { collected.append(contentsOf: $0) } }
            if index % 11 == 0 { collected += pieces.take() }
        }
        whole.finish()
        pieces.finish()
        collected += pieces.take()
        let file = whole.take()
        #expect(collected == file)
        #expect(pieces.byteCount == file.count)
        #expect(try readDump(collected).entries.count == 299)
    }

    @Test func writesAcceptAnyByteCollections() throws {
        var writer = RDBWriter()
        let key: ArraySlice<UInt8> = bytes("xkeyx")[1..<4]
        writer.writeString(key: key, value: "value".utf8, expireAtMilliseconds: nil)
        writer.writeSet(key: "set".utf8, members: Set([bytes("a"), bytes("b")]), expireAtMilliseconds: nil)
        writer.writeHash(
            key: "hash".utf8, pairs: ["f": "v"].map { (field: $0.key.utf8, value: $0.value.utf8) }, expireAtMilliseconds: nil)
        writer.finish()
        let dump = try readDump(writer.take())
        #expect(dump.shape("key") == .string("value"))
        #expect(dump.shape("set") == .set("a", "b"))
        #expect(dump.shape("hash") == .hash(["f": "v"]))
    }

    // MARK: performance

    /// 1,000,000 small string keys encoded and decoded (100,000 in debug builds, without a time limit).
    @Test func millionKeysEncodeAndDecodeQuickly() throws {
        #if DEBUG
        let count = 100_000
        #else
        let count = 1_000_000
        #endif
        let clock = ContinuousClock()
        let start = clock.now
        var writer = RDBWriter()
        writer.writeDefaultAux(creationTime: 0)
        writer.selectDatabase(0, keyCount: count, expiresCount: 0)
        var key: [UInt8] = bytes("key:0000000")
        for index in 0..<count {
            var value = index
            for position in stride(from: 10, through: 4, by: -1) {
                key[position] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            }
            writer.writeString(key: key, value: key[4...], expireAtMilliseconds: index % 10 == 0 ? 4_102_444_800_000 : nil)
        }
        writer.finish()
        let file = writer.take()
        let encoded = clock.now
        var seen = 0
        var bytesSeen = 0
        try RDBReader.read(file) { entry in
            seen += 1
            if case .string(let value) = entry.value { bytesSeen += value.count }
        }
        let decoded = clock.now
        #expect(seen == count)
        #expect(bytesSeen == 7 * count)
        #if !DEBUG
        #expect(encoded - start < .seconds(2), "encoding took \(encoded - start)")
        #expect(decoded - encoded < .seconds(2), "decoding took \(decoded - encoded)")
        #endif
        print("RDB \(count) keys: encode \(encoded - start), decode \(decoded - encoded), \(file.count) bytes")
    }
}
