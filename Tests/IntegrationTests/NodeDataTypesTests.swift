import Foundation
import NIOCore
import Testing

/// The hash, list, set and sorted-set commands of `shardgate node` against real redis-server 7.0:
/// the same script runs on both and every reply must be byte-identical, in RESP2 and RESP3 (the
/// scripts switch with HELLO), errors included.
///
/// Script lines may carry a marker: `~` sorts the top-level elements before comparing (replies whose
/// order Redis leaves to its hash table), `?` compares only the reply's type and length line
/// (random picks, HELLO's client id).
@Suite(.serialized)
struct NodeDataTypesTests {
    @Test(arguments: ["hashesAndSets", "lists", "sortedSets", "largeEncodings"])
    func repliesMatchRedis(script name: String) async throws {
        guard TestEnvironment.isCI || TestEnvironment.redisServer != nil else { return }
        let script: String
        switch name {
        case "hashesAndSets": script = Self.hashesAndSets
        case "lists": script = Self.lists
        case "sortedSets": script = Self.sortedSets
        default: script = Self.largeEncodings()
        }
        let servers = try await RedisAndNode()
        defer { servers.stop() }
        let (redis, node) = (servers.redis, servers.node)
        let expected = try redis.client()
        let actual = try node.client()
        var compared = 0
        for line in script.split(separator: "\n") {
            var words = line.split(separator: " ").map(String.init)
            var mode = ""
            if words[0] == "~" || words[0] == "?" { mode = words.removeFirst() }
            let arguments = words.map { Array($0.utf8) }
            try expected.sendRaw(RedisTestClient.encode(arguments))
            try actual.sendRaw(RedisTestClient.encode(arguments))
            let want = try expected.readFrame()
            let got = try actual.readFrame()
            switch mode {
            case "~": #expect(Self.sortedElements(got) == Self.sortedElements(want), "\(line)")
            case "?": #expect(Self.headerLine(got) == Self.headerLine(want), "\(line)")
            default: #expect(String(buffer: got) == String(buffer: want), "\(line)")
            }
            compared += 1
        }
        #expect(compared > 50)
    }

    /// Random commands: right shape, count and membership.
    @Test func randomCommandsPickMembers() async throws {
        guard TestEnvironment.isCI || TestEnvironment.redisServer != nil else { return }
        let node = try await startNode()
        defer { node.stop() }
        let client = try node.client()
        let members = (0..<300).map { "m\($0)" }
        _ = try client.command(["SADD", "s"].map { Array($0.utf8) } + members.map { Array($0.utf8) })
        _ = try client.command(["ZADD", "z"].map { Array($0.utf8) } + members.flatMap { [Array("1".utf8), Array($0.utf8)] })
        _ = try client.command(["HSET", "h"].map { Array($0.utf8) } + members.flatMap { [Array($0.utf8), Array("v".utf8)] })
        for command in [["SRANDMEMBER", "s", "50"], ["ZRANDMEMBER", "z", "50"], ["HRANDFIELD", "h", "50"], ["SPOP", "s", "50"]] {
            guard case .array(let items?) = try client.command(command.map { Array($0.utf8) }) else {
                Issue.record("\(command) did not reply with an array")
                continue
            }
            let picked = Set(items.compactMap { item -> String? in
                if case .bulk(let bytes?) = item { return String(decoding: bytes, as: UTF8.self) }
                return nil
            })
            #expect(items.count == 50 && picked.count == 50, "\(command)")
            #expect(picked.isSubset(of: Set(members)), "\(command)")
        }
        #expect(try client.command("SCARD", "s") == .integer(250))
        guard case .array(let repeated?) = try client.command("SRANDMEMBER", "s", "-1000") else {
            Issue.record("SRANDMEMBER -1000")
            return
        }
        #expect(repeated.count == 1000)
    }

    /// SSCAN/HSCAN/ZSCAN over hash-table encodings return every element across cursor calls.
    @Test func scansVisitEveryElement() async throws {
        guard TestEnvironment.isCI || TestEnvironment.redisServer != nil else { return }
        let node = try await startNode()
        defer { node.stop() }
        let client = try node.client()
        let members = (0..<1000).map { "e\($0)" }
        _ = try client.command(["SADD", "s"].map { Array($0.utf8) } + members.map { Array($0.utf8) })
        _ = try client.command(["HSET", "h"].map { Array($0.utf8) } + members.flatMap { [Array($0.utf8), Array("v".utf8)] })
        _ = try client.command(["ZADD", "z"].map { Array($0.utf8) } + members.flatMap { [Array("2".utf8), Array($0.utf8)] })
        for (command, stride) in [("SSCAN", 1), ("HSCAN", 2), ("ZSCAN", 2)] {
            let key = command == "SSCAN" ? "s" : command == "HSCAN" ? "h" : "z"
            var cursor = "0"
            var seen = Set<String>()
            var calls = 0
            repeat {
                guard case .array(let reply?) = try client.command(command, key, cursor, "COUNT", "25"),
                    case .bulk(let next?) = reply[0], case .array(let items?) = reply[1]
                else {
                    Issue.record("bad \(command) reply")
                    return
                }
                cursor = String(decoding: next, as: UTF8.self)
                for index in Swift.stride(from: 0, to: items.count, by: stride) {
                    if case .bulk(let bytes?) = items[index] { seen.insert(String(decoding: bytes, as: UTF8.self)) }
                }
                calls += 1
            } while cursor != "0" && calls < 10_000
            #expect(seen == Set(members), "\(command)")
            #expect(calls > 1, "\(command) should take several calls")
        }
    }

    // MARK: - Reply helpers

    static func headerLine(_ frame: ByteBuffer) -> String {
        let bytes = Array(frame.readableBytesView)
        return String(decoding: bytes.prefix { $0 != 13 }, as: UTF8.self)
    }

    /// The top-level elements of an aggregate reply, sorted (each element's raw bytes).
    static func sortedElements(_ frame: ByteBuffer) -> [String] {
        let bytes = Array(frame.readableBytesView)
        guard let first = bytes.first, "*~%".utf8.contains(first) else { return [String(buffer: frame)] }
        var position = 0
        func lineEnd(_ from: Int) -> Int {
            var index = from
            while !(bytes[index] == 13 && bytes[index + 1] == 10) { index += 1 }
            return index
        }
        func skip(_ from: Int) -> Int {
            let end = lineEnd(from)
            let header = String(decoding: bytes[(from + 1)..<end], as: UTF8.self)
            switch bytes[from] {
            case UInt8(ascii: "$"), UInt8(ascii: "="):
                let length = Int(header)!
                return length < 0 ? end + 2 : end + 2 + length + 2
            case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "%"):
                var count = Int(header)!
                if bytes[from] == UInt8(ascii: "%") { count *= 2 }
                var next = end + 2
                for _ in 0..<max(0, count) { next = skip(next) }
                return next
            default:
                return end + 2
            }
        }
        let headerEnd = lineEnd(0)
        var elements = [String(decoding: bytes[0..<headerEnd], as: UTF8.self)]
        position = headerEnd + 2
        var items: [String] = []
        while position < bytes.count {
            let next = skip(position)
            items.append(String(decoding: bytes[position..<next], as: UTF8.self))
            position = next
        }
        elements += items.sorted()
        return elements
    }

    // MARK: - Scripts

    /// Collections past the listpack/intset limits, conversions and CONFIG SET thresholds.
    static func largeEncodings() -> String {
        var seed: UInt64 = 42
        func random(_ bound: Int) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(bound))
        }
        func command(_ words: [String], _ pairs: [String]) -> String { (words + pairs).joined(separator: " ") }
        var lines = ["FLUSHALL"]
        var pairs: [String] = []
        for index in 0..<300 { pairs += ["\(random(51))", "m\(1000 + index)"] }
        lines.append(command(["ZADD", "bz"], pairs))
        lines += [
            "OBJECT ENCODING bz", "ZCARD bz", "ZRANGE bz 0 -1 WITHSCORES", "ZRANGE bz 100 150", "ZRANGE bz 10 20 REV WITHSCORES",
            "ZRANGEBYSCORE bz 10 20", "ZRANGEBYSCORE bz (10 (20 LIMIT 5 10 WITHSCORES", "ZREVRANGEBYSCORE bz 40 10 LIMIT 3 7",
            "ZCOUNT bz 5 25", "ZRANK bz m1100", "ZREVRANK bz m1100", "ZSCORE bz m1100", "ZINCRBY bz 3.25 m1100", "ZRANK bz m1100",
            "ZREMRANGEBYRANK bz 0 9", "ZREMRANGEBYSCORE bz 45 50", "ZCARD bz", "ZPOPMIN bz 3", "ZPOPMAX bz 3",
            "ZMPOP 1 bz MIN COUNT 2", "ZRANGESTORE bd bz 0 200", "OBJECT ENCODING bd", "ZRANGESTORE bd bz 0 5",
            "OBJECT ENCODING bd", "ZRANGE bd 0 -1 WITHSCORES", "ZUNIONSTORE bu 2 bz bd", "OBJECT ENCODING bu",
            "ZRANGE bu 0 -1 WITHSCORES", "ZINTER 2 bz bd WITHSCORES", "ZDIFF 2 bd bz", "ZDIFFSTORE bdd 2 bz bd", "ZCARD bdd",
            "OBJECT ENCODING bdd", "ZINTERCARD 2 bz bd", "ZRANDMEMBER bd 100 WITHSCORES",
        ]
        pairs = []
        for _ in 0..<200 { pairs += ["0", "k\(1000 + random(1000))"] }
        lines.append(command(["ZADD", "lz"], pairs))
        lines += [
            "ZRANGEBYLEX lz [k1100 (k1500", "ZREVRANGEBYLEX lz (k1900 [k1300 LIMIT 2 20", "ZLEXCOUNT lz [k1200 [k1800",
            "ZREMRANGEBYLEX lz [k1000 [k1300", "ZCARD lz", "ZRANGE lz 0 10",
        ]
        pairs = []
        // Past Redis 7.0's default hash-max-listpack-entries (512).
        for index in 0..<600 { pairs += ["f\(index)", "v\(index)"] }
        lines.append(command(["HSET", "bh"], pairs))
        lines += [
            "OBJECT ENCODING bh", "HLEN bh", "HGET bh f150", "HDEL bh f1 f2", "HLEN bh", "HINCRBY bh f3 1", "HSTRLEN bh f5",
            "~ HKEYS bh", "~ HVALS bh", "? HRANDFIELD bh 10 WITHVALUES", "? HSCAN bh 0",
        ]
        lines.append(command(["SADD", "bs"], (0..<600).map { String($0) }))
        lines.append(command(["SADD", "is"], (0..<500).map { String($0) }))
        lines += [
            "OBJECT ENCODING bs", "SCARD bs", "OBJECT ENCODING is", "SADD is 1000", "OBJECT ENCODING is", "SADD is 1001",
            "OBJECT ENCODING is", "SINTERCARD 2 bs is", "SDIFFSTORE dd is bs", "SMEMBERS dd", "OBJECT ENCODING dd",
            "SINTERSTORE ii is bs", "OBJECT ENCODING ii", "SCARD ii", "SUNIONSTORE uu is bs", "SCARD uu", "OBJECT ENCODING uu",
            "~ SMEMBERS bs", "~ SUNION bs is", "~ SDIFF bs is",
            "CONFIG SET zset-max-listpack-entries 2", "ZADD cz 1 a 2 b", "OBJECT ENCODING cz", "ZADD cz 3 c",
            "OBJECT ENCODING cz", "ZREM cz c", "OBJECT ENCODING cz", "CONFIG SET zset-max-listpack-entries 128",
            "CONFIG SET hash-max-listpack-entries 1", "HSET ch a 1", "OBJECT ENCODING ch", "HSET ch b 1", "OBJECT ENCODING ch",
            "CONFIG SET hash-max-listpack-entries 128", "CONFIG SET set-max-intset-entries 2", "SADD cs 1 2",
            "OBJECT ENCODING cs", "SADD cs 3", "OBJECT ENCODING cs", "CONFIG SET set-max-intset-entries 512",
            "CONFIG SET zset-max-listpack-value 3", "ZADD cv 1 abcd", "OBJECT ENCODING cv", "ZADD cv2 1 abc",
            "OBJECT ENCODING cv2", "ZADD cv2 1 abcd", "OBJECT ENCODING cv2", "CONFIG SET zset-max-listpack-value 64",
            "HINCRBYFLOAT hf f 0123456789012345678901234567890123456789012345678901234567890123456789",
            "HSET hv x 1", "HINCRBY hv 0123456789012345678901234567890123456789012345678901234567890123456789 1",
            "OBJECT ENCODING hv", "LPUSH biglist " + (0..<300).map { "\($0)" }.joined(separator: " "),
            "OBJECT ENCODING biglist", "LRANGE biglist 100 120", "LPOS biglist 5 COUNT 0", "LTRIM biglist 10 -10", "LLEN biglist",
        ]
        return lines.joined(separator: "\n")
    }

    static let hashesAndSets = """
FLUSHALL
HSET h f1 v1 f2 v2 f3 3
HSET h f1 x
HSET h odd
HMSET h a 1 b 2
HMSET h a
HSETNX h a 9
HSETNX h new 9
HGET h a
HGET h nope
HGET nokey a
HMGET h a nope f1
HMGET nokey a b
HLEN h
HLEN nokey
HSTRLEN h f1
HSTRLEN h nope
HEXISTS h a
HEXISTS h zz
HKEYS h
HVALS h
HGETALL h
HGETALL nokey
HKEYS nokey
HINCRBY h f3 10
HINCRBY h f1 1
HINCRBY h cnt x
HINCRBY h cnt -5
HINCRBY h cnt 9223372036854775807
HINCRBY h big 9223372036854775807
HINCRBY h big 1
HINCRBYFLOAT h fl 1.5
HINCRBYFLOAT h fl 1e3
HINCRBYFLOAT h f1 1
HINCRBYFLOAT h fl abc
HINCRBYFLOAT h fl inf
HINCRBYFLOAT h fl 0.1
HINCRBYFLOAT h fl -1001.6
HDEL h a b nope
HDEL nokey a
OBJECT ENCODING h
HSCAN h 0
HSCAN h 0 MATCH f*
HSCAN h 0 COUNT 0
HSCAN h abc
HSCAN nokey 0
HSCAN h 0 COUNT
HRANDFIELD nokey
HRANDFIELD nokey 3
HRANDFIELD h 0
HRANDFIELD h 100
HRANDFIELD h 100 WITHVALUES
HRANDFIELD h 1 xx
HRANDFIELD h -9223372036854775808
HRANDFIELD h 9223372036854775807 WITHVALUES
HRANDFIELD h abc
SET s str
HGET s a
HSET s a b
HGETALL s
HSET hl f 0123456789012345678901234567890123456789012345678901234567890123456789
OBJECT ENCODING hl
HSET hl2 f 1234567890123456789012345678901234567890123456789012345678901234
OBJECT ENCODING hl2
HDEL h f1 f2 f3 new cnt big fl
EXISTS h
? HELLO 3
HSET h3 a 1 b 2
HGETALL h3
HGETALL nokey
HRANDFIELD h3 5 WITHVALUES
? HRANDFIELD h3 -1 WITHVALUES
? HELLO 2
SADD s1 3 1 2 2
SADD s1 -5 100
~ SMEMBERS s1
OBJECT ENCODING s1
SADD s2 a b c
OBJECT ENCODING s2
SADD s1 007
OBJECT ENCODING s1
SADD s3 1 2 3 4 5
SADD s4 4 5 6
SINTER s3 s4
SINTER s3 nokey
SINTERSTORE d s3 s4
SMEMBERS d
SINTERSTORE d s3 nokey
EXISTS d
SUNION s3 s4
SUNIONSTORE d s3 s4
SDIFF s3 s4
SDIFF s3 s3
SDIFF nokey s3
SDIFFSTORE d s4 s3
SMEMBERS d
SINTERCARD 2 s3 s4
SINTERCARD 2 s3 s4 LIMIT 1
SINTERCARD 0 s3
SINTERCARD 3 s3 s4
SINTERCARD 2 s3 s4 LIMIT -1
SINTERCARD 2 s3 s4 FOO 1
SINTERCARD abc s3
SISMEMBER s3 1
SISMEMBER s3 9
SISMEMBER nokey 9
SMISMEMBER s3 1 9 2
SMISMEMBER nokey 1
SCARD s3
SCARD nokey
SREM s3 1 9
SREM nokey 1
SMOVE s3 s4 2
SMOVE s3 s4 99
SMOVE nokey s4 1
SMOVE s3 s str
SMOVE s3 newset 3
SMEMBERS newset
SMOVE s3 s3 4
SPOP nokey
SPOP nokey 3
SPOP s3 0
SPOP s3 -1
SPOP s3 abc
SPOP s3 1 2
SPOP s4 100
EXISTS s4
SRANDMEMBER nokey
SRANDMEMBER nokey 5
~ SRANDMEMBER s1 100
SRANDMEMBER s1 0
SRANDMEMBER s1 1 2
SRANDMEMBER s1 -9223372036854775808
? SSCAN s1 0
? SSCAN s1 0 MATCH 1*
SSCAN nokey 0
SADD s str
SMEMBERS s
~ SINTER s1 s
? HELLO 3
~ SMEMBERS s1
SMEMBERS nokey
SINTER s1 nokey
SPOP s1 0
SPOP nokey 2
? HELLO 2
"""

    static let lists = """
FLUSHALL
LPUSH l a b c
RPUSH l d e
LPUSHX nokey a
RPUSHX l f
LLEN l
LLEN nokey
LRANGE l 0 -1
LRANGE l -100 100
LRANGE l 5 2
LRANGE l 2 abc
LRANGE nokey 0 -1
LINDEX l 0
LINDEX l -1
LINDEX l 100
LINDEX l abc
LINDEX nokey 0
LSET l 1 X
LSET l 100 X
LSET nokey 0 X
LSET l abc X
LINSERT l BEFORE X Y
LINSERT l AFTER f Z
LINSERT l AFTER nope Z
LINSERT l MIDDLE f Z
LINSERT nokey AFTER f Z
LRANGE l 0 -1
RPUSH r a b a c a d a
LREM r 2 a
LRANGE r 0 -1
LREM r -1 a
LRANGE r 0 -1
LREM r 0 a
LREM r x a
LREM nokey 0 a
LRANGE r 0 -1
RPUSH p a b c a b c a
LPOS p a
LPOS p a RANK 2
LPOS p a RANK -1
LPOS p a COUNT 0
LPOS p a COUNT 2 RANK -2
LPOS p a MAXLEN 3 COUNT 0
LPOS p z
LPOS p z COUNT 2
LPOS nokey a
LPOS nokey a COUNT 1
LPOS p a RANK 0
LPOS p a COUNT -1
LPOS p a MAXLEN -1
LPOS p a FOO 1
LPOS p a RANK
LTRIM p 1 -2
LRANGE p 0 -1
LTRIM p 5 1
EXISTS p
LTRIM nokey 0 1
LPOP l
RPOP l
LPOP l 2
RPOP l 2
LPOP l 0
LPOP l -1
LPOP l 1 2
LPOP nokey
LPOP nokey 2
RPOP l 100
EXISTS l
RPUSH m1 a b c
LMOVE m1 m2 LEFT RIGHT
LMOVE m1 m2 RIGHT LEFT
LMOVE m1 m2 UP LEFT
LMOVE nokey m2 LEFT LEFT
RPOPLPUSH m1 m2
RPOPLPUSH m1 m2
LRANGE m2 0 -1
RPOPLPUSH m2 m2
LRANGE m2 0 -1
LMPOP 2 nokey m2 LEFT
LMPOP 2 nokey m2 RIGHT COUNT 10
LMPOP 2 nokey m2 RIGHT COUNT 10
LMPOP 0 a LEFT
LMPOP 5 a LEFT
LMPOP 1 a MIDDLE
LMPOP 1 a LEFT COUNT 0
LMPOP 1 a LEFT COUNT 1 COUNT 2
SET s str
LPUSH s a
LRANGE s 0 1
LMOVE m1 s LEFT LEFT
RPUSH m1 a
LMOVE m1 s LEFT LEFT
LMPOP 1 s LEFT
? HELLO 3
LPOP nokey 2
LMPOP 1 nokey LEFT
RPUSH l3 a b
LMPOP 1 l3 LEFT COUNT 5
? HELLO 2
"""

    static let sortedSets = """
FLUSHALL
ZADD z 1 a 2 b 3 c
ZADD z 1.5 a 2 d
ZADD z CH 5 a 2 b 10 e
ZADD z NX XX 1 a
ZADD z GT NX 1 a
ZADD z GT LT 1 a
ZADD z INCR 1 a 2 b
ZADD z INCR 1 a
ZADD z
ZADD z 1
ZADD z abc a
ZADD z nan a
ZADD z INCR inf a
ZADD z INCR -inf a
ZSCORE z a
ZADD z INCR 1 nonexist
ZADD z XX INCR 1 nope
ZADD z NX INCR 1 a
ZADD z GT 0 b
ZADD z GT CH 100 b
ZADD z LT CH 100 b
ZADD z XX CH 7 c 8 nope
ZADD nz XX 1 a
EXISTS nz
ZINCRBY z 2.5 c
ZINCRBY z abc c
ZINCRBY z 1 newm
ZINCRBY z 0.1 newm
ZRANGE z 0 -1 WITHSCORES
ZCARD z
ZCARD nokey
ZSCORE z nope
ZSCORE nokey a
ZMSCORE z a nope c
ZMSCORE nokey a
ZRANK z c
ZREVRANK z c
ZRANK z nope
ZRANK nokey a
FLUSHALL
ZADD z 1 a 2 b 3 c 4 d 5 e 5 f 5 g 6 h
ZCOUNT z 2 5
ZCOUNT z (2 (5
ZCOUNT z -inf +inf
ZCOUNT z 5 2
ZCOUNT z abc 2
ZCOUNT z (abc 2
ZCOUNT nokey 1 2
ZCOUNT z ( 5
ZRANGE z 0 -1
ZRANGE z 2 4 WITHSCORES
ZRANGE z -3 -1 REV WITHSCORES
ZRANGE z 0 -1 LIMIT 0 1
ZRANGE z (1 5 BYSCORE
ZRANGE z 5 (1 BYSCORE REV WITHSCORES
ZRANGE z 1 5 BYSCORE LIMIT 1 2
ZRANGE z 1 5 BYSCORE LIMIT 1 -1
ZRANGE z 1 5 BYSCORE LIMIT -1 2
ZRANGE z 1 5 BYSCORE LIMIT 100 2
ZRANGE z 1 5 BYSCORE LIMIT 0 0
ZRANGE z 5 1 BYSCORE REV LIMIT 1 2
ZRANGE z [b (f BYLEX
ZRANGE z - + BYLEX LIMIT 2 3
ZRANGE z + - BYLEX REV
ZRANGE z [b (f BYLEX WITHSCORES
ZRANGE z b f BYLEX
ZRANGE z 0 1 BYSCORE BYLEX
ZRANGE z 0 1 FOO
ZRANGE nokey 0 1
ZRANGE z a b
ZREVRANGE z 0 2 WITHSCORES
ZREVRANGE z 0 2 LIMIT 0 1
ZREVRANGE z 0 2 REV
ZRANGEBYSCORE z 2 5 WITHSCORES LIMIT 1 10
ZRANGEBYSCORE z 2 5 REV
ZREVRANGEBYSCORE z 5 2 WITHSCORES
ZREVRANGEBYSCORE z +inf -inf LIMIT 2 2
ZRANGEBYLEX z [c +
ZRANGEBYLEX z [c + WITHSCORES
ZREVRANGEBYLEX z + [c LIMIT 0 2
ZRANGEBYLEX z c +
ZLEXCOUNT z - +
ZLEXCOUNT z [b [d
ZLEXCOUNT z x y
ZLEXCOUNT nokey - +
ZRANGESTORE dst z 0 2
ZRANGE dst 0 -1 WITHSCORES
OBJECT ENCODING dst
ZRANGESTORE dst z 5 1 BYSCORE REV LIMIT 0 2
ZRANGE dst 0 -1 WITHSCORES
ZRANGESTORE dst z 100 200
EXISTS dst
ZRANGESTORE dst nokey 0 -1
ZRANGESTORE dst z 0 -1 WITHSCORES
ZRANDMEMBER nokey
ZRANDMEMBER nokey 5
ZRANDMEMBER z 0
ZRANDMEMBER z 100
ZRANDMEMBER z 100 WITHSCORES
ZRANDMEMBER z 1 foo
ZRANDMEMBER z 9223372036854775807 WITHSCORES
ZPOPMIN z
ZPOPMAX z
ZPOPMIN z 2
ZPOPMAX z 0
ZPOPMIN z -1
ZPOPMIN z 1 2
ZPOPMIN nokey
ZPOPMIN nokey 2
ZMPOP 1 z MIN
ZMPOP 2 nokey z MAX COUNT 2
ZMPOP 1 nokey MIN
ZMPOP 0 z MIN
ZMPOP 1 z FOO
ZMPOP 1 z MIN COUNT 0
ZRANGE z 0 -1 WITHSCORES
ZREM z a nope
ZREM nokey a
FLUSHALL
ZADD z 1 a 2 b 3 c 4 d 5 e
ZREMRANGEBYRANK z 0 1
ZREMRANGEBYRANK z 5 10
ZREMRANGEBYRANK z x 1
ZREMRANGEBYSCORE z (3 4
ZREMRANGEBYSCORE z a 4
ZREMRANGEBYLEX z [a [c
ZREMRANGEBYLEX z a [c
ZRANGE z 0 -1 WITHSCORES
ZREMRANGEBYSCORE z -inf inf
EXISTS z
ZREMRANGEBYRANK nokey 0 1
ZADD z1 1 a 2 b 3 c
ZADD z2 10 b 20 c 30 d
SADD st b d x
ZUNION 2 z1 z2
ZUNION 2 z1 z2 WITHSCORES
ZUNION 2 z1 z2 WEIGHTS 2 3 WITHSCORES
ZUNION 2 z1 z2 AGGREGATE MIN WITHSCORES
ZUNION 2 z1 z2 AGGREGATE MAX WITHSCORES
ZUNION 3 z1 z2 st WITHSCORES
ZINTER 2 z1 z2 WITHSCORES
ZINTER 3 z1 z2 st WITHSCORES
ZINTER 2 z1 nokey
ZDIFF 2 z1 z2 WITHSCORES
ZDIFF 2 z2 st WITHSCORES
ZDIFF 2 z1 z1
ZDIFF 2 z1 z2 WEIGHTS 1 2
ZUNION 0 z1
ZUNION -1 z1
ZUNION abc z1
ZUNION 3 z1 z2
ZUNION 2 z1 z2 WEIGHTS 1 x
ZUNION 2 z1 z2 WEIGHTS 1
ZUNION 2 z1 z2 AGGREGATE AVG
ZUNIONSTORE out 2 z1 z2
ZRANGE out 0 -1 WITHSCORES
ZUNIONSTORE out 2 z1 z2 WITHSCORES
ZINTERSTORE out 2 z1 z2 WEIGHTS 1 -1 AGGREGATE SUM
ZRANGE out 0 -1 WITHSCORES
ZDIFFSTORE out 2 z1 z2
ZRANGE out 0 -1 WITHSCORES
ZINTERSTORE out 2 z1 nokey
EXISTS out
ZINTERSTORE out 0 z1
ZINTERCARD 2 z1 z2
ZINTERCARD 2 z1 z2 LIMIT 1
ZINTERCARD 2 z1 z2 LIMIT -1
ZINTERCARD 0 z1
ZINTERCARD 2 z1 z2 WITHSCORES
SET s str
ZADD s 1 a
ZRANGE s 0 1
ZUNION 2 z1 s
ZSCAN z1 0
ZSCAN z1 0 MATCH a*
ZSCAN nokey 0
ZSCAN z1 x
ZADD fz 1.5 a 0.1 b 1e20 c -0 d 3 e
ZSCAN fz 0
ZRANGE fz 0 -1 WITHSCORES
ZADD big 1 0123456789012345678901234567890123456789012345678901234567890123456789
OBJECT ENCODING big
OBJECT ENCODING z1
? HELLO 3
ZSCORE z1 a
ZMSCORE z1 a nope
ZRANGE z1 0 -1 WITHSCORES
ZRANGE z1 0 -1
ZPOPMIN z1
ZPOPMIN z1 1
ZPOPMIN nokey 1
ZUNION 2 z1 z2 WITHSCORES
ZMPOP 1 z2 MIN COUNT 2
ZMPOP 1 nokey MIN
ZRANDMEMBER z2 5 WITHSCORES
ZINCRBY z2 1 d
ZADD z2 INCR 1 d
ZADD z2 NX INCR 1 d
ZRANGEBYSCORE z2 -inf +inf WITHSCORES
ZSCAN z2 0
? HELLO 2
"""
}
