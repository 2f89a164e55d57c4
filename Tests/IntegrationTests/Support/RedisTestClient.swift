import Foundation
import NIOCore
import RESP

/// A decoded reply, for assertions.
enum Reply: Equatable, CustomStringConvertible {
    case status(String)
    case error(String)
    case integer(Int)
    case bulk([UInt8]?)
    case array([Reply]?)

    var string: String? {
        switch self {
        case .status(let text): return text
        case .bulk(let bytes?): return String(decoding: bytes, as: UTF8.self)
        default: return nil
        }
    }

    var isError: Bool {
        if case .error = self { return true }
        return false
    }

    var description: String {
        switch self {
        case .status(let text): return "+\(text)"
        case .error(let text): return "-\(text)"
        case .integer(let value): return ":\(value)"
        case .bulk(let bytes?): return "\"\(String(decoding: bytes, as: UTF8.self))\""
        case .bulk(nil): return "(nil)"
        case .array(let items?): return "[\(items.map(\.description).joined(separator: ", "))]"
        case .array(nil): return "(nil array)"
        }
    }

    static func bulk(_ text: String) -> Reply { .bulk(Array(text.utf8)) }

    /// Decodes one complete frame (as cut by `RESPReplyFramer`).
    static func decode(_ buffer: inout ByteBuffer) -> Reply? {
        guard let type = buffer.readInteger(as: UInt8.self) else { return nil }
        func line() -> String {
            let view = buffer.readableBytesView
            let end = view.firstIndex(of: UInt8(ascii: "\r"))!
            let text = String(decoding: view[view.startIndex..<end], as: UTF8.self)
            buffer.moveReaderIndex(forwardBy: end - view.startIndex + 2)
            return text
        }
        switch type {
        case UInt8(ascii: "+"): return .status(line())
        case UInt8(ascii: "-"): return .error(line())
        case UInt8(ascii: ":"): return .integer(Int(line())!)
        case UInt8(ascii: "$"):
            let length = Int(line())!
            guard length >= 0 else { return .bulk(nil) }
            let bytes = buffer.readBytes(length: length)!
            buffer.moveReaderIndex(forwardBy: 2)
            return .bulk(bytes)
        case UInt8(ascii: "*"):
            let count = Int(line())!
            guard count >= 0 else { return .array(nil) }
            return .array((0..<count).map { _ in decode(&buffer)! })
        default:
            return nil
        }
    }
}

/// A deliberately simple blocking client: the test's own view of the wire, independent of the proxy's
/// connection code. Every read is bounded by a socket timeout.
final class RedisTestClient {
    private let fd: Int32
    private var framer = RESPReplyFramer()
    private var buffer = ByteBuffer()

    /// `source`: a loopback address other than 127.0.0.1 to connect from (127.0.0.2 is not "local"
    /// to Redis's protected mode).
    init(port: Int, timeoutSeconds: Int = 10, source: String? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = inet_addr(source)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else { throw TestFailure("cannot bind to \(source)") }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        // On failure `deinit` still runs (every property is set) and closes the socket: closing it here
        // too would close a number another thread may already have reused.
        guard connected == 0 else { throw TestFailure("cannot connect to 127.0.0.1:\(port)") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close(fd) }

    /// Ends the connection now (the descriptor itself is closed by `deinit`).
    func disconnect() {
        shutdown(fd, Int32(SHUT_RDWR))
    }

    static func encode(_ arguments: [[UInt8]]) -> [UInt8] {
        var bytes = Array("*\(arguments.count)\r\n".utf8)
        for argument in arguments {
            bytes += Array("$\(argument.count)\r\n".utf8) + argument + [13, 10]
        }
        return bytes
    }

    func sendRaw(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard written > 0 else { throw TestFailure("write failed") }
            offset += written
        }
    }

    /// Reads one reply; throws on timeout or when the server closed the connection.
    func readReply() throws -> Reply {
        var frame = try readFrame()
        guard let reply = Reply.decode(&frame) else { throw TestFailure("cannot decode \(String(buffer: frame))") }
        return reply
    }

    /// Reads one reply frame as raw bytes (any RESP2/RESP3 type).
    func readFrame() throws -> ByteBuffer {
        while true {
            if let frame = try framer.nextFrame(from: &buffer) {
                return frame
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count == 0 { throw TestFailure("connection closed by peer") }
            if count < 0 { throw TestFailure("read timed out or failed (errno \(errno))") }
            buffer.writeBytes(chunk[0..<count])
        }
    }

    /// Everything the peer sends until it closes the connection (what was buffered included).
    func readToEnd() throws -> [UInt8] {
        var bytes = Array(buffer.readableBytesView)
        buffer.clear()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count == 0 { return bytes }
            if count < 0 { throw TestFailure("read timed out or failed (errno \(errno))") }
            bytes += chunk[0..<count]
        }
    }

    /// True if the peer closed the connection (reads EOF) within the socket timeout.
    func isClosedByPeer() -> Bool {
        var byte: UInt8 = 0
        return read(fd, &byte, 1) == 0
    }

    func command(_ arguments: String...) throws -> Reply {
        try command(arguments.map { Array($0.utf8) })
    }

    func command(_ arguments: [[UInt8]]) throws -> Reply {
        try sendRaw(Self.encode(arguments))
        return try readReply()
    }

    /// Sends all commands in one write, then reads all replies in order.
    func pipeline(_ commands: [[[UInt8]]]) throws -> [Reply] {
        var bytes: [UInt8] = []
        for command in commands { bytes += Self.encode(command) }
        try sendRaw(bytes)
        return try commands.map { _ in try readReply() }
    }

    /// Sends all commands in one write and returns the raw reply frames, for byte-exact comparisons.
    func rawPipeline(_ commands: [[String]]) throws -> [String] {
        var bytes: [UInt8] = []
        for command in commands { bytes += Self.encode(command.map { Array($0.utf8) }) }
        try sendRaw(bytes)
        return try commands.map { _ in String(buffer: try readFrame()) }
    }

    func pipeline(_ commands: [[String]]) throws -> [Reply] {
        try pipeline(commands.map { $0.map { Array($0.utf8) } })
    }
}
