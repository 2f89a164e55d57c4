/// Redis's glob matching (`stringmatchlen`): `*`, `?`, `[...]` with ranges and `^`, `\` escapes.
/// Used by KEYS, SCAN MATCH, PSUBSCRIBE and CONFIG GET.
///
/// Bounded as Redis 7.0.9+ bounds it (CVE-2022-36021): once the rest of the pattern after a `*`
/// matched from no position of the remaining string, no earlier `*` tries a longer match either
/// (`skipLongerMatches`), so `*a*a*...*b` is linear per star instead of exponential. Nesting of
/// `*` is also capped (as Redis 7.2 does), so a pattern of many stars cannot exhaust the stack.
package enum GlobMatch {
    /// Deepest `*` recursion tried before giving up with no match.
    package static let maxNesting = 1000

    package static func matches(_ pattern: UnsafeRawBufferPointer, _ string: UnsafeRawBufferPointer, noCase: Bool = false) -> Bool {
        var skipLongerMatches = false
        return match(pattern, 0, string, 0, noCase: noCase, skipLongerMatches: &skipLongerMatches, nesting: 0)
    }

    package static func matches(_ pattern: String, _ string: String, noCase: Bool = false) -> Bool {
        matches(Array(pattern.utf8), Array(string.utf8), noCase: noCase)
    }

    package static func matches(_ pattern: [UInt8], _ string: [UInt8], noCase: Bool = false) -> Bool {
        pattern.withUnsafeBytes { p in string.withUnsafeBytes { s in matches(p, s, noCase: noCase) } }
    }

    private static func lower(_ byte: UInt8, _ noCase: Bool) -> UInt8 {
        noCase && byte >= 65 && byte <= 90 ? byte | 0x20 : byte
    }

    private static func match(
        _ pattern: UnsafeRawBufferPointer, _ pStart: Int, _ string: UnsafeRawBufferPointer, _ sStart: Int,
        noCase: Bool, skipLongerMatches: inout Bool, nesting: Int
    ) -> Bool {
        if nesting > maxNesting { return false }
        let star = UInt8(ascii: "*")
        var p = pStart
        var s = sStart
        while p < pattern.count && s < string.count {
            switch pattern[p] {
            case star:
                while p + 1 < pattern.count && pattern[p + 1] == star { p += 1 }
                if p + 1 == pattern.count { return true }
                while s < string.count {
                    if match(
                        pattern, p + 1, string, s, noCase: noCase, skipLongerMatches: &skipLongerMatches,
                        nesting: nesting + 1)
                    {
                        return true
                    }
                    if skipLongerMatches { return false }
                    s += 1
                }
                // The rest of the pattern matched from nowhere in the rest of the string: a longer
                // match for any earlier `*` cannot help either.
                skipLongerMatches = true
                return false
            case UInt8(ascii: "?"):
                s += 1
            case UInt8(ascii: "["):
                p += 1
                let negate = p < pattern.count && pattern[p] == UInt8(ascii: "^")
                if negate { p += 1 }
                var matched = false
                while true {
                    if p < pattern.count && pattern[p] == UInt8(ascii: "\\") && pattern.count - p >= 2 {
                        p += 1
                        if pattern[p] == string[s] { matched = true }
                    } else if p < pattern.count && pattern[p] == UInt8(ascii: "]") {
                        break
                    } else if p >= pattern.count {
                        p -= 1
                        break
                    } else if pattern.count - p >= 3 && pattern[p + 1] == UInt8(ascii: "-") {
                        // Compared as C `char`s, signed, as Redis compares them.
                        var start = Int8(bitPattern: pattern[p])
                        var end = Int8(bitPattern: pattern[p + 2])
                        if start > end { swap(&start, &end) }
                        let c = Int8(bitPattern: lower(string[s], noCase))
                        start = Int8(bitPattern: lower(UInt8(bitPattern: start), noCase))
                        end = Int8(bitPattern: lower(UInt8(bitPattern: end), noCase))
                        p += 2
                        if c >= start && c <= end { matched = true }
                    } else if lower(pattern[p], noCase) == lower(string[s], noCase) {
                        matched = true
                    }
                    p += 1
                }
                if negate { matched = !matched }
                if !matched { return false }
                s += 1
            default:
                if pattern[p] == UInt8(ascii: "\\") && pattern.count - p >= 2 { p += 1 }
                if lower(pattern[p], noCase) != lower(string[s], noCase) { return false }
                s += 1
            }
            p += 1
            if s == string.count {
                while p < pattern.count && pattern[p] == star { p += 1 }
                break
            }
        }
        return p == pattern.count && s == string.count
    }
}
