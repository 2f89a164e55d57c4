import Config
import NIOCore
import NIOSSL

/// Wraps the pool's outgoing connections (backends, Sentinels) in TLS (`backend_tls`).
struct TLSConnector: Sendable {
    let context: NIOSSLContext
    /// `server_name`: the name every server is checked against (and sent as SNI).
    let serverName: String?

    /// The name to send as SNI and check the certificate against: `server_name`, else the host as
    /// written. An IP address is never sent as SNI (TLS forbids it); NIOSSL then checks the
    /// certificate's IP addresses against the peer's.
    func hostname(for endpoint: Endpoint) -> String? {
        if let serverName { return serverName }
        let isAddress = (try? SocketAddress(ipAddress: endpoint.host, port: endpoint.port)) != nil
        return isAddress ? nil : endpoint.host
    }

    /// Puts TLS first in a new channel's pipeline, followed by the gate whose `done` tells when
    /// the handshake is over (``TLSHandshakeGate/done(in:)``); call from a channel initializer.
    func secure(_ channel: any Channel, to endpoint: Endpoint, handshakeLimit: TimeAmount) throws {
        let handler = try NIOSSLClientHandler(context: context, serverHostname: hostname(for: endpoint))
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.pipeline.syncOperations.addHandler(TLSHandshakeGate(limit: handshakeLimit, eventLoop: channel.eventLoop))
    }
}

extension EventLoopFuture where Value == any Channel {
    /// For a connection that `TLSConnector.secure` wrapped: completes once the TLS handshake has,
    /// or fails with the handshake's error, so a server that refuses TLS fails like a refused connect.
    func afterTLSHandshake() -> EventLoopFuture<any Channel> {
        flatMap { channel in
            channel.eventLoop.makeCompletedFuture { try TLSHandshakeGate.done(in: channel) }
                .flatMap { $0 }
                .map { channel }
        }
    }
}
