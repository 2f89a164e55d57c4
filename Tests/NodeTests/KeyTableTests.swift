import Testing

@testable import ShardgateNode

@Suite struct KeyTableTests {
    static func key(_ index: Int) -> [UInt8] { Array("key:\(index)".utf8) }

    @Test func insertFindRemove() {
        var table = KeyTable<Int>()
        for index in 0..<1000 { table.insert(Self.key(index), index) }
        #expect(table.count == 1000)
        for index in 0..<1000 {
            let slot = Self.key(index).withUnsafeBytes { table.find($0) }
            #expect(slot.map { table[slot: $0] } == index)
        }
        for index in stride(from: 0, to: 1000, by: 2) {
            #expect(Self.key(index).withUnsafeBytes { table.remove($0) } == index)
        }
        #expect(table.count == 500)
        #expect(Self.key(2).withUnsafeBytes { table.find($0) } == nil)
        #expect(Self.key(3).withUnsafeBytes { table[$0] } == 3)
        // Freed slots are reused.
        table.insert(Self.key(2), 2)
        #expect(table.slots.count == 1000)
    }

    /// Keys at the inline limit and past it read back whole, in tables spanning several segments.
    @Test func keysOfEveryLengthAcrossSegments() {
        var table = KeyTable<Int>()
        let keys = (0..<(2 * SegmentedArray<Int>.segmentSize + 100)).map { index in
            Array("k\(index)-".utf8) + Array(repeating: UInt8(ascii: "x"), count: index % 40)
        }
        for (index, key) in keys.enumerated() { table.insert(key, index) }
        for (index, key) in keys.enumerated() {
            let slot = table.find(key)
            #expect(slot.map { table[slot: $0] } == index)
            #expect(slot.map { table.key(at: $0) } == key)
        }
        for key in keys where key.count % 3 == 0 { _ = key.withUnsafeBytes { table.remove($0) } }
        for (index, key) in keys.enumerated() {
            #expect(table.find(key).map { table[slot: $0] } == (key.count % 3 == 0 ? nil : index))
        }
    }

    /// A keyspace slot's size is most of a small key's memory (a 100-byte string costs a 144-byte
    /// allocation besides): 48 bytes, where a 25-byte key and a kept hash made it 64, which cost a
    /// node under `maxmemory` 7% of the keys it holds.
    @Test func keyspaceSlotsAre48Bytes() {
        #expect(MemoryLayout<StoredKey>.size == 24)
        #expect(MemoryLayout<KeyTable<Entry>.Slot>.stride == 48)
        #expect(MemoryLayout<KeyTable<Void>.Slot>.stride == 32)
        #expect(MemoryLayout<KeyTable<[UInt8]>.Slot>.stride == 40)
    }

    /// Appending fills segments in order, never moving what is stored; copies stay independent.
    @Test func segmentedArrayKeepsOrderAcrossSegments() {
        let size = SegmentedArray<Int>.segmentSize
        var array = SegmentedArray<Int>()
        for index in 0..<(3 * size + 5) { array.append(index) }
        #expect(array.count == 3 * size + 5)
        #expect(Array(array) == Array(0..<(3 * size + 5)))
        let copy = array
        array[size] = -1
        array[2 * size + 1] += 10
        #expect(copy[size] == size && array[size] == -1)
        #expect(array[2 * size + 1] == 2 * size + 11 && copy[2 * size + 1] == 2 * size + 1)
        #expect(array.withUnsafeElementPointer(at: 3 * size + 4) { $0.pointee } == 3 * size + 4)
    }

    /// The prefetch tells keys kept outside their slot by the tag byte `StoredKey.heapTag` finds;
    /// if the enum's layout changes, that probe turns it off and this test says so.
    @Test func prefetchFindsLongKeysByTheirTag() {
        let tag = StoredKey.heapTag
        #expect(tag != nil)
        for length in [0, 5, 22, 23, 24, 40] {
            let key = StoredKey(Array(repeating: UInt8(ascii: "k"), count: length))
            let tagged = withUnsafeBytes(of: key) { raw in tag.map { raw[$0.offset] == $0.value } ?? false }
            #expect(tagged == (length > StoredKey.inlineCapacity), "length \(length)")
        }
        var table = KeyTable<Entry>()
        let long = (0..<200).map { Array("a key longer than the slot holds:\($0)".utf8) }
        for key in long { table.insert(key, Entry(value: .string(key), expireAt: 0, access: 0)) }
        for key in long.prefix(20) { table.insert(Self.key(key.count), Entry(value: .string([]), expireAt: 0, access: 0)) }
        // Only hints: the table reads the same afterwards.
        table.prefetch(hashes: long.map { KeyTable<Entry>.hash($0) } + [nil, 7], payloadOffset: KeyTable<Entry>.valuePayloadOffset)
        for key in long { #expect(table.find(key).map { table.key(at: $0) } == key) }
    }

    /// Redis's SCAN guarantee: every element present for the whole scan is returned, even when the
    /// table grows or shrinks between calls.
    @Test(arguments: [true, false])
    func scanReturnsEveryStableKeyAcrossResizes(growing: Bool) {
        var table = KeyTable<Int>()
        let stable = 0..<300
        for index in stable { table.insert(Self.key(index), index) }
        if !growing { for index in 1000..<5000 { table.insert(Self.key(index), index) } }
        var seen: Set<Int> = []
        var cursor: UInt64 = 0
        var steps = 0
        repeat {
            cursor = table.scan(cursor: cursor) { seen.insert(table[slot: $0]) }
            steps += 1
            if growing && steps < 200 {
                for extra in 0..<40 { table.insert(Self.key(10_000 + steps * 40 + extra), -1) }
            } else if !growing && steps < 100 {
                for index in (1000 + (steps - 1) * 40)..<(1000 + steps * 40) {
                    _ = Self.key(index).withUnsafeBytes { table.remove($0) }
                }
            }
        } while cursor != 0 && steps < 100_000
        #expect(cursor == 0)
        #expect(stable.allSatisfy { seen.contains($0) })
    }

    @Test func randomSlotReachesEveryKey() {
        var table = KeyTable<Int>()
        for index in 0..<20 { table.insert(Self.key(index), index) }
        var generator = SystemRandomNumberGenerator()
        var seen: Set<Int> = []
        for _ in 0..<2000 { if let slot = table.randomSlot(using: &generator) { seen.insert(table[slot: slot]) } }
        #expect(seen.count == 20)
        #expect(KeyTable<Int>().randomSlot(using: &generator) == nil)
    }

    /// Eviction's sampler: exactly `count` distinct live slots when the table has them, fewer only
    /// when it does not, none from an empty table; over many calls every key comes up.
    @Test func sampleSlotsGivesDistinctLiveSlotsAndReachesEveryKey() {
        var table = KeyTable<Int>()
        for index in 0..<100 { table.insert(Self.key(index), index) }
        for index in stride(from: 0, to: 100, by: 2) { _ = Self.key(index).withUnsafeBytes { table.remove($0) } }
        var generator = SystemRandomNumberGenerator()
        var seen: Set<Int> = []
        for _ in 0..<500 {
            var slots: [Int] = []
            table.sampleSlots(5, using: &generator) { slots.append($0) }
            #expect(slots.count == 5 && Set(slots).count == 5)
            for slot in slots {
                let value = table[slot: slot]
                #expect(value % 2 == 1, "only live keys")
                seen.insert(value)
            }
        }
        #expect(seen.count == 50)
        var small = KeyTable<Int>()
        small.insert(Self.key(1), 1)
        var few: [Int] = []
        small.sampleSlots(5, using: &generator) { few.append($0) }
        #expect(few.count == 1)
        KeyTable<Int>().sampleSlots(5, using: &generator) { _ in Issue.record("an empty table has nothing to sample") }
    }
}

@Suite struct DatabaseExpiryTests {
    @Test func lazyAndActiveExpiry() {
        let database = Database(index: 0)
        var expired: [[UInt8]] = []
        database.onExpired = { _, key in expired.append(key) }
        database.add(Array("a".utf8), .string([1]), expireAt: 1000)
        database.add(Array("b".utf8), .string([2]), expireAt: 5000)
        database.add(Array("c".utf8), .string([3]))
        #expect(database.expiresCount == 2)
        // Lazy: a read after the deadline deletes the key.
        #expect(database.find(Array("a".utf8), now: 1000) == nil)
        #expect(expired == [Array("a".utf8)])
        // Active: the queue yields only due keys; changed TTLs leave stale entries that are skipped.
        let slot = database.find(Array("b".utf8), now: 0)!
        database.setExpiry(slot: slot, 9000)
        #expect(database.expireDueKeys(now: 6000, limit: 10) == 0)
        #expect(database.expireDueKeys(now: 9000, limit: 10) == 1)
        #expect(database.count == 1)
        #expect(database.expiresCount == 0)
    }

    @Test func replicasDoNotDeleteExpiredKeys() {
        let database = Database(index: 0)
        database.deletesExpiredKeys = false
        database.add(Array("a".utf8), .string([1]), expireAt: 10)
        #expect(database.find(Array("a".utf8), now: 20) == nil)
        #expect(database.count == 1)
    }
}
