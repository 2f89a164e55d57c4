/// The serialization DUMP produces and RESTORE (and MIGRATE) consume, as Redis 7.0 defines it
/// (`createDumpPayload` / `verifyDumpPayload` in `cluster.c`):
///
/// ```
/// <type byte><value as an RDB file holds it> <RDB version: 2 bytes LE> <CRC64 of all before: 8 bytes LE>
/// ```
///
/// The value part is exactly what `RDBWriter` writes for a key after its name, so a payload moves
/// between this module and redis-server both ways.
public enum DumpPayload {
    /// Why RESTORE refuses a payload, in Redis's terms.
    public enum Failure: Error, Equatable {
        /// Shorter than its footer, written by a newer RDB version, or the checksum does not match:
        /// `ERR DUMP payload version or checksum are wrong`.
        case versionOrChecksum
        /// The value does not decode (`ERR Bad data format`): unknown or unsupported type, corrupt
        /// or truncated content, an empty collection, or a member or field given twice.
        case badData(String)
    }

    /// The payload of the single value `write` writes with the writer it is handed (one `write...`
    /// call; the key it passes is not written, nor any expiry).
    public static func make(compression: Bool, _ write: (inout RDBWriter) -> Void) -> [UInt8] {
        var writer = RDBWriter(bareValueCompression: compression)
        write(&writer)
        var payload = writer.take()
        let version = RDBFormat.version
        payload.append(UInt8(truncatingIfNeeded: version))
        payload.append(UInt8(truncatingIfNeeded: version >> 8))
        let crc = CRC64.checksum(payload)
        for shift in stride(from: 0, to: 64, by: 8) { payload.append(UInt8(truncatingIfNeeded: crc >> UInt64(shift))) }
        return payload
    }

    /// Checks the footer, then decodes the value. As in Redis, the value is read from the start
    /// of the whole payload and what follows it is not looked at.
    public static func read(_ payload: UnsafeRawBufferPointer) throws(Failure) -> RDBValue {
        guard payload.count >= 10 else { throw .versionOrChecksum }
        let footer = payload.count - 10
        let version = Int(payload[footer]) | Int(payload[footer + 1]) << 8
        guard version <= RDBFormat.version else { throw .versionOrChecksum }
        var stored: UInt64 = 0
        for index in (0..<8).reversed() { stored = stored << 8 | UInt64(payload[footer + 2 + index]) }
        guard CRC64.update(0, UnsafeRawBufferPointer(rebasing: payload[0..<(payload.count - 8)])) == stored else {
            throw .versionOrChecksum
        }
        var parser = Parser(payload)
        parser.version = version
        let value: RDBValue?
        do throws(RDBError) {
            let type = try parser.byte()
            // Redis 7.0's `rdbIsObjectType`: the types it knows (streams and modules among them).
            guard type <= 7 || (type >= 9 && type <= 19) else { throw .unknownType(type, offset: 0) }
            value = try parser.readValue(type: type, key: [], typeOffset: 0)
        } catch {
            throw .badData(error.description)
        }
        guard let value else { throw .badData("empty collection") }
        if let duplicate = value.firstDuplicate {
            throw .badData("\(quoted(duplicate)) appears twice in the \(value.typeName)")
        }
        return value
    }

    /// `read` over a byte array.
    public static func read(_ payload: [UInt8]) throws(Failure) -> RDBValue {
        let result: Result<RDBValue, Failure> = payload.withUnsafeBytes { bytes in Result { () throws(Failure) in try read(bytes) } }
        return try result.get()
    }
}

extension RDBValue {
    /// A set member, hash field or sorted set member present more than once (Redis refuses such a
    /// payload: "Duplicate ... detected").
    var firstDuplicate: [UInt8]? {
        var seen = Set<[UInt8]>()
        switch self {
        case .string, .list, .stream: return nil
        case .set(let members): return members.first { !seen.insert($0).inserted }
        case .hash(let pairs): return pairs.first { !seen.insert($0.field).inserted }?.field
        case .sortedSet(let pairs): return pairs.first { !seen.insert($0.member).inserted }?.member
        }
    }
}
