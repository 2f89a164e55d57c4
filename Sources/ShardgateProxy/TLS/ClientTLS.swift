import Logging
import NIOCore
import NIOSSL

/// The listener's side of `tls`: every accepted client speaks TLS before the proxy reads a request.
enum ClientTLS {
    /// How long a client may take to finish its handshake (a plain-TCP client that waits for a
    /// greeting would otherwise hold its connection open forever).
    static let handshakeLimit = TimeAmount.seconds(10)

    /// Puts TLS first in an accepted channel's pipeline. A failed handshake closes the channel and
    /// is logged once, with the client's address and the TLS library's reason (never key material);
    /// a client that only opened and closed the connection (a TCP health check) is logged at debug.
    static func secure(_ channel: any Channel, context: NIOSSLContext, logger: Logger) throws {
        let gate = TLSHandshakeGate(limit: handshakeLimit, eventLoop: channel.eventLoop)
        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
        try channel.pipeline.syncOperations.addHandler(gate)
        let client = channel.remoteAddress.map { "\($0)" } ?? "?"
        gate.done.whenFailure { error in
            let level: Logger.Level = error is TLSHandshakeAbandoned ? .debug : .notice
            logger.log(
                level: level, "TLS handshake with a client failed",
                metadata: ["client": "\(client)", "reason": "\(BackendConnection.describe(error))"])
        }
    }
}
