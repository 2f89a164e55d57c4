import RedisText
import Testing
@testable import Commands

private func split(_ request: String) -> [String] {
    request.split(separator: " ").map(String.init)
}

@Suite("Key extraction")
struct KeyExtractionTests {
    /// Hand-picked requests and their key argument indices (0 = command name).
    @Test("key indices", arguments: [
        ("GET k", [1]),
        ("get k", [1]),
        ("SET k v", [1]),
        ("SET k v EX 10 GET", [1]),
        ("MGET a", [1]),
        ("MGET a b c", [1, 2, 3]),
        ("MSET a 1", [1]),
        ("MSET a 1 b 2 c 3", [1, 3, 5]),
        ("DEL a", [1]),
        ("DEL a b c d", [1, 2, 3, 4]),
        ("EVAL s 0", []),
        ("EVAL s 0 arg1 arg2", []),
        ("EVAL s 2 k1 k2", [3, 4]),
        ("EVAL s 2 k1 k2 a1 a2", [3, 4]),
        ("EVALSHA sha 1 k1 a1", [3]),
        ("FCALL f 3 k1 k2 k3", [3, 4, 5]),
        ("ZUNIONSTORE d 2 a b", [1, 3, 4]),
        ("ZUNIONSTORE d 2 a b WEIGHTS 1 2 AGGREGATE MAX", [1, 3, 4]),
        ("ZUNION 3 a b c WITHSCORES", [2, 3, 4]),
        ("LMPOP 2 a b LEFT COUNT 3", [2, 3]),
        ("BLMPOP 0 2 a b RIGHT", [3, 4]),
        ("XREAD STREAMS s 0", [2]),
        ("XREAD COUNT 1 BLOCK 0 STREAMS s1 s2 0 0", [6, 7]),
        ("xread streams a b c 1 2 3", [2, 3, 4]),
        ("XREADGROUP GROUP g c NOACK STREAMS s1 s2 > >", [6, 7]),
        ("XREAD STREAMS STREAMS 0", [2]),
        ("LMOVE a b LEFT RIGHT", [1, 2]),
        ("BLMOVE a b LEFT RIGHT 0", [1, 2]),
        ("BLPOP a 0", [1]),
        ("BLPOP a b c 0", [1, 2, 3]),
        ("RENAME a b", [1, 2]),
        ("GEORADIUS g 0 0 1 km", [1]),
        ("GEORADIUS g 0 0 1 km STORE d", [1, 7]),
        ("GEORADIUS g 0 0 1 km store d STOREDIST e", [1, 7, 9]),
        ("GEORADIUS g 0 0 1 km WITHDIST STOREDIST e", [1, 8]),
        ("GEOSEARCHSTORE d g FROMMEMBER m BYRADIUS 1 km", [1, 2]),
        ("BITOP AND d a b c", [2, 3, 4, 5]),
        ("OBJECT ENCODING k", [2]),
        ("MEMORY USAGE k SAMPLES 5", [2]),
        ("XGROUP CREATE s g $", [2]),
        ("CONFIG GET maxmemory", []),
        ("PING", []),
        ("PUBLISH ch msg", []),
        ("SPUBLISH ch msg", []),
        ("MIGRATE h 1 k 0 100 COPY", [3]),  // the incomplete KEYS spec finds no keyword: no failure
    ])
    func indices(request: String, expected: [Int]) throws {
        #expect(try keyIndices(split(request)) == expected)
    }

    @Test("Redis rejects these requests: invalid arguments", arguments: [
        "EVAL s 3 k1",        // more keys than arguments
        "EVAL s -1 k1",       // negative numkeys
        "EVAL s x k1",        // not an integer
        "EVAL s 01 k1",       // string2ll rejects leading zeros
        "EVAL s +1 k1",
        "EVAL s 1.0 k1",
        "EVAL s 99999999999999999999 k1",  // overflows Int64
        "EVAL s 9223372036854775807 k1",
        "ZUNIONSTORE d 5 a",
        "LMPOP 3 a LEFT",
        "BLMPOP 0 9 a LEFT",
        "XREAD STREAMS s",    // no ID: fewer keys than the 1/2 limit allows
    ])
    func invalid(request: String) {
        #expect(throws: KeyExtractionError.invalidArguments) { try keyIndices(split(request)) }
        // .partial never throws; the failing spec just contributes no keys.
        #expect((try? keyIndices(split(request), options: .partial)) != nil)
    }

    @Test("partial keeps keys of the specs that succeed")
    func partialInvalid() throws {
        #expect(try keyIndices(split("ZUNIONSTORE d 5 a"), options: .partial) == [1])
        #expect(try keyIndices(split("ZUNIONSTORE d 0 a")) == [1])
    }

    @Test("incomplete key specs (SORT, SORT_RO, MIGRATE) need .partial", arguments: [
        ("SORT k", [1]),
        ("SORT k BY w_* GET # STORE d", [1]),
        ("SORT_RO k LIMIT 0 10", [1]),
        ("MIGRATE h 1 \u{0} 0 100 KEYS a b", [3, 7, 8]),
    ])
    func incomplete(request: String, partial: [Int]) throws {
        let arguments = split(request).map { $0 == "\u{0}" ? "" : $0 }
        #expect(throws: KeyExtractionError.incompleteKeySpecs) { try keyIndices(arguments) }
        #expect(try keyIndices(arguments, options: .partial) == partial)
    }

    @Test("includeNotKeys returns sharded channels")
    func notKeys() throws {
        #expect(try keyIndices(split("SPUBLISH ch msg"), options: .includeNotKeys) == [1])
        #expect(try keyIndices(split("SSUBSCRIBE a b c"), options: .includeNotKeys) == [1, 2, 3])
        #expect(try keyIndices(split("SSUBSCRIBE a b c")) == [])
        #expect(try keyIndices(split("PUBLISH ch msg"), options: .includeNotKeys) == [])
    }

    /// Deliberate differences from `COMMAND GETKEYS`, which falls back to
    /// Redis's hand-written getkeys functions when key specs fail. Every other
    /// vector must match the server exactly.
    static let expectedDifferences: [String: Result<[String], KeyExtractionError>] = [
        // SORT / SORT_RO / MIGRATE have incomplete specs; sortGetKeys/migrateGetKeys are not table data.
        "SORT k1": .failure(.incompleteKeySpecs),
        "SORT k1 LIMIT 0 10 STORE dst": .failure(.incompleteKeySpecs),
        "SORT k1 STORE dst": .failure(.incompleteKeySpecs),
        "SORT_RO k1 BY w_*": .failure(.incompleteKeySpecs),
        "MIGRATE 127.0.0.1 6379  0 100 KEYS k1 k2": .failure(.incompleteKeySpecs),
        "MIGRATE h 1 k1 0 100 KEYS k2": .failure(.incompleteKeySpecs),
        // Key specs fail; GETKEYS then answers from evalGetKeys (atoi, no errors), but EVAL itself rejects these.
        "EVAL return 1 3 k1": .failure(.invalidArguments),
        "EVAL return 1 -1 k1": .failure(.invalidArguments),
        "EVAL return 1 x k1": .failure(.invalidArguments),
        "EVAL return 1 01 k1": .failure(.invalidArguments),
        // numkeys 0 gives no keys from that spec (see keyIndices); ZUNIONSTORE itself rejects numkeys 0.
        "ZUNIONSTORE dst 0 z1": .success(["dst"]),
        "ZUNIONSTORE dst 5 z1": .failure(.invalidArguments),
        "LMPOP 3 l1 LEFT": .failure(.invalidArguments),
    ]

    @Test("matches the server's COMMAND GETKEYS", arguments: getKeysVectors)
    func crossCheck(vector: GetKeysVector) throws {
        let arguments = vector.arguments
        let key = arguments.joined(separator: " ")
        let ours = Result(catching: { () throws(KeyExtractionError) -> [String] in try keyNames(arguments) })
        if let expected = Self.expectedDifferences[key] {
            #expect(ours == expected)
            return
        }
        switch vector.answer {
        case .keys(let names):
            #expect(ours == .success(names))
        case .error(let message):
            // "has no key arguments" is GETKEYS's way of saying zero keys.
            #expect(message == "ERR The command has no key arguments")
            #expect(ours == .success([]))
        }
    }

    @Test("all expected differences are exercised by a vector")
    func differencesAreUsed() {
        let keys = Set(getKeysVectors.map { $0.arguments.joined(separator: " ") })
        for difference in Self.expectedDifferences.keys {
            #expect(keys.contains(difference), "\(difference)")
        }
    }

    @Test("never crashes and stays in bounds for any command and argument count")
    func robustness() {
        let table = CommandTable.redis
        let fillers = ["1", "0", "-1", "STREAMS", "STORE", "KEYS", "x", "2", "STOREDIST"]
        for id in 0..<table.count {
            let spec = table[id]
            let prefix = spec.name.split(separator: "|").map(String.init)
            for count in prefix.count...(prefix.count + 9) {
                for filler in fillers {
                    var arguments = prefix
                    while arguments.count < count { arguments.append(filler) }
                    let keys = (try? keyIndices(spec, arguments, options: [.partial, .includeNotKeys])) ?? []
                    #expect(keys.allSatisfy { $0 >= prefix.count && $0 < count }, "\(arguments) -> \(keys)")
                }
            }
        }
    }

    @Test("Redis string2ll integer syntax", arguments: [
        ("0", 0), ("1", 1), ("-1", -1), ("42", 42), ("9223372036854775807", Int64.max),
        ("-9223372036854775808", Int64.min),
    ] as [(String, Int64)])
    func parseValid(text: String, value: Int64) {
        let bytes = Array(text.utf8)
        #expect(bytes.withUnsafeBytes { RedisInteger.parse($0) } == value)
    }

    @Test("Redis string2ll rejects", arguments: [
        "", "-", "+1", "01", "-0", "00", " 1", "1 ", "1a", "1.0", "9223372036854775808",
        "-9223372036854775809", "99999999999999999999", "123456789012345678901",
    ])
    func parseInvalid(text: String) {
        let bytes = Array(text.utf8)
        #expect(bytes.withUnsafeBytes { RedisInteger.parse($0) } == nil)
    }
}
