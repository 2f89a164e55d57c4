#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import RDB

extension Node {
    /// Runs the snapshot writer once, in the parent, over a small dataset holding every type in every
    /// encoding, and throws the bytes away.
    ///
    /// A forked child has only the thread that forked. Whatever the Swift runtime instantiates lazily
    /// (generic metadata, witness tables) it does under locks that another thread of the parent may
    /// have held at the moment of the fork, and the child then waits on them forever (seen: the
    /// witness table of `Deque<[UInt8]>: Sequence`, first needed inside the child). After this warm-up
    /// the child only reads what already exists.
    func prepareForForking() {
        let settings = self.settings
        let database = Database(index: 0)
        let many = 0..<700
        let values: [RDBValue] = [
            .string(Array("v".utf8)), .string(Array("12345".utf8)), .string([UInt8](repeating: 120, count: 300)),
            .list([Array("a".utf8)]), .list(many.map { Array("element-\($0)".utf8) }),
            .set([Array("1".utf8)]), .set([Array("m".utf8)]), .set(many.map { Array("member-\($0)".utf8) }),
            .hash([(field: Array("f".utf8), value: Array("v".utf8))]),
            .hash(many.map { (field: Array("field-\($0)".utf8), value: Array("value".utf8)) }),
            .sortedSet([(member: Array("m".utf8), score: 1)]),
            .sortedSet(many.map { (member: Array("member-\($0)".utf8), score: Double($0)) }),
            .stream(RDBStream(
                nodes: [RDBStream.Node(
                    master: RDBStream.ID(ms: 1, seq: 0), masterFields: [Array("f".utf8)],
                    entries: [RDBStream.Entry(id: RDBStream.ID(ms: 1, seq: 0), deleted: false, pairs: [Array("f".utf8), Array("v".utf8)])])],
                length: 1, lastID: RDBStream.ID(ms: 1, seq: 0), firstID: RDBStream.ID(ms: 1, seq: 0), maxDeletedID: .zero,
                entriesAdded: 1,
                groups: [RDBStream.Group(
                    name: Array("g".utf8), lastID: RDBStream.ID(ms: 1, seq: 0), entriesRead: 1,
                    pending: [RDBStream.PendingEntry(id: RDBStream.ID(ms: 1, seq: 0), deliveryTime: 1, deliveryCount: 1)],
                    consumers: [RDBStream.Consumer(name: Array("c".utf8), seenTime: 1, pending: [RDBStream.ID(ms: 1, seq: 0)])])])),
        ]
        for (index, value) in values.enumerated() {
            database.add(Array("warm-\(index)".utf8), Snapshot.value(value, settings: settings), expireAt: index == 0 ? 1 : 0)
        }
        for compression in [true, false] {
            try? Snapshot.write(
                [database], creationTime: 0, compression: compression, aofBase: compression,
                replication: (0, String(repeating: "0", count: 40), 0), sink: { _ in })
        }
    }
}

extension Node {
    /// How long a snapshot child may go without its output growing before it is killed.
    static let childStallMilliseconds: Int64 = 10_000

    /// Cron: a forked child whose output (its file, or the bytes relayed from its pipe) has not
    /// grown for `childStallMilliseconds` can only be stuck; it is killed, and reaping it reports
    /// the save, rewrite or synchronisation as failed, so nothing waits on it forever.
    func watchChildProgress(now: Int64) {
        var running: (pid: pid_t, bytes: Int)?
        if let child = persistence.child {
            running = (child.pid, FileIO.size(child.temporaryPath))
        } else if let snapshot = replication.snapshot, snapshot.childExited == nil {
            running = (snapshot.pid, snapshot.diskless ? snapshot.relayedBytes : FileIO.size(snapshot.path))
        }
        guard let running else {
            persistence.childProgress = nil
            return
        }
        guard let last = persistence.childProgress, last.pid == running.pid, last.bytes == running.bytes else {
            persistence.childProgress = (running.pid, running.bytes, now)
            return
        }
        if now - last.since > Self.childStallMilliseconds {
            logger.warning(
                "killing a snapshot child that made no progress", metadata: ["pid": "\(running.pid)", "bytes": "\(running.bytes)"])
            #if canImport(Glibc)
            Glibc.kill(running.pid, SIGKILL)
            #else
            Darwin.kill(running.pid, SIGKILL)
            #endif
            persistence.childProgress = nil
        }
    }
}
