import NIOCore
import NIOTLS

/// Sits right after the TLS handler and turns the handshake's outcome into one future: `done`
/// succeeds when the handshake completes, and fails with the first error before that (the peer
/// spoke plain TCP, a certificate was refused, the peer closed, or `limit` passed).
///
/// Errors before the handshake stop here, so the handlers after it never see a half-open TLS
/// connection as one of theirs: a backend connection fails its connect (as a refused one does), and
/// a client's failed handshake is logged once by whoever watches `done`. The channel is closed on
/// failure; after success the gate stays, passing everything through (so `done` can always be found).
final class TLSHandshakeGate: ChannelInboundHandler {
    typealias InboundIn = NIOAny

    private let limit: TimeAmount
    /// Pending until the handshake is over; nil after.
    private var promise: EventLoopPromise<Void>?
    private var timer: Scheduled<Void>?
    /// Completes on the channel's event loop once the handshake is over, either way.
    let done: EventLoopFuture<Void>

    init(limit: TimeAmount, eventLoop: any EventLoop) {
        self.limit = limit
        let promise = eventLoop.makePromise(of: Void.self)
        self.promise = promise
        self.done = promise.futureResult
    }

    /// The handshake outcome of `channel`'s gate; call on the channel's event loop.
    static func done(in channel: any Channel) throws -> EventLoopFuture<Void> {
        try channel.pipeline.syncOperations.handler(type: TLSHandshakeGate.self).done
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { startClock(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        startClock(context)
        context.fireChannelActive()
    }

    private func startClock(_ context: ChannelHandlerContext) {
        guard timer == nil, promise != nil else { return }
        let bound = NIOLoopBound((gate: self, context: context), eventLoop: context.eventLoop)
        let seconds = Double(limit.nanoseconds) / 1e9
        timer = context.eventLoop.scheduleTask(in: limit) {
            bound.value.gate.fail(TLSHandshakeTimeout(seconds: seconds), bound.value.context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent, let promise {
            self.promise = nil
            timer?.cancel()
            promise.succeed()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard promise != nil else { return context.fireErrorCaught(error) }
        fail(error, context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(TLSHandshakeAbandoned(), context)
        context.fireChannelInactive()
    }

    /// The connect failed before any handshake, or the channel went away: `done` must still complete.
    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        promise?.fail(TLSHandshakeAbandoned())
        promise = nil
    }

    private func fail(_ error: any Error, _ context: ChannelHandlerContext) {
        guard let promise else { return }
        self.promise = nil
        timer?.cancel()
        promise.fail(error)
        context.close(promise: nil)
    }
}

/// The peer closed (or the connect failed) before the TLS handshake completed.
struct TLSHandshakeAbandoned: Error, CustomStringConvertible {
    var description: String { "connection closed during the TLS handshake" }
}

struct TLSHandshakeTimeout: Error, CustomStringConvertible {
    let seconds: Double
    var description: String { "TLS handshake not done after \(seconds) s" }
}
