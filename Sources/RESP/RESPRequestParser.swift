import NIOCore

/// Cuts client bytes into requests, resuming where it stopped when a frame is incomplete.
///
/// State survives between calls, so a large request that arrives in many reads is scanned once, and
/// nothing is ever allocated from a count the client sent. Offsets are relative to the buffer's reader
/// index, which stays at the start of the unfinished frame until the frame is complete: the caller may
/// append to (and compact) the buffer between calls. Limits and error texts are Redis 7's.
public struct RESPRequestParser: Sendable {
    public var limits: RESPLimits
    /// Before a client has authenticated, Redis caps argument counts and sizes much lower.
    public var authenticated: Bool

    private var scanned = 0
    private var remainingArguments = 0
    private var argumentCount = 0
    private var bulkLength = -1
    private var first = RESPRequest.ArgumentSpan.none
    private var second = RESPRequest.ArgumentSpan.none
    /// False once a line of this frame ended in `\r` plus something other than `\n`. Redis skips the
    /// byte after `\r` unchecked, and so does this parser; such a frame is then re-encoded, so that
    /// nothing downstream (argument walks, backends the proxy forwards to) meets the odd byte.
    private var canonical = true
    /// Bulk arguments of at least this many bytes are collected into an array of their own as
    /// they arrive instead of in the caller's buffer (see `takeBigArgument`); `Int.max` (the
    /// default, and the proxy's) turns this off.
    public var bigArgumentThreshold = Int.max
    /// While a big argument is collected: the frame's bytes before it, with an empty argument in
    /// its place, the argument so far, and how many of its bytes (and its terminator's) are to come.
    private var bigPrefix: ByteBuffer?
    private var big: RESPBigArgument?
    private var bigRemaining = 0
    /// The big argument of the request `next` returned last, until taken.
    private var completedBig: RESPBigArgument?

    public init(limits: RESPLimits = RESPLimits(), authenticated: Bool = true) {
        self.limits = limits
        self.authenticated = authenticated
    }

    private enum Step {
        case request(frameLength: Int)
        case skip(Int)
        case inline(lineLength: Int, consumed: Int)
        case needMoreData
        case failure(RESPProtocolError)
        case bigArgument(lineStart: Int, payloadStart: Int)
    }

    /// The big argument of the request `next` just returned, if it had one: that request's frame
    /// holds an empty argument in its place (`RESPRequest.insertingBigArgument` puts it back).
    public mutating func takeBigArgument() -> RESPBigArgument? {
        defer { completedBig = nil }
        return completedBig
    }

    /// The next complete request in `buffer`, consuming its bytes; `nil` when more bytes are needed.
    /// Empty lines, `*0` and `*-1` are consumed and ignored, as Redis does.
    public mutating func next(from buffer: inout ByteBuffer) throws(RESPProtocolError) -> RESPRequest? {
        completedBig = nil
        while true {
            if bigRemaining > 0 {
                // Inside a big argument: its bytes go to its array and leave the buffer at once.
                let available = buffer.readableBytes
                guard available > 0 else { return nil }
                let take = min(available, bigRemaining)
                let copy = min(take, bigRemaining - 2)
                if copy > 0 {
                    buffer.withUnsafeReadableBytes { bytes in
                        big!.bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[0..<copy]))
                    }
                }
                // Its terminator is skipped unchecked, as Redis does (the placeholder is canonical).
                buffer.moveReaderIndex(forwardBy: take)
                bigRemaining -= take
                if bigRemaining > 0 { return nil }
                if remainingArguments == 0 { return finish(frameLength: 0, from: &buffer) }
            }
            let step = buffer.withUnsafeReadableBytes { bytes in self.scan(bytes) }
            switch step {
            case .needMoreData:
                return nil
            case .failure(let error):
                throw error
            case .skip(let count):
                buffer.moveReaderIndex(forwardBy: count)
            case .request(let frameLength):
                return finish(frameLength: frameLength, from: &buffer)
            case .bigArgument(let lineStart, let payloadStart):
                let index = argumentCount - remainingArguments
                var prefix = ByteBufferAllocator().buffer(capacity: lineStart + 6)
                prefix.writeBytes(buffer.readableBytesView.prefix(lineStart))
                prefix.writeStaticString("$0\r\n")
                let span = RESPRequest.ArgumentSpan(offset: Int32(prefix.writerIndex), length: 0)
                if index == 0 { first = span } else if index == 1 { second = span }
                prefix.writeStaticString("\r\n")
                bigPrefix = prefix
                // Sized to the length the client announced, as Redis sizes its query buffer for a
                // big argument (only authenticated clients can announce more than 16 KB).
                var bytes: [UInt8] = []
                bytes.reserveCapacity(bulkLength)
                big = RESPBigArgument(index: index, bytes: bytes)
                bigRemaining = bulkLength + 2
                buffer.moveReaderIndex(forwardBy: payloadStart)
                scanned = 0
                bulkLength = -1
                remainingArguments -= 1
            case .inline(let lineLength, let consumed):
                let arguments = buffer.withUnsafeReadableBytes { bytes in
                    InlineRequestSplitter.split(UnsafeRawBufferPointer(rebasing: bytes[0..<lineLength]))
                }
                buffer.moveReaderIndex(forwardBy: consumed)
                guard let arguments else { throw .unbalancedQuotes }
                if arguments.isEmpty { continue }
                return RESPRequest(arguments: arguments)
            }
        }
    }

    /// Cuts the complete request (whose rest is the first `frameLength` bytes of `buffer`).
    private mutating func finish(frameLength: Int, from buffer: inout ByteBuffer) -> RESPRequest {
        var frame = buffer.readSlice(length: frameLength)!
        if var prefix = bigPrefix {
            // Spans found after the big argument are relative to the rest.
            if big!.index == 0 && argumentCount > 1 { second.offset += Int32(prefix.readableBytes) }
            prefix.writeBuffer(&frame)
            frame = prefix
            completedBig = big
        }
        var request = RESPRequest(frame: frame, argumentCount: argumentCount, first: first, second: second)
        if !canonical { request = request.canonicalized() }
        resetFrameState()
        return request
    }

    private mutating func resetFrameState() {
        bigPrefix = nil
        big = nil
        bigRemaining = 0
        scanned = 0
        remainingArguments = 0
        argumentCount = 0
        bulkLength = -1
        first = .none
        second = .none
        canonical = true
    }

    /// Notes whether the two bytes at `index` are `\r\n`.
    @inline(__always)
    private mutating func checkTerminator(_ bytes: UnsafeRawBufferPointer, at index: Int) {
        if bytes[index] != UInt8(ascii: "\r") || bytes[index + 1] != UInt8(ascii: "\n") { canonical = false }
    }

    /// Index of the first `byte` at or after `start`, or nil.
    @inline(__always)
    private func find(_ byte: UInt8, in bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var index = start
        let end = bytes.count
        while index < end {
            if bytes[index] == byte { return index }
            index += 1
        }
        return nil
    }

    private mutating func scan(_ bytes: UnsafeRawBufferPointer) -> Step {
        if scanned == 0 && remainingArguments == 0 {
            guard !bytes.isEmpty else { return .needMoreData }
            if bytes[0] != UInt8(ascii: "*") { return scanInline(bytes) }
            // `*N\r\n`
            guard let cr = find(UInt8(ascii: "\r"), in: bytes, from: 1) else {
                return bytes.count > limits.maxInlineLength ? .failure(.tooBigMultibulkCount) : .needMoreData
            }
            guard cr + 1 < bytes.count else { return .needMoreData }
            guard let count = DecimalBytes.parse(bytes, from: 1, to: cr), count <= Int(Int32.max) else {
                return .failure(.invalidMultibulkLength)
            }
            if count > limits.unauthenticatedMaxArguments && !authenticated {
                return .failure(.unauthenticatedMultibulkLength)
            }
            if count <= 0 { return .skip(cr + 2) }
            checkTerminator(bytes, at: cr)
            scanned = cr + 2
            remainingArguments = count
            argumentCount = count
        }
        while remainingArguments > 0 {
            if bulkLength < 0 {
                guard let cr = find(UInt8(ascii: "\r"), in: bytes, from: scanned) else {
                    return bytes.count - scanned > limits.maxInlineLength
                        ? .failure(.tooBigBulkCount) : .needMoreData
                }
                guard cr + 1 < bytes.count else { return .needMoreData }
                guard bytes[scanned] == UInt8(ascii: "$") else {
                    return .failure(.expectedDollar(got: bytes[scanned]))
                }
                guard let length = DecimalBytes.parse(bytes, from: scanned + 1, to: cr),
                    length >= 0, length <= limits.maxBulkLength
                else { return .failure(.invalidBulkLength) }
                if length > limits.unauthenticatedMaxBulkLength && !authenticated {
                    return .failure(.unauthenticatedBulkLength)
                }
                checkTerminator(bytes, at: cr)
                let lineStart = scanned
                scanned = cr + 2
                bulkLength = length
                if length >= bigArgumentThreshold && bigPrefix == nil {
                    return .bigArgument(lineStart: lineStart, payloadStart: scanned)
                }
            }
            // Redis skips the two bytes after the payload without checking them; so does this (and
            // re-encodes the frame when they are not `\r\n`).
            guard bytes.count - scanned >= bulkLength + 2 else { return .needMoreData }
            checkTerminator(bytes, at: scanned + bulkLength)
            let index = argumentCount - remainingArguments
            if index < 2 {
                let span = RESPRequest.ArgumentSpan(offset: Int32(scanned), length: Int32(bulkLength))
                if index == 0 { first = span } else { second = span }
            }
            scanned += bulkLength + 2
            bulkLength = -1
            remainingArguments -= 1
        }
        return .request(frameLength: scanned)
    }

    private func scanInline(_ bytes: UnsafeRawBufferPointer) -> Step {
        guard let newline = find(UInt8(ascii: "\n"), in: bytes, from: 0) else {
            return bytes.count > limits.maxInlineLength ? .failure(.tooBigInlineRequest) : .needMoreData
        }
        var lineEnd = newline
        if lineEnd > 0 && bytes[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
        if lineEnd == 0 { return .skip(newline + 1) }
        return .inline(lineLength: lineEnd, consumed: newline + 1)
    }
}
