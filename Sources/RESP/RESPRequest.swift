import NIOCore

/// One client request, kept as the raw multibulk frame it arrived in.
///
/// The frame is a slice of the connection's read buffer, so a request that is only routed is forwarded
/// without being copied or re-encoded. The first two arguments (command name and, for most commands,
/// the key) are located during parsing; the rest are found on demand by walking the frame.
public struct RESPRequest: Sendable {
    /// The whole request as a RESP multibulk (`*N\r\n$len\r\n...`); inline requests are re-encoded.
    public let frame: ByteBuffer
    /// Number of arguments, the command name included.
    public let argumentCount: Int
    @usableFromInline let first: ArgumentSpan
    @usableFromInline let second: ArgumentSpan

    init(frame: ByteBuffer, argumentCount: Int, first: ArgumentSpan, second: ArgumentSpan) {
        self.frame = frame
        self.argumentCount = argumentCount
        self.first = first
        self.second = second
    }

    /// Where one argument's bytes sit inside `frame` (offsets from its reader index).
    public struct ArgumentSpan: Sendable, Equatable {
        public var offset: Int32
        public var length: Int32
        public init(offset: Int32, length: Int32) {
            self.offset = offset
            self.length = length
        }
        public static let none = ArgumentSpan(offset: 0, length: 0)
        public var range: Range<Int> { Int(offset)..<Int(offset + length) }
    }

    /// The span of argument `index` (0 is the command name). O(1) for the first two, else a walk.
    public func span(_ index: Int) -> ArgumentSpan {
        precondition(index < argumentCount, "argument index out of range")
        switch index {
        case 0: return first
        case 1: return second
        default:
            // Walks the headers from the second argument on, as `collectSpans` does, without
            // collecting the spans it passes.
            return frame.withUnsafeReadableBytes { bytes in
                var position = Int(second.offset) + Int(second.length) + 2
                var span = ArgumentSpan.none
                for _ in 2...index { span = Self.nextSpan(in: bytes, at: &position) }
                return span
            }
        }
    }

    /// Calls `body` with the bytes of argument `index`.
    @inlinable
    public func withArgument<T>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        let span = index == 0 ? first : (index == 1 ? second : self.span(index))
        return try frame.withUnsafeReadableBytes { bytes in
            try body(UnsafeRawBufferPointer(rebasing: bytes[span.range]))
        }
    }

    /// The bytes of argument `index` as a slice of the frame (no copy).
    public func argumentBuffer(_ index: Int) -> ByteBuffer {
        let span = self.span(index)
        return frame.getSlice(at: frame.readerIndex + Int(span.offset), length: Int(span.length))!
    }

    /// Every argument's span, in order. Allocates: for multi-key commands, not for the hot path.
    public func allSpans() -> [ArgumentSpan] {
        var spans: [ArgumentSpan] = []
        collectSpans(into: &spans)
        return spans
    }

    /// Appends every argument's span, in order, to `spans` (which a caller can reuse between requests).
    /// Walks lines the way the parser accepted them: a line ends at its `\r`, and the byte after it
    /// is skipped whatever it is.
    public func collectSpans(into spans: inout [ArgumentSpan]) {
        spans.reserveCapacity(spans.count + argumentCount)
        // The first two were located by the parser (or the builder); the walk starts after them.
        guard argumentCount > 0 else { return }
        spans.append(first)
        guard argumentCount > 1 else { return }
        spans.append(second)
        guard argumentCount > 2 else { return }
        frame.withUnsafeReadableBytes { bytes in
            var position = Int(second.offset) + Int(second.length) + 2
            for _ in 2..<argumentCount { spans.append(Self.nextSpan(in: bytes, at: &position)) }
        }
    }

    /// The span of the argument whose `$len\r\n` header starts at `position`, which moves past it.
    @inline(__always)
    private static func nextSpan(in bytes: UnsafeRawBufferPointer, at position: inout Int) -> ArgumentSpan {
        position += 1
        var length = 0
        while bytes[position] != UInt8(ascii: "\r") {
            length = length * 10 + Int(bytes[position] &- UInt8(ascii: "0"))
            position += 1
        }
        position += 2
        let span = ArgumentSpan(offset: Int32(position), length: Int32(length))
        position += length + 2
        return span
    }

    /// The same request re-encoded with `\r\n` after every line (for frames whose terminators the
    /// parser let through, as Redis does, without checking).
    func canonicalized() -> RESPRequest {
        let arguments = allSpans().map { span in
            frame.withUnsafeReadableBytes { Array(UnsafeRawBufferPointer(rebasing: $0[span.range])) }
        }
        return RESPRequest(arguments: arguments)
    }

    /// Argument `index` decoded as a String (for control commands; never on the data path).
    public func string(_ index: Int) -> String {
        withArgument(index) { String(decoding: $0, as: UTF8.self) }
    }

    /// Builds a request from arguments, encoding it as a multibulk frame.
    public init(arguments: [[UInt8]], allocator: ByteBufferAllocator = ByteBufferAllocator()) {
        var size = 16
        for argument in arguments { size += argument.count + 16 }
        var builder = Builder(argumentCount: arguments.count, capacity: size, allocator: allocator)
        for argument in arguments { argument.withUnsafeBytes { _ = builder.append($0) } }
        self = builder.request
    }

    /// Encodes a request argument by argument, straight from wherever the bytes are (a script's
    /// `redis.call` reads them from Lua), with no array per argument.
    public struct Builder {
        private var buffer: ByteBuffer
        private let argumentCount: Int
        private var first = ArgumentSpan.none
        private var second = ArgumentSpan.none
        private var appended = 0

        public init(argumentCount: Int, capacity: Int, allocator: ByteBufferAllocator = ByteBufferAllocator()) {
            self.argumentCount = argumentCount
            buffer = allocator.buffer(capacity: capacity)
            buffer.writeRESPArrayHeader(argumentCount)
        }

        /// Builds into `storage`, cleared first: a caller that builds request after request (a
        /// script's `redis.call`) hands back the previous request's frame instead of allocating.
        /// (Consumed, so the buffer can be the storage's only owner: a shared one is copied on clear.)
        public init(argumentCount: Int, reusing storage: consuming ByteBuffer) {
            self.argumentCount = argumentCount
            buffer = consume storage
            buffer.clear()
            buffer.writeRESPArrayHeader(argumentCount)
        }

        /// One write per argument (`$`, length, CRLF, bytes, CRLF): NIO's per-call checks, paid
        /// once instead of five times.
        /// Returns where the argument sits in the frame (`RESPRequest.collectSpans` would find it).
        @discardableResult
        public mutating func append(_ argument: UnsafeRawBufferPointer) -> ArgumentSpan {
            let start = buffer.writerIndex
            let header = buffer.writeRESPBulkString(bytes: argument)
            let span = ArgumentSpan(offset: Int32(start + header), length: Int32(argument.count))
            if appended == 0 { first = span } else if appended == 1 { second = span }
            appended += 1
            return span
        }

        /// The request; every argument must have been appended.
        public var request: RESPRequest {
            precondition(appended == argumentCount, "a request built with \(appended) of \(argumentCount) arguments")
            return RESPRequest(frame: buffer, argumentCount: argumentCount, first: first, second: second)
        }
    }
}

/// A large bulk argument the parser collected into an array of its own (`RESPRequestParser
/// .bigArgumentThreshold`), so a command can keep it without copying it out of the request.
public struct RESPBigArgument: Sendable {
    /// Its position in the request (0 is the command name).
    public let index: Int
    public var bytes: [UInt8]
    public init(index: Int, bytes: [UInt8]) {
        self.index = index
        self.bytes = bytes
    }
}

extension RESPRequest {
    /// The request as the client sent it: `big` in place of the empty argument the parser left at
    /// its position. Copies the argument (for the rare consumers that need the whole frame).
    public func insertingBigArgument(_ big: RESPBigArgument) -> RESPRequest {
        let placeholder = span(big.index)
        let headerStart = Int(placeholder.offset) - 4  // `$0\r\n`
        var buffer = ByteBufferAllocator().buffer(capacity: frame.readableBytes + big.bytes.count + 16)
        var rest = frame
        var before = rest.readSlice(length: headerStart)!
        rest.moveReaderIndex(forwardBy: 4)
        buffer.writeBuffer(&before)
        buffer.writeRESPHeader(UInt8(ascii: "$"), big.bytes.count)
        let offset = buffer.writerIndex
        buffer.writeBytes(big.bytes)
        buffer.writeBuffer(&rest)
        let shift = Int32(offset - Int(placeholder.offset) + big.bytes.count)
        let bigSpan = ArgumentSpan(offset: Int32(offset), length: Int32(big.bytes.count))
        var first = self.first, second = self.second
        switch big.index {
        case 0:
            first = bigSpan
            if argumentCount > 1 { second.offset += shift }
        case 1:
            second = bigSpan
        default:
            break
        }
        return RESPRequest(frame: buffer, argumentCount: argumentCount, first: first, second: second)
    }
}
