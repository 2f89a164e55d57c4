import RDB
import Testing

/// Everything one read reported.
struct Dump {
    var aux: [String: String] = [:]
    var functions: [String] = []
    var entries: [RDBEntry] = []
    var consumed = 0

    func entry(_ key: String, database: Int = 0) -> RDBEntry? {
        entries.first { $0.key == Array(key.utf8) && $0.database == database }
    }

    var keys: [String] { entries.map { text($0.key) }.sorted() }
}

func readDump(_ bytes: [UInt8]) throws -> Dump {
    var dump = Dump()
    dump.consumed = try RDBReader.read(
        bytes,
        aux: { dump.aux[$0.nameText] = $0.valueText },
        functionLibrary: { dump.functions.append(text($0)) },
        entry: { dump.entries.append($0) })
    return dump
}

func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// A value in a comparable, order-normalized text form: sets and hashes sorted, sorted sets by
/// score then member (Redis's order), lists and strings as they are.
enum Shape: Equatable, CustomStringConvertible {
    case string(String)
    case list([String])
    case set([String])
    case hash([String: String])
    case sortedSet([String], [Double])
    case stream(RDBStream)

    init(_ value: RDBValue) {
        switch value {
        case .string(let bytes): self = .string(text(bytes))
        case .list(let elements): self = .list(elements.map(text))
        case .set(let members): self = .set(members.map(text).sorted())
        case .hash(let pairs):
            self = .hash(Dictionary(pairs.map { (text($0.field), text($0.value)) }, uniquingKeysWith: { first, _ in first }))
        case .sortedSet(let pairs):
            let sorted = pairs.sorted { $0.score < $1.score || ($0.score == $1.score && $0.member.lexicographicallyPrecedes($1.member)) }
            self = .sortedSet(sorted.map { text($0.member) }, sorted.map(\.score))
        case .stream(let stream): self = .stream(stream)
        }
    }

    static func set(_ members: String...) -> Shape { .set(members.sorted()) }

    var description: String {
        switch self {
        case .string(let value): return "string \(value)"
        case .list(let elements): return "list \(elements)"
        case .set(let members): return "set \(members)"
        case .hash(let pairs): return "hash \(pairs.sorted { $0.key < $1.key })"
        case .sortedSet(let members, let scores): return "zset \(Array(zip(members, scores)))"
        case .stream(let stream): return "stream of \(stream.length) entries"
        }
    }
}

extension Dump {
    func shape(_ key: String, database: Int = 0) -> Shape? { entry(key, database: database).map { Shape($0.value) } }
}
