import Foundation
import Testing

@testable import ShardgateNode

/// PFADD of "<prefix><i>" for i < count, `batch` per command, as recorded from redis-server.
struct HyperLogLogAddVector: Sendable {
    let name: String
    let prefix: String
    let count: Int
    let batch: Int
    let sparseMaxBytes: Int
    /// Each PFADD's reply, "0" or "1".
    let replies: String
    /// PFDEBUG DECODE after the adds, nil when the value is dense.
    let decoded: String?
    let cardinality: Int
    /// The value after the adds (GET), base64.
    let value: String
}

/// PFMERGE of sources built like `HyperLogLogAddVector`s (batches of 1000) into a new key.
struct HyperLogLogMergeVector: Sendable {
    let name: String
    let sources: [(String, Int)]
    let sparseMaxBytes: Int
    /// PFCOUNT of all the sources.
    let union: Int
    let value: String
}

/// A value written with SET and what PFCOUNT and PFMERGE answered for it.
struct HyperLogLogCraftedVector: Sendable {
    enum Result: Sendable, Equatable {
        case count(Int)
        case error(String)
    }
    let name: String
    let result: Result
    /// PFMERGE's reply: "OK" or the error.
    let merge: String
    let value: String
}

@Suite struct HyperLogLogTests {
    static func decode(_ base64: String) -> [UInt8] { Array(Data(base64Encoded: base64)!) }

    static func element(_ prefix: String, _ index: Int) -> [UInt8] { Array("\(prefix)\(index)".utf8) }

    /// PFADD's steps over a value (the command's loop): the reply and whether the code was corrupt.
    static func pfadd(_ bytes: inout [UInt8], _ elements: [[UInt8]], created: Bool, sparseMaxBytes: Int) -> Int {
        var updated = created ? 1 : 0
        for element in elements {
            let update = element.withUnsafeBytes { HyperLogLog.add(&bytes, $0, sparseMaxBytes: sparseMaxBytes) }
            #expect(update != .corrupt)
            if update == .changed { updated += 1 }
        }
        if updated > 0 { HyperLogLog.invalidateCache(&bytes) }
        return updated > 0 ? 1 : 0
    }

    /// A value built by PFADD of `count` elements in batches, and its replies.
    static func build(prefix: String, count: Int, batch: Int, sparseMaxBytes: Int) -> (bytes: [UInt8], replies: String) {
        var bytes = HyperLogLog.empty()
        var replies = ""
        var start = 0
        repeat {
            let elements = (start..<min(count, start + batch)).map { element(prefix, $0) }
            replies += String(pfadd(&bytes, elements, created: start == 0, sparseMaxBytes: sparseMaxBytes))
            start += batch
        } while start < count
        return (bytes, replies)
    }

    @Test(arguments: hyperLogLogAddVectors.map { $0.name })
    func addsWriteRedisBytes(name: String) throws {
        let vector = try #require(hyperLogLogAddVectors.first { $0.name == name })
        var (bytes, replies) = Self.build(
            prefix: vector.prefix, count: vector.count, batch: vector.batch, sparseMaxBytes: vector.sparseMaxBytes)
        #expect(replies == vector.replies)
        #expect(bytes == Self.decode(vector.value), "\(bytes.count) bytes, Redis \(Self.decode(vector.value).count)")
        #expect(HyperLogLog.isSparse(bytes) == (vector.decoded != nil))
        if let decoded = vector.decoded { #expect(HyperLogLog.describeSparse(bytes) == decoded) }
        let answer = try #require(HyperLogLog.cardinality(&bytes))
        #expect(answer.value == UInt64(vector.cardinality))
        #expect(!answer.cached)
        #expect(HyperLogLog.cardinality(&bytes)?.cached == true)
    }

    @Test func estimatorMatchesRedisAtEachCardinality() {
        for (cardinality, expected) in hyperLogLogCountVectors {
            let (bytes, _) = Self.build(prefix: "c\(cardinality):", count: cardinality, batch: 1000, sparseMaxBytes: 3000)
            #expect(HyperLogLog.count(bytes) == UInt64(expected), "\(cardinality) elements")
        }
    }

    @Test(arguments: hyperLogLogMergeVectors.map { $0.name })
    func mergeWritesRedisBytes(name: String) throws {
        let vector = try #require(hyperLogLogMergeVectors.first { $0.name == name })
        var registers = [UInt8](repeating: 0, count: HyperLogLog.registerCount)
        var anyDense = false
        for (prefix, count) in vector.sources {
            let (source, _) = Self.build(prefix: prefix, count: count, batch: 1000, sparseMaxBytes: vector.sparseMaxBytes)
            anyDense = anyDense || !HyperLogLog.isSparse(source)
            #expect(HyperLogLog.merge(source, into: &registers))
        }
        #expect(HyperLogLog.estimate(HyperLogLog.histogram(registers: registers)) == UInt64(vector.union))
        var destination = HyperLogLog.empty()
        #expect(HyperLogLog.store(
            registers: registers, into: &destination, makingDense: anyDense, sparseMaxBytes: vector.sparseMaxBytes))
        #expect(destination == Self.decode(vector.value))
    }

    @Test(arguments: hyperLogLogCraftedVectors.map { $0.name })
    func craftedValuesCountAsInRedis(name: String) throws {
        let vector = try #require(hyperLogLogCraftedVectors.first { $0.name == name })
        var bytes = Self.decode(vector.value)
        #expect(HyperLogLog.isValid(bytes))
        let result = HyperLogLog.cardinality(&bytes).map { HyperLogLogCraftedVector.Result.count(Int(truncatingIfNeeded: $0.value)) }
        #expect((result ?? .error("INVALIDOBJ Corrupted HLL object detected")) == vector.result)
        var registers = [UInt8](repeating: 0, count: HyperLogLog.registerCount)
        #expect((HyperLogLog.merge(bytes, into: &registers) ? "OK" : "INVALIDOBJ Corrupted HLL object detected") == vector.merge)
    }

    @Test func hashPicksRedisRegister() {
        // "x0" lands in register 4316 with a run of 14 ("one element": `Z:4316 v:14,1 Z:12067`).
        let (index, count) = Array("x0".utf8).withUnsafeBytes { HyperLogLog.registerAndCount($0) }
        #expect(index == 4316)
        #expect(count == 14)
    }

    @Test func denseRegistersKeepTheirNeighbours() {
        var bytes = [UInt8](repeating: 0, count: HyperLogLog.denseSize)
        var expected = [UInt8](repeating: 0, count: HyperLogLog.registerCount)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<3 {
            for index in expected.indices { expected[index] = UInt8.random(in: 0...63, using: &generator) }
            bytes.withUnsafeMutableBytes { buffer in
                for (index, value) in expected.enumerated() { HyperLogLog.setDenseRegister(buffer, index, value) }
            }
            #expect(HyperLogLog.registers(bytes) == expected)
        }
        #expect(bytes[..<HyperLogLog.headerSize].allSatisfy { $0 == 0 })
    }

    @Test func countAbove32PromotesAndKeepsTheHeader() {
        var bytes = HyperLogLog.empty()
        HyperLogLog.setCachedCardinality(&bytes, 7)
        #expect(HyperLogLog.raise(&bytes, index: 5, count: 33, sparseMaxBytes: 3000) == .changed)
        #expect(bytes.count == HyperLogLog.denseSize)
        #expect(!HyperLogLog.isSparse(bytes))
        #expect(HyperLogLog.cachedCardinality(bytes) == 7)
        let registers = HyperLogLog.registers(bytes)
        #expect(registers[5] == 33)
        #expect(registers.enumerated().allSatisfy { $0.offset == 5 || $0.element == 0 })
        #expect(HyperLogLog.raise(&bytes, index: 5, count: 20, sparseMaxBytes: 3000) == .unchanged)
    }

    @Test func sparseGrowthPromotesPastTheLimit() {
        var bytes = HyperLogLog.empty()
        // Register 100 splits the XZERO into XZERO-VAL-XZERO: 18 + 3 bytes.
        #expect(HyperLogLog.raise(&bytes, index: 100, count: 3, sparseMaxBytes: 21) == .changed)
        #expect(HyperLogLog.describeSparse(bytes) == "Z:100 v:3,1 Z:16283")
        #expect(bytes.count == 21)
        // Its neighbour splits the next XZERO (one byte more), then merges into one VAL.
        var roomy = bytes
        #expect(HyperLogLog.raise(&roomy, index: 101, count: 3, sparseMaxBytes: 3000) == .changed)
        #expect(HyperLogLog.describeSparse(roomy) == "Z:100 v:3,2 Z:16282")
        #expect(roomy.count == 21)
        // The limit is checked on the split, before the merge, as in Redis: 22 > 21 turns it dense.
        #expect(HyperLogLog.raise(&bytes, index: 101, count: 3, sparseMaxBytes: 21) == .changed)
        #expect(!HyperLogLog.isSparse(bytes))
        let registers = HyperLogLog.registers(bytes)
        #expect(registers[100...101] == [3, 3])
        #expect(registers.reduce(0) { $0 + Int($1) } == 6)
    }

    @Test func corruptSparseCodesAreRefused() {
        let header = Array(HyperLogLog.empty()[..<HyperLogLog.headerSize])
        var noOpcode = header
        #expect(HyperLogLog.raise(&noOpcode, index: 0, count: 1, sparseMaxBytes: 3000) == .corrupt)
        var short = header + HyperLogLog.xzeroOpcode(100)
        #expect(HyperLogLog.raise(&short, index: 200, count: 1, sparseMaxBytes: 3000) == .corrupt)
        #expect(HyperLogLog.raise(&short, index: 50, count: 40, sparseMaxBytes: 3000) == .corrupt)
        #expect(short == header + HyperLogLog.xzeroOpcode(100))
        #expect(HyperLogLog.count(short) == nil)
        var registers = [UInt8](repeating: 0, count: HyperLogLog.registerCount)
        #expect(!HyperLogLog.merge(short, into: &registers))
        #expect(!HyperLogLog.isValid(Array("HYLL".utf8) + [2] + [UInt8](repeating: 0, count: 11)))
        #expect(!HyperLogLog.isValid(Array(header.dropLast())))
        #expect(!HyperLogLog.isValid([UInt8](repeating: 0, count: HyperLogLog.denseSize)))
        var dense = [UInt8](repeating: 0, count: HyperLogLog.denseSize)
        dense.replaceSubrange(0..<4, with: Array("HYLL".utf8))
        #expect(HyperLogLog.isValid(dense))
        #expect(!HyperLogLog.isValid(dense + [0]))
    }

    @Test func emptyValueIsRedis() {
        let empty = HyperLogLog.empty()
        #expect(empty == Array("HYLL".utf8) + [1, 0, 0, 0] + [UInt8](repeating: 0, count: 8) + [0x7f, 0xff])
        #expect(HyperLogLog.count(empty) == 0)
        #expect(HyperLogLog.cachedCardinality(empty) == 0)
    }
}
