import RDB
import RedisText
import Testing

/// The building blocks, against vectors from Redis itself (crc64.c's self-test, LZF blobs and
/// listpacks cut out of dumps written by redis-server 7.0.15, the ziplist example in ziplist.c).
struct PrimitiveTests {
    // MARK: CRC64

    @Test func crc64MatchesRedisSelfTest() {
        #expect(CRC64.checksum(Array("123456789".utf8)) == 0xe9c6_d914_c4b8_d9ca)
        let lorem =
            "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et "
            + "dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip "
            + "ex ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu "
            + "fugiat nulla pariatur. Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt "
            + "mollit anim id est laborum."
        // crc64.c checksums `sizeof(li)`: the text and its terminating NUL.
        #expect(CRC64.checksum(Array(lorem.utf8) + [0]) == 0xc779_4709_e696_83b3)
        #expect(CRC64.checksum([]) == 0)
    }

    @Test func crc64IsIncrementalAtEverySplit() {
        let data = (0..<100).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        let whole = CRC64.checksum(data)
        for split in 0...data.count {
            let first = data[..<split].withUnsafeBytes { CRC64.update(0, $0) }
            let both = data[split...].withUnsafeBytes { CRC64.update(first, $0) }
            #expect(both == whole, "split at \(split)")
        }
    }

    @Test func crc64OfRealDumpsMatchesTheirTrailer() {
        for dump in [Vectors.redis7, Vectors.hashZiplist, Vectors.zsetZiplist, Vectors.scriptBackup] {
            let body = Array(dump.dropLast(8))
            let stored = dump.suffix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            #expect(CRC64.checksum(body) == stored)
        }
    }

    // MARK: LZF

    /// `compressible` in encodings.rdb: 137 × "a".
    @Test func lzfDecodesRedis2Blob() throws {
        let blob: [UInt8] = [0x01, 0x61, 0x61, 0xe0, 0x7c, 0x00, 0x01, 0x61, 0x61]
        let plain = try #require(blob.withUnsafeBytes { LZF.decompress($0, length: 137) })
        #expect(plain == [UInt8](repeating: UInt8(ascii: "a"), count: 137))
    }

    /// `SET lz <"abcabcabcabc" × 10>` in redis-server 7.0.15.
    @Test func lzfDecodesRedis7Blob() throws {
        let blob: [UInt8] = [0x03, 0x61, 0x62, 0x63, 0x61, 0xe0, 0x69, 0x02, 0x01, 0x62, 0x63]
        let plain = try #require(blob.withUnsafeBytes { LZF.decompress($0, length: 120) })
        #expect(plain == Array(String(repeating: "abcabcabcabc", count: 10).utf8))
    }

    @Test func lzfRejectsWrongLengthsAndBadReferences() {
        let blob: [UInt8] = [0x03, 0x61, 0x62, 0x63, 0x61, 0xe0, 0x69, 0x02, 0x01, 0x62, 0x63]
        #expect(blob.withUnsafeBytes { LZF.decompress($0, length: 119) } == nil)
        #expect(blob.withUnsafeBytes { LZF.decompress($0, length: 121) } == nil)
        // A reference before the start of the output.
        #expect([0x00, 0x61, 0x20, 0x05].withUnsafeBytes { LZF.decompress($0, length: 4) } == nil)
        // A literal run longer than the input.
        #expect([0x05, 0x61].withUnsafeBytes { LZF.decompress($0, length: 6) } == nil)
        // A long reference missing its length byte.
        #expect([0x00, 0x61, 0xe0].withUnsafeBytes { LZF.decompress($0, length: 20) } == nil)
        // A claimed length no 2-byte input can expand to: refused before allocating.
        #expect([0x00, 0x61].withUnsafeBytes { LZF.decompress($0, length: Int.max) } == nil)
    }

    @Test(arguments: [
        [UInt8](repeating: 7, count: 5000),
        Array(String(repeating: "The quick brown fox. ", count: 40).utf8),
        (0..<3000).map { UInt8(truncatingIfNeeded: $0 % 251) },
        (0..<600).map { UInt8(truncatingIfNeeded: ($0 &* 7919) >> 3) },
        Array("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab".utf8),
    ])
    func lzfRoundTrips(input: [UInt8]) throws {
        var compressor = LZF.Compressor()
        var output: [UInt8] = []
        // Twice: the second call must not be confused by the first call's table entries.
        for _ in 0..<2 {
            let fits = input.withUnsafeBytes { compressor.compress($0, into: &output, limit: input.count) }
            try #require(fits)
            #expect(output.count < input.count)
            let back = output.withUnsafeBytes { LZF.decompress($0, length: input.count) }
            #expect(back == input)
        }
    }

    @Test func lzfGivesUpOnIncompressibleInput() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let random = (0..<1000).map { _ -> UInt8 in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
        var compressor = LZF.Compressor()
        var output: [UInt8] = []
        #expect(!random.withUnsafeBytes { compressor.compress($0, into: &output, limit: random.count - 4) })
    }

    // MARK: numbers

    @Test func canonicalIntegersFollowString2ll() {
        let cases: [(String, Int64?)] = [
            ("0", 0), ("-1", -1), ("7", 7), ("123", 123), ("9223372036854775807", .max),
            ("-9223372036854775808", .min), ("9223372036854775808", nil), ("-9223372036854775809", nil),
            ("007", nil), ("-0", nil), ("+1", nil), ("", nil), ("-", nil), (" 1", nil), ("1 ", nil), ("1a", nil),
            ("00", nil), ("99999999999999999999", nil),
        ]
        for (text, expected) in cases {
            #expect(Array(text.utf8).withUnsafeBytes(RedisInteger.parse) == expected, "\(text)")
        }
    }

    @Test func integersPrintLikeLl2string() {
        for value: Int64 in [0, 9, 10, -1, -10, 12345, .max, .min] {
            #expect(RDBNumber.bytes(value) == Array(String(value).utf8))
        }
    }

    @Test func scoresPrintLikeD2stringAndParseBack() {
        let cases: [(Double, String)] = [
            (1, "1"), (-2, "-2"), (0, "0"), (-0.0, "-0"), (1.5, "1.5"), (.infinity, "inf"), (-.infinity, "-inf"),
            (0.1, "0.1"), (4_611_686_018_427_387_904, "4611686018427387904"), (9_223_372_036_854_775_808, "9.223372036854776e+18"), (1e300, "1e+300"),
        ]
        for (score, text) in cases {
            let bytes = RDBNumber.scoreBytes(score)
            #expect(String(decoding: bytes, as: UTF8.self) == text)
            let back = bytes.withUnsafeBytes(RDBNumber.double)
            #expect(back == score && back?.sign == score.sign, "\(text)")
        }
        #expect(Array("nope".utf8).withUnsafeBytes(RDBNumber.double) == nil)
    }

    // MARK: listpack

    /// The listpack of `RPUSH l a b 1 -5 300 70000 ""` in redis-server 7.0.15: 7-bit, 13-bit and
    /// 24-bit integers, 6-bit strings, an empty string.
    @Test func listpackDecodesRedisNode() throws {
        let listpack: [UInt8] = [
            0x1c, 0x00, 0x00, 0x00, 0x07, 0x00, 0x81, 0x61, 0x02, 0x81, 0x62, 0x02, 0x01, 0x01, 0xdf, 0xfb, 0x02,
            0xc1, 0x2c, 0x02, 0xf2, 0x70, 0x11, 0x01, 0x04, 0x80, 0x01, 0xff,
        ]
        let entries = try listpack.withUnsafeBytes { try RDBListpack.entries($0) }
        #expect(entries.map { String(decoding: $0, as: UTF8.self) } == ["a", "b", "1", "-5", "300", "70000", ""])
    }

    @Test func listpackEncodesLikeRedis() {
        var buffer: [UInt8] = []
        RDBListpack.begin(&buffer)
        for element in ["a", "b", "1", "-5", "300", "70000", ""] {
            Array(element.utf8).withUnsafeBytes { RDBListpack.append($0, to: &buffer) }
        }
        RDBListpack.finish(&buffer, count: 7)
        #expect(buffer == [
            0x1c, 0x00, 0x00, 0x00, 0x07, 0x00, 0x81, 0x61, 0x02, 0x81, 0x62, 0x02, 0x01, 0x01, 0xdf, 0xfb, 0x02,
            0xc1, 0x2c, 0x02, 0xf2, 0x70, 0x11, 0x01, 0x04, 0x80, 0x01, 0xff,
        ])
    }

    @Test func listpackRoundTripsEveryEncodingWidth() throws {
        let elements: [[UInt8]] = [
            "0", "127", "128", "-1", "-4096", "4095", "4096", "-4097", "32767", "-32768", "32768", "8388607",
            "-8388608", "8388608", "2147483647", "-2147483648", "2147483648", "9223372036854775807",
            "-9223372036854775808", "9223372036854775808", "007", "-0", "",
        ].map { Array($0.utf8) } + [
            [UInt8](repeating: 1, count: 63), [UInt8](repeating: 2, count: 64), [UInt8](repeating: 3, count: 125),
            [UInt8](repeating: 4, count: 126), [UInt8](repeating: 5, count: 4095), [UInt8](repeating: 6, count: 4096),
            [UInt8](repeating: 7, count: 16380), [UInt8](repeating: 8, count: 70000), Array(0...255),
        ]
        var buffer: [UInt8] = []
        RDBListpack.begin(&buffer)
        var expectedSize = RDBListpack.headerSize + 1
        for element in elements {
            element.withUnsafeBytes {
                RDBListpack.append($0, to: &buffer)
                expectedSize += RDBListpack.entrySize($0)
            }
        }
        RDBListpack.finish(&buffer, count: elements.count)
        #expect(buffer.count == expectedSize)
        #expect(try buffer.withUnsafeBytes { try RDBListpack.entries($0) } == elements)
    }

    @Test func listpackRejectsBrokenStructure() {
        let good: [UInt8] = [0x0c, 0, 0, 0, 2, 0, 0x81, 0x61, 0x02, 0x05, 0x01, 0xff]
        #expect((try? good.withUnsafeBytes { try RDBListpack.entries($0) }) == [[0x61], [0x35]])
        let broken: [[UInt8]] = [
            [0x0c, 0, 0, 0, 3, 0, 0x81, 0x61, 0x02, 0x05, 0x01, 0xff],  // count says 3
            [0x0d, 0, 0, 0, 2, 0, 0x81, 0x61, 0x02, 0x05, 0x01, 0xff],  // total says 13
            [0x0c, 0, 0, 0, 2, 0, 0x81, 0x61, 0x03, 0x05, 0x01, 0xff],  // back length 3 for a 2-byte entry
            [0x0c, 0, 0, 0, 2, 0, 0x85, 0x61, 0x02, 0x05, 0x01, 0xff],  // string runs past the end
            [0x0c, 0, 0, 0, 2, 0, 0xf5, 0x61, 0x02, 0x05, 0x01, 0xff],  // invalid encoding byte
            [0x0c, 0, 0, 0, 2, 0, 0x81, 0x61, 0x02, 0x05, 0x01, 0xfe],  // no end marker
            [0x06, 0, 0, 0, 0, 0],
        ]
        for bytes in broken {
            #expect(throws: RDBPackedError.self) { try bytes.withUnsafeBytes { try RDBListpack.entries($0) } }
        }
    }

    // MARK: ziplist, intset, zipmap

    /// The example in ziplist.c: "2" and "5" as immediate integers.
    @Test func ziplistDecodesRedisExample() throws {
        let ziplist: [UInt8] = [0x0f, 0, 0, 0, 0x0c, 0, 0, 0, 0x02, 0, 0x00, 0xf3, 0x02, 0xf6, 0xff]
        #expect(try ziplist.withUnsafeBytes { try RDBZiplist.entries($0) } == [[UInt8(ascii: "2")], [UInt8(ascii: "5")]])
    }

    /// `list_zipped` from encodings.rdb (Redis 2.x): int16, int24, int64 and string entries.
    @Test func ziplistDecodesRedis2List() throws {
        let ziplist = Vectors.bytes(fromHex: [
            "30000000" + "25000000" + "0800",  // 48 bytes, tail at 37, 8 entries
            "00c00100", "04c00200", "04c00300",  // prevlen, int16
            "040161", "030162", "030163",  // prevlen, 6-bit string
            "03d0a0860100",  // int32
            "06e000bca06501000000",  // int64
            "ff",
        ])
        let entries = try ziplist.withUnsafeBytes { try RDBZiplist.entries($0) }
        #expect(entries.map { String(decoding: $0, as: UTF8.self) } == ["1", "2", "3", "a", "b", "c", "100000", "6000000000"])
    }

    @Test func ziplistRejectsWrongPreviousLength() {
        let ziplist: [UInt8] = [0x0f, 0, 0, 0, 0x0c, 0, 0, 0, 0x02, 0, 0x00, 0xf3, 0x03, 0xf6, 0xff]
        #expect(throws: RDBPackedError.self) { try ziplist.withUnsafeBytes { try RDBZiplist.entries($0) } }
    }

    @Test func intsetDecodesEveryWidth() throws {
        // From redis7 (width 4) and encodings.rdb (widths 2 and 8).
        let cases: [([UInt8], [String])] = [
            (Vectors.bytes(fromHex: ["0400000004000000fdffffff0100000002000000a0860100"]),
             ["-3", "1", "2", "100000"]),
            ([2, 0, 0, 0, 4, 0, 0, 0, 1, 0, 2, 0, 3, 0, 4, 0], ["1", "2", "3", "4"]),
            (Vectors.bytes(fromHex: ["08000000020000000000000000000080ffffffffffffff7f"]),
             ["-9223372036854775808", "9223372036854775807"]),
        ]
        for (blob, expected) in cases {
            let members = try blob.withUnsafeBytes { try RDBIntset.members($0) }
            #expect(members.map { String(decoding: $0, as: UTF8.self) } == expected)
        }
        #expect(throws: RDBPackedError.self) { try [3, 0, 0, 0, 0, 0, 0, 0].withUnsafeBytes { try RDBIntset.members($0) } }
        #expect(throws: RDBPackedError.self) {
            try [2, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 1, 0].withUnsafeBytes { try RDBIntset.members($0) }
        }
    }

    @Test func intsetEncodesSortedWithNarrowestWidth() {
        #expect(RDBIntset.encode([3, -1, 2]) == [2, 0, 0, 0, 3, 0, 0, 0, 0xff, 0xff, 2, 0, 3, 0])
        #expect(RDBIntset.encode([40000]).prefix(4) == [4, 0, 0, 0])
        #expect(RDBIntset.encode([-2_147_483_649]).prefix(4) == [8, 0, 0, 0])
    }

    /// The example in zipmap.c, with a free byte after "bar" to exercise skipping it.
    @Test func zipmapDecodesRedisExample() throws {
        let zipmap = Array("\u{02}\u{03}foo\u{03}\u{01}barX\u{05}hello\u{05}\u{00}world".utf8) + [0xff]
        let pairs = try zipmap.withUnsafeBytes { try RDBZipmap.pairs($0) }
        #expect(pairs.map { String(decoding: $0.field, as: UTF8.self) } == ["foo", "hello"])
        #expect(pairs.map { String(decoding: $0.value, as: UTF8.self) } == ["bar", "world"])
        let truncated = Array(zipmap.dropLast(3)) + [0xff]
        #expect(throws: RDBPackedError.self) { try truncated.withUnsafeBytes { try RDBZipmap.pairs($0) } }
    }
}
