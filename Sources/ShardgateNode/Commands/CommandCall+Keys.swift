/// Key lookups shared by the command families.
extension CommandCall {
    /// The slot of key argument `index` for a read, counting keyspace hits and misses.
    func lookupRead(_ index: Int) -> Int? {
        let slot = find(index)
        if slot == nil { node.stats.keyspaceMisses += 1 } else { node.stats.keyspaceHits += 1 }
        return slot
    }

    /// The string value of key argument `index`; nil when missing; WRONGTYPE for other types.
    func readString(_ index: Int) throws(CommandError) -> [UInt8]? {
        guard let slot = lookupRead(index) else { return nil }
        guard case .string(let bytes) = database.value(at: slot) else { throw .wrongType }
        return bytes
    }

    /// Stores `value` under key argument `index` (clearing any TTL unless `keepTTL`), counts a change.
    func store(_ index: Int, _ value: Value, keepTTL: Bool = false) {
        let database = self.database
        if let slot = find(index) {
            database.replace(slot: slot, with: value, keepTTL: keepTTL)
        } else {
            _ = argument(index) { database.add($0, value) }
        }
        node.dirty += 1
    }

    /// Deletes key argument `index`; true when it existed.
    @discardableResult
    func delete(_ index: Int) -> Bool {
        guard let slot = find(index) else { return false }
        database.remove(slot: slot)
        node.dirty += 1
        return true
    }
}

extension CommandCall {
    /// LMPOP/ZMPOP (and BLMPOP/BZMPOP) arguments after `numkeys` at `numkeysIndex`: the key indices,
    /// whether the direction word is `first` (LEFT, MIN) rather than `second` (RIGHT, MAX), and COUNT
    /// (1 when absent); Redis's errors in Redis's order.
    func multiPopArguments(
        numkeysIndex: Int, first: StaticString, second: StaticString
    ) throws(CommandError) -> (keys: [Int], isFirst: Bool, count: Int) {
        let numkeys = try rangeInteger(numkeysIndex, min: 1, max: Int.max, message: "numkeys should be greater than 0")
        guard numkeys < count, numkeysIndex + numkeys + 1 < count else { throw .syntax }
        let whereIndex = numkeysIndex + numkeys + 1
        let isFirst: Bool
        if matches(whereIndex, first) { isFirst = true } else if matches(whereIndex, second) { isFirst = false } else { throw .syntax }
        var popCount = -1
        var index = whereIndex + 1
        while index < count {
            guard popCount == -1, matches(index, "count"), index + 1 < count else { throw .syntax }
            popCount = try rangeInteger(index + 1, min: 1, max: Int.max, message: "count should be greater than 0")
            index += 2
        }
        return (Array((numkeysIndex + 1)..<whereIndex), isFirst, popCount == -1 ? 1 : popCount)
    }
}

extension Value {
    /// An independent copy (COPY, and anything that must not share a collection).
    func copy() -> Value {
        switch self {
        case .string: self
        case .list(let list): .list(ListObject(list.elements))
        case .hash(let hash): .hash(hash.copy())
        case .set(let set): .set(set.copy())
        case .sortedSet(let sortedSet): .sortedSet(sortedSet.copy())
        }
    }
}
