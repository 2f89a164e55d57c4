/// twemproxy 0.5.0's modula distribution (`nc_modula.c`): one slot per unit of weight, and a key
/// goes to slot `hash % totalWeight`.
///
/// Slot order follows twemproxy's *server array* order, which is not config order: while validating
/// the config, twemproxy sorts each pool's servers by name (shorter names first, then byte-wise,
/// `conf_server_name_cmp`). This type applies the same sort, so placement matches nutcracker,
/// while `owner(forHash:)` still answers with indices into the `nodes` array as passed.
public struct ModulaTable: Sendable {
    /// `owners[slot]` is the node index (into the `nodes` given to `init`) of each weight slot.
    let owners: [Int32]

    /// Builds the table; nodes with `weight <= 0` (e.g. ejected) get no slots.
    public init(nodes: [HashedNode]) {
        let order = nodes.indices.sorted { lhs, rhs in
            let a = nodes[lhs].name
            let b = nodes[rhs].name
            if a.count != b.count { return a.count < b.count }
            if a != b { return a.lexicographicallyPrecedes(b) }
            return lhs < rhs  // duplicate names: twemproxy rejects them; keep config order
        }
        var owners: [Int32] = []
        for index in order where nodes[index].weight > 0 {
            owners.append(contentsOf: repeatElement(Int32(truncatingIfNeeded: index), count: nodes[index].weight))
        }
        self.owners = owners
    }

    /// Number of slots (the total positive weight).
    public var slotCount: Int { owners.count }

    /// The node index for `hash`, or `nil` when no node has a positive weight.
    public func owner(forHash hash: UInt32) -> Int? {
        owners.withUnsafeBufferPointer { owners -> Int? in
            guard !owners.isEmpty else { return nil }
            return Int(owners[Int(hash % UInt32(truncatingIfNeeded: owners.count))])
        }
    }
}
