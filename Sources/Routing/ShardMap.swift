/// Where each key of a pool goes: one immutable value per pool, built from configuration (and
/// rebuilt when nodes are ejected), then shared by every connection. `group(forKey:)` is the hot
/// path and never allocates.
public struct ShardMap: Sendable {
    /// The strategy and its precomputed table.
    enum Strategy: Sendable {
        case ketama(KetamaContinuum, HashFunction, HashTag?)
        case modula(ModulaTable, HashFunction, HashTag?)
        case random([Int])
        case slots(SlotTable, HashTag)
        case range(RangeTable, HashTag?)
    }

    /// Behind one immutable reference: copying a map costs one retain, and a lookup reads the
    /// tables in place instead of copying the strategy's arrays out for every key.
    final class Storage: Sendable {
        let strategy: Strategy
        init(_ strategy: Strategy) { self.strategy = strategy }
    }

    let storage: Storage
    var strategy: Strategy { storage.strategy }

    /// Number of groups keys can map to; results of `group(forKey:)` are in `0..<groupCount`.
    public let groupCount: Int

    init(strategy: Strategy, groupCount: Int) {
        self.storage = Storage(strategy)
        self.groupCount = groupCount
    }

    /// twemproxy-compatible consistent hashing. Indices refer to `nodes`; a node with weight 0 gets
    /// no points (use that for an ejected node). `hashTag` follows twemproxy's `hash_tag`.
    public static func ketama(nodes: [HashedNode], hash: HashFunction, hashTag: HashTag?) -> ShardMap {
        ShardMap(strategy: .ketama(KetamaContinuum(nodes: nodes), hash, hashTag), groupCount: nodes.count)
    }

    /// twemproxy-compatible `hash % total weight` (in twemproxy's name-sorted server order; see
    /// `ModulaTable`). Indices refer to `nodes`; weight 0 nodes get no slots.
    public static func modula(nodes: [HashedNode], hash: HashFunction, hashTag: HashTag?) -> ShardMap {
        ShardMap(strategy: .modula(ModulaTable(nodes: nodes), hash, hashTag), groupCount: nodes.count)
    }

    /// A uniformly random group per lookup, among `live` groups (all when nil; an ejected group is
    /// left out, as twemproxy leaves it out of its continuum).
    public static func random(groupCount: Int, live: [Int]? = nil) -> ShardMap {
        ShardMap(strategy: .random(live ?? Array(0..<max(groupCount, 0))), groupCount: max(groupCount, 0))
    }

    /// Redis Cluster slots: `assignments[g]` are the slot ranges group `g` owns. Unassigned slots map
    /// to no group. Overlaps resolve to the later group and out-of-range slots are ignored here:
    /// configuration loading (Config) rejects both before a map is built.
    public static func slots(assignments: [[SlotRange]], hashTag: HashTag) -> ShardMap {
        ShardMap(strategy: .slots(SlotTable(assignments: assignments), hashTag), groupCount: assignments.count)
    }

    /// Lexicographic key ranges: `ranges[g]` is owned by group `g`; keys compare byte-wise
    /// (unsigned, shorter-is-smaller on a common prefix). With `hashTag`, only the tagged part of a
    /// key is compared (twemproxy rule), which keeps tagged keys together. Configuration loading
    /// (Config) checks that the ranges tile the key space.
    public static func range(ranges: [KeyRange], hashTag: HashTag?) -> ShardMap {
        ShardMap(strategy: .range(RangeTable(ranges: ranges), hashTag), groupCount: ranges.count)
    }

    /// The group that owns `key`, or `nil` when none does (no live node, an unassigned slot, a key
    /// outside every range, or zero groups).
    public func group(forKey key: UnsafeRawBufferPointer) -> Int? {
        switch storage.strategy {
        case .ketama(let continuum, let hash, let tag):
            // twemproxy skips hashing for single-server pools and hashes empty keys to 0.
            if groupCount == 1 { return continuum.pointCount == 0 ? nil : 0 }
            return continuum.owner(forHash: Self.twemproxyHash(key, hash, tag))
        case .modula(let table, let hash, let tag):
            if groupCount == 1 { return table.slotCount == 0 ? nil : 0 }
            return table.owner(forHash: Self.twemproxyHash(key, hash, tag))
        case .random(let live):
            return live.randomElement()
        case .slots(let table, let tag):
            return table.group(forSlot: slot(ofHashedPart: clusterHashedPart(of: key, tag: tag)))
        case .range(let table, let tag):
            return table.group(forKey: hashedPart(of: key, tag: tag))
        }
    }

    /// `server_pool_hash`: the tagged part's hash, except that an empty key hashes to 0 unhashed.
    @inline(__always)
    static func twemproxyHash(_ key: UnsafeRawBufferPointer, _ hash: HashFunction, _ tag: HashTag?) -> UInt32 {
        let part = hashedPart(of: key, tag: tag)
        return part.isEmpty ? 0 : hash.hash(part)
    }
}
