import Glibc
import NIOCore
import NIOPosix

/// The node's listening sockets. They are bound with plain system calls, so a busy port or a bad
/// address is known at once: at startup, and for CONFIG SET port/bind, which must answer with the
/// failure and keep the old listeners, as Redis does. Then SwiftNIO takes them and accepts clients.
enum NodeListeners {
    /// Binds every address of a `bind` list (Redis's syntax: `*` for every IPv4 address, `::*` for
    /// every IPv6 one, a `-` prefix for an address that may fail) on `port`: every socket, or none
    /// and the first error.
    static func bind(_ addresses: [String], port: Int) -> Result<[Int32], BindError> {
        var sockets: [Int32] = []
        for address in addresses.isEmpty ? ["*"] : addresses {
            let optional = address.hasPrefix("-")
            var host = optional ? String(address.dropFirst()) : address
            if host == "*" { host = "0.0.0.0" }
            if host == "::*" { host = "::" }
            switch listeningSocket(host: host, port: port) {
            case .success(let socket): sockets.append(socket)
            case .failure where optional: continue
            case .failure(let error):
                for socket in sockets { close(socket) }
                return .failure(error)
            }
        }
        guard !sockets.isEmpty else { return .failure(BindError(message: "could not bind any of \(addresses)")) }
        return .success(sockets)
    }

    struct BindError: Error {
        let message: String
    }

    /// A listening socket handed to SwiftNIO: its descriptor, and its channel once registered.
    struct Listener {
        let socket: Int32
        let channel: EventLoopFuture<any Channel>

        /// Stops listening at once, even before SwiftNIO registered the channel: a shut-down socket
        /// leaves LISTEN, so its address can be bound again (SO_REUSEADDR) in the same tick; the
        /// channel closes (and closes the socket) as soon as it exists.
        func stop() {
            _ = shutdown(socket, Int32(SHUT_RDWR))
            channel.whenSuccess { $0.close(promise: nil) }
        }
    }

    /// Hands bound sockets to SwiftNIO; each client connection gets a `NodeClientHandler`.
    static func serve(_ sockets: [Int32], group: any EventLoopGroup, node: NIOLoopBound<Node>) -> [Listener] {
        let bootstrap = ServerBootstrap(group: group)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65536))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NodeServer.applyKeepalive(node.value.settings.tcpKeepalive, to: channel)
                    try channel.pipeline.syncOperations.addHandler(NodeClientHandler(node: node.value))
                }
            }
        return sockets.map { Listener(socket: $0, channel: bootstrap.withBoundSocket($0)) }
    }

    /// A non-blocking socket listening on `host:port` (backlog 511, SO_REUSEADDR; IPv6 sockets
    /// IPv6-only, so `*` and `::*` can both listen, as in Redis).
    private static func listeningSocket(host: String, port: Int) -> Result<Int32, BindError> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE
        var list: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, String(port), &hints, &list)
        guard resolved == 0, let address = list else {
            return .failure(BindError(message: "\(host): \(String(cString: gai_strerror(resolved)))"))
        }
        defer { freeaddrinfo(list) }
        let fd = socket(address.pointee.ai_family, address.pointee.ai_socktype, address.pointee.ai_protocol)
        guard fd >= 0 else { return .failure(systemError("socket", host, port)) }
        var on: Int32 = 1
        let size = socklen_t(MemoryLayout<Int32>.size)
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, size)
        if address.pointee.ai_family == AF_INET6 { _ = setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &on, size) }
        guard Glibc.bind(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0, listen(fd, 511) == 0 else {
            let error = systemError("bind", host, port)
            close(fd)
            return .failure(error)
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        return .success(fd)
    }

    private static func systemError(_ call: String, _ host: String, _ port: Int) -> BindError {
        BindError(message: "\(call) \(host):\(port): \(String(cString: strerror(errno)))")
    }
}
