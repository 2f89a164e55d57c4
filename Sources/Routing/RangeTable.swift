/// The `range` distribution: sorted lower bounds, binary-searched per key without allocating.
///
/// All lower bounds live in one contiguous byte array (`bounds`, sliced by `boundStarts`) so a
/// lookup touches a couple of cache lines instead of chasing one heap array per range.
struct RangeTable: Sendable {
    /// Whether each range (sorted by `from`, open `from` first) has an open lower bound.
    let openFrom: [Bool]
    /// Lower bounds concatenated; range `i` is `bounds[boundStarts[i]..<boundStarts[i + 1]]`.
    let bounds: [UInt8]
    let boundStarts: [Int]
    /// Upper bounds (exclusive) concatenated the same way, with `openTo` marking open ends.
    let uppers: [UInt8]
    let upperStarts: [Int]
    let openTo: [Bool]
    /// The group (index into the `ranges` given to `init`) of each sorted range.
    let groups: [Int]

    /// `ranges[g]` is owned by group `g`. Overlapping or gapped ranges are allowed here (a key then
    /// goes to the range with the greatest `from` not above it, if that range also contains it);
    /// configuration loading rejects them, so maps are built valid.
    init(ranges: [KeyRange]) {
        let order = ranges.indices.sorted { lhs, rhs in
            switch (ranges[lhs].from, ranges[rhs].from) {
            case (nil, nil): return lhs < rhs
            case (nil, _): return true
            case (_, nil): return false
            case let (a?, b?):
                let order = compareKeys(a, b)
                return order != 0 ? order < 0 : lhs < rhs
            }
        }
        var openFrom: [Bool] = [], bounds: [UInt8] = [], boundStarts = [0]
        var openTo: [Bool] = [], uppers: [UInt8] = [], upperStarts = [0]
        for index in order {
            let range = ranges[index]
            openFrom.append(range.from == nil)
            bounds.append(contentsOf: range.from ?? [])
            boundStarts.append(bounds.count)
            openTo.append(range.to == nil)
            uppers.append(contentsOf: range.to ?? [])
            upperStarts.append(uppers.count)
        }
        self.openFrom = openFrom
        self.bounds = bounds
        self.boundStarts = boundStarts
        self.openTo = openTo
        self.uppers = uppers
        self.upperStarts = upperStarts
        self.groups = order
    }

    /// The group whose range contains `key`, or `nil`.
    func group(forKey key: UnsafeRawBufferPointer) -> Int? {
        bounds.withUnsafeBytes { bounds in
            boundStarts.withUnsafeBufferPointer { starts in
                openFrom.withUnsafeBufferPointer { openFrom -> Int? in
                    // Count the ranges whose lower bound is <= key (they form a prefix).
                    var low = 0
                    var high = openFrom.count
                    while low < high {
                        let middle = low &+ (high &- low) / 2
                        let atOrBelow = openFrom[middle]
                            || compareKeys(
                                UnsafeRawBufferPointer(rebasing: bounds[starts[middle]..<starts[middle &+ 1]]), key
                            ) <= 0
                        if atOrBelow { low = middle &+ 1 } else { high = middle }
                    }
                    guard low > 0 else { return nil }
                    let candidate = low &- 1
                    return contains(candidate, key) ? groups[candidate] : nil
                }
            }
        }
    }

    /// Whether `key` is below the (exclusive) upper bound of sorted range `index`.
    private func contains(_ index: Int, _ key: UnsafeRawBufferPointer) -> Bool {
        if openTo[index] { return true }
        return uppers.withUnsafeBytes { uppers in
            upperStarts.withUnsafeBufferPointer { starts in
                compareKeys(key, UnsafeRawBufferPointer(rebasing: uppers[starts[index]..<starts[index &+ 1]])) < 0
            }
        }
    }
}
