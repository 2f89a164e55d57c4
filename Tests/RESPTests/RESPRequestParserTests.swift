import NIOCore
import Testing

@testable import RESP

/// Feeds `input` to a fresh parser cut at `split`, as two reads, and returns the requests' arguments.
private func parse(
    _ input: [UInt8], split: Int? = nil, authenticated: Bool = true, leftover: Int = 0
) throws -> [[String]] {
    var parser = RESPRequestParser(authenticated: authenticated)
    var buffer = ByteBuffer()
    var requests: [[String]] = []
    let cut = split ?? input.count
    for chunk in [input[0..<cut], input[cut...]] {
        buffer.writeBytes(chunk)
        while let request = try parser.next(from: &buffer) {
            requests.append((0..<request.argumentCount).map { request.string($0) })
        }
    }
    #expect(buffer.readableBytes == leftover, "bytes left over")
    return requests
}

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

@Suite struct RESPRequestParserTests {
    static let frames: [(String, [[String]])] = [
        ("*1\r\n$4\r\nPING\r\n", [["PING"]]),
        ("*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n", [["GET", "foo"]]),
        ("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n", [["SET", "k", ""]]),
        ("*4\r\n$4\r\nMGET\r\n$1\r\na\r\n$1\r\nb\r\n$2\r\ncc\r\n", [["MGET", "a", "b", "cc"]]),
        ("*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n", [["PING"], ["ECHO", "hi"]]),
        ("PING\r\n", [["PING"]]),
        ("set k \"a b\\x41\\n\"\n", [["set", "k", "a bA\n"]]),
        ("get 'it\\'s'\r\n", [["get", "it's"]]),
        ("\r\n\n*0\r\n*-1\r\nPING\r\n", [["PING"]]),
        ("   \r\n*1\r\n$4\r\nPING\r\n", [["PING"]]),
        // Redis skips the byte after each `\r` unchecked; so does the parser.
        ("*2\rX$3\r\nGET\r\n$1\r\nk\r\n", [["GET", "k"]]),
        ("*3\r\n$4\rYAUTH\r\n$7\r\ndefault\rZ$1\r\nxWV", [["AUTH", "default", "x"]]),
    ]

    @Test(arguments: 0..<frames.count)
    func everySplitPoint(case index: Int) throws {
        let (text, expected) = Self.frames[index]
        let input = bytes(text)
        for split in 0...input.count {
            #expect(try parse(input, split: split) == expected, "split at \(split)")
        }
    }

    @Test func byteAtATimeKeepsProgress() throws {
        var parser = RESPRequestParser()
        var buffer = ByteBuffer()
        let payload = String(repeating: "x", count: 5000)
        let input = bytes("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5000\r\n\(payload)\r\n")
        var got: RESPRequest?
        for byte in input {
            buffer.writeInteger(byte)
            if let request = try parser.next(from: &buffer) { got = request }
        }
        let request = try #require(got)
        #expect(request.argumentCount == 3)
        #expect(request.string(2) == payload)
        #expect(request.frame.readableBytes == input.count)
    }

    /// With a big-argument threshold, the argument at each position comes apart from the frame
    /// (whatever the reads), the bytes before and after it stay parsed as usual, and putting it back
    /// gives the frame as sent. Only the first big argument of a frame comes apart.
    @Test(arguments: [0, 1, 2, 3])
    func bigArgumentComesApart(position: Int) throws {
        var arguments: [[UInt8]] = [bytes("SET"), bytes("key"), bytes("value"), bytes("KEEPTTL")]
        arguments[position] = (0..<300).map { UInt8($0 % 251) }
        if position < 3 { arguments[3] = [UInt8](repeating: 7, count: 60) }  // a second big one stays
        let frame = RESPRequest(arguments: arguments).frame
        let input = Array(frame.readableBytesView) + bytes("*1\r\n$4\r\nPING\r\n")
        for chunk in [1, 3, 7, 64, 1000] {
            var parser = RESPRequestParser()
            parser.bigArgumentThreshold = 50
            var buffer = ByteBuffer()
            var requests: [(RESPRequest, RESPBigArgument?)] = []
            var offset = 0
            while offset < input.count {
                buffer.writeBytes(input[offset..<min(input.count, offset + chunk)])
                offset += chunk
                while let request = try parser.next(from: &buffer) { requests.append((request, parser.takeBigArgument())) }
                // The big argument never waits in the buffer.
                #expect(buffer.readableBytes <= chunk + 100)
            }
            try #require(requests.count == 2)
            let (request, big) = requests[0]
            let argument = try #require(big)
            #expect(argument.index == position && argument.bytes == arguments[position])
            #expect(request.span(position).length == 0)
            for index in 0..<4 where index != position {
                #expect(request.withArgument(index) { Array($0) } == arguments[index])
            }
            let whole = request.insertingBigArgument(argument)
            #expect(whole.frame == frame, "chunk \(chunk)")
            for index in 0..<4 { #expect(whole.withArgument(index) { Array($0) } == arguments[index]) }
            #expect(requests[1].0.string(0) == "PING" && requests[1].1 == nil)
        }
    }

    @Test func frameIsForwardedUnchanged() throws {
        var parser = RESPRequestParser()
        let input = bytes("*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n")
        var buffer = ByteBuffer(bytes: input)
        let request = try #require(try parser.next(from: &buffer))
        #expect(Array(request.frame.readableBytesView) == input)
        #expect(request.allSpans().map { Int($0.length) } == [3, 3])
    }

    /// `span(i)` walks to one argument; it must find what the full walk finds for every index.
    @Test func spanOfEachArgumentMatchesTheFullWalk() throws {
        let arguments = (0..<14).map { index in String(repeating: "x", count: index * 7 % 12) }
        var parser = RESPRequestParser()
        var buffer = ByteBuffer(bytes: bytes(
            "*\(arguments.count)\r\n" + arguments.map { "$\($0.count)\r\n\($0)\r\n" }.joined()))
        let request = try #require(try parser.next(from: &buffer))
        let all = request.allSpans()
        #expect(all.count == arguments.count)
        for index in 0..<arguments.count {
            #expect(request.span(index) == all[index], "argument \(index)")
            #expect(request.string(index) == arguments[index])
        }
    }

    /// A frame whose terminators the parser let through is forwarded (and walked) as `\r\n` only.
    @Test func oddTerminatorsAreReencoded() throws {
        var parser = RESPRequestParser()
        var buffer = ByteBuffer(string: "*3\rX$3\r\nDEL\r\n$1\rYa\r\n$2\r\nbbZZ*1\r\n$4\r\nPING\r\n")
        let request = try #require(try parser.next(from: &buffer))
        #expect(String(buffer: request.frame) == "*3\r\n$3\r\nDEL\r\n$1\r\na\r\n$2\r\nbb\r\n")
        #expect((0..<3).map { request.string($0) } == ["DEL", "a", "bb"])
        let next = try #require(try parser.next(from: &buffer))
        #expect(next.string(0) == "PING")
    }

    @Test func inlineRequestIsReencodedAsMultibulk() throws {
        var parser = RESPRequestParser()
        var buffer = ByteBuffer(string: "GET foo\r\n")
        let request = try #require(try parser.next(from: &buffer))
        #expect(String(buffer: request.frame) == "*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n")
        #expect(request.string(1) == "foo")
    }

    static let errors: [(String, String, Bool)] = [
        ("*x\r\n", "Protocol error: invalid multibulk length", true),
        ("*3000000000\r\n", "Protocol error: invalid multibulk length", true),
        ("*1\r\n$-1\r\n", "Protocol error: invalid bulk length", true),
        ("*1\r\n$abc\r\n", "Protocol error: invalid bulk length", true),
        ("*1\r\n$536870913\r\n", "Protocol error: invalid bulk length", true),
        ("*1\r\nx3\r\nGET\r\n", "Protocol error: expected '$', got 'x'", true),
        ("set k \"abc\n", "Protocol error: unbalanced quotes in request", true),
        ("set k \"abc\"x\n", "Protocol error: unbalanced quotes in request", true),
        ("*11\r\n", "Protocol error: unauthenticated multibulk length", false),
        ("*1\r\n$16385\r\n", "Protocol error: unauthenticated bulk length", false),
    ]

    @Test(arguments: 0..<errors.count)
    func redisErrorTexts(case index: Int) {
        let (text, message, authenticated) = Self.errors[index]
        #expect(throws: RESPProtocolError(message)) {
            try parse(bytes(text), authenticated: authenticated)
        }
    }

    @Test func unauthenticatedLimitsAllowSmallRequests() throws {
        #expect(try parse(bytes("*2\r\n$4\r\nAUTH\r\n$3\r\npwd\r\n"), authenticated: false) == [["AUTH", "pwd"]])
    }

    @Test func oversizedLinesWithoutTerminator() {
        let inline = [UInt8](repeating: UInt8(ascii: "a"), count: 64 * 1024 + 1)
        #expect(throws: RESPProtocolError("Protocol error: too big inline request")) { try parse(inline) }
        let count = bytes("*") + [UInt8](repeating: UInt8(ascii: "1"), count: 64 * 1024 + 1)
        #expect(throws: RESPProtocolError("Protocol error: too big mbulk count string")) { try parse(count) }
        let bulk = bytes("*1\r\n$") + [UInt8](repeating: UInt8(ascii: "1"), count: 64 * 1024 + 1)
        #expect(throws: RESPProtocolError("Protocol error: too big bulk count string")) { try parse(bulk) }
    }

    @Test func incompleteInputWaits() throws {
        #expect(try parse(bytes("*2\r\n$3\r\nGET\r\n$3\r\nfo"), leftover: 19).isEmpty)
    }

    @Test func buildsRequestsFromArguments() {
        let request = RESPRequest(arguments: [Array("MGET".utf8), Array("a".utf8), [0xFF, 0x00]])
        #expect(Array(request.frame.readableBytesView) == Array("*3\r\n$4\r\nMGET\r\n$1\r\na\r\n$2\r\n".utf8) + [0xFF, 0x00, 13, 10])
        #expect(request.allSpans().count == 3)
        #expect(request.withArgument(2) { Array($0) } == [0xFF, 0x00])
    }
}
