/// Decodes a whole RDB payload held in memory (a dump file, or the payload a master sends on full
/// resynchronization), calling back per aux field and per key, so the caller builds its own keyspace
/// without an intermediate copy of the whole file.
///
/// Reads everything Redis 7.0 writes and the older encodings it still loads (see `RDBValue` for the
/// types). Module types (and hashes with field expiry) fail with `RDBError.unsupportedType` naming the key;
/// `MODULE_AUX` fails with `.moduleAuxiliaryData`. `IDLE`/`FREQ` (eviction hints), `RESIZEDB` and
/// `SLOT_INFO` are skipped. Function libraries (`FUNCTION2`, and the 7.0-rc `FUNCTION` translated to
/// the same `#!engine name=...` text) go to the `functionLibrary` callback.
///
/// Empty collections are skipped, as Redis skips them. The CRC64 is verified unless it is zero
/// (`rdbchecksum no`). Nothing is preallocated from a length in the file beyond what the remaining
/// bytes could hold, so a corrupt or truncated payload ends in an `RDBError` with its offset.
/// Errors thrown by the callbacks propagate unchanged.
public enum RDBReader {
    /// Reads `bytes` and returns the number of bytes the RDB took (anything after the checksum is
    /// not looked at).
    @discardableResult
    public static func read(
        _ bytes: UnsafeRawBufferPointer,
        aux: (RDBAuxField) throws -> Void = { _ in },
        functionLibrary: ([UInt8]) throws -> Void = { _ in },
        verifyChecksum: Bool = true,
        entry: (RDBEntry) throws -> Void
    ) throws -> Int {
        var parser = Parser(bytes)
        try parser.readHeader()
        while true {
            switch try parser.next() {
            case .aux(let field): try aux(field)
            case .functionLibrary(let code): try functionLibrary(code)
            case .entry(let value): try entry(value)
            case .skipped: continue
            case .end: return try parser.readChecksum(verify: verifyChecksum)
            }
        }
    }

    /// Reads a byte array (see the pointer variant).
    @discardableResult
    public static func read(
        _ bytes: [UInt8],
        aux: (RDBAuxField) throws -> Void = { _ in },
        functionLibrary: ([UInt8]) throws -> Void = { _ in },
        verifyChecksum: Bool = true,
        entry: (RDBEntry) throws -> Void
    ) throws -> Int {
        try bytes.withUnsafeBytes {
            try read($0, aux: aux, functionLibrary: functionLibrary, verifyChecksum: verifyChecksum, entry: entry)
        }
    }
}

/// What one step of the parser produced.
enum ParserEvent {
    case aux(RDBAuxField)
    case functionLibrary([UInt8])
    case entry(RDBEntry)
    case skipped
    case end
}

/// The state of one read: a cursor over the payload plus the key attributes set by opcodes.
struct Parser {
    let bytes: UnsafeRawBufferPointer
    var position = 0
    var version = 0
    var database = 0
    var expireAt: Int64?

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var remaining: Int { bytes.count - position }

    // MARK: primitives

    @inline(__always)
    mutating func byte() throws(RDBError) -> UInt8 {
        guard position < bytes.count else { throw .truncated(offset: position, needed: 1) }
        defer { position += 1 }
        return bytes[position]
    }

    /// The next `count` bytes, without copying.
    @inline(__always)
    mutating func take(_ count: Int) throws(RDBError) -> UnsafeRawBufferPointer {
        guard count <= remaining else { throw .truncated(offset: position, needed: count - remaining) }
        defer { position += count }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<position + count])
    }

    mutating func littleEndian(_ count: Int) throws(RDBError) -> UInt64 {
        let raw = try take(count)
        var value: UInt64 = 0
        for index in (0..<count).reversed() { value = value << 8 | UInt64(raw[index]) }
        return value
    }

    /// A length field; `encoded` is true for the `11xxxxxx` form, whose low six bits name a special
    /// string encoding instead.
    mutating func lengthOrEncoding() throws(RDBError) -> (value: UInt64, encoded: Bool) {
        let start = position
        let first = try byte()
        switch first >> 6 {
        case 0: return (UInt64(first & 0x3F), false)
        case 1: return (UInt64(first & 0x3F) << 8 | UInt64(try byte()), false)
        case 3: return (UInt64(first & 0x3F), true)
        default:
            if first == 0x80 {
                let raw = try take(4)
                return (UInt64(raw[0]) << 24 | UInt64(raw[1]) << 16 | UInt64(raw[2]) << 8 | UInt64(raw[3]), false)
            }
            if first == 0x81 {
                let raw = try take(8)
                var value: UInt64 = 0
                for byte in raw { value = value << 8 | UInt64(byte) }
                return (value, false)
            }
            throw .corrupt(reason: "unknown length encoding byte \(first)", key: nil, offset: start)
        }
    }

    /// A plain length (not a special encoding).
    mutating func length() throws(RDBError) -> UInt64 {
        let start = position
        let (value, encoded) = try lengthOrEncoding()
        if encoded { throw .corrupt(reason: "expected a length, found string encoding \(value)", key: nil, offset: start) }
        return value
    }

    /// A length used as a byte count or element count: it cannot exceed what is left to read.
    mutating func count(atLeast bytesPerItem: Int = 1) throws(RDBError) -> Int {
        let value = try length()
        guard value <= UInt64(remaining / bytesPerItem) else {
            throw .truncated(offset: position, needed: Int(clamping: value) &* bytesPerItem &- remaining)
        }
        return Int(value)
    }

    // MARK: strings

    /// Reads a string in any encoding (plain, int8/16/32, LZF) and hands its bytes to `body` without
    /// copying when it is stored plain.
    mutating func withString<R>(_ body: (UnsafeRawBufferPointer) throws(RDBError) -> R) throws(RDBError) -> R {
        let start = position
        let (value, encoded) = try lengthOrEncoding()
        if !encoded {
            guard value <= UInt64(remaining) else {
                throw .truncated(offset: position, needed: Int(clamping: value) - remaining)
            }
            return try body(try take(Int(value)))
        }
        switch UInt8(value) {
        case RDBStringEncoding.int8:
            let digits = RDBNumber.bytes(Int64(Int8(bitPattern: try byte())))
            return try withBytes(digits, body)
        case RDBStringEncoding.int16:
            let digits = RDBNumber.bytes(Int64(Int16(bitPattern: UInt16(try littleEndian(2)))))
            return try withBytes(digits, body)
        case RDBStringEncoding.int32:
            let digits = RDBNumber.bytes(Int64(Int32(bitPattern: UInt32(try littleEndian(4)))))
            return try withBytes(digits, body)
        case RDBStringEncoding.lzf:
            let compressedLength = try count()
            let lengthStart = position
            let length = try self.length()
            let compressed = try take(compressedLength)
            guard length <= UInt64(compressedLength) * UInt64(LZF.maximumRatio),
                let plain = LZF.decompress(compressed, length: Int(length))
            else {
                throw .corrupt(
                    reason: "LZF string of \(compressedLength) bytes does not decompress to the \(length) bytes declared at offset \(lengthStart)",
                    key: nil, offset: start)
            }
            return try withBytes(plain, body)
        default:
            throw .corrupt(reason: "unknown string encoding \(value)", key: nil, offset: start)
        }
    }

    mutating func string() throws(RDBError) -> [UInt8] {
        try withString { (raw) throws(RDBError) -> [UInt8] in raw.copyBytes(0, raw.count) }
    }

    /// A compact-encoding blob (listpack, ziplist, intset, zipmap) decoded by `decode`; its errors
    /// become `RDBError.corrupt` at the blob's offset.
    mutating func blob<R>(
        _ what: String, key: [UInt8], _ decode: (UnsafeRawBufferPointer) throws(RDBPackedError) -> R
    ) throws(RDBError) -> R {
        let start = position
        return try withString { (raw) throws(RDBError) -> R in
            do throws(RDBPackedError) {
                return try decode(raw)
            } catch {
                throw .corrupt(reason: "\(what): \(error.reason)", key: key, offset: start)
            }
        }
    }

    /// `Array.withUnsafeBytes` is `rethrows`, which loses the typed error; this keeps it.
    @inline(__always)
    func withBytes<R>(_ array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(RDBError) -> R) throws(RDBError) -> R {
        let result: Result<R, RDBError> = array.withUnsafeBytes { raw in
            do throws(RDBError) { return .success(try body(raw)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    // MARK: file structure

    mutating func readHeader() throws(RDBError) {
        guard bytes.count >= 5 else {
            if bytes.elementsEqual("REDIS".utf8.prefix(bytes.count)) { throw .truncated(offset: 0, needed: 9 - bytes.count) }
            throw .badMagic
        }
        guard bytes.prefix(5).elementsEqual("REDIS".utf8) else { throw .badMagic }
        position = 5
        let digits = try take(4)
        let text = String(decoding: digits, as: UTF8.self)
        guard digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), let number = Int(text),
            number >= 1, number <= RDBFormat.newestReadableVersion
        else { throw .unsupportedVersion(text) }
        version = number
    }

    /// Handles opcodes until it has something to report.
    mutating func next() throws(RDBError) -> ParserEvent {
        while true {
            let start = position
            let type = try byte()
            switch type {
            case RDBOpcode.eof:
                return .end
            case RDBOpcode.selectDB:
                let index = try length()
                guard index <= UInt64(Int32.max) else {
                    throw .corrupt(reason: "database index \(index) out of range", key: nil, offset: start)
                }
                database = Int(index)
            case RDBOpcode.resizeDB:
                _ = try length()
                _ = try length()
            case RDBOpcode.slotInfo:
                _ = try length()
                _ = try length()
                _ = try length()
            case RDBOpcode.expireTimeMilliseconds:
                expireAt = Int64(bitPattern: try littleEndian(8))
            case RDBOpcode.expireTime:
                expireAt = Int64(Int32(bitPattern: UInt32(try littleEndian(4)))) * 1000
            case RDBOpcode.idle:
                _ = try length()
            case RDBOpcode.freq:
                _ = try byte()
            case RDBOpcode.aux:
                let name = try string()
                let value = try string()
                return .aux(RDBAuxField(name: name, value: value))
            case RDBOpcode.function2:
                return .functionLibrary(try string())
            case RDBOpcode.functionPreGA:
                // 7.0-rc1/rc2: name, engine, optional description, code; Redis rebuilds the 7.0 text.
                let name = try string()
                let engine = try string()
                if try length() != 0 { _ = try string() }
                let code = try string()
                return .functionLibrary(Array("#!".utf8) + engine + Array(" name=".utf8) + name + [UInt8(ascii: "\n")] + code)
            case RDBOpcode.moduleAux:
                throw .moduleAuxiliaryData(offset: start)
            default:
                // Reject bytes no Redis writes before reading a key out of what is then garbage.
                guard type <= 7 || (type >= 9 && type <= 25) else { throw .unknownType(type, offset: start) }
                let key = try string()
                let expiry = expireAt
                expireAt = nil
                guard let value = try readValue(type: type, key: key, typeOffset: start) else { return .skipped }
                return .entry(RDBEntry(database: database, key: key, expireAtMilliseconds: expiry, value: value))
            }
        }
    }

    /// After the EOF opcode: the checksum (version 5 and later), verified unless zero or `verify`
    /// is off (`rdbchecksum no`).
    mutating func readChecksum(verify: Bool = true) throws(RDBError) -> Int {
        guard version >= 5 else { return position }
        let covered = position
        let stored = try littleEndian(8)
        if verify && stored != 0 {
            let computed = CRC64.update(0, UnsafeRawBufferPointer(rebasing: bytes[0..<covered]))
            guard computed == stored else { throw .checksumMismatch(stored: stored, computed: computed) }
        }
        return position
    }

    // MARK: values

    /// The value of `type` for `key`; nil for an empty collection (skipped like Redis does).
    mutating func readValue(type: UInt8, key: [UInt8], typeOffset: Int) throws(RDBError) -> RDBValue? {
        switch type {
        case RDBType.string:
            return .string(try string())

        case RDBType.list:
            let count = try count()
            var elements: [[UInt8]] = []
            elements.reserveCapacity(count)
            for _ in 0..<count { elements.append(try string()) }
            return elements.isEmpty ? nil : .list(elements)

        case RDBType.set:
            let count = try count()
            var members: [[UInt8]] = []
            members.reserveCapacity(count)
            for _ in 0..<count { members.append(try string()) }
            return members.isEmpty ? nil : .set(members)

        case RDBType.zset, RDBType.zset2:
            let count = try count(atLeast: 2)
            var pairs: [(member: [UInt8], score: Double)] = []
            pairs.reserveCapacity(count)
            for _ in 0..<count {
                let member = try string()
                let scoreOffset = position
                let score = type == RDBType.zset2 ? Double(bitPattern: try littleEndian(8)) : try textScore()
                if score.isNaN { throw .corrupt(reason: "sorted set score is NaN", key: key, offset: scoreOffset) }
                pairs.append((member, score))
            }
            return pairs.isEmpty ? nil : .sortedSet(pairs)

        case RDBType.hash:
            let count = try count(atLeast: 2)
            var pairs: [(field: [UInt8], value: [UInt8])] = []
            pairs.reserveCapacity(count)
            for _ in 0..<count {
                let field = try string()
                pairs.append((field, try string()))
            }
            return pairs.isEmpty ? nil : .hash(pairs)

        case RDBType.listQuicklist, RDBType.listQuicklist2:
            let nodes = try count()
            var elements: [[UInt8]] = []
            for _ in 0..<nodes {
                let containerOffset = position
                var container: UInt64 = 2
                if type == RDBType.listQuicklist2 {
                    container = try length()
                    guard container == 1 || container == 2 else {
                        throw .corrupt(reason: "quicklist node container \(container) is neither plain (1) nor packed (2)", key: key, offset: containerOffset)
                    }
                }
                if container == 1 {
                    elements.append(try string())
                } else if type == RDBType.listQuicklist2 {
                    elements += try blob("list listpack node", key: key, RDBListpack.entries)
                } else {
                    elements += try blob("list ziplist node", key: key, RDBZiplist.entries)
                }
            }
            return elements.isEmpty ? nil : .list(elements)

        case RDBType.listZiplist:
            let elements = try blob("list ziplist", key: key, RDBZiplist.entries)
            return elements.isEmpty ? nil : .list(elements)

        case RDBType.setIntset:
            let members = try blob("set intset", key: key, RDBIntset.members)
            return members.isEmpty ? nil : .set(members)

        case RDBType.setListpack:
            let members = try blob("set listpack", key: key, RDBListpack.entries)
            return members.isEmpty ? nil : .set(members)

        case RDBType.hashZipmap:
            let pairs = try blob("hash zipmap", key: key, RDBZipmap.pairs)
            return pairs.isEmpty ? nil : .hash(pairs)

        case RDBType.hashZiplist, RDBType.hashListpack:
            let start = position
            let what = type == RDBType.hashZiplist ? "hash ziplist" : "hash listpack"
            let flat = try blob(what, key: key, type == RDBType.hashZiplist ? RDBZiplist.entries : RDBListpack.entries)
            guard flat.count % 2 == 0 else {
                throw .corrupt(reason: "\(what) has an odd number of entries (\(flat.count))", key: key, offset: start)
            }
            var pairs: [(field: [UInt8], value: [UInt8])] = []
            pairs.reserveCapacity(flat.count / 2)
            for index in stride(from: 0, to: flat.count, by: 2) { pairs.append((flat[index], flat[index + 1])) }
            return pairs.isEmpty ? nil : .hash(pairs)

        case RDBType.zsetZiplist, RDBType.zsetListpack:
            let start = position
            let what = type == RDBType.zsetZiplist ? "sorted set ziplist" : "sorted set listpack"
            let flat = try blob(what, key: key, type == RDBType.zsetZiplist ? RDBZiplist.entries : RDBListpack.entries)
            guard flat.count % 2 == 0 else {
                throw .corrupt(reason: "\(what) has an odd number of entries (\(flat.count))", key: key, offset: start)
            }
            var pairs: [(member: [UInt8], score: Double)] = []
            pairs.reserveCapacity(flat.count / 2)
            for index in stride(from: 0, to: flat.count, by: 2) {
                guard let score = flat[index + 1].withUnsafeBytes(RDBNumber.double), !score.isNaN else {
                    throw .corrupt(reason: "\(what) score \(quoted(flat[index + 1])) is not a number", key: key, offset: start)
                }
                pairs.append((flat[index], score))
            }
            return pairs.isEmpty ? nil : .sortedSet(pairs)

        case RDBType.streamListpacks, RDBType.streamListpacks2, RDBType.streamListpacks3:
            return .stream(try readStream(type: type, key: key))

        default:
            if let name = RDBType.unsupportedName(type) {
                throw .unsupportedType(name: name, type: type, key: key, offset: typeOffset)
            }
            throw .unknownType(type, offset: typeOffset)
        }
    }

    /// A stream (types 15, 19 and 21: Redis 5-6, 7.0, 7.2).
    mutating func readStream(type: UInt8, key: [UInt8]) throws(RDBError) -> RDBStream {
        func id() throws(RDBError) -> RDBStream.ID { RDBStream.ID(ms: try self.length(), seq: try self.length()) }
        func rawID() throws(RDBError) -> RDBStream.ID { RDBStream.id(raw: try take(16)) }
        func milliseconds() throws(RDBError) -> Int64 { Int64(bitPattern: try littleEndian(8)) }
        let nodeCount = try count(atLeast: 2)
        var nodes: [RDBStream.Node] = []
        var previousLast: RDBStream.ID?
        for _ in 0..<nodeCount {
            let keyOffset = position
            let master: RDBStream.ID = try withString { (raw) throws(RDBError) -> RDBStream.ID in
                guard raw.count == 16 else {
                    throw .corrupt(reason: "stream node key entry is not the size of a stream ID", key: key, offset: keyOffset)
                }
                return RDBStream.id(raw: raw)
            }
            let node = try blob("stream listpack node", key: key) { (raw) throws(RDBPackedError) in
                try RDBStream.node(master: master, listpack: raw)
            }
            if let previousLast, let first = node.entries.first, !(previousLast < first.id) {
                throw .corrupt(reason: "stream nodes are not in ID order", key: key, offset: keyOffset)
            }
            previousLast = node.entries.last?.id ?? previousLast
            nodes.append(node)
        }
        let length = try self.length()
        let lastID = try id()
        var firstID: RDBStream.ID?
        var maxDeletedID: RDBStream.ID?
        var entriesAdded: UInt64?
        if type != RDBType.streamListpacks {
            firstID = try id()
            maxDeletedID = try id()
            entriesAdded = try self.length()
        }
        let groupCount = try count()
        var groups: [RDBStream.Group] = []
        for _ in 0..<groupCount {
            let name = try string()
            let groupLast = try id()
            var entriesRead: Int64?
            if type != RDBType.streamListpacks { entriesRead = Int64(bitPattern: try self.length()) }
            let pendingCount = try count(atLeast: 17)
            var pending: [RDBStream.PendingEntry] = []
            pending.reserveCapacity(pendingCount)
            for _ in 0..<pendingCount {
                let entryID = try rawID()
                let time = try milliseconds()
                pending.append(RDBStream.PendingEntry(id: entryID, deliveryTime: time, deliveryCount: try self.length()))
            }
            let consumerCount = try count()
            var consumers: [RDBStream.Consumer] = []
            for _ in 0..<consumerCount {
                let consumerName = try string()
                let seen = try milliseconds()
                if type == RDBType.streamListpacks3 { _ = try milliseconds() }
                let ownCount = try count(atLeast: 16)
                var own: [RDBStream.ID] = []
                own.reserveCapacity(ownCount)
                for _ in 0..<ownCount { own.append(try rawID()) }
                consumers.append(RDBStream.Consumer(name: consumerName, seenTime: seen, pending: own))
            }
            groups.append(RDBStream.Group(name: name, lastID: groupLast, entriesRead: entriesRead, pending: pending, consumers: consumers))
        }
        return RDBStream(
            nodes: nodes, length: length, lastID: lastID, firstID: firstID, maxDeletedID: maxDeletedID,
            entriesAdded: entriesAdded, groups: groups)
    }

    /// A score in the pre-RDB-8 text form: a length byte (253 NaN, 254 +inf, 255 -inf) and digits.
    mutating func textScore() throws(RDBError) -> Double {
        let start = position
        let length = try byte()
        switch length {
        case 255: return -.infinity
        case 254: return .infinity
        case 253: return .nan
        default:
            let text = try take(Int(length))
            guard let score = RDBNumber.double(text) else {
                throw .corrupt(reason: "score \(quoted([UInt8](text))) is not a number", key: nil, offset: start)
            }
            return score
        }
    }
}
