import RDB
import Testing

/// Real dumps (see `Vectors`) against what Redis's own tests and redis-server say they hold.
struct ReaderTests {
    /// tests/assets/encodings.rdb, version 4: zipmap-era file with ziplists, intsets of widths 2, 4
    /// and 8, old `LIST`/`SET`/`ZSET` (text scores)/`HASH`, an LZF string and int-encoded strings.
    /// Expected contents: `RDB encoding loading test` in Redis's tests/integration/rdb.tcl.
    @Test func readsRedis2EncodingsFile() throws {
        let dump = try readDump(Vectors.encodings)
        let longList = ["1", "2", "3", "a", "b", "c", "100000", "6000000000"]
        #expect(dump.keys == [
            "compressible", "hash", "hash_zipped", "list", "list_zipped", "number", "set", "set_zipped_1",
            "set_zipped_2", "set_zipped_3", "string", "zset", "zset_zipped",
        ])
        #expect(dump.shape("compressible") == .string(String(repeating: "a", count: 137)))
        #expect(dump.shape("hash") == .hash([
            "a": "1", "aa": "10", "aaa": "100", "b": "2", "bb": "20", "bbb": "200", "c": "3", "cc": "30",
            "ccc": "300", "ddd": "400", "eee": "5000000000",
        ]))
        #expect(dump.shape("hash_zipped") == .hash(["a": "1", "b": "2", "c": "3"]))
        #expect(dump.shape("list") == .list(longList + longList + longList))
        #expect(dump.shape("list_zipped") == .list(longList))
        #expect(dump.shape("number") == .string("10"))
        #expect(dump.shape("set") == .set("1", "100000", "2", "3", "6000000000", "a", "b", "c"))
        #expect(dump.shape("set_zipped_1") == .set("1", "2", "3", "4"))
        #expect(dump.shape("set_zipped_2") == .set("100000", "200000", "300000", "400000"))
        #expect(dump.shape("set_zipped_3") == .set("1000000000", "2000000000", "3000000000", "4000000000", "5000000000", "6000000000"))
        #expect(dump.shape("string") == .string("Hello World"))
        #expect(dump.shape("zset") == .sortedSet(
            ["a", "b", "c", "aa", "bb", "cc", "aaa", "bbb", "ccc", "aaaa", "cccc", "bbbb"],
            [1, 2, 3, 10, 20, 30, 100, 200, 300, 1000, 123_456_789, 5_000_000_000]))
        #expect(dump.shape("zset_zipped") == .sortedSet(["a", "b", "c"], [1, 2, 3]))
        #expect(dump.entries.allSatisfy { $0.database == 0 && $0.expireAtMilliseconds == nil })
        #expect(dump.consumed == Vectors.encodings.count)
    }

    /// tests/assets/hash-zipmap.rdb (version 3, no checksum) and hash-ziplist.rdb (version 9).
    @Test func readsZipmapAndZiplistHashes() throws {
        for vector in [Vectors.hashZipmap, Vectors.hashZiplist] {
            let dump = try readDump(vector)
            #expect(dump.keys == ["hash"])
            #expect(dump.shape("hash") == .hash(["f1": "v1", "f2": "v2"]))
        }
    }

    /// tests/assets/list-quicklist.rdb (Redis 4.0.9, quicklist of ziplists) and zset-ziplist.rdb.
    @Test func readsQuicklistV1AndZsetZiplist() throws {
        let lists = try readDump(Vectors.listQuicklist)
        #expect(lists.aux["redis-ver"] == "4.0.9")
        #expect(lists.shape("list") == .list(["7"]))
        #expect(lists.shape("x") == .string("7"))
        let zsets = try readDump(Vectors.zsetZiplist)
        #expect(zsets.shape("zset") == .sortedSet(["one", "two"], [1, 2]))
    }

    /// tests/assets/scriptbackup.rdb: replication aux fields and a `lua` aux field.
    @Test func reportsAuxFields() throws {
        let dump = try readDump(Vectors.scriptBackup)
        #expect(dump.aux["repl-id"] == "349eeafec1f98f3f56277e95fc86bc48b30651a2")
        #expect(dump.aux["lua"] == "return redis.call('set', 'foo', 'bar')")
        #expect(dump.aux["redis-ver"] == "255.255.255")
    }

    /// tests/assets/corrupt_empty_keys.rdb: nine empty collections of every encoding, all skipped
    /// (redis-server logs "skipping empty key" nine times and loads nothing).
    @Test func skipsEmptyCollectionsLikeRedis() throws {
        let dump = try readDump(Vectors.emptyKeys)
        #expect(dump.entries.isEmpty)
    }

    /// Written by redis-server 7.0.15 with default settings, after:
    /// ```
    /// SET s hello; SET n 12345; SET big 9999999999; SET neg -7; SET z 007; SET lz <abcabcabcabc × 10>
    /// RPUSH l a b 1 -5 300 70000 ""; SADD si 1 2 -3 100000; SADD ss a b c; HSET h f1 v1 f2 2
    /// ZADD zs 1.5 a -2 b 3 c; ZADD zinf inf p -inf m 0 z; PEXPIREAT s 4102444800000; SELECT 2; SET other x
    /// CONFIG SET zset-max-listpack-entries 1; ZADD zbig 1 a 2 b 2.5 c
    /// CONFIG SET hash-max-listpack-entries 1; HSET hbig a 1 b 2
    /// CONFIG SET list-max-listpack-size 2; RPUSH lq 1 2 3 4 5; SAVE
    /// ```
    @Test func readsRedis7Dump() throws {
        let dump = try readDump(Vectors.redis7)
        #expect(dump.aux["redis-ver"] == "7.0.15")
        #expect(dump.aux["redis-bits"] == "64")
        #expect(dump.aux["aof-base"] == "0")
        #expect(dump.keys == ["big", "h", "hbig", "l", "lq", "lz", "n", "neg", "other", "s", "si", "ss", "z", "zbig", "zinf", "zs"])
        #expect(dump.entry("s")?.expireAtMilliseconds == 4_102_444_800_000)
        #expect(dump.entries.filter { $0.expireAtMilliseconds != nil }.count == 1)
        #expect(dump.shape("s") == .string("hello"))
        #expect(dump.shape("n") == .string("12345"))
        #expect(dump.shape("big") == .string("9999999999"))
        #expect(dump.shape("neg") == .string("-7"))
        #expect(dump.shape("z") == .string("007"))
        #expect(dump.shape("lz") == .string(String(repeating: "abcabcabcabc", count: 10)))
        #expect(dump.shape("l") == .list(["a", "b", "1", "-5", "300", "70000", ""]))
        #expect(dump.shape("si") == .set("1", "2", "-3", "100000"))
        #expect(dump.shape("ss") == .set("a", "b", "c"))
        #expect(dump.shape("h") == .hash(["f1": "v1", "f2": "2"]))
        #expect(dump.shape("zs") == .sortedSet(["b", "a", "c"], [-2, 1.5, 3]))
        #expect(dump.shape("zinf") == .sortedSet(["m", "z", "p"], [-.infinity, 0, .infinity]))
        #expect(dump.shape("zbig") == .sortedSet(["a", "b", "c"], [1, 2, 2.5]))
        #expect(dump.shape("hbig") == .hash(["a": "1", "b": "2"]))
        #expect(dump.shape("lq") == .list(["1", "2", "3", "4", "5"]))
        #expect(dump.shape("other", database: 2) == .string("x"))
        #expect(dump.entry("other", database: 0) == nil)
        #expect(dump.consumed == Vectors.redis7.count)
    }

    @Test func ignoresBytesAfterTheChecksum() throws {
        let dump = try readDump(Vectors.redis7 + [1, 2, 3])
        #expect(dump.consumed == Vectors.redis7.count)
    }

    @Test func acceptsAZeroChecksum() throws {
        var zeroed = Vectors.redis7
        for index in zeroed.count - 8..<zeroed.count { zeroed[index] = 0 }
        #expect(try readDump(zeroed).entries.count == 16)
    }

    /// Opcodes and types no dump above contains, assembled by hand: EXPIRETIME (seconds), IDLE,
    /// FREQ, SLOT_INFO (7.4), the 7.0-rc FUNCTION format, SET_LISTPACK (7.2), a quicklist with a
    /// plain node, an old text-score ZSET with inf/-inf.
    @Test func readsHandAssembledOpcodesAndTypes() throws {
        var listpack: [UInt8] = []
        RDBListpack.begin(&listpack)
        for member in ["x", "-12", "y"] { Array(member.utf8).withUnsafeBytes { RDBListpack.append($0, to: &listpack) } }
        RDBListpack.finish(&listpack, count: 3)
        var single: [UInt8] = []
        RDBListpack.begin(&single)
        Array("a".utf8).withUnsafeBytes { RDBListpack.append($0, to: &single) }
        RDBListpack.finish(&single, count: 1)

        var file = bytes("REDIS0011")
        file += [0xF6, 3] + bytes("lib") + [3] + bytes("LUA") + [1, 4] + bytes("desc") + [4] + bytes("code")
        file += [0xF4, 5, 0x40, 100, 0]  // SLOT_INFO slot 5, 100 keys, 0 expires
        file += [0xFE, 3, 0xFB, 3, 1]
        file += [0xFD, 0x00, 0xE1, 0xF5, 0x05]  // EXPIRETIME 100000000 s
        file += [0xF8, 0x40, 0x90, 0xF9, 0x07]  // IDLE 144, FREQ 7
        file += [20, 1] + bytes("s") + [UInt8(listpack.count)] + listpack
        file += [18, 1] + bytes("l") + [2, 2, UInt8(single.count)] + single + [1, 5] + bytes("plain")
        file += [3, 1] + bytes("z") + [3, 1] + bytes("a") + [255, 1] + bytes("b") + [254, 1] + bytes("c") + [4] + bytes("-2.5")
        file += [0xFF] + [UInt8](repeating: 0, count: 8)

        let dump = try readDump(file)
        #expect(dump.functions == ["#!LUA name=lib\ncode"])
        #expect(dump.entries.map(\.database) == [3, 3, 3])
        #expect(dump.entry("s", database: 3)?.expireAtMilliseconds == 100_000_000_000)
        #expect(dump.entry("l", database: 3)?.expireAtMilliseconds == nil)
        #expect(dump.shape("s", database: 3) == .set("x", "-12", "y"))
        #expect(dump.shape("l", database: 3) == .list(["a", "plain"]))
        #expect(dump.shape("z", database: 3) == .sortedSet(["a", "c", "b"], [-.infinity, -2.5, .infinity]))
    }

    @Test func callbackErrorsPropagateUnchanged() {
        struct Stop: Error, Equatable {}
        #expect(throws: Stop()) { try RDBReader.read(Vectors.redis7, entry: { _ in throw Stop() }) }
        #expect(throws: Stop()) { try RDBReader.read(Vectors.redis7, aux: { _ in throw Stop() }, entry: { _ in }) }
    }
}
