import NIOCore

/// Finds where each reply from a backend ends, without building values.
///
/// Understands every RESP2 and RESP3 type. Aggregates are tracked with a stack of remaining element
/// counts (reused between frames, so framing allocates nothing once warmed up); an attribute (`|`)
/// is framed together with the value it decorates. Progress survives between calls: a frame that
/// arrives in pieces is scanned once, apart from re-reading an unfinished bulk header.
public struct RESPReplyFramer: Sendable {
    /// Replies nested deeper than this are treated as a broken stream.
    public static let maximumDepth = 128

    private var scanned = 0
    private var remaining: [Int] = []

    /// Allocates nothing until a reply nests (flat replies never do); capacity is kept afterwards.
    public init() {}

    /// Length of the complete reply at the buffer's reader index, or nil if more bytes are needed.
    /// Does not move the reader index.
    public mutating func nextFrameLength(in buffer: ByteBuffer) throws(RESPProtocolError) -> Int? {
        let result: Result<Int?, RESPProtocolError> = buffer.withUnsafeReadableBytes { bytes in
            self.scan(bytes)
        }
        return try result.get()
    }

    /// Cuts the next complete reply off the front of `buffer` as a slice (no copy).
    public mutating func nextFrame(from buffer: inout ByteBuffer) throws(RESPProtocolError) -> ByteBuffer? {
        guard let length = try nextFrameLength(in: buffer) else { return nil }
        return buffer.readSlice(length: length)
    }

    private mutating func scan(_ bytes: UnsafeRawBufferPointer) -> Result<Int?, RESPProtocolError> {
        let count = bytes.count
        while true {
            let start = scanned
            guard start < count else { return .success(nil) }
            var cr = start + 1
            while cr < count && bytes[cr] != UInt8(ascii: "\r") { cr += 1 }
            guard cr + 1 < count else { return .success(nil) }
            let lineEnd = cr + 2
            let type = bytes[start]
            switch type {
            case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: "_"),
                UInt8(ascii: ","), UInt8(ascii: "#"), UInt8(ascii: "("):
                scanned = lineEnd
            case UInt8(ascii: "$"), UInt8(ascii: "!"), UInt8(ascii: "="):
                guard let length = DecimalBytes.parse(bytes, from: start + 1, to: cr), length >= -1 else {
                    return .failure(.badReply(type))
                }
                if length == -1 {
                    scanned = lineEnd
                } else {
                    // `length + 2` would overflow for a length near Int.max; this side cannot.
                    guard count - lineEnd - 2 >= length else { return .success(nil) }
                    scanned = lineEnd + length + 2
                }
            case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "%"), UInt8(ascii: "|"):
                // A count too large to double (for maps and attributes) can never arrive complete.
                guard let elements = DecimalBytes.parse(bytes, from: start + 1, to: cr), elements >= -1,
                    elements < Int.max / 2
                else {
                    return .failure(.badReply(type))
                }
                scanned = lineEnd
                var children = elements
                if type == UInt8(ascii: "%") { children = elements * 2 }
                // An attribute map is followed by the value it describes; frame both as one element.
                if type == UInt8(ascii: "|") { children = elements * 2 + 1 }
                if children > 0 {
                    guard remaining.count < Self.maximumDepth else { return .failure(.replyTooDeep) }
                    remaining.append(children)
                    continue
                }
            default:
                return .failure(.badReply(type))
            }
            // One element finished: close every aggregate it completes.
            while let last = remaining.last {
                if last == 1 {
                    remaining.removeLast()
                } else {
                    remaining[remaining.count - 1] = last - 1
                    break
                }
            }
            if remaining.isEmpty {
                let length = scanned
                scanned = 0
                return .success(length)
            }
        }
    }
}
