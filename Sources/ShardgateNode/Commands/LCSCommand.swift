/// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN], as Redis 7.0 answers it: the longest
/// common subsequence of two strings by the full dynamic-programming table, walked back from the
/// end, so among several subsequences of the same length the one Redis picks comes out, with its
/// matching ranges in the same (last to first) order.
enum LCSCommand {
    static var all: [(String, CommandHandler)] {[("lcs", .init(lcs))]}

    static func lcs(_ call: inout CommandCall) throws(CommandError) {
        // Both keys are looked up before either type is checked.
        let first = call.lookupRead(1).map { call.database.value(at: $0) }
        let second = call.lookupRead(2).map { call.database.value(at: $0) }
        let notStrings = CommandError("ERR The specified keys must contain string values")
        guard first.map({ $0.asString != nil }) ?? true, second.map({ $0.asString != nil }) ?? true else { throw notStrings }
        let a = first?.asString ?? []
        let b = second?.asString ?? []

        var wantLength = false
        var wantRanges = false
        var withMatchLength = false
        var minimumMatch = 0
        var index = 3
        while index < call.count {
            if call.matches(index, "idx") {
                wantRanges = true
            } else if call.matches(index, "len") {
                wantLength = true
            } else if call.matches(index, "withmatchlen") {
                withMatchLength = true
            } else if call.matches(index, "minmatchlen"), index + 1 < call.count {
                minimumMatch = max(0, try call.integer(index + 1))
                index += 1
            } else {
                throw .syntax
            }
            index += 1
        }
        if wantLength && wantRanges {
            throw CommandError("ERR If you want both the length and indexes, please just use IDX.")
        }
        if a.count >= Int(UInt32.max) - 1 || b.count >= Int(UInt32.max) - 1 { throw CommandError("ERR String too long for LCS") }
        let width = b.count + 1
        let (cells, overflow) = (a.count + 1).multipliedReportingOverflow(by: width)
        guard !overflow, cells <= StringCommands.maxStringLength / 4 else {
            throw CommandError("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
        }

        // table[i * width + j]: the LCS length of a[..<i] and b[..<j].
        var table = [UInt32](repeating: 0, count: cells)
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                table.withUnsafeMutableBufferPointer { table in
                    guard !a.isEmpty && !b.isEmpty else { return }
                    for i in 1...a.count {
                        let row = i * width, above = row - width
                        for j in 1...b.count {
                            table[row + j] = a[i - 1] == b[j - 1]
                                ? table[above + j - 1] + 1
                                : max(table[above + j], table[row + j - 1])
                        }
                    }
                }
            }
        }
        let total = Int(table[a.count * width + b.count])
        if wantLength && !wantRanges { return call.client.integer(total) }

        // Walk back from the end, collecting the subsequence and the runs matched contiguously in
        // both strings (a run ends where the walk leaves the diagonal or reaches a string's start).
        var subsequence = [UInt8](repeating: 0, count: total)
        var ranges: [(a: ClosedRange<Int>, b: ClosedRange<Int>)] = []
        var remaining = total
        var i = a.count, j = b.count
        var run: (aStart: Int, aEnd: Int, bStart: Int, bEnd: Int)?
        while i > 0 && j > 0 {
            var emit = false
            if a[i - 1] == b[j - 1] {
                subsequence[remaining - 1] = a[i - 1]
                if let current = run {
                    if current.aStart == i && current.bStart == j {
                        run = (current.aStart - 1, current.aEnd, current.bStart - 1, current.bEnd)
                    } else {
                        emit = true
                    }
                } else {
                    run = (i - 1, i - 1, j - 1, j - 1)
                }
                if let current = run, current.aStart == 0 || current.bStart == 0 { emit = true }
                remaining -= 1
                i -= 1
                j -= 1
            } else {
                if table[(i - 1) * width + j] > table[i * width + j - 1] { i -= 1 } else { j -= 1 }
                if run != nil { emit = true }
            }
            if emit, let current = run {
                if wantRanges && current.aEnd - current.aStart + 1 >= minimumMatch {
                    ranges.append((current.aStart...current.aEnd, current.bStart...current.bEnd))
                }
                run = nil
            }
        }
        guard wantRanges else { return call.client.bulk(subsequence) }
        let client = call.client
        client.mapHeader(2)
        client.bulk("matches")
        client.arrayHeader(ranges.count)
        for range in ranges {
            client.arrayHeader(withMatchLength ? 3 : 2)
            client.arrayHeader(2)
            client.integer(range.a.lowerBound)
            client.integer(range.a.upperBound)
            client.arrayHeader(2)
            client.integer(range.b.lowerBound)
            client.integer(range.b.upperBound)
            if withMatchLength { client.integer(range.a.count) }
        }
        client.bulk("len")
        client.integer(total)
    }
}
