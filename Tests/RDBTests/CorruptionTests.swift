import RDB
import Testing

/// Truncated, corrupted and hostile input: always an `RDBError`, never a crash, a hang or a huge
/// allocation.
struct CorruptionTests {
    /// A small file with every type and encoding the writer produces.
    static let sample: [UInt8] = {
        var writer = RDBWriter()
        writer.writeDefaultAux(creationTime: 1_700_000_000)
        writer.writeFunctionLibrary(bytes("#!lua name=x\n"))
        writer.selectDatabase(0, keyCount: 9, expiresCount: 1)
        writer.writeString(key: bytes("int"), value: bytes("-300"), expireAtMilliseconds: 4_102_444_800_000)
        writer.writeString(key: bytes("lzf"), value: bytes(String(repeating: "abc", count: 20)), expireAtMilliseconds: nil)
        writer.writeString(key: bytes("plain"), value: bytes("hello"), expireAtMilliseconds: nil)
        writer.writeList(key: bytes("list"), elements: ["a", "1", "-5000", "x"].map(bytes), expireAtMilliseconds: nil)
        writer.writeSet(key: bytes("intset"), members: ["1", "70000"].map(bytes), expireAtMilliseconds: nil)
        writer.writeSet(key: bytes("set"), members: ["a", "b"].map(bytes), expireAtMilliseconds: nil)
        writer.writeHash(key: bytes("hash"), pairs: [(field: bytes("f"), value: bytes("v"))], expireAtMilliseconds: nil)
        writer.writeSortedSet(key: bytes("zset"), pairs: [(member: bytes("m"), score: 1.5)], expireAtMilliseconds: nil)
        writer.writeSortedSet(
            key: bytes("zset2"), pairs: (0..<130).map { (member: bytes("m\($0)"), score: Double($0)) }, expireAtMilliseconds: nil)
        writer.selectDatabase(1, keyCount: 1, expiresCount: 0)
        writer.writeHash(
            key: bytes("bighash"), pairs: [(field: bytes("f"), value: [UInt8](repeating: 7, count: 100))], expireAtMilliseconds: nil)
        writer.finish()
        return writer.take()
    }()

    @Test func sampleIsValid() throws {
        #expect(try readDump(Self.sample).entries.count == 10)
    }

    @Test func everyTruncationIsAnError() {
        for length in 0..<Self.sample.count {
            do {
                _ = try readDump(Array(Self.sample[..<length]))
                Issue.record("a prefix of \(length) bytes was accepted")
            } catch let error as RDBError {
                if case .truncated(let offset, let needed) = error {
                    #expect(offset <= length && needed > 0, "\(length): \(error)")
                }
            } catch {
                Issue.record("\(length): not an RDBError: \(error)")
            }
        }
    }

    @Test func everyTruncationOfRealDumpsIsAnError() {
        for vector in [Vectors.redis7, Vectors.encodings, Vectors.hashZiplist, Vectors.listQuicklist] {
            for length in 0..<vector.count {
                #expect(throws: RDBError.self) { try readDump(Array(vector[..<length])) }
            }
        }
    }

    /// With the checksum in place, any single changed byte is caught (by parsing or by CRC64).
    @Test func everySingleByteChangeIsCaught() {
        for position in 0..<Self.sample.count {
            for mask: UInt8 in [0x01, 0x80, 0xFF] {
                var corrupted = Self.sample
                corrupted[position] ^= mask
                #expect(throws: RDBError.self, "byte \(position) ^ \(mask)") { try readDump(corrupted) }
            }
        }
    }

    /// With the checksum zeroed nothing catches content changes: the parser alone must survive them.
    @Test func corruptionWithoutChecksumNeverCrashes() {
        var unchecked = Self.sample
        for index in unchecked.count - 8..<unchecked.count { unchecked[index] = 0 }
        for vector in [unchecked, Vectors.encodings, Vectors.redis7] {
            for position in 9..<vector.count - 8 {
                for mask: UInt8 in [0x01, 0x02, 0x10, 0x40, 0x80, 0xFF] {
                    var corrupted = vector
                    corrupted[position] ^= mask
                    do {
                        _ = try readDump(corrupted)
                    } catch is RDBError {
                    } catch {
                        Issue.record("byte \(position) ^ \(mask): not an RDBError: \(error)")
                    }
                }
            }
        }
    }

    static func file(_ body: [UInt8], version: String = "0010") -> [UInt8] {
        bytes("REDIS" + version) + body
    }

    @Test func hostileLengthsFailWithoutAllocating() {
        let huge64: [UInt8] = [0x81, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        let huge32: [UInt8] = [0x80, 0xFF, 0xFF, 0xFF, 0xFF]
        let cases: [[UInt8]] = [
            [0, 1, 0x6B] + huge64,  // string value of 2^63 bytes
            [1, 1, 0x6B] + huge64,  // list of 2^63 elements
            [2, 1, 0x6B] + huge32,
            [4, 1, 0x6B] + huge64,
            [5, 1, 0x6B] + huge64,
            [18, 1, 0x6B] + huge64,
            [0, 1, 0x6B, 0xC3, 0x02] + huge32 + [0x00, 0x61],  // LZF: 2 bytes claiming 4 GB
            [0, 1, 0x6B, 0xC3] + huge64 + [0x05],
            [0xFE] + huge64,  // SELECTDB 2^63
            [0, 1, 0x6B, 0xC4],  // unknown string encoding
            [0, 1, 0x6B, 0x82],  // unknown length encoding
        ]
        for body in cases {
            #expect(throws: RDBError.self, "\(body)") { try readDump(Self.file(body)) }
        }
    }

    @Test func headerErrors() {
        #expect(throws: RDBError.badMagic) { try readDump(bytes("RELIS0010\u{ff}")) }
        #expect(throws: RDBError.badMagic) { try readDump(bytes("X")) }
        #expect(throws: RDBError.truncated(offset: 0, needed: 9)) { try readDump([]) }
        #expect(throws: RDBError.unsupportedVersion("0013")) { try readDump(bytes("REDIS0013\u{ff}")) }
        #expect(throws: RDBError.unsupportedVersion("0000")) { try readDump(bytes("REDIS0000\u{ff}")) }
        #expect(throws: RDBError.unsupportedVersion("00a1")) { try readDump(bytes("REDIS00a1\u{ff}")) }
    }

    @Test func unsupportedTypesNameTheKey() {
        for (type, name) in [(UInt8(7), "module"), (6, "module"), (25, "hash with field expiration")] {
            let file = Self.file([0xFE, 0x00, type, 0x08] + bytes("mystream") + [0x01, 0x02, 0x03])
            #expect(throws: RDBError.unsupportedType(name: name, type: type, key: bytes("mystream"), offset: 11)) {
                try readDump(file)
            }
        }
        #expect(throws: RDBError.moduleAuxiliaryData(offset: 9)) { try readDump(Self.file([0xF7, 0x01, 0x02])) }
        #expect(throws: RDBError.unknownType(8, offset: 9)) { try readDump(Self.file([0x08, 0x01, 0x6B])) }
        #expect(throws: RDBError.unknownType(100, offset: 9)) { try readDump(Self.file([100])) }
    }

    @Test func corruptStreamsAreRefused() {
        // A node key that is not 16 bytes, then a truncated stream.
        for type in [UInt8(15), 19, 21] {
            let badKey = Self.file([0xFE, 0x00, type, 0x01] + bytes("s") + [0x01, 0x03] + bytes("abc"))
            #expect(throws: RDBError.self) { try readDump(badKey) }
            let truncated = Self.file([0xFE, 0x00, type, 0x01] + bytes("s") + [0x05])
            #expect(throws: RDBError.self) { try readDump(truncated) }
        }
    }

    @Test func checksumMismatchIsReported() {
        var corrupted = Vectors.redis7
        corrupted[corrupted.count - 1] ^= 1
        #expect {
            try readDump(corrupted)
        } throws: { error in
            guard case RDBError.checksumMismatch(let stored, let computed) = error else { return false }
            return stored != computed && "\(error)".contains("checksum mismatch")
        }
    }

    @Test func errorTextsSayWhatAndWhere() {
        #expect(RDBError.truncated(offset: 120, needed: 5).description == "RDB truncated at offset 120: 5 more bytes needed")
        #expect(RDBError.unsupportedType(name: "stream", type: 15, key: [0x61, 0x00, 0x22], offset: 9).description
            == "unsupported RDB value type 15 (stream) for key \"a\\x00\\\"\" at offset 9")
        #expect(RDBError.corrupt(reason: "listpack does not end with 0xFF", key: bytes("k"), offset: 30).description
            == "corrupt RDB in key \"k\" at offset 30: listpack does not end with 0xFF")
    }

    @Test func corruptNestedEncodingsNameTheKey() {
        // HASH_LISTPACK whose listpack says 3 entries but holds 2.
        let listpack: [UInt8] = [0x0c, 0, 0, 0, 3, 0, 0x81, 0x61, 0x02, 0x05, 0x01, 0xff]
        let file = Self.file([16, 1, 0x6B, UInt8(listpack.count)] + listpack + [0xFF])
        #expect {
            try readDump(file)
        } throws: { error in
            guard case RDBError.corrupt(let reason, let key, let offset) = error else { return false }
            return key == bytes("k") && offset == 12 && reason.contains("listpack header says 3 entries")
        }
        // A sorted set listpack with a score that is not a number.
        let scores: [UInt8] = [0x0f, 0, 0, 0, 2, 0, 0x81, 0x6D, 0x02, 0x83, 0x61, 0x62, 0x63, 0x04, 0xff]
        #expect(throws: RDBError.self) { try readDump(Self.file([17, 1, 0x6B, UInt8(scores.count)] + scores + [0xFF])) }
        // A binary NaN score.
        let nan = Double.nan.bitPattern
        let body: [UInt8] = [5, 1, 0x6B, 1, 1, 0x6D] + (0..<8).map { UInt8(truncatingIfNeeded: nan >> UInt64($0 * 8)) } + [0xFF]
        #expect(throws: RDBError.self) { try readDump(Self.file(body)) }
    }
}
