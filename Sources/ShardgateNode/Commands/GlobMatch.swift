/// Redis's glob matching (`stringmatchlen`): `*`, `?`, `[...]` with ranges and `^`, `\` escapes.
/// Used by KEYS, SCAN MATCH, PSUBSCRIBE and CONFIG GET.
enum GlobMatch {
    static func matches(_ pattern: UnsafeRawBufferPointer, _ string: UnsafeRawBufferPointer, noCase: Bool = false) -> Bool {
        match(pattern, 0, string, 0, noCase: noCase, depth: 0)
    }

    static func matches(_ pattern: [UInt8], _ string: [UInt8], noCase: Bool = false) -> Bool {
        pattern.withUnsafeBytes { p in string.withUnsafeBytes { s in matches(p, s, noCase: noCase) } }
    }

    private static func lower(_ byte: UInt8, _ noCase: Bool) -> UInt8 {
        noCase && byte >= 65 && byte <= 90 ? byte | 0x20 : byte
    }

    private static func match(
        _ pattern: UnsafeRawBufferPointer, _ pStart: Int, _ string: UnsafeRawBufferPointer, _ sStart: Int,
        noCase: Bool, depth: Int
    ) -> Bool {
        // Redis caps recursion to defeat pathological patterns.
        if depth > 1000 { return false }
        var p = pStart
        var s = sStart
        while p < pattern.count && s < string.count {
            switch pattern[p] {
            case UInt8(ascii: "*"):
                while p + 1 < pattern.count && pattern[p + 1] == UInt8(ascii: "*") { p += 1 }
                if p + 1 == pattern.count { return true }
                while s < string.count {
                    if match(pattern, p + 1, string, s, noCase: noCase, depth: depth + 1) { return true }
                    s += 1
                }
                return false
            case UInt8(ascii: "?"):
                s += 1
            case UInt8(ascii: "["):
                p += 1
                let negate = p < pattern.count && pattern[p] == UInt8(ascii: "^")
                if negate { p += 1 }
                var matched = false
                while true {
                    if p >= pattern.count { p -= 1; break }
                    if pattern[p] == UInt8(ascii: "\\") && p + 1 < pattern.count {
                        p += 1
                        if pattern[p] == string[s] { matched = true }
                    } else if pattern[p] == UInt8(ascii: "]") {
                        break
                    } else if p + 2 < pattern.count && pattern[p + 1] == UInt8(ascii: "-") {
                        var start = lower(pattern[p], noCase)
                        var end = lower(pattern[p + 2], noCase)
                        let c = lower(string[s], noCase)
                        if start > end { swap(&start, &end) }
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
            case UInt8(ascii: "\\"):
                if p + 1 < pattern.count { p += 1 }
                if lower(pattern[p], noCase) != lower(string[s], noCase) { return false }
                s += 1
            default:
                if lower(pattern[p], noCase) != lower(string[s], noCase) { return false }
                s += 1
            }
            p += 1
        }
        if s == string.count {
            while p < pattern.count && pattern[p] == UInt8(ascii: "*") { p += 1 }
        }
        return p == pattern.count && s == string.count
    }
}
