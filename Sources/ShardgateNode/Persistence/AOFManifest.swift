/// Redis 7's multi-part AOF manifest (`<appendfilename>.manifest` in `<appenddirname>`): one base
/// file (an RDB with `aof-base` set, written by a rewrite), then incremental files of commands,
/// replayed in order; history files are left-overs of earlier rewrites, deleted once the new
/// manifest is on disk.
///
/// Each line is `file <name> seq <n> type <b|h|i>`, base first, then history, then increments.
struct AOFManifest: Equatable {
    enum Kind: String { case base = "b", history = "h", incremental = "i" }

    struct File: Equatable {
        var name: String
        var sequence: Int
        var kind: Kind
    }

    var base: File?
    var history: [File] = []
    var incrementals: [File] = []
    /// The highest sequence numbers used so far (new files continue from them).
    var baseSequence = 0
    var incrementalSequence = 0

    struct ParseError: Error, CustomStringConvertible {
        let description: String
    }

    static func parse(_ text: String) throws(ParseError) -> AOFManifest {
        var manifest = AOFManifest()
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingSpaces
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let fields = trimmed.split(separator: " ").map(String.init)
            var name: String?
            var sequence: Int?
            var kind: Kind?
            var index = 0
            while index + 1 < fields.count {
                switch fields[index] {
                case "file": name = fields[index + 1]
                case "seq": sequence = Int(fields[index + 1])
                case "type": kind = Kind(rawValue: fields[index + 1])
                default: break
                }
                index += 2
            }
            guard let name, let sequence, let kind, fields.count % 2 == 0 else {
                throw ParseError(description: "invalid AOF manifest line \(number + 1): '\(trimmed)'")
            }
            let file = File(name: name, sequence: sequence, kind: kind)
            switch kind {
            case .base:
                guard manifest.base == nil else { throw ParseError(description: "AOF manifest names two base files") }
                manifest.base = file
                manifest.baseSequence = max(manifest.baseSequence, sequence)
            case .history:
                manifest.history.append(file)
            case .incremental:
                if let last = manifest.incrementals.last, last.sequence >= sequence {
                    throw ParseError(description: "AOF manifest lists incremental files out of order")
                }
                manifest.incrementals.append(file)
                manifest.incrementalSequence = max(manifest.incrementalSequence, sequence)
            }
        }
        return manifest
    }

    var text: String {
        var lines: [File] = []
        if let base { lines.append(base) }
        lines += history + incrementals
        return lines.map { "file \($0.name) seq \($0.sequence) type \($0.kind.rawValue)\n" }.joined()
    }

    /// Adds a new incremental file (sequence + 1) and returns it.
    mutating func addIncremental(prefix: String) -> File {
        incrementalSequence += 1
        let file = File(name: "\(prefix).\(incrementalSequence).incr.aof", sequence: incrementalSequence, kind: .incremental)
        incrementals.append(file)
        return file
    }

    /// A new base (sequence + 1); the old base becomes history.
    mutating func replaceBase(prefix: String) -> File {
        if var old = base {
            old.kind = .history
            history.append(old)
        }
        baseSequence += 1
        let file = File(name: "\(prefix).\(baseSequence).base.rdb", sequence: baseSequence, kind: .base)
        base = file
        return file
    }

    /// After a rewrite: every incremental file but the newest is covered by the new base.
    mutating func retireIncrementals(keeping newest: File) {
        for var file in incrementals where file != newest {
            file.kind = .history
            history.append(file)
        }
        incrementals = incrementals.filter { $0 == newest }
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" || first == "\r" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" || last == "\r" { text = text.dropLast() }
        return text
    }
}
