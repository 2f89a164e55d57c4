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
