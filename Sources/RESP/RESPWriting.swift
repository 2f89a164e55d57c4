import NIOCore

/// Encoders for the replies the proxy writes itself, numbers written straight as digits.
extension ByteBuffer {
    @inlinable
    public mutating func writeCRLF() {
        writeInteger(UInt16(0x0D0A))
    }

    /// Writes `value` in decimal without going through `String`.
    @inlinable
    public mutating func writeDecimal(_ value: Int) {
        writeWithUnsafeMutableBytes(minimumWritableBytes: 20) { out in Self.formatDecimal(value, into: out, at: 0) }
    }

    /// A RESP header line, `type`, `value` in decimal and CRLF (`*3`, `$5`, `:42`), written with one
    /// reservation of the buffer: a byte-by-byte write costs a capacity and uniqueness check each,
    /// which was most of the cost of a short reply.
    @inlinable
    public mutating func writeRESPHeader(_ type: UInt8, _ value: Int) {
        writeWithUnsafeMutableBytes(minimumWritableBytes: 23) { out in
            out[0] = type
            let end = Self.formatDecimal(value, into: out, at: 1)
            out[end] = 0x0D
            out[end + 1] = 0x0A
            return end + 2
        }
    }

    /// A bulk string (`$len`, the bytes, CRLF) in one reservation; returns the length of its
    /// header (where the bytes start, from where it began).
    @inlinable @discardableResult
    public mutating func writeRESPBulkString(bytes: UnsafeRawBufferPointer) -> Int {
        var header = 0
        writeWithUnsafeMutableBytes(minimumWritableBytes: bytes.count + 25) { out in
            out[0] = UInt8(ascii: "$")
            var end = Self.formatDecimal(bytes.count, into: out, at: 1)
            out[end] = 0x0D
            out[end + 1] = 0x0A
            end += 2
            header = end
            if let base = bytes.baseAddress { (out.baseAddress! + end).copyMemory(from: base, byteCount: bytes.count) }
            end += bytes.count
            out[end] = 0x0D
            out[end + 1] = 0x0A
            return end + 2
        }
        return header
    }

    /// Writes `value` in decimal into `out` from `start` (room for 20 bytes); returns the end.
    @inlinable
    static func formatDecimal(_ value: Int, into out: UnsafeMutableRawBufferPointer, at start: Int) -> Int {
        guard value < 0 else { return DecimalText.write(UInt64(value), into: out, at: start) }
        out[start] = UInt8(ascii: "-")
        return DecimalText.write(UInt64(value.magnitude), into: out, at: start + 1)
    }

    @inlinable
    public mutating func writeRESPArrayHeader(_ count: Int) {
        writeRESPHeader(UInt8(ascii: "*"), count)
    }

    @inlinable
    public mutating func writeRESPInteger(_ value: Int) {
        writeRESPHeader(UInt8(ascii: ":"), value)
    }

    public mutating func writeRESPSimpleString(_ text: String) {
        writeInteger(UInt8(ascii: "+"))
        writeString(text)
        writeCRLF()
    }

    /// An error reply; `message` starts with the error code (`ERR`, `NOAUTH`, ...). CR and LF inside it
    /// become spaces, as Redis does, so the reply stays one line.
    public mutating func writeRESPError(_ message: String) {
        var message = message
        message.withUTF8 { text in
            _ = writeWithUnsafeMutableBytes(minimumWritableBytes: text.count + 3) { out in
                out[0] = UInt8(ascii: "-")
                for (offset, byte) in text.enumerated() {
                    out[offset + 1] = byte == 0x0D || byte == 0x0A ? UInt8(ascii: " ") : byte
                }
                out[text.count + 1] = 0x0D
                out[text.count + 2] = 0x0A
                return text.count + 3
            }
        }
    }

    public mutating func writeRESPBulkString<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        var body = ByteBuffer()
        body.writeBytes(bytes)
        writeRESPBulkString(buffer: body)
    }

    public mutating func writeRESPBulkString(buffer: ByteBuffer) {
        writeRESPHeader(UInt8(ascii: "$"), buffer.readableBytes)
        writeImmutableBuffer(buffer)
        writeCRLF()
    }

    public mutating func writeRESPBulkString(_ text: String) {
        writeRESPHeader(UInt8(ascii: "$"), text.utf8.count)
        writeString(text)
        writeCRLF()
    }

    /// RESP3 verbatim text (`=len\r\ntxt:...`), what Redis sends RESP3 clients for INFO.
    public mutating func writeRESPVerbatimString(_ text: String) {
        writeRESPHeader(UInt8(ascii: "="), text.utf8.count + 4)
        writeStaticString("txt:")
        writeString(text)
        writeCRLF()
    }

    public mutating func writeRESPNullBulk() {
        writeStaticString("$-1\r\n")
    }
}

/// Reads the few reply shapes the proxy must look inside (integers, arrays of values to merge).
public enum RESPReplyReader {
    /// The byte that starts a reply frame: `+`, `-`, `:`, `$`, `*`, ...
    public static func type(of frame: ByteBuffer) -> UInt8? {
        frame.getInteger(at: frame.readerIndex, as: UInt8.self)
    }

    public static func isError(_ frame: ByteBuffer) -> Bool {
        type(of: frame) == UInt8(ascii: "-")
    }

    /// The value of an integer reply (`:N\r\n`), else nil.
    public static func integer(_ frame: ByteBuffer) -> Int? {
        guard type(of: frame) == UInt8(ascii: ":") else { return nil }
        return frame.withUnsafeReadableBytes { bytes in
            DecimalBytes.parse(bytes, from: 1, to: bytes.count - 2)
        }
    }

    /// The element count and header length of an array reply (`*N\r\n`), or nil.
    public static func arrayHeader(of frame: ByteBuffer) -> (count: Int, length: Int)? {
        guard type(of: frame) == UInt8(ascii: "*") else { return nil }
        return frame.withUnsafeReadableBytes { bytes -> (count: Int, length: Int)? in
            var index = 1
            while index < bytes.count && bytes[index] != UInt8(ascii: "\r") { index += 1 }
            guard index + 1 < bytes.count, let count = DecimalBytes.parse(bytes, from: 1, to: index) else { return nil }
            return (count, index + 2)
        }
    }

    /// The payload of a bulk string reply (`$N\r\n…\r\n`), or of a RESP3 verbatim string (`=N\r\ntxt:…`)
    /// without its format; nil for anything else.
    public static func bulkPayload(_ frame: ByteBuffer) -> [UInt8]? {
        let type = type(of: frame)
        guard type == UInt8(ascii: "$") || type == UInt8(ascii: "=") else { return nil }
        let bytes = frame.readableBytesView
        guard let newline = bytes.firstIndex(of: UInt8(ascii: "\n")), bytes.endIndex - newline >= 3 else { return nil }
        var start = newline + 1
        if type == UInt8(ascii: "=") { start = min(start + 4, bytes.endIndex - 2) }
        return Array(bytes[start..<(bytes.endIndex - 2)])
    }

    /// Splits an array reply (`*N`) into its element frames, as slices. nil if not an array.
    public static func elements(of frame: ByteBuffer) -> [ByteBuffer]? {
        var buffer = frame
        guard type(of: buffer) == UInt8(ascii: "*") else { return nil }
        let headerLength: Int? = buffer.withUnsafeReadableBytes { bytes in
            var index = 1
            while index < bytes.count && bytes[index] != UInt8(ascii: "\r") { index += 1 }
            return index + 1 < bytes.count ? index + 2 : nil
        }
        guard let headerLength,
            let count = buffer.withUnsafeReadableBytes({ DecimalBytes.parse($0, from: 1, to: headerLength - 2) })
        else { return nil }
        buffer.moveReaderIndex(forwardBy: headerLength)
        guard count >= 0 else { return [] }
        var elements: [ByteBuffer] = []
        elements.reserveCapacity(min(count, 1024))
        var framer = RESPReplyFramer()
        for _ in 0..<count {
            guard let element = try? framer.nextFrame(from: &buffer) else { return nil }
            elements.append(element)
        }
        return elements
    }
}

/// Decimal digits written straight into memory, for replies that format numbers in place (RESP
/// headers here, stream IDs in the node).
public enum DecimalText {
    /// Writes `value` in decimal into `out` from `start` (room for 20 bytes); returns the end.
    @inlinable
    public static func write(_ value: UInt64, into out: UnsafeMutableRawBufferPointer, at start: Int) -> Int {
        // Most lengths and counts written are under 100: no division loop for them.
        if value < 10 {
            out[start] = UInt8(truncatingIfNeeded: value) &+ UInt8(ascii: "0")
            return start + 1
        }
        if value < 100 {
            out[start] = UInt8(truncatingIfNeeded: value / 10) &+ UInt8(ascii: "0")
            out[start + 1] = UInt8(truncatingIfNeeded: value % 10) &+ UInt8(ascii: "0")
            return start + 2
        }
        var digits = 1
        var rest = value / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        var remaining = value
        for index in stride(from: start + digits - 1, through: start, by: -1) {
            out[index] = UInt8(truncatingIfNeeded: remaining % 10) &+ UInt8(ascii: "0")
            remaining /= 10
        }
        return start + digits
    }
}
