#if canImport(Glibc)
import Glibc
#endif

/// A blocking RESP conversation with a server on an IPv4 address: sends each command, reads one
/// reply to each. For the CLI's short control exchanges (`reload`, the supervisor's Sentinel check),
/// not for the data path.
struct RESPExchange {
    enum Reply: Equatable {
        case status(String)
        case error(String)
        case integer(Int)
        case bulk(String?)
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private let fd: Int32
    private var pending: [UInt8] = []

    /// Connects to `host:port` (an IPv4 address or `localhost`); every read and write waits at
    /// most `timeoutSeconds`.
    init(host: String, port: Int, timeoutSeconds: Double) throws {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(truncatingIfNeeded: port).bigEndian
        guard inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host, &address.sin_addr) == 1 else {
            throw Failure(description: "\(host) is not an IPv4 address")
        }
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "cannot open a socket") }
        var timeout = timeval(tv_sec: Int(timeoutSeconds), tv_usec: Int((timeoutSeconds - Double(Int(timeoutSeconds))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            Glibc.close(fd)
            throw Failure(description: "cannot connect to \(host):\(port)")
        }
    }

    func close() { _ = Glibc.close(fd) }

    /// Sends `arguments` as one command and returns its reply.
    mutating func call(_ arguments: [String]) throws -> Reply {
        var frame = Array("*\(arguments.count)\r\n".utf8)
        for argument in arguments {
            frame += Array("$\(argument.utf8.count)\r\n".utf8) + Array(argument.utf8) + [13, 10]
        }
        guard write(fd, frame, frame.count) == frame.count else { throw Failure(description: "cannot send") }
        let line = try readLine()
        let rest = String(decoding: line.dropFirst(), as: UTF8.self)
        switch line.first {
        case UInt8(ascii: "+"): return .status(rest)
        case UInt8(ascii: "-"): return .error(rest)
        case UInt8(ascii: ":"): return .integer(Int(rest) ?? 0)
        case UInt8(ascii: "$"):
            guard let length = Int(rest) else { throw Failure(description: "bad reply") }
            if length < 0 { return .bulk(nil) }
            try fill(length + 2)
            defer { pending.removeFirst(length + 2) }
            return .bulk(String(decoding: pending[0..<length], as: UTF8.self))
        default:
            throw Failure(description: "unexpected reply")
        }
    }

    private mutating func readLine() throws -> [UInt8] {
        while true {
            if let end = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(pending[..<end].filter { $0 != UInt8(ascii: "\r") })
                pending.removeFirst(end + 1)
                return line
            }
            try readMore()
        }
    }

    private mutating func fill(_ count: Int) throws {
        while pending.count < count { try readMore() }
    }

    private mutating func readMore() throws {
        var chunk = [UInt8](repeating: 0, count: 4096)
        let count = read(fd, &chunk, chunk.count)
        guard count > 0 else { throw Failure(description: "the connection closed or timed out") }
        pending += chunk[0..<count]
    }
}
