#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import DequeModule
import RDB

/// The dataset to and from RDB: what SAVE, BGSAVE, the AOF base file and (later) full
/// resynchronization write, and what startup loads.
enum Snapshot {
    /// Writes every database as an RDB (version 10, loadable by Redis 7.0), handing the bytes to
    /// `sink` in chunks of about 64 KB so memory stays bounded by the largest value.
    ///
    /// Keys whose TTL has passed but which have not been deleted yet are written too, as Redis does;
    /// the loader drops them.
    static func write(
        _ databases: [Database], creationTime: Int, compression: Bool, checksum: Bool = true, aofBase: Bool = false,
        replication: (streamDatabase: Int, id: String, offset: Int)? = nil, functions: [[UInt8]] = [],
        sink: (UnsafeRawBufferPointer) throws(FileIO.Failure) -> Void
    ) throws(FileIO.Failure) {
        var writer = RDBWriter(compression: compression, checksum: checksum)
        writer.writeDefaultAux(creationTime: creationTime, replication: replication, aofBase: aofBase)
        // Function libraries (FUNCTION2 records) before the keys, as Redis 7 writes them.
        for code in functions { writer.writeFunctionLibrary(code) }
        for (index, database) in databases.enumerated() where database.count > 0 {
            writer.selectDatabase(index, keyCount: database.count, expiresCount: database.expiresCount)
            for slot in database.slots {
                let key = database.key(at: slot)
                let deadline = database.expireAt(slot: slot)
                let expireAt: Int64? = deadline == 0 ? nil : deadline
                switch database.value(at: slot) {
                case .string(let bytes):
                    writer.writeString(key: key, value: bytes, expireAtMilliseconds: expireAt)
                case .list(let list):
                    writer.writeList(key: key, elements: list.elements, expireAtMilliseconds: expireAt)
                case .set(let set):
                    writer.writeSet(key: key, members: set.members, expireAtMilliseconds: expireAt)
                case .hash(let hash):
                    writer.writeHash(
                        key: key, pairs: hash.pairs.lazy.map { (field: $0.0, value: $0.1) },
                        expireAtMilliseconds: expireAt)
                case .sortedSet(let sortedSet):
                    writer.writeSortedSet(
                        key: key, pairs: sortedSet.entries.lazy.map { (member: $0.0, score: $0.1) },
                        expireAtMilliseconds: expireAt)
                case .stream(let stream):
                    writer.writeStream(key: key, stream: stream, expireAtMilliseconds: expireAt)
                }
                if writer.pending.count >= 1 << 16 { try drain(&writer, sink) }
            }
        }
        writer.finish()
        try drain(&writer, sink)
    }

    private static func drain(
        _ writer: inout RDBWriter, _ sink: (UnsafeRawBufferPointer) throws(FileIO.Failure) -> Void
    ) throws(FileIO.Failure) {
        var failure: FileIO.Failure?
        writer.drain { bytes in
            do throws(FileIO.Failure) { try sink(bytes) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Writes the dataset to `path` through a temporary file in the same directory, fsynced and
    /// renamed over `path` only when complete (so a crash never leaves a half-written dump).
    static func save(
        _ databases: [Database], to path: String, temporaryPath: String, creationTime: Int, compression: Bool,
        checksum: Bool = true, aofBase: Bool = false, functions: [[UInt8]] = []
    ) throws(FileIO.Failure) {
        let fd = try FileIO.create(temporaryPath)
        do throws(FileIO.Failure) {
            try write(
                databases, creationTime: creationTime, compression: compression, checksum: checksum, aofBase: aofBase,
                functions: functions
            ) {
                (bytes) throws(FileIO.Failure) in try FileIO.writeAll(fd, bytes, path: temporaryPath)
            }
            guard fsync(fd) == 0 else { throw FileIO.Failure("fsync", temporaryPath) }
            close(fd)
            try FileIO.rename(temporaryPath, to: path)
            FileIO.syncDirectory(of: path)
        } catch {
            close(fd)
            FileIO.remove(temporaryPath)
            throw error
        }
    }

    /// What one load found.
    struct LoadResult {
        var loaded = 0
        var expired = 0
        /// Bytes the RDB took (an AOF with an RDB preamble continues with commands after them).
        var length = 0
        var aux: [String: String] = [:]
        /// The function libraries' codes (FUNCTION2 records).
        var functions: [[UInt8]] = []
    }

    struct LoadError: Error, CustomStringConvertible {
        let description: String
    }

    /// Adds the keys of an RDB payload to `databases`. Keys already expired are skipped when
    /// `dropExpired` (a master loading its dump), kept otherwise (a replica, an AOF preamble).
    static func load(
        _ bytes: UnsafeRawBufferPointer, into databases: [Database], settings: NodeSettings, now: Int64,
        dropExpired: Bool
    ) throws -> LoadResult {
        var result = LoadResult()
        result.length = try RDBReader.read(
            bytes,
            aux: { field in result.aux[field.nameText] = field.valueText },
            functionLibrary: { code in result.functions.append(code) },
            verifyChecksum: settings.rdbChecksum,
            entry: { entry in
                guard entry.database < databases.count else {
                    throw LoadError(description:
                        "the data file was created with a server configured to handle more than \(databases.count) databases")
                }
                if let deadline = entry.expireAtMilliseconds, dropExpired, deadline < now {
                    result.expired += 1
                    return
                }
                let database = databases[entry.database]
                let value = Self.value(entry.value, settings: settings)
                if let slot = database.find(entry.key, now: Int64.min) {
                    database.remove(slot: slot)
                }
                database.add(entry.key, value, expireAt: entry.expireAtMilliseconds ?? 0)
                result.loaded += 1
            })
        return result
    }

    /// A loaded value in the node's representation, with the encodings the settings call for.
    static func value(_ value: RDBValue, settings: NodeSettings) -> Value {
        switch value {
        case .string(let bytes): .string(bytes)
        case .list(let elements): .list(ListObject(Deque(elements)))
        case .set(let members): .set(SetObject(members: members, settings: settings))
        case .hash(let pairs): .hash(HashObject(pairs: pairs.lazy.map { ($0.field, $0.value) }, settings: settings))
        case .sortedSet(let entries):
            .sortedSet(SortedSetObject(entries: entries.lazy.map { ($0.member, $0.score) }, settings: settings))
        case .stream(let stream): .stream(StreamObject(rdb: stream) ?? StreamObject())
        }
    }
}
