import CPrefetch
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// A hash table from byte-string keys to values, with the two things Swift's `Dictionary` lacks and
/// Redis needs: a SCAN cursor that stays valid while the table grows or shrinks, and a cheap random
/// entry (RANDOMKEY, eviction sampling).
///
/// Separate chaining over a power-of-two bucket array, entries in one dense (segmented) array
/// linked by index; freed entries are reused. Lookups take the argument's bytes in place, so reading a key allocates
/// nothing. The cursor is Redis's reverse-binary bucket cursor, which visits every bucket present for
/// the whole scan exactly once across resizes.
struct KeyTable<Value> {
    /// No hash is kept: a chain averages under one entry and a short key is compared in the slot
    /// already loaded, so the 4 bytes (8 with padding: a keyspace slot is 48 bytes, not 56) are
    /// worth more than the comparisons they save; resizing and removal hash the key again.
    struct Slot {
        var key: StoredKey
        var value: Value?
        var next: Int32
    }

    private var buckets: [Int32] = []
    /// In segments, so growing never copies the slots nor leaves half a doubled array unused.
    private(set) var slots = SegmentedArray<Slot>()
    private var freeList: Int32 = -1
    private(set) var count = 0

    init() {}

    var isEmpty: Bool { count == 0 }

    @inline(__always)
    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        KeyHash.hash(bytes)
    }

    @inline(__always)
    static func hash(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { hash($0) }
    }

    /// Index of the slot holding `key`, nil when absent.
    func find(_ key: UnsafeRawBufferPointer) -> Int? {
        find(key, hash: Self.hash(key))
    }

    func find(_ key: UnsafeRawBufferPointer, hash: UInt32) -> Int? {
        guard !buckets.isEmpty else { return nil }
        var index = buckets[Int(hash) & (buckets.count - 1)]
        while index >= 0 {
            let i = Int(index)
            if slots[i].key.withUnsafeBytes({ $0.sameBytes(as: key) }) { return i }
            index = slots[i].next
        }
        return nil
    }

    func find(_ key: [UInt8]) -> Int? {
        key.withUnsafeBytes { find($0) }
    }

    /// Starts loading the memory that looking up keys with these hashes will read, one step for
    /// all of them before the next, so their cache misses overlap instead of coming one lookup at a
    /// time: the buckets, then the first slot of each bucket's chain (chains average under one
    /// entry; a slot can straddle two cache lines), then that slot's key bytes when they are kept
    /// outside the slot and, when `payloadOffset` is given, what the machine word at that
    /// offset in the slot points to (a value's heap storage).
    ///
    /// Only hints: nothing is retained or written, and a word that is no pointer (another kind of
    /// value) makes a prefetch that loads nothing.
    func prefetch(hashes: [UInt32?], payloadOffset: Int?) {
        guard !buckets.isEmpty else { return }
        buckets.withUnsafeBufferPointer { buckets in
            let mask = buckets.count - 1
            for case let hash? in hashes { shardgate_prefetch(buckets.baseAddress! + (Int(hash) & mask)) }
            let stride = MemoryLayout<Slot>.stride
            for case let hash? in hashes {
                let index = Int(buckets[Int(hash) & mask])
                guard index >= 0 else { continue }
                slots.withUnsafeElementPointer(at: index) { slot in
                    shardgate_prefetch(UnsafeRawPointer(slot))
                    shardgate_prefetch(UnsafeRawPointer(slot) + (stride - 1))
                }
            }
            let heapTag = StoredKey.heapTag
            let keyOffset = MemoryLayout<Slot>.offset(of: \Slot.key)!
            for case let hash? in hashes {
                let index = Int(buckets[Int(hash) & mask])
                guard index >= 0 else { continue }
                slots.withUnsafeElementPointer(at: index) { slotPointer in
                    // Most likely the key sought (a bucket's chain averages under one entry).
                    let slot = UnsafeRawPointer(slotPointer)
                    // A key too long for the slot: the bytes the comparison reads.
                    if let (offset, tag) = heapTag, (slot + keyOffset + offset).load(as: UInt8.self) == tag {
                        Self.prefetchArray(at: (slot + keyOffset).load(as: UInt.self))
                    }
                    if let payloadOffset { Self.prefetchArray(at: (slot + payloadOffset).load(as: UInt.self)) }
                }
            }
        }
    }

    /// The object header, then the first bytes (a Swift array's elements start 32 bytes in).
    @inline(__always)
    private static func prefetchArray(at word: UInt) {
        let target = UnsafeRawPointer(bitPattern: word)
        shardgate_prefetch(target)
        shardgate_prefetch(target.map { $0 + 32 })
    }

    /// The value of an occupied slot. Modified in place, in one access to the slot: taking the value
    /// out and storing it back made two, each checking both arrays' uniqueness again.
    subscript(slot index: Int) -> Value {
        get { slots[index].value! }
        _modify { yield &slots[index].value! }
    }

    func key(at index: Int) -> [UInt8] { slots[index].key.bytes }

    /// Bytes of the table's own arrays, buckets and slots, whatever they hold (MEMORY STATS).
    var tableBytes: Int { buckets.capacity * MemoryLayout<Int32>.stride + slots.capacity * MemoryLayout<Slot>.stride }

    /// Lends the bytes of the key in slot `index` to `body` (no copy for long keys, none on the heap
    /// for short ones).
    @inline(__always)
    func withKey<R>(at index: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try slots[index].key.withUnsafeBytes(body)
    }

    /// Lends the value of an occupied slot to `body` without copying it out of the table.
    @inline(__always)
    func withValue<R>(slot index: Int, _ body: (borrowing Value) -> R) -> R {
        slots.withUnsafeElementPointer(at: index) { body($0.pointee.value.unsafelyUnwrapped) }
    }

    subscript(key: UnsafeRawBufferPointer) -> Value? {
        guard let index = find(key) else { return nil }
        return slots[index].value
    }

    /// Adds `key`, which must be absent; returns its slot.
    @discardableResult
    mutating func insert(_ key: [UInt8], _ value: Value, hash: UInt32? = nil) -> Int {
        insert(StoredKey(key), value, hash: hash ?? Self.hash(key))
    }

    /// Adds `key`, which must be absent, stored without an intermediate array.
    @discardableResult
    mutating func insert(_ key: UnsafeRawBufferPointer, _ value: Value, hash: UInt32? = nil) -> Int {
        insert(StoredKey(key), value, hash: hash ?? Self.hash(key))
    }

    private mutating func insert(_ key: StoredKey, _ value: Value, hash: UInt32) -> Int {
        if count >= buckets.count { resize(to: max(4, buckets.count * 2)) }
        let bucket = Int(hash) & (buckets.count - 1)
        let slot = Slot(key: key, value: value, next: buckets[bucket])
        let index: Int
        if freeList >= 0 {
            index = Int(freeList)
            freeList = slots[index].next
            slots[index] = slot
        } else {
            index = slots.count
            slots.append(slot)
        }
        buckets[bucket] = Int32(index)
        count += 1
        return index
    }

    /// Sets `key` to `value`, adding it when absent.
    mutating func set(_ key: UnsafeRawBufferPointer, _ value: Value) {
        let hash = Self.hash(key)
        if let index = find(key, hash: hash) {
            slots[index].value = value
        } else {
            insert(key, value, hash: hash)
        }
    }

    /// Removes the entry in slot `index`, returning its value.
    @discardableResult
    mutating func remove(at index: Int) -> Value {
        let bucket = Int(hash(ofSlot: index)) & (buckets.count - 1)
        if buckets[bucket] == Int32(index) {
            buckets[bucket] = slots[index].next
        } else {
            var previous = Int(buckets[bucket])
            while slots[previous].next != Int32(index) { previous = Int(slots[previous].next) }
            slots[previous].next = slots[index].next
        }
        let value = slots[index].value.take()!
        slots[index].key = .empty
        slots[index].next = freeList
        freeList = Int32(index)
        count -= 1
        if count == 0 {
            self = KeyTable()
        } else if buckets.count > 64 && count < buckets.count / 8 {
            compact()
        }
        return value
    }

    @discardableResult
    mutating func remove(_ key: UnsafeRawBufferPointer) -> Value? {
        guard let index = find(key) else { return nil }
        return remove(at: index)
    }

    mutating func removeAll() { self = KeyTable() }

    /// The hash of the key in slot `index` (slots do not keep it).
    private func hash(ofSlot index: Int) -> UInt32 {
        slots[index].key.withUnsafeBytes { Self.hash($0) }
    }

    private mutating func resize(to bucketCount: Int) {
        buckets = [Int32](repeating: -1, count: bucketCount)
        let mask = bucketCount - 1
        for index in slots.indices where slots[index].value != nil {
            let bucket = Int(hash(ofSlot: index)) & mask
            slots[index].next = buckets[bucket]
            buckets[bucket] = Int32(index)
        }
    }

    /// After many deletions: drops freed slots and shrinks the buckets so random picks stay cheap.
    private mutating func compact() {
        var live = SegmentedArray<Slot>()
        live.reserveCapacity(count)
        for slot in slots where slot.value != nil { live.append(slot) }
        slots = live
        freeList = -1
        var size = 4
        while size < count { size *= 2 }
        resize(to: size)
    }

    /// Every occupied slot index, in storage order (stable while the table is not modified).
    var occupied: some Sequence<Int> {
        slots.indices.lazy.filter { slots[$0].value != nil }
    }

    /// One SCAN step: calls `body` for every entry of the buckets at `cursor`, returns the next cursor
    /// (0 when the scan is complete).
    func scan(cursor: UInt64, _ body: (Int) -> Void) -> UInt64 {
        guard !buckets.isEmpty else { return 0 }
        let mask = UInt64(buckets.count - 1)
        var index = buckets[Int(cursor & mask)]
        while index >= 0 {
            body(Int(index))
            index = slots[Int(index)].next
        }
        // Increment the reversed cursor over the bits of the mask.
        var next = cursor | ~mask
        next = next.bitReversed &+ 1
        return next.bitReversed
    }

    /// Calls `body` with up to `count` occupied slots found in consecutive buckets from a random one,
    /// visiting at most `10 × count` buckets and none twice (Redis's `dictGetSomeKeys`, without its
    /// repeats in small tables). Reading buckets in order
    /// costs a fraction of `count` independent random picks, and is random enough for eviction's
    /// sampling. `body` must not change the table.
    func sampleSlots<G: RandomNumberGenerator>(_ count: Int, using generator: inout G, _ body: (Int) -> Void) {
        guard self.count > 0, count > 0 else { return }
        let mask = buckets.count - 1
        var bucket = Int.random(in: 0..<buckets.count, using: &generator)
        var found = 0
        for _ in 0..<min(count * 10, buckets.count) {
            var index = buckets[bucket]
            while index >= 0 && found < count {
                body(Int(index))
                found += 1
                index = slots[Int(index)].next
            }
            if found == count { return }
            bucket = (bucket + 1) & mask
        }
    }

    /// A uniformly chosen entry, nil when empty.
    func randomSlot<G: RandomNumberGenerator>(using generator: inout G) -> Int? {
        guard count > 0 else { return nil }
        // Every entry equally likely: a random place in the dense entry array, again while it is a
        // freed one. (A random bucket, then a random entry of its chain, favours short chains.)
        // Compaction keeps freed places below buckets − count, so a handful of tries on average.
        while true {
            let index = Int.random(in: 0..<slots.count, using: &generator)
            if slots[index].value != nil { return index }
        }
    }
}

extension KeyTable where Value == Entry {
    /// Where in a slot the first word of its entry's value sits: for a string, the pointer to its
    /// bytes' storage (the payload `prefetch` follows).
    static var valuePayloadOffset: Int? {
        guard let slotValue = MemoryLayout<Slot>.offset(of: \Slot.value),
            let entryValue = MemoryLayout<Entry>.offset(of: \Entry.value)
        else { return nil }
        return slotValue + entryValue
    }

    /// An occupied slot's access word, read and written in place: `self[slot:]` would copy the
    /// entry, retaining its value.
    @inline(__always)
    func access(at index: Int) -> UInt32 { withValue(slot: index) { $0.access } }

    /// The key's expiry (0: none), read in place like `access(at:)`.
    @inline(__always)
    func expireAt(at index: Int) -> Int64 { withValue(slot: index) { $0.expireAt } }

    @inline(__always)
    mutating func setAccess(_ access: UInt32, at index: Int) { slots[index].value!.access = access }
}

extension UInt64 {
    var bitReversed: UInt64 {
        var value = self
        value = ((value >> 1) & 0x5555_5555_5555_5555) | ((value & 0x5555_5555_5555_5555) << 1)
        value = ((value >> 2) & 0x3333_3333_3333_3333) | ((value & 0x3333_3333_3333_3333) << 2)
        value = ((value >> 4) & 0x0F0F_0F0F_0F0F_0F0F) | ((value & 0x0F0F_0F0F_0F0F_0F0F) << 4)
        return value.byteSwapped
    }
}

extension UnsafeRawBufferPointer {
    /// Byte equality with one `memcmp` (`elementsEqual` compares a byte at a time).
    @inline(__always)
    func sameBytes(as other: UnsafeRawBufferPointer) -> Bool {
        guard count == other.count else { return false }
        guard count > 0 else { return true }
        return memcmp(baseAddress!, other.baseAddress!, count) == 0
    }
}
