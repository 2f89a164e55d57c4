import DequeModule
import RDB

/// Streams to and from the RDB module's form (snapshots, the AOF base, DUMP/RESTORE, full syncs).
extension StreamObject {
    static func rdbID(_ id: StreamID) -> RDBStream.ID { RDBStream.ID(ms: id.ms, seq: id.seq) }
    static func streamID(_ id: RDBStream.ID) -> StreamID { StreamID(ms: id.ms, seq: id.seq) }

    /// Everything but the nodes, which `rdbNodes` converts one at a time.
    var rdbHeader: RDBStream {
        let groups = sortedGroups.map { name, group in
            RDBStream.Group(
                name: name, lastID: Self.rdbID(group.lastID),
                entriesRead: group.entriesRead,
                pending: group.pending.entries().map { id, nack in
                    RDBStream.PendingEntry(id: Self.rdbID(id), deliveryTime: nack.deliveryTime, deliveryCount: UInt64(max(0, nack.deliveryCount)))
                },
                consumers: group.sortedConsumers.map { consumer in
                    RDBStream.Consumer(name: consumer.name, seenTime: consumer.seenTime, pending: consumer.pending.ids.map(Self.rdbID))
                })
        }
        return RDBStream(
            nodes: [], length: UInt64(length), lastID: Self.rdbID(lastID), firstID: Self.rdbID(firstID),
            maxDeletedID: Self.rdbID(maxDeletedID), entriesAdded: entriesAdded, groups: groups)
    }

    var rdbNodes: LazyMapSequence<Deque<StreamNode>, RDBStream.Node> {
        nodes.lazy.map { node in
            var masterFields: [[UInt8]] = []
            node.masterFields.withUnsafeBytes { bytes in
                var position = 0
                for _ in 0..<node.masterFieldCount {
                    let range = StreamPacking.readString(bytes, &position)
                    masterFields.append(Array(bytes[range]))
                }
            }
            var entries: [RDBStream.Entry] = []
            var offset = 0
            while offset < node.data.count {
                let entry = node.entry(at: offset)
                entries.append(RDBStream.Entry(id: Self.rdbID(entry.id), deleted: entry.isDeleted, pairs: node.pairs(entry)))
                offset = entry.next
            }
            return RDBStream.Node(master: Self.rdbID(node.master), masterFields: masterFields, entries: entries)
        }
    }

    /// A loaded stream; nil when its parts contradict each other (Redis refuses such a payload).
    convenience init?(rdb: RDBStream) {
        self.init()
        var live = 0
        for rdbNode in rdb.nodes {
            let node = StreamNode(master: Self.streamID(rdbNode.master))
            node.masterFieldCount = rdbNode.masterFields.count
            for field in rdbNode.masterFields {
                field.withUnsafeBytes {
                    StreamPacking.appendString($0, to: &node.masterFields)
                    node.masterFieldsListpackBytes += RDBListpack.entrySize($0)
                }
            }
            for entry in rdbNode.entries {
                guard entry.pairs.count % 2 == 0 else { return nil }
                node.append(Self.streamID(entry.id), pairs: entry.pairs, flags: entry.deleted ? StreamNode.deletedFlag : 0)
            }
            live += node.live
            if node.live > 0 { nodes.append(node) }
        }
        guard UInt64(live) == rdb.length else { return nil }
        length = live
        lastID = Self.streamID(rdb.lastID)
        if let top = edgeID(first: false), top > lastID { return nil }
        if let first = rdb.firstID, rdb.entriesAdded != nil {
            firstID = Self.streamID(first)
            maxDeletedID = Self.streamID(rdb.maxDeletedID ?? .zero)
            entriesAdded = rdb.entriesAdded ?? UInt64(live)
        } else {
            firstID = edgeID(first: true) ?? .zero
            entriesAdded = UInt64(live)
        }
        for rdbGroup in rdb.groups {
            guard groups[rdbGroup.name] == nil else { return nil }
            let lastDelivered = Self.streamID(rdbGroup.lastID)
            let group = StreamGroup(
                lastID: lastDelivered, entriesRead: rdbGroup.entriesRead ?? estimatedEntriesRead(upTo: lastDelivered))
            var unowned: [StreamID: RDBStream.PendingEntry] = [:]
            for entry in rdbGroup.pending { unowned[Self.streamID(entry.id)] = entry }
            for rdbConsumer in rdbGroup.consumers {
                guard group.consumers[rdbConsumer.name] == nil else { return nil }
                let consumer = group.createConsumer(rdbConsumer.name, now: rdbConsumer.seenTime)
                for rdbID in rdbConsumer.pending {
                    let id = Self.streamID(rdbID)
                    guard let entry = unowned.removeValue(forKey: id) else { return nil }
                    let nack = StreamNACK(
                        deliveryTime: entry.deliveryTime, deliveryCount: Int(clamping: entry.deliveryCount), consumer: consumer)
                    group.pending.insert(id, nack)
                    consumer.pending.insert(id, nack)
                }
            }
            // Every pending entry must belong to a consumer.
            guard unowned.isEmpty else { return nil }
            groups[rdbGroup.name] = group
        }
    }
}

extension RDBWriter {
    /// Writes a node stream (converting its nodes one at a time).
    mutating func writeStream(key: some Collection<UInt8>, stream: StreamObject, expireAtMilliseconds: Int64? = nil) {
        writeStream(key: key, stream: stream.rdbHeader, nodes: stream.rdbNodes, expireAtMilliseconds: expireAtMilliseconds)
    }
}
