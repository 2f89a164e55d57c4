import RDB
import Testing

@testable import ShardgateNode

/// The stream storage: entries in nodes of at most `stream-node-max-entries` (deleted ones
/// counting, as in Redis), ranges both ways against a plain model, deletion, `~` trimming at node
/// granularity, and the RDB form round trip.
@Suite struct StreamStorageTests {
    static func pairs(_ index: Int) -> [[UInt8]] {
        index % 3 == 0
            ? [Array("other".utf8), Array("\(index)".utf8)]
            : [Array("field".utf8), Array("\(index)".utf8), Array("f2".utf8), Array(String(repeating: "x", count: index % 70).utf8)]
    }

    static func filled(_ count: Int, maxEntries: Int = 10) -> StreamObject {
        let stream = StreamObject()
        for index in 0..<count {
            stream.append(StreamID(ms: UInt64(index / 3 + 1), seq: UInt64(index % 3)), pairs: pairs(index), maxEntries: maxEntries, maxBytes: 4096)
        }
        return stream
    }

    static func ids(_ stream: StreamObject, reverse: Bool = false, from start: StreamID = .zero, to end: StreamID = .max) -> [StreamID] {
        var result: [StreamID] = []
        let collect: (StreamNode, StreamNode.Entry) -> Bool = { _, entry in
            result.append(entry.id)
            return true
        }
        if reverse { stream.backward(from: end, to: start, collect) } else { stream.forward(from: start, to: end, collect) }
        return result
    }

    @Test func nodesHoldAtMostMaxEntriesAndRangesMatchAModel() {
        let stream = Self.filled(95)
        #expect(stream.nodes.count == 10)
        #expect(stream.nodes.allSatisfy { $0.live + $0.deleted <= 10 })
        var model = (0..<95).map { StreamID(ms: UInt64($0 / 3 + 1), seq: UInt64($0 % 3)) }
        #expect(Self.ids(stream) == model)
        #expect(Self.ids(stream, reverse: true) == model.reversed())
        // Deleting every fifth entry, and a whole node's worth.
        for (index, id) in model.enumerated().reversed() where index % 5 == 0 || (20..<30).contains(index) {
            #expect(stream.delete(id))
            #expect(!stream.delete(id))
            model.remove(at: index)
        }
        #expect(stream.length == model.count)
        #expect(stream.nodes.count == 9, "the emptied node is gone")
        let start = StreamID(ms: 5, seq: 1), end = StreamID(ms: 25, seq: 0)
        #expect(Self.ids(stream, from: start, to: end) == model.filter { $0 >= start && $0 <= end })
        #expect(Self.ids(stream, reverse: true, from: start, to: end) == model.filter { $0 >= start && $0 <= end }.reversed())
        #expect(stream.edgeID(first: true) == model.first)
        #expect(stream.edgeID(first: false) == model.last)
        // Fields and values come back as added.
        if let (node, entry) = stream.lookup(StreamID(ms: 4, seq: 2)) {
            #expect(node.pairs(entry) == Self.pairs(11))
        } else {
            Issue.record("4-2 not found")
        }
    }

    @Test func approximateTrimmingRemovesWholeNodesOnly() {
        let stream = Self.filled(95)
        #expect(stream.trim(.maxLength(50), approximate: true, limit: 0) == 40)
        #expect(stream.length == 55)
        #expect(stream.trim(.maxLength(50), approximate: false, limit: 0) == 5)
        #expect(stream.length == 50)
        // The partly trimmed node keeps its deleted entries: it is full for appending purposes.
        #expect(stream.nodes.first.map { $0.live + $0.deleted } == 10)
        #expect(stream.trim(.minID(StreamID(ms: 30, seq: 0)), approximate: true, limit: 5) == 5, "the 5-entry node fits LIMIT 5")
        #expect(stream.trim(.minID(StreamID(ms: 30, seq: 0)), approximate: true, limit: 5) == 0, "a 10-entry node does not")
        #expect(stream.trim(.minID(StreamID(ms: 30, seq: 0)), approximate: false, limit: 0) == 37)
        #expect(stream.firstID == StreamID(ms: 30, seq: 0))
    }

    @Test func rdbFormRoundTrips() throws {
        let stream = Self.filled(40, maxEntries: 7)
        _ = stream.delete(StreamID(ms: 1, seq: 0))
        _ = stream.delete(StreamID(ms: 5, seq: 2))
        stream.maxDeletedID = StreamID(ms: 5, seq: 2)
        let group = StreamGroup(lastID: StreamID(ms: 3, seq: 0), entriesRead: 7)
        let consumer = group.createConsumer(Array("alice".utf8), now: 1234)
        group.createConsumer(Array("idle".utf8), now: 99)
        for id in [StreamID(ms: 2, seq: 0), StreamID(ms: 3, seq: 0)] {
            let nack = StreamNACK(deliveryTime: 555, deliveryCount: 2, consumer: consumer)
            group.pending.insert(id, nack)
            consumer.pending.insert(id, nack)
        }
        stream.groups[Array("g".utf8)] = group
        var header = stream.rdbHeader
        header.nodes = Array(stream.rdbNodes)
        let loaded = try #require(StreamObject(rdb: header))
        #expect(Self.ids(loaded) == Self.ids(stream))
        #expect(loaded.nodes.map(\.listpackBytes) == stream.nodes.map(\.listpackBytes))
        #expect(loaded.radixTreeNodes == stream.radixTreeNodes)
        #expect(loaded.groups[Array("g".utf8)]?.consumer(Array("alice".utf8))?.pending.ids == [StreamID(ms: 2, seq: 0), StreamID(ms: 3, seq: 0)])
        #expect(loaded.maxDeletedID == stream.maxDeletedID)
        // Listpacks as Redis lays them out decode to the same nodes.
        for node in header.nodes {
            var listpack: [UInt8] = []
            RDBStream.listpack(node, into: &listpack)
            #expect(try listpack.withUnsafeBytes { try RDBStream.node(master: node.master, listpack: $0) } == node)
        }
        // A consumer owning an entry the group does not list is refused.
        header.groups[0].consumers[0].pending.append(RDBStream.ID(ms: 9, seq: 9))
        #expect(StreamObject(rdb: header) == nil)
    }

    @Test func pendingMapsMatchAModelAcrossChunks() {
        var map = StreamIDMap<Int>()
        var model: [StreamID: Int] = [:]
        var state: UInt64 = 0x9E37_79B9
        for step in 0..<6000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let id = StreamID(ms: (state >> 33) % 1500, seq: (state >> 20) % 2)
            if step % 3 == 2 {
                #expect(map.remove(id) == model.removeValue(forKey: id))
            } else {
                map.insert(id, step)
                model[id] = step
            }
        }
        let sorted = model.keys.sorted()
        #expect(map.count == model.count)
        #expect(map.ids == sorted)
        #expect(map.first == sorted.first && map.last == sorted.last)
        #expect(sorted.allSatisfy { map[$0] == model[$0] })
        let start = StreamID(ms: 700, seq: 1)
        #expect(map.entries(from: start, limit: 50).map(\.0) == Array(sorted.filter { $0 >= start }.prefix(50)))
        // Acknowledging from the oldest empties it.
        for id in sorted { map.remove(id) }
        #expect(map.isEmpty && map.ids.isEmpty && map.first == nil)
    }

    @Test func copiesAreIndependent() {
        let stream = Self.filled(12)
        let group = StreamGroup(lastID: .zero, entriesRead: -1)
        let consumer = group.createConsumer(Array("c".utf8), now: 1)
        let nack = StreamNACK(deliveryTime: 1, deliveryCount: 1, consumer: consumer)
        group.pending.insert(StreamID(ms: 1, seq: 0), nack)
        consumer.pending.insert(StreamID(ms: 1, seq: 0), nack)
        stream.groups[Array("g".utf8)] = group
        let copy = stream.copy()
        _ = stream.delete(StreamID(ms: 1, seq: 1))
        stream.groups[Array("g".utf8)]?.pending.values[0].deliveryCount = 9
        #expect(copy.length == 12)
        #expect(copy.groups[Array("g".utf8)]?.pending.values[0].deliveryCount == 1)
        #expect(copy.groups[Array("g".utf8)]?.pending.values[0].consumer === copy.groups[Array("g".utf8)]?.consumer(Array("c".utf8)))
    }
}
