/// Configuration checks for the `slots` and `range` distributions, with messages meant for people.
///
/// Groups are named by index ("group 2") unless `groupNames` is given, in which case
/// `groupNames[g]` is used, quoted ("group \"shard-c\""). An empty result means the layout is valid.

/// Problems with a slot layout, where `assignments[g]` are the slot ranges of group `g`: inverted or
/// out-of-range ranges, slots claimed by two groups (or twice by one), and unassigned slots.
public func slotCoverageProblems(_ assignments: [[SlotRange]], groupNames: [String]? = nil) -> [String] {
    let slotCount = SlotRange.slotCount
    var problems: [String] = []
    var owner = [Int](repeating: -1, count: slotCount)
    var conflict = [Int](repeating: -1, count: slotCount)  // the first *other* claimant of a slot
    for (group, ranges) in assignments.enumerated() {
        let name = groupLabel(group, groupNames)
        for range in ranges {
            guard range.lower <= range.upper else {
                problems.append("\(name) has an inverted slot range \(range.lower)-\(range.upper)")
                continue
            }
            if range.lower < 0 || range.upper >= slotCount {
                problems.append(
                    "\(name) has slot range \(range.lower)-\(range.upper) outside the valid slots 0-\(slotCount - 1)"
                )
            }
            let lower = max(range.lower, 0)
            let upper = min(range.upper, slotCount - 1)
            guard lower <= upper else { continue }
            for slot in lower...upper {
                if owner[slot] == -1 {
                    owner[slot] = group
                } else if conflict[slot] == -1 {
                    conflict[slot] = group
                }
            }
        }
    }
    // Overlaps, as runs of consecutive slots with the same pair of claimants.
    forEachRun(count: slotCount, key: { conflict[$0] == -1 ? nil : [owner[$0], conflict[$0]] }) { first, last, pair in
        let slots = describeSlots(first, last)
        let verb = first == last ? "is" : "are"
        if pair[0] == pair[1] {
            problems.append("\(slots) \(verb) assigned to \(groupLabel(pair[0], groupNames)) more than once")
        } else {
            let both = "\(groupLabel(pair[0], groupNames)) and \(groupLabel(pair[1], groupNames))"
            problems.append("\(slots) \(verb) assigned to both \(both)")
        }
    }
    // Gaps.
    forEachRun(count: slotCount, key: { owner[$0] == -1 ? [] : nil }) { first, last, _ in
        problems.append("\(describeSlots(first, last)) \(first == last ? "is" : "are") not assigned to any group")
    }
    return problems
}

/// Problems with a key-range layout, where `ranges[g]` is the range of group `g`. Valid layouts tile
/// the whole key space: exactly one range has an open `from`, exactly one an open `to`, and sorted by
/// `from`, each range starts exactly where the previous one ends (no gap, no overlap).
public func rangeCoverageProblems(_ ranges: [KeyRange], groupNames: [String]? = nil) -> [String] {
    guard !ranges.isEmpty else { return ["no key ranges are defined"] }
    var problems: [String] = []
    for (group, range) in ranges.enumerated() {
        if let from = range.from, let to = range.to, compareKeys(from, to) >= 0 {
            problems.append(
                "\(groupLabel(group, groupNames)) has an empty key range: "
                    + "from \(describeKey(from)) is not below to \(describeKey(to))"
            )
        }
    }
    let openStarts = ranges.indices.filter { ranges[$0].from == nil }
    if openStarts.isEmpty {
        problems.append("no range starts at the beginning of the key space (exactly one needs an open `from`)")
    } else if openStarts.count > 1 {
        let groups = listGroups(openStarts, groupNames)
        let all = openStarts.count == 2 ? "both" : "all"
        problems.append("\(groups) \(all) start at the beginning of the key space (open `from`)")
    }
    let openEnds = ranges.indices.filter { ranges[$0].to == nil }
    if openEnds.isEmpty {
        problems.append("no range extends to the end of the key space (exactly one needs an open `to`)")
    } else if openEnds.count > 1 {
        let groups = listGroups(openEnds, groupNames)
        let all = openEnds.count == 2 ? "both" : "all"
        problems.append("\(groups) \(all) extend to the end of the key space (open `to`)")
    }

    // Walk the ranges by `from`, tracking how far keys are covered so far and by which group.
    var reach = Reach.nothing
    var coverer = -1
    for group in RangeTable(ranges: ranges).groups {
        let range = ranges[group]
        // Several open starts were reported above; an open start cannot leave a gap before it.
        if let from = range.from {
            switch reach {
            case .nothing:
                break  // the missing open start was reported above
            case .upTo(let reached):
                let order = compareKeys(reached, from)
                if order < 0 {
                    problems.append(
                        "keys from \(describeKey(reached)) up to \(describeKey(from)) are not assigned to any group"
                    )
                } else if order > 0 {
                    let end = range.to.map { compareKeys($0, reached) < 0 ? $0 : reached } ?? reached
                    problems.append(
                        "keys from \(describeKey(from)) up to \(describeKey(end)) are assigned to both "
                            + "\(groupLabel(coverer, groupNames)) and \(groupLabel(group, groupNames))"
                    )
                }
            case .end:
                let end = range.to.map { "up to \(describeKey($0))" } ?? "onwards"
                problems.append(
                    "keys from \(describeKey(from)) \(end) are assigned to both "
                        + "\(groupLabel(coverer, groupNames)) and \(groupLabel(group, groupNames))"
                )
            }
        }
        let candidate = range.to.map(Reach.upTo) ?? .end
        if candidate.isBeyond(reach) {
            reach = candidate
            coverer = group
        }
    }
    return problems
}

/// How far a walk over sorted key ranges has covered the key space.
private enum Reach {
    case nothing
    case upTo([UInt8])
    case end

    func isBeyond(_ other: Reach) -> Bool {
        switch (self, other) {
        case (.nothing, _), (_, .end): return false
        case (_, .nothing), (.end, _): return true
        case let (.upTo(a), .upTo(b)): return compareKeys(a, b) > 0
        }
    }
}

/// "group 2", or `group "name"` when names are supplied.
func groupLabel(_ group: Int, _ names: [String]?) -> String {
    if let names, group < names.count { return "group \"\(names[group])\"" }
    return "group \(group)"
}

/// "group 0 and group 2", "group 0, group 1 and group 2".
func listGroups(_ groups: [Int], _ names: [String]?) -> String {
    let labels = groups.map { groupLabel($0, names) }
    guard labels.count > 1 else { return labels.first ?? "" }
    return labels.dropLast().joined(separator: ", ") + " and " + labels.last!
}

/// "slot 7" or "slots 5461-5470".
func describeSlots(_ first: Int, _ last: Int) -> String {
    first == last ? "slot \(first)" : "slots \(first)-\(last)"
}

/// A key as a quoted string: printable ASCII as is, anything else as `\xNN`.
func describeKey(_ key: [UInt8]) -> String {
    let hex: [Character] = Array("0123456789abcdef")
    var text = "\""
    for byte in key {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"):
            text.append("\\")
            text.append(Character(Unicode.Scalar(byte)))
        case 0x20...0x7e:
            text.append(Character(Unicode.Scalar(byte)))
        default:
            text.append("\\x")
            text.append(hex[Int(byte >> 4)])
            text.append(hex[Int(byte & 0xf)])
        }
    }
    return text + "\""
}

/// Calls `body(first, last, key)` for each maximal run of indices whose `key` is non-nil and equal.
private func forEachRun(count: Int, key: (Int) -> [Int]?, _ body: (Int, Int, [Int]) -> Void) {
    var runStart = 0
    var runKey: [Int]? = nil
    for index in 0...count {
        let current = index < count ? key(index) : nil
        if current != runKey {
            if let runKey { body(runStart, index - 1, runKey) }
            runStart = index
            runKey = current
        }
    }
}
