import NIOCore

/// Encoders for the replies the proxy writes itself, numbers written straight as digits.
extension ByteBuffer {
    @inlinable
    public mutating func writeCRLF() {
        writeInteger(UInt16(0x0D0A))
    }

    /// Writes `value` in decimal without going through `String`.
    public mutating func writeDecimal(_ value: Int) {
        if value >= 0 && value < 10 {
            writeInteger(UInt8(truncatingIfNeeded: value) &+ UInt8(ascii: "0"))
            return
        }
        var magnitude = value.magnitude
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var count = 0
            repeat {
                digits[19 - count] = UInt8(truncatingIfNeeded: magnitude % 10) &+ UInt8(ascii: "0")
                magnitude /= 10
                count += 1
            } while magnitude > 0
            if value < 0 { writeInteger(UInt8(ascii: "-")) }
            writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(digits)[(20 - count)...]))
        }
    }

    public mutating func writeRESPArrayHeader(_ count: Int) {
        writeInteger(UInt8(ascii: "*"))
        writeDecimal(count)
        writeCRLF()
    }

    public mutating func writeRESPInteger(_ value: Int) {
        writeInteger(UInt8(ascii: ":"))
        writeDecimal(value)
        writeCRLF()
    }

    public mutating func writeRESPSimpleString(_ text: String) {
        writeInteger(UInt8(ascii: "+"))
        writeString(text)
        writeCRLF()
    }

    /// An error reply; `message` starts with the error code (`ERR`, `NOAUTH`, ...). CR and LF inside it
    /// become spaces, as Redis does, so the reply stays one line.
    public mutating func writeRESPError(_ message: String) {
        writeInteger(UInt8(ascii: "-"))
        for byte in message.utf8 {
            writeInteger(byte == 0x0D || byte == 0x0A ? UInt8(ascii: " ") : byte)
        }
        writeCRLF()
    }

    public mutating func writeRESPBulkString<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        var body = ByteBuffer()
        body.writeBytes(bytes)
        writeRESPBulkString(buffer: body)
    }

    public mutating func writeRESPBulkString(buffer: ByteBuffer) {
        writeInteger(UInt8(ascii: "$"))
        writeDecimal(buffer.readableBytes)
        writeCRLF()
        writeImmutableBuffer(buffer)
        writeCRLF()
    }

    public mutating func writeRESPBulkString(_ text: String) {
        writeInteger(UInt8(ascii: "$"))
        writeDecimal(text.utf8.count)
        writeCRLF()
        writeString(text)
        writeCRLF()
    }

    /// RESP3 verbatim text (`=len\r\ntxt:...`), what Redis sends RESP3 clients for INFO.
    public mutating func writeRESPVerbatimString(_ text: String) {
        writeInteger(UInt8(ascii: "="))
        writeDecimal(text.utf8.count + 4)
        writeCRLF()
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
