import Glibc

/// The connections MIGRATE keeps to its targets (Redis's `migrate_cached_sockets`): one per
/// `host:port`, reused by the next MIGRATE to the same target (which skips SELECT when the database
/// is the same), closed after 10 idle seconds and at most 64 of them.
///
/// MIGRATE is synchronous in Redis: the server waits for the target, each step bounded by the
/// command's timeout. The node does the same on its event loop with blocking calls on a plain
/// socket, so the keys cannot change between their serialization and their deletion.
final class MigrateSockets {
    static let idleSeconds: Int64 = 10
    static let capacity = 64

    final class Connection {
        fileprivate let fd: Int32
        /// The database the target has selected on this connection, -1 when unknown.
        var selectedDatabase = -1
        var lastUse: Int64
        /// Bytes read past the last reply line.
        private var pending: [UInt8] = []

        fileprivate init(fd: Int32, now: Int64) {
            self.fd = fd
            self.lastUse = now
        }

        deinit { Glibc.close(fd) }

        /// Writes all of `bytes` in 64 KB chunks, each within `timeout` milliseconds.
        func write(_ bytes: [UInt8], timeout: Int) -> MigrateSockets.Failure? {
            var offset = 0
            while offset < bytes.count {
                let chunk = min(64 * 1024, bytes.count - offset)
                var written = 0
                while written < chunk {
                    if let failure = MigrateSockets.wait(fd, for: Int16(POLLOUT), timeout: timeout) { return failure }
                    let result = bytes.withUnsafeBytes { buffer in
                        Glibc.send(fd, buffer.baseAddress! + offset + written, chunk - written, Int32(MSG_NOSIGNAL))
                    }
                    if result < 0 {
                        if errno == EINTR || errno == EAGAIN { continue }
                        return .io
                    }
                    written += result
                }
                offset += chunk
            }
            return nil
        }

        /// Reads one reply line (without its CRLF), waiting at most `timeout` milliseconds for each
        /// read, as Redis's `syncReadLine`.
        func readLine(timeout: Int) -> Result<[UInt8], MigrateSockets.Failure> {
            while true {
                if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    var line = Array(pending[..<newline])
                    pending.removeSubrange(...newline)
                    if line.last == UInt8(ascii: "\r") { line.removeLast() }
                    return .success(line)
                }
                if let failure = MigrateSockets.wait(fd, for: Int16(POLLIN), timeout: timeout) { return .failure(failure) }
                var buffer = [UInt8](repeating: 0, count: 4096)
                let count = buffer.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress!, $0.count, 0) }
                if count < 0 {
                    if errno == EINTR || errno == EAGAIN { continue }
                    return .failure(.io)
                }
                if count == 0 { return .failure(.io) }
                pending.append(contentsOf: buffer[..<count])
            }
        }
    }

    /// Why a step with the target failed: the timeout ran out (no retry, as in Redis), or any other
    /// socket error (one retry on a fresh connection when nothing was done yet).
    enum Failure: Error {
        case timedOut, io
    }

    private var connections: [String: Connection] = [:]

    var count: Int { connections.count }

    /// The cached connection to `host:port`, or a new one connected within `timeout` ms.
    func connection(host: String, port: String, timeout: Int, now: Int64) -> Connection? {
        let name = "\(host):\(port)"
        if let cached = connections[name] {
            cached.lastUse = now
            return cached
        }
        if connections.count >= Self.capacity, let victim = connections.keys.randomElement() {
            connections[victim] = nil
        }
        guard let portNumber = Int(port), let fd = Self.connect(host: host, port: portNumber, timeout: timeout) else { return nil }
        let connection = Connection(fd: fd, now: now)
        connections[name] = connection
        return connection
    }

    func close(host: String, port: String) {
        connections["\(host):\(port)"] = nil
    }

    /// Closes the connections idle for more than 10 seconds (Redis's `migrateCloseTimedoutSockets`).
    func closeIdle(now: Int64) {
        connections = connections.filter { now - $0.value.lastUse <= Self.idleSeconds * 1000 }
    }

    /// A non-blocking TCP socket connecting to `host:port`, writable within `timeout` ms (every
    /// address the name resolves to is tried), with TCP_NODELAY; nil on failure.
    private static func connect(host: String, port: Int, timeout: Int) -> Int32? {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else { return nil }
        defer { freeaddrinfo(list) }
        var current: UnsafeMutablePointer<addrinfo>? = first
        while let address = current {
            current = address.pointee.ai_next
            let fd = socket(address.pointee.ai_family, address.pointee.ai_socktype, address.pointee.ai_protocol)
            guard fd >= 0 else { continue }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            var on: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
            if Glibc.connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 { return fd }
            // Ready in time counts as connected, as in Redis: a refused connection shows at the
            // first write ("IOERR error or timeout writing to target instance").
            if errno == EINPROGRESS, wait(fd, for: Int16(POLLOUT), timeout: timeout) == nil { return fd }
            Glibc.close(fd)
        }
        return nil
    }

    /// Waits until `fd` is ready for `events`, at most `timeout` ms.
    fileprivate static func wait(_ fd: Int32, for events: Int16, timeout: Int) -> Failure? {
        var descriptor = pollfd(fd: fd, events: events, revents: 0)
        while true {
            let ready = poll(&descriptor, 1, Int32(clamping: timeout))
            if ready > 0 { return nil }
            if ready == 0 { return .timedOut }
            if errno != EINTR { return .io }
        }
    }
}
