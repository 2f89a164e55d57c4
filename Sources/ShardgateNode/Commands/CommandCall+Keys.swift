/// Key lookups shared by the command families.
extension CommandCall {
    /// The slot of key argument `index` for a read, counting keyspace hits and misses.
    /// `touch: false`: without recording an access (Redis's LOOKUP_NOTOUCH).
    func lookupRead(_ index: Int, touch: Bool = true) -> Int? {
        let slot = find(index, touch: touch)
        if slot == nil {
            node.stats.keyspaceMisses += 1
            notify(.keyMiss, "keymiss", index)
        } else {
            node.stats.keyspaceHits += 1
        }
        return slot
    }

    /// The value of key argument `index` as one type (`\.asHash`, ...): nil when the key is missing,
    /// WRONGTYPE when it holds another type. Reads count keyspace hits and misses; writes do not.
    func typedValue<T>(_ index: Int, forWrite: Bool, _ type: (Value) -> T?) throws(CommandError) -> T? {
        guard let slot = forWrite ? find(index) : lookupRead(index) else { return nil }
        guard let value = type(database.value(at: slot)) else { throw .wrongType }
        return value
    }

    /// The string value of key argument `index`; nil when missing; WRONGTYPE for other types.
    func readString(_ index: Int) throws(CommandError) -> [UInt8]? {
        try typedValue(index, forWrite: false, \.asString)
    }

    /// Stores `value` under key argument `index` (clearing any TTL unless `keepTTL`), counts a change.
    mutating func store(_ index: Int, _ value: Value, keepTTL: Bool = false) {
        let database = self.database
        if let slot = find(index) {
            database.replace(slot: slot, with: value, keepTTL: keepTTL)
        } else {
            _ = argument(index) { database.add($0, value) }
        }
        effect.dirty += 1
    }

    /// Deletes key argument `index`; true when it existed.
    @discardableResult
    mutating func delete(_ index: Int) -> Bool {
        guard let slot = find(index) else { return false }
        database.remove(slot: slot)
        effect.dirty += 1
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
    var asString: [UInt8]? { if case .string(let bytes) = self { bytes } else { nil } }
    var asList: ListObject? { if case .list(let list) = self { list } else { nil } }
    var asHash: HashObject? { if case .hash(let hash) = self { hash } else { nil } }
    var asSet: SetObject? { if case .set(let set) = self { set } else { nil } }
    var asSortedSet: SortedSetObject? { if case .sortedSet(let set) = self { set } else { nil } }
    var asStream: StreamObject? { if case .stream(let stream) = self { stream } else { nil } }

    /// An independent copy (COPY, and anything that must not share a collection).
    func copy() -> Value {
        switch self {
        case .string: self
        case .list(let list): .list(ListObject(list.elements))
        case .hash(let hash): .hash(hash.copy())
        case .set(let set): .set(set.copy())
        case .sortedSet(let sortedSet): .sortedSet(sortedSet.copy())
        case .stream(let stream): .stream(stream.copy())
        }
    }
}
