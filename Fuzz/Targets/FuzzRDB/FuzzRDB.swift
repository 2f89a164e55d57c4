import RDB

/// The RDB reader (dump files, full-resync payloads, AOF base files): every opcode, encoding
/// (listpack, ziplist, intset, zipmap, quicklist, LZF) and the checksum.
///
/// Input: the payload. The reader must return or throw an RDBError; nothing may trap. When it
/// loads, the keys are written back with RDBWriter and read again: the second read must give the
/// same keys (when they are ones the writer accepts: distinct members, no NaN scores, not empty),
/// sets, hashes and sorted sets compared without their order (the writer may pick another encoding).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRDB(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    var entries: [RDBEntry] = []
    var libraries: [[UInt8]] = []
    let length: Int
    do {
        length = try RDBReader.read(
            bytes,
            aux: { field in _ = (field.nameText, field.valueText) },
            functionLibrary: { libraries.append($0) },
            entry: { entries.append($0) })
    } catch {
        return 0
    }
    precondition(length > 0 && length <= size, "the reader says it used \(length) of \(size) bytes")
    guard entries.allSatisfy(writable) else { return 0 }

    var writer = RDBWriter()
    for library in libraries { writer.writeFunctionLibrary(library) }
    var database = -1
    for entry in entries {
        if entry.database != database {
            database = entry.database
            writer.selectDatabase(database, keyCount: 0, expiresCount: 0)
        }
        writer.write(entry)
    }
    writer.finish()
    var again: [RDBEntry] = []
    do {
        try RDBReader.read(writer.take(), entry: { again.append($0) })
    } catch {
        preconditionFailure("what RDBWriter wrote does not load: \(error)")
    }
    precondition(again.map(normalized) == entries.map(normalized), "keys changed in a write and read round trip")
    return 0
}

/// Whether RDBWriter's preconditions hold for `entry` (the reader is more lenient, as Redis is).
private func writable(_ entry: RDBEntry) -> Bool {
    guard entry.database >= 0 else { return false }
    switch entry.value {
    case .string: return true
    case .list(let elements): return !elements.isEmpty
    case .set(let members): return !members.isEmpty && Set(members).count == members.count
    case .hash(let pairs): return !pairs.isEmpty && Set(pairs.map(\.field)).count == pairs.count
    case .sortedSet(let pairs):
        return !pairs.isEmpty && Set(pairs.map(\.member)).count == pairs.count && !pairs.contains { $0.score.isNaN }
    case .stream: return true
    }
}

/// `entry` with its unordered collections sorted.
private func normalized(_ entry: RDBEntry) -> RDBEntry {
    var entry = entry
    switch entry.value {
    case .string, .list: break
    case .set(let members): entry.value = .set(members.sorted { $0.lexicographicallyPrecedes($1) })
    case .hash(let pairs): entry.value = .hash(pairs.sorted { $0.field.lexicographicallyPrecedes($1.field) })
    case .sortedSet(let pairs): entry.value = .sortedSet(pairs.sorted { $0.member.lexicographicallyPrecedes($1.member) })
    case .stream(var stream):
        // A pre-7.0 stream (type 15) is written as type 19 with the counters Redis derives.
        stream.firstID = stream.firstID ?? .zero
        stream.maxDeletedID = stream.maxDeletedID ?? .zero
        stream.entriesAdded = stream.entriesAdded ?? stream.length
        for index in stream.groups.indices { stream.groups[index].entriesRead = stream.groups[index].entriesRead ?? -1 }
        entry.value = .stream(stream)
    }
    return entry
}
