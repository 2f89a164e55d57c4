import NIOCore
import Testing

@testable import RESP

/// Frames `input` fed in two pieces cut at `split`, returning each reply's text.
private func frames(_ input: String, split: Int) throws -> [String] {
    let bytes = Array(input.utf8)
    var framer = RESPReplyFramer()
    var buffer = ByteBuffer()
    var result: [String] = []
    for chunk in [bytes[0..<split], bytes[split...]] {
        buffer.writeBytes(chunk)
        while let frame = try framer.nextFrame(from: &buffer) {
            result.append(String(buffer: frame))
        }
    }
    return result
}

@Suite struct RESPReplyFramerTests {
    static let replies: [String] = [
        "+OK\r\n", "-ERR wrong\r\n", ":42\r\n", "$3\r\nfoo\r\n", "$-1\r\n", "$0\r\n\r\n", "*-1\r\n", "*0\r\n",
        "*2\r\n$1\r\na\r\n$-1\r\n",
        "*2\r\n*2\r\n:1\r\n:2\r\n*1\r\n+x\r\n",
        "*3\r\n*0\r\n*1\r\n*1\r\n:1\r\n$2\r\nab\r\n",
        // RESP3
        "_\r\n", ",3.14\r\n", "#t\r\n", "(12345678901234567890\r\n", "!3\r\nerr\r\n", "=7\r\ntxt:abc\r\n",
        "%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n", "~2\r\n+a\r\n+b\r\n", ">2\r\n+message\r\n+x\r\n",
        "|1\r\n+key\r\n+value\r\n:99\r\n",
        "*2\r\n|1\r\n+k\r\n+v\r\n:1\r\n:2\r\n",
    ]

    @Test(arguments: 0..<replies.count)
    func everySplitPoint(case index: Int) throws {
        let reply = Self.replies[index]
        let stream = reply + "+NEXT\r\n"
        for split in 0...stream.utf8.count {
            #expect(try frames(stream, split: split) == [reply, "+NEXT\r\n"], "split at \(split)")
        }
    }

    @Test func rejectsGarbage() {
        #expect(throws: RESPProtocolError.self) { try frames("hello\r\n", split: 0) }
        #expect(throws: RESPProtocolError.self) { try frames("$x\r\n", split: 0) }
    }

    /// Found by the resp-reply fuzz target: lengths and counts near Int64.max overflowed
    /// (`length + 2`, a map's `count * 2`) and trapped.
    @Test func hugeLengthsAndCountsDoNotOverflow() throws {
        for header in ["$", "=", "!"] {
            #expect(try frames("\(header)9223372036854775807\r\nabc", split: 0) == [])
            #expect(try frames("\(header)9223372036854775806\r\nabc", split: 0) == [])
        }
        for header in ["*", "~", ">", "%", "|"] {
            #expect(throws: RESPProtocolError.self) { try frames("\(header)9223372036854775807\r\n:1\r\n", split: 0) }
            #expect(throws: RESPProtocolError.self) { try frames("\(header)4611686018427387904\r\n:1\r\n", split: 0) }
        }
        #expect(try frames("%4611686018427387902\r\n:1\r\n", split: 0) == [])
    }

    @Test func capsNesting() {
        let deep = String(repeating: "*1\r\n", count: RESPReplyFramer.maximumDepth + 1) + ":1\r\n"
        #expect(throws: RESPProtocolError.self) { try frames(deep, split: 0) }
    }

    @Test func readsArraysAndIntegers() throws {
        let elements = try #require(RESPReplyReader.elements(of: ByteBuffer(string: "*3\r\n$1\r\na\r\n$-1\r\n:5\r\n")))
        #expect(elements.map { String(buffer: $0) } == ["$1\r\na\r\n", "$-1\r\n", ":5\r\n"])
        #expect(RESPReplyReader.integer(ByteBuffer(string: ":-12\r\n")) == -12)
        #expect(RESPReplyReader.integer(ByteBuffer(string: "+OK\r\n")) == nil)
    }

    @Test func writesNumbersAsDigits() {
        for value in [0, 7, 10, 12345, -1, -987654321, Int.max, Int.min + 1] {
            var buffer = ByteBuffer()
            buffer.writeDecimal(value)
            #expect(String(buffer: buffer) == String(value))
        }
        var error = ByteBuffer()
        error.writeRESPError("ERR line\r\nbreak")
        #expect(String(buffer: error) == "-ERR line  break\r\n")
    }
}
