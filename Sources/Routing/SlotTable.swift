/// A flat slot -> group table for the `slots` distribution: one array read per lookup.
struct SlotTable: Sendable {
    /// Marks a slot no group owns.
    static let unassigned: Int16 = -1

    /// `groups[slot]` is the owning group index, or `unassigned`.
    let groups: [Int16]

    /// `assignments[g]` lists the slot ranges of group `g`. Out-of-range slots are ignored and when
    /// ranges overlap the later group wins; configuration loading rejects both, so maps are built valid.
    init(assignments: [[SlotRange]]) {
        precondition(assignments.count <= Int(Int16.max), "too many slot groups")
        var groups = [Int16](repeating: Self.unassigned, count: SlotRange.slotCount)
        for (group, ranges) in assignments.enumerated() {
            for range in ranges {
                let lower = max(range.lower, 0)
                let upper = min(range.upper, SlotRange.slotCount - 1)
                guard lower <= upper else { continue }
                for slot in lower...upper { groups[slot] = Int16(group) }
            }
        }
        self.groups = groups
    }

    /// The group owning `slot` (0...16383), or `nil`.
    @inline(__always)
    func group(forSlot slot: Int) -> Int? {
        let group = groups.withUnsafeBufferPointer { $0[slot] }
        return group == Self.unassigned ? nil : Int(group)
    }
}
