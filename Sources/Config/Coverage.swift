import Routing

/// A problem with how a pool's groups cover the slot or key space.
struct CoverageProblem {
    /// Index into the claims passed in, to place the issue; `nil` for the pool as a whole.
    let claim: Int?
    let message: String
}

/// One group's claim on a slot range (a group with several ranges makes several claims).
struct SlotClaim {
    let group: String
    let range: SlotRange
}

/// Every slot 0...16383 must be claimed exactly once. Reports each maximal run of unclaimed slots
/// (as a gap) and of slots claimed more than once (naming the groups).
func slotCoverage(_ claims: [SlotClaim]) -> [CoverageProblem] {
    var owners = Array(repeating: [Int](), count: SlotRange.slotCount)
    for (index, claim) in claims.enumerated() {
        for slot in claim.range.lower...claim.range.upper { owners[slot].append(index) }
    }
    var problems: [CoverageProblem] = []
    var start = 0
    while start < SlotRange.slotCount {
        var end = start
        while end + 1 < SlotRange.slotCount && owners[end + 1] == owners[start] { end += 1 }
        let who = owners[start]
        let slots = start == end ? "slot \(start)" : "slots \(start)-\(end)"
        if who.isEmpty {
            problems.append(CoverageProblem(claim: nil, message: "\(slots) not assigned to any group"))
        } else if who.count > 1 {
            var names: [String] = []
            for index in who where !names.contains(claims[index].group) { names.append(claims[index].group) }
            let message =
                names.count == 1
                ? "\(slots) listed more than once in group \(quote(names[0]))"
                : "\(slots) assigned to more than one group: \(names.map { quote($0) }.joined(separator: ", "))"
            problems.append(CoverageProblem(claim: who.max(), message: message))
        }
        start = end + 1
    }
    return problems
}

/// One group's key range; `from == nil` is open (the empty key), `to == nil` is open (no end).
struct RangeClaim {
    let group: String
    let range: KeyRange
}

/// The ranges must tile the key space in byte order: one open start, one open end, and each `to`
/// equal to the next `from`. Each individual range must already be non-empty.
func rangeCoverage(_ claims: [RangeClaim]) -> [CoverageProblem] {
    guard !claims.isEmpty else { return [] }
    func lowerPrecedes(_ a: [UInt8]?, _ b: [UInt8]?) -> Bool {
        guard let b else { return false }
        guard let a else { return true }
        return a.lexicographicallyPrecedes(b)
    }
    let order = claims.indices.sorted { x, y in
        let a = claims[x].range.from, b = claims[y].range.from
        if lowerPrecedes(a, b) { return true }
        if lowerPrecedes(b, a) { return false }
        return x < y
    }
    func start(_ bytes: [UInt8]?) -> String { bytes.map { quote(bytes: $0) } ?? "the start" }
    func end(_ bytes: [UInt8]?) -> String { bytes.map { quote(bytes: $0) } ?? "the end" }

    var problems: [CoverageProblem] = []
    let first = claims[order[0]]
    if let from = first.range.from {
        problems.append(
            CoverageProblem(
                claim: order[0],
                message: "keys before \(quote(bytes: from)) are not served by any group "
                    + "(the first range must have an open start: omit `from`)"))
    }
    // `reach` is the furthest `to` so far (nil = open end), and the group that reaches it.
    var reach = first.range.to
    var reacher = order[0]
    var reachIsOpen = first.range.to == nil
    for index in order.dropFirst() {
        let claim = claims[index]
        let previous = claims[reacher].group
        if reachIsOpen {
            problems.append(
                CoverageProblem(
                    claim: index,
                    message: "range from \(start(claim.range.from)) overlaps group \(quote(previous)), "
                        + "whose range runs to the end"))
            continue
        }
        let reachBytes = reach ?? []
        if let from = claim.range.from, reachBytes.lexicographicallyPrecedes(from) {
            problems.append(
                CoverageProblem(
                    claim: index,
                    message: "keys from \(quote(bytes: reachBytes)) up to \(quote(bytes: from)) are not served "
                        + "by any group (group \(quote(previous)) ends at \(quote(bytes: reachBytes)), "
                        + "group \(quote(claim.group)) starts at \(quote(bytes: from)))"))
        } else if claim.range.from.map({ $0 != reachBytes }) ?? true {
            problems.append(
                CoverageProblem(
                    claim: index,
                    message: "range from \(start(claim.range.from)) to \(end(claim.range.to)) overlaps group "
                        + "\(quote(previous)), which runs to \(quote(bytes: reachBytes))"))
        }
        if let to = claim.range.to {
            if reachBytes.lexicographicallyPrecedes(to) {
                reach = to
                reacher = index
            }
        } else {
            reachIsOpen = true
            reacher = index
        }
    }
    if !reachIsOpen, let reach {
        problems.append(
            CoverageProblem(
                claim: reacher,
                message: "keys from \(quote(bytes: reach)) on are not served by any group "
                    + "(the last range must have an open end: omit `to`)"))
    }
    return problems
}
