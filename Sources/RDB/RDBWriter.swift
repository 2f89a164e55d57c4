import RedisText

/// A streaming RDB (version 10) encoder whose output Redis 7.0 loads: the caller writes keys one at a
/// time and drains the bytes produced so far (`take()` or `drain(_:)`) to a file or socket whenever it
/// likes, so memory stays bounded by the largest single value rather than the whole dump. The CRC64
/// is folded in as bytes are handed out and appended by `finish()`.
///
/// Encodings follow what Redis itself writes with default settings: strings integer-encoded when
/// they are canonical integers in 32 bits and LZF-compressed above 20 bytes when that saves at least
/// 4 bytes; lists as quicklists of listpack nodes up to 8 KB; sets of at most 512 integers as intsets;
/// hashes of at most 512 fields of at most 64 bytes, and sorted sets of at most 128 members of at
/// most 64 bytes, as listpacks; larger ones as plain hash tables and binary-score sorted sets.
/// (Those are Redis 7.0's defaults: `hash-max-listpack-entries` is 512, not 128.)
///
/// The caller guarantees what Redis guarantees of its own data: set members, hash fields and sorted
/// set members are distinct within a key, and scores are not NaN. Empty collections are not written
/// (Redis has none and would drop them when loading).
public struct RDBWriter: Sendable {
    /// Bytes produced and not yet taken.
    public private(set) var pending: [UInt8]
    /// Whether strings over 20 bytes are LZF-compressed (Redis's `rdbcompression`, on by default).
    public let compression: Bool
    /// Whether the CRC64 is computed and written (Redis's `rdbchecksum`); without it the file ends
    /// in a zero checksum, which readers take as "not checked".
    public let checksum: Bool
    private var checksummed = 0
    private var crc: UInt64 = 0
    private var handedOut = 0
    private var finished = false
    private var compressor = LZF.Compressor()
    private var compressed: [UInt8] = []
    private var scratch: [UInt8] = []
    /// Writes one value alone, as DUMP serializes it: no magic, and a key is only its type byte
    /// (no expiry, no name). See `DumpPayload`.
    private let bareValue: Bool

    /// Starts a file with the `REDIS0010` magic; aux fields, databases and keys follow.
    public init(compression: Bool = true, checksum: Bool = true) {
        self.compression = compression
        self.checksum = checksum
        bareValue = false
        let digits = String(RDBFormat.version)
        pending = Array(("REDIS" + String(repeating: "0", count: 4 - digits.count) + digits).utf8)
    }

    /// A writer for one value without the file around it (`DumpPayload.make`).
    init(bareValueCompression compression: Bool) {
        self.compression = compression
        checksum = false  // the payload's CRC64 is DumpPayload's, over the finished bytes
        bareValue = true
        pending = []
    }

    /// Total bytes produced so far, taken or not.
    public var byteCount: Int { handedOut + pending.count }

    /// True once `finish()` has written the EOF opcode and the checksum.
    public var isFinished: Bool { finished }

    // MARK: handing out bytes

    /// Returns the pending bytes and forgets them.
    public mutating func take() -> [UInt8] {
        foldChecksum()
        let bytes = pending
        pending = []
        checksummed = 0
        handedOut += bytes.count
        return bytes
    }

    /// Passes the pending bytes to `body` (for example a file write), then forgets them, keeping the
    /// buffer's capacity. If `body` throws, the bytes stay pending.
    public mutating func drain(_ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        foldChecksum()
        try pending.withUnsafeBytes(body)
        handedOut += pending.count
        pending.removeAll(keepingCapacity: true)
        checksummed = 0
    }

    private mutating func foldChecksum() {
        guard checksum, checksummed < pending.count else { return }
        let start = checksummed
        let current = crc
        crc = pending.withUnsafeBytes { CRC64.update(current, UnsafeRawBufferPointer(rebasing: $0[start...])) }
        checksummed = pending.count
    }

    // MARK: file structure

    /// An `AUX` field with a text value.
    public mutating func writeAux(_ name: String, _ value: String) {
        begin()
        pending.append(RDBOpcode.aux)
        appendString(Array(name.utf8))
        appendString(Array(value.utf8))
    }

    /// An `AUX` field with an integer value, integer-encoded when it fits 32 bits (as Redis writes
    /// `redis-bits`, `ctime`, `used-mem`, `aof-base`).
    public mutating func writeAux(_ name: String, _ value: Int) {
        begin()
        pending.append(RDBOpcode.aux)
        appendString(Array(name.utf8))
        appendString(RDBNumber.bytes(Int64(value)))
    }

    /// The aux fields Redis 7.0 writes at the start of a dump, in its order. `creationTime` is Unix
    /// seconds (`ctime`); `replication` adds `repl-stream-db`, `repl-id` and `repl-offset`, which a
    /// replica needs to continue with partial resynchronization after loading.
    public mutating func writeDefaultAux(
        redisVersion: String = "7.0.15", creationTime: Int, usedMemory: Int = 0,
        replication: (streamDatabase: Int, id: String, offset: Int)? = nil, aofBase: Bool = false
    ) {
        writeAux("redis-ver", redisVersion)
        writeAux("redis-bits", 64)
        writeAux("ctime", creationTime)
        writeAux("used-mem", usedMemory)
        if let replication {
            writeAux("repl-stream-db", replication.streamDatabase)
            writeAux("repl-id", replication.id)
            writeAux("repl-offset", replication.offset)
        }
        writeAux("aof-base", aofBase ? 1 : 0)
    }

    /// A function library (`FUNCTION2`): the library's source text, `#!lua name=...` first line.
    public mutating func writeFunctionLibrary(_ code: some Collection<UInt8>) {
        begin()
        pending.append(RDBOpcode.function2)
        withContiguousBytes(code) { appendString($0) }
    }

    /// `SELECTDB` and the `RESIZEDB` hint: the keys that follow belong to database `index`.
    public mutating func selectDatabase(_ index: Int, keyCount: Int, expiresCount: Int) {
        precondition(index >= 0 && keyCount >= 0 && expiresCount >= 0, "negative database index or count")
        begin()
        pending.append(RDBOpcode.selectDB)
        appendLength(index)
        pending.append(RDBOpcode.resizeDB)
        appendLength(keyCount)
        appendLength(expiresCount)
    }

    /// The EOF opcode and the CRC64 of everything before it. Nothing may be written afterwards.
    public mutating func finish() {
        begin()
        pending.append(RDBOpcode.eof)
        foldChecksum()
        for shift in stride(from: 0, to: 64, by: 8) { pending.append(UInt8(truncatingIfNeeded: crc >> UInt64(shift))) }
        checksummed = pending.count
        finished = true
    }

    // MARK: keys

    /// Writes `entry` with the encoding its type and size call for (the database is the current one).
    public mutating func write(_ entry: RDBEntry) {
        switch entry.value {
        case .string(let value):
            writeString(key: entry.key, value: value, expireAtMilliseconds: entry.expireAtMilliseconds)
        case .list(let elements):
            writeList(key: entry.key, elements: elements, expireAtMilliseconds: entry.expireAtMilliseconds)
        case .set(let members):
            writeSet(key: entry.key, members: members, expireAtMilliseconds: entry.expireAtMilliseconds)
        case .hash(let pairs):
            writeHash(key: entry.key, pairs: pairs, expireAtMilliseconds: entry.expireAtMilliseconds)
        case .sortedSet(let pairs):
            writeSortedSet(key: entry.key, pairs: pairs, expireAtMilliseconds: entry.expireAtMilliseconds)
        case .stream(let stream):
            writeStream(key: entry.key, stream: stream, nodes: stream.nodes, expireAtMilliseconds: entry.expireAtMilliseconds)
        }
    }

    /// A stream as `RDB_TYPE_STREAM_LISTPACKS_2` (Redis 7.0): `nodes` (any collection, so a caller
    /// can convert its nodes one at a time) replace `stream.nodes`; missing 7.0 counters are derived.
    public mutating func writeStream<C: Collection<RDBStream.Node>>(
        key: some Collection<UInt8>, stream: RDBStream, nodes: C, expireAtMilliseconds: Int64? = nil
    ) {
        beginKey(RDBType.streamListpacks2, key, expireAtMilliseconds)
        appendLength(nodes.count)
        for node in nodes {
            RDBStream.raw(node.master).withUnsafeBytes { appendString($0) }
            var listpack = scratch
            scratch = []
            RDBStream.listpack(node, into: &listpack)
            listpack.withUnsafeBytes { appendString($0) }
            scratch = listpack
        }
        func id(_ id: RDBStream.ID) {
            appendLength64(id.ms)
            appendLength64(id.seq)
        }
        appendLength64(stream.length)
        id(stream.lastID)
        id(stream.firstID ?? .zero)
        id(stream.maxDeletedID ?? .zero)
        appendLength64(stream.entriesAdded ?? stream.length)
        appendLength(stream.groups.count)
        for group in stream.groups {
            group.name.withUnsafeBytes { appendString($0) }
            id(group.lastID)
            appendLength64(UInt64(bitPattern: group.entriesRead ?? -1))
            appendLength(group.pending.count)
            for entry in group.pending {
                pending.append(contentsOf: RDBStream.raw(entry.id))
                appendMilliseconds(entry.deliveryTime)
                appendLength64(entry.deliveryCount)
            }
            appendLength(group.consumers.count)
            for consumer in group.consumers {
                consumer.name.withUnsafeBytes { appendString($0) }
                appendMilliseconds(consumer.seenTime)
                appendLength(consumer.pending.count)
                for entry in consumer.pending { pending.append(contentsOf: RDBStream.raw(entry)) }
            }
        }
    }

    private mutating func appendMilliseconds(_ value: Int64) {
        let bits = UInt64(bitPattern: value)
        for shift in stride(from: 0, to: 64, by: 8) { pending.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
    }

    private mutating func appendLength64(_ length: UInt64) {
        if length <= UInt64(Int.max) { return appendLength(Int(length)) }
        pending.append(0x81)
        for shift in stride(from: 56, through: 0, by: -8) { pending.append(UInt8(truncatingIfNeeded: length >> UInt64(shift))) }
    }

    public mutating func writeString(
        key: some Collection<UInt8>, value: some Collection<UInt8>, expireAtMilliseconds: Int64? = nil
    ) {
        beginKey(RDBType.string, key, expireAtMilliseconds)
        withContiguousBytes(value) { appendString($0) }
    }

    /// A list as a quicklist of listpack nodes of at most 8 KB (an element of 1 GB or more gets a
    /// plain node of its own, as in Redis).
    public mutating func writeList<C: Collection>(
        key: some Collection<UInt8>, elements: C, expireAtMilliseconds: Int64? = nil
    ) where C.Element: Collection<UInt8> {
        guard !elements.isEmpty else { return }
        // Pass 1: node boundaries (element counts; 0 marks a plain node), since the count comes first.
        var nodes: [Int] = []
        var nodeBytes = 0
        var nodeCount = 0
        for element in elements {
            let size = withContiguousBytes(element) { raw in
                raw.count >= RDBLimits.plainListElementBytes ? -1 : RDBListpack.entrySize(raw)
            }
            if size < 0 {
                if nodeCount > 0 { nodes.append(nodeCount) }
                nodes.append(0)
                nodeBytes = 0
                nodeCount = 0
            } else if nodeCount > 0
                && (nodeBytes + element.count + 8 > RDBLimits.listNodeBytes || nodeCount == RDBListpack.unknownCount - 1)
            {
                // Redis's `_quicklistNodeAllowInsert`: the node's bytes plus the element's raw length
                // plus 8 must stay within 8 KB.
                nodes.append(nodeCount)
                nodeBytes = RDBListpack.headerSize + 1 + size
                nodeCount = 1
            } else {
                nodeBytes = (nodeCount == 0 ? RDBListpack.headerSize + 1 : nodeBytes) + size
                nodeCount += 1
            }
        }
        if nodeCount > 0 { nodes.append(nodeCount) }

        beginKey(RDBType.listQuicklist2, key, expireAtMilliseconds)
        appendLength(nodes.count)
        var iterator = elements.makeIterator()
        for node in nodes {
            if node == 0 {
                appendLength(1)
                if let element = iterator.next() { withContiguousBytes(element) { appendString($0) } }
                continue
            }
            appendLength(2)
            appendListpack(count: node) { listpack in
                for _ in 0..<node {
                    guard let element = iterator.next() else { break }
                    withContiguousBytes(element) { RDBListpack.append($0, to: &listpack) }
                }
            }
        }
    }

    /// Builds one listpack of `count` entries with `fill` in the reused scratch buffer and appends
    /// it as a string.
    private mutating func appendListpack(count: Int, _ fill: (inout [UInt8]) -> Void) {
        var listpack = scratch
        scratch = []
        RDBListpack.begin(&listpack)
        fill(&listpack)
        RDBListpack.finish(&listpack, count: count)
        listpack.withUnsafeBytes { appendString($0) }
        scratch = listpack
    }

    /// A set: an intset when it has at most 512 members that are all canonical integers, otherwise
    /// a plain set. `compact` overrides the size rule (the encoding a server holds the set in, as
    /// DUMP writes it): true still needs every member to be an integer.
    public mutating func writeSet<C: Collection>(
        key: some Collection<UInt8>, members: C, expireAtMilliseconds: Int64? = nil, compact: Bool? = nil
    ) where C.Element: Collection<UInt8> {
        let count = members.count
        guard count > 0 else { return }
        if compact ?? (count <= RDBLimits.intsetEntries) {
            var integers: [Int64] = []
            integers.reserveCapacity(count)
            for member in members {
                guard let value = withContiguousBytes(member, RedisInteger.parse) else { break }
                integers.append(value)
            }
            if integers.count == count {
                beginKey(RDBType.setIntset, key, expireAtMilliseconds)
                RDBIntset.encode(integers).withUnsafeBytes { appendString($0) }
                return
            }
        }
        beginKey(RDBType.set, key, expireAtMilliseconds)
        appendLength(count)
        for member in members { withContiguousBytes(member) { appendString($0) } }
    }

    /// A hash: a listpack when it has at most 512 fields and every field and value is at most 64
    /// bytes, otherwise a plain hash. `compact` overrides the size rule (the encoding a server holds
    /// the hash in, as DUMP writes it).
    public mutating func writeHash<C: Collection, F: Collection<UInt8>, V: Collection<UInt8>>(
        key: some Collection<UInt8>, pairs: C, expireAtMilliseconds: Int64? = nil, compact: Bool? = nil
    ) where C.Element == (field: F, value: V) {
        let count = pairs.count
        guard count > 0 else { return }
        let small = compact ?? (count <= RDBLimits.hashListpackEntries && pairs.allSatisfy {
            $0.field.count <= RDBLimits.hashListpackValue && $0.value.count <= RDBLimits.hashListpackValue
        })
        if small {
            beginKey(RDBType.hashListpack, key, expireAtMilliseconds)
            appendListpack(count: count * 2) { listpack in
                for pair in pairs {
                    withContiguousBytes(pair.field) { RDBListpack.append($0, to: &listpack) }
                    withContiguousBytes(pair.value) { RDBListpack.append($0, to: &listpack) }
                }
            }
            return
        }
        beginKey(RDBType.hash, key, expireAtMilliseconds)
        appendLength(count)
        for pair in pairs {
            withContiguousBytes(pair.field) { appendString($0) }
            withContiguousBytes(pair.value) { appendString($0) }
        }
    }

    /// A sorted set: a listpack (sorted by score, then member, as Redis keeps it) when it has at most
    /// 128 members of at most 64 bytes, otherwise `ZSET_2` with binary scores, in the order given
    /// (Redis writes its skiplist from the highest score down). `compact` overrides the size rule
    /// (the encoding a server holds the set in, as DUMP writes it).
    public mutating func writeSortedSet<C: Collection, M: Collection<UInt8>>(
        key: some Collection<UInt8>, pairs: C, expireAtMilliseconds: Int64? = nil, compact: Bool? = nil
    ) where C.Element == (member: M, score: Double) {
        let count = pairs.count
        guard count > 0 else { return }
        precondition(!pairs.contains { $0.score.isNaN }, "a sorted set score is NaN; Redis cannot load it")
        let small = compact ?? (count <= RDBLimits.zsetListpackEntries && pairs.allSatisfy { $0.member.count <= RDBLimits.zsetListpackValue })
        if small {
            var sorted = pairs.map { (member: [UInt8]($0.member), score: $0.score) }
            sorted.sort { $0.score < $1.score || ($0.score == $1.score && $0.member.lexicographicallyPrecedes($1.member)) }
            beginKey(RDBType.zsetListpack, key, expireAtMilliseconds)
            appendListpack(count: count * 2) { listpack in
                for pair in sorted {
                    pair.member.withUnsafeBytes { RDBListpack.append($0, to: &listpack) }
                    RDBNumber.scoreBytes(pair.score).withUnsafeBytes { RDBListpack.append($0, to: &listpack) }
                }
            }
            return
        }
        beginKey(RDBType.zset2, key, expireAtMilliseconds)
        appendLength(count)
        for pair in pairs {
            withContiguousBytes(pair.member) { appendString($0) }
            let bits = pair.score.bitPattern
            for shift in stride(from: 0, to: 64, by: 8) { pending.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
        }
    }

    // MARK: encoding

    @inline(__always)
    private func begin() {
        precondition(!finished, "RDBWriter: nothing may be written after finish()")
    }

    private mutating func beginKey(_ type: UInt8, _ key: some Collection<UInt8>, _ expireAt: Int64?) {
        begin()
        if bareValue {
            pending.append(type)
            return
        }
        if let expireAt {
            pending.append(RDBOpcode.expireTimeMilliseconds)
            let bits = UInt64(bitPattern: expireAt)
            for shift in stride(from: 0, to: 64, by: 8) { pending.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
        }
        pending.append(type)
        withContiguousBytes(key) { appendString($0) }
    }

    /// `rdbSaveLen`: 6-bit, 14-bit, 32-bit or 64-bit big-endian length.
    private mutating func appendLength(_ length: Int) {
        if length < 1 << 6 {
            pending.append(UInt8(length))
        } else if length < 1 << 14 {
            pending.append(0x40 | UInt8(length >> 8))
            pending.append(UInt8(length & 0xFF))
        } else if UInt64(length) <= UInt64(UInt32.max) {
            pending.append(0x80)
            for shift in stride(from: 24, through: 0, by: -8) { pending.append(UInt8(truncatingIfNeeded: length >> shift)) }
        } else {
            pending.append(0x81)
            for shift in stride(from: 56, through: 0, by: -8) { pending.append(UInt8(truncatingIfNeeded: length >> shift)) }
        }
    }

    private mutating func appendString(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { appendString($0) }
    }

    /// `rdbSaveRawString`: integer encoding for canonical 32-bit integers, LZF when it pays, else
    /// length and bytes.
    private mutating func appendString(_ bytes: UnsafeRawBufferPointer) {
        let count = bytes.count
        if count <= 11, let value = RedisInteger.parse(bytes), value >= Int64(Int32.min), value <= Int64(Int32.max) {
            if value >= -128 && value <= 127 {
                pending.append(0xC0 | RDBStringEncoding.int8)
                pending.append(UInt8(truncatingIfNeeded: value))
            } else if value >= -32768 && value <= 32767 {
                pending.append(0xC0 | RDBStringEncoding.int16)
                pending.append(UInt8(truncatingIfNeeded: value))
                pending.append(UInt8(truncatingIfNeeded: value >> 8))
            } else {
                pending.append(0xC0 | RDBStringEncoding.int32)
                for shift in stride(from: 0, to: 32, by: 8) { pending.append(UInt8(truncatingIfNeeded: value >> Int64(shift))) }
            }
            return
        }
        if compression && count > 20 {
            var output = compressed
            compressed = []
            if compressor.compress(bytes, into: &output, limit: count - 4) {
                pending.append(0xC0 | RDBStringEncoding.lzf)
                appendLength(output.count)
                appendLength(count)
                pending.append(contentsOf: output)
                compressed = output
                return
            }
            compressed = output
        }
        appendLength(count)
        pending.append(contentsOf: bytes.bindMemory(to: UInt8.self))
    }
}

/// Runs `body` on the bytes of `collection`, without copying when they are contiguous (arrays,
/// slices, `UnsafeBufferPointer`).
@inline(__always)
func withContiguousBytes<C: Collection<UInt8>, R>(_ collection: C, _ body: (UnsafeRawBufferPointer) -> R) -> R {
    if let result = collection.withContiguousStorageIfAvailable({ body(UnsafeRawBufferPointer($0)) }) {
        return result
    }
    return Array(collection).withUnsafeBytes(body)
}
