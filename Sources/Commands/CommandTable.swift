/// The Redis command table, built once from data generated from a real
/// redis-server by `scripts/gen-command-table` (see CommandTable+Generated.swift).
///
/// Lookup is on the proxy's per-request path, so it allocates nothing and
/// creates no Strings: names are matched in an open-addressing hash table
/// (power-of-two slots, linear probing, load factor <= 1/2) keyed by a hash of
/// the request bytes with ASCII letters folded to lowercase. Each slot packs
/// 32 hash bits and the spec id into one `UInt64`, so a miss or a collision is
/// usually rejected without touching the name; a hit compares the request
/// bytes case-insensitively against the stored lowercase name (a `StaticString`
/// in read-only data). Subcommands live in the same slots, keyed by their own
/// name mixed with the container's id, so `CONFIG GET` needs no
/// "config|get" string either.
public final class CommandTable: Sendable {
    /// The table generated from redis-server `serverVersion`.
    public static let redis = CommandTable(
        rows: generatedCommands,
        replyBytes: generatedReplyBytes,
        serverVersion: generatedServerVersion,
        recordedCommandCount: generatedCommandCount
    )

    /// `redis_version` of the generating server, e.g. "7.0.15".
    public let serverVersion: String
    /// The generating server's `COMMAND COUNT` (top-level commands).
    public let recordedCommandCount: Int
    /// Top-level commands sorted by name.
    public let commands: [CommandSpec]

    /// All commands and subcommands, indexed by `CommandSpec.id`.
    let specs: [CommandSpec]
    /// Lowercase names and DOCS groups, indexed by id.
    let names: [StaticString]
    let groups: [StaticString]
    let keySpecStorage: [KeySpec]
    let subcommandIDs: [Int]
    let infoRanges: [Range<Int>]
    let docsRanges: [Range<Int>]
    let replyBytes: StaticString
    /// Hash slots: 0 = empty, else `hash >> 32 << 32 | (id + 1)`.
    let slots: [UInt64]
    let slotMask: Int
    let maxNameLength: Int
    let maxSubnameLength: Int

    init(rows: [GeneratedCommand], replyBytes: StaticString, serverVersion: String, recordedCommandCount: Int) {
        self.serverVersion = serverVersion
        self.recordedCommandCount = recordedCommandCount
        self.replyBytes = replyBytes
        let sorted = rows.sorted { Self.bytes($0.name).lexicographicallyPrecedes(Self.bytes($1.name)) }

        // Top-level ids by name, to attach subcommands to their container.
        var topLevel: [[UInt8]: Int] = [:]
        for (id, row) in sorted.enumerated() where !Self.bytes(row.name).contains(UInt8(ascii: "|")) {
            topLevel[Self.bytes(row.name)] = id
        }
        var children = [[Int]](repeating: [], count: sorted.count)
        var parents = [Int32](repeating: -1, count: sorted.count)
        var subnameOffsets = [Int32](repeating: 0, count: sorted.count)
        for (id, row) in sorted.enumerated() {
            let name = Self.bytes(row.name)
            precondition(!name.isEmpty && name.allSatisfy { !(65...90).contains($0) }, "names must be lowercase")
            guard let bar = name.firstIndex(of: UInt8(ascii: "|")) else { continue }
            guard let parent = topLevel[Array(name[..<bar])] else {
                preconditionFailure("subcommand \(row.name) has no container")
            }
            children[parent].append(id)
            parents[id] = Int32(parent)
            subnameOffsets[id] = Int32(bar + 1)
        }

        var keySpecStorage: [KeySpec] = []
        var subcommandIDs: [Int] = []
        var specs: [CommandSpec] = []
        specs.reserveCapacity(sorted.count)
        for (id, row) in sorted.enumerated() {
            let keyStart = keySpecStorage.count
            keySpecStorage.append(contentsOf: row.keySpecs)
            let subStart = subcommandIDs.count
            subcommandIDs.append(contentsOf: children[id])
            let singleKey = CommandSpec.computeSingleKeyIndex(keySpecs: row.keySpecs[...], arity: row.arity)
            specs.append(CommandSpec(
                rawID: Int32(id), rawArity: Int16(row.arity),
                rawFirstKey: Int16(row.firstKey), rawLastKey: Int16(row.lastKey), rawStep: Int16(row.step),
                rawSingleKeyIndex: Int16(singleKey ?? -1), subnameOffset: Int16(subnameOffsets[id]),
                parentIndex: parents[id],
                keySpecStart: Int32(keyStart), keySpecEnd: Int32(keySpecStorage.count),
                subcommandStart: Int32(subStart), subcommandEnd: Int32(subcommandIDs.count),
                flags: row.flags
            ))
        }
        self.specs = specs
        self.names = sorted.map(\.name)
        self.groups = sorted.map(\.group)
        self.keySpecStorage = keySpecStorage
        self.subcommandIDs = subcommandIDs
        self.commands = specs.filter { !$0.isSubcommand }
        self.infoRanges = sorted.map(\.info)
        self.docsRanges = sorted.map(\.docs)
        let blobCount = replyBytes.utf8CodeUnitCount
        precondition(sorted.allSatisfy { $0.info.upperBound <= blobCount && $0.docs.upperBound <= blobCount })

        var capacity = 16
        while capacity < specs.count * 2 { capacity *= 2 }
        var slots = [UInt64](repeating: 0, count: capacity)
        var maxName = 0
        var maxSub = 0
        for spec in specs {
            let name = sorted[spec.id].name
            let offset = Int(spec.subnameOffset)
            let key = UnsafeRawBufferPointer(start: name.utf8Start + offset, count: name.utf8CodeUnitCount - offset)
            let hash: UInt64
            if let parent = spec.parentID {
                hash = Self.subcommandHash(key, parent: parent)
                maxSub = max(maxSub, key.count)
            } else {
                hash = Self.commandHash(key)
                maxName = max(maxName, key.count)
            }
            var slot = Int(truncatingIfNeeded: hash) & (capacity - 1)
            while slots[slot] != 0 { slot = (slot + 1) & (capacity - 1) }
            slots[slot] = (hash & 0xFFFF_FFFF_0000_0000) | UInt64(spec.id + 1)
        }
        self.slots = slots
        self.slotMask = capacity - 1
        self.maxNameLength = maxName
        self.maxSubnameLength = maxSub
    }

    /// Number of entries, subcommands included; valid ids are `0..<count`.
    public var count: Int { specs.count }

    /// Any command or subcommand by `CommandSpec.id`.
    public subscript(id: Int) -> CommandSpec { specs[id] }

    /// The top-level command named `name` (case-insensitive), or nil.
    /// Never matches a subcommand, even when spelled `config|get` (Redis
    /// doesn't either). No allocation; see the type's documentation.
    public func lookup(_ name: UnsafeRawBufferPointer) -> CommandSpec? {
        guard let id = lookupID(name) else { return nil }
        return specs[id]
    }

    /// Like `lookup`, returning only the id (`table[id]` gives the spec).
    public func lookupID(_ name: UnsafeRawBufferPointer) -> Int? {
        let count = name.count
        guard count > 0, count <= maxNameLength else { return nil }
        return probe(hash: Self.commandHash(name)) { id in
            let stored = names[id]
            return specs[id].parentIndex < 0
                && ASCII.equalsIgnoringCase(name, stored.utf8Start, count: stored.utf8CodeUnitCount)
        }
    }

    /// Walks the open-addressing table from `hash`'s slot; the first entry with the same hash tag that
    /// `matches` accepts is the answer, an empty slot means none.
    @inline(__always)
    private func probe(hash: UInt64, matches: (Int) -> Bool) -> Int? {
        let tag = hash & 0xFFFF_FFFF_0000_0000
        var slot = Int(truncatingIfNeeded: hash) & slotMask
        while true {
            let entry = slots[slot]
            if entry == 0 { return nil }
            if entry & 0xFFFF_FFFF_0000_0000 == tag {
                let id = Int(truncatingIfNeeded: entry & 0xFFFF_FFFF) - 1
                if matches(id) { return id }
            }
            slot = (slot + 1) & slotMask
        }
    }

    /// The subcommand of `container` named `name` (case-insensitive, without
    /// the container prefix: `subcommand(of: config, named: "GET")`), or nil.
    /// No allocation.
    public func subcommand(of container: CommandSpec, named name: UnsafeRawBufferPointer) -> CommandSpec? {
        guard let id = subcommandID(of: container, named: name) else { return nil }
        return specs[id]
    }

    /// Like `subcommand(of:named:)`, returning only the id.
    public func subcommandID(of container: CommandSpec, named name: UnsafeRawBufferPointer) -> Int? {
        let count = name.count
        guard container.hasSubcommands, count > 0, count <= maxSubnameLength else { return nil }
        return probe(hash: Self.subcommandHash(name, parent: container.id)) { id in
            let stored = names[id]
            let offset = Int(specs[id].subnameOffset)
            return specs[id].parentIndex == container.rawID
                && ASCII.equalsIgnoringCase(name, stored.utf8Start + offset, count: stored.utf8CodeUnitCount - offset)
        }
    }

    /// Resolves `name` or `container|sub` the way Redis resolves the names given
    /// to COMMAND INFO / DOCS / GETKEYS (`lookupCommandBySds`). No allocation.
    public func lookup(fullName name: UnsafeRawBufferPointer) -> CommandSpec? {
        guard let bar = name.firstIndex(of: UInt8(ascii: "|")) else { return lookup(name) }
        let sub = UnsafeRawBufferPointer(rebasing: name[(bar + 1)...])
        guard !sub.contains(UInt8(ascii: "|")),
              let container = lookup(UnsafeRawBufferPointer(rebasing: name[..<bar]))
        else { return nil }
        return subcommand(of: container, named: sub)
    }

    /// Convenience for tests and configuration code (not the request path).
    public func lookup(_ name: String) -> CommandSpec? {
        var name = name
        return name.withUTF8 { lookup(UnsafeRawBufferPointer($0)) }
    }

    public func lookup(fullName name: String) -> CommandSpec? {
        var name = name
        return name.withUTF8 { lookup(fullName: UnsafeRawBufferPointer($0)) }
    }

    public func subcommand(of container: CommandSpec, named name: String) -> CommandSpec? {
        var name = name
        return name.withUTF8 { subcommand(of: container, named: UnsafeRawBufferPointer($0)) }
    }

    // MARK: - Hashing

    @inline(__always)
    static func commandHash(_ name: UnsafeRawBufferPointer) -> UInt64 {
        ASCII.foldedHash(name, seed: 0)
    }

    @inline(__always)
    static func subcommandHash(_ name: UnsafeRawBufferPointer, parent: Int) -> UInt64 {
        ASCII.foldedHash(name, seed: (UInt64(truncatingIfNeeded: parent) &+ 1) &* 0xD6E8_FEB8_6659_FD93)
    }

    static func bytes(_ string: StaticString) -> [UInt8] {
        Array(UnsafeBufferPointer(start: string.utf8Start, count: string.utf8CodeUnitCount))
    }
}
