import Config
import NIOCore
import RESP

/// One event loop's pub/sub connection to one group's master, shared by every subscribed client of
/// that loop (`PubSubHub`): it carries each channel or pattern once, however many clients want it.
///
/// It subscribes to whatever the hub holds when it connects, so a reconnect (the server restarted,
/// or Sentinel named a new master) resubscribes by itself; messages published meanwhile are lost,
/// as with Redis (at most once).
final class SubscriberConnection {
    private unowned let hub: PubSubHub
    let group: Int
    private var channel: (any Channel)?
    private var isConnecting = false
    private var generation = 0
    private var reconnectTimer: Scheduled<Void>?
    private var backoff = BackendConnection.initialBackoff
    private var isClosed = false
    /// Replies to the AUTH sent first, still to skip.
    private var handshakeReplies = 0
    /// The subscriptions sent and not yet confirmed, in order: Redis confirms each name in turn.
    private var awaiting = CircularBuffer<(key: SubscriptionKey, generation: Int)>()

    init(hub: PubSubHub, group: Int) {
        self.hub = hub
        self.group = group
    }

    var isConnected: Bool { channel != nil }

    /// Subscribes to `key` now if connected (else at connect, from the hub's list).
    func subscribe(_ key: SubscriptionKey, generation: Int) {
        guard let channel else { return connect() }
        awaiting.append((key, generation))
        channel.writeAndFlush(RESPRequest(arguments: [key.kind.subscribeCommand, key.name]).frame, promise: nil)
    }

    func unsubscribe(_ key: SubscriptionKey) {
        channel?.writeAndFlush(RESPRequest(arguments: [key.kind.unsubscribeCommand, key.name]).frame, promise: nil)
    }

    func connect() {
        guard channel == nil, !isConnecting, !isClosed else { return }
        let loop = hub.loop
        guard let endpoint = loop.groups[group].master?.endpoint else {
            return scheduleReconnect()
        }
        isConnecting = true
        generation += 1
        let generation = self.generation
        let bound = NIOLoopBound(self, eventLoop: loop.eventLoop)
        loop.connect(to: endpoint, consumer: bound, generation: generation)
            .whenComplete { result in
                let connection = bound.value
                connection.isConnecting = false
                guard connection.generation == generation, !connection.isClosed else {
                    if case .success(let channel) = result { channel.close(promise: nil) }
                    return
                }
                switch result {
                case .success(let channel): connection.connected(channel)
                case .failure: connection.lost(generation)
                }
            }
    }

    private func connected(_ channel: any Channel) {
        self.channel = channel
        backoff = BackendConnection.initialBackoff
        awaiting.removeAll()
        if let auth = hub.loop.runtime.config.auth {
            var arguments = [Array("AUTH".utf8)]
            if let user = auth.username { arguments.append(Array(user.utf8)) }
            arguments.append(Array(auth.password.utf8))
            handshakeReplies = 1
            channel.write(RESPRequest(arguments: arguments).frame, promise: nil)
        }
        for (key, generation) in hub.subscriptions(ofGroup: group) {
            awaiting.append((key, generation))
            channel.write(RESPRequest(arguments: [key.kind.subscribeCommand, key.name]).frame, promise: nil)
        }
        channel.flush()
    }

    /// A frame from the server: a confirmation of ours, or a message for the hub to fan out.
    func received(_ frame: ByteBuffer, generation: Int) {
        guard generation == self.generation else { return }
        if handshakeReplies > 0 {
            handshakeReplies -= 1
            if RESPReplyReader.isError(frame) { lost(generation) }
            return
        }
        guard let elements = RESPReplyReader.elements(of: frame), let first = elements.first,
            let word = RESPReplyReader.bulkPayload(first)
        else { return }
        if let kind = SubscriptionKind.of(message: word) {
            hub.deliver(frame, kind: kind, elements: elements)
        } else if SubscriptionKind.of(confirmation: word) != nil, let sent = awaiting.popFirst() {
            hub.confirmed(sent.key, generation: sent.generation, group: group)
        }
    }

    func lost(_ generation: Int) {
        guard generation == self.generation else { return }
        self.generation += 1
        channel?.close(promise: nil)
        channel = nil
        awaiting.removeAll()
        hub.disconnected(group: group)
        scheduleReconnect()
    }

    private func scheduleReconnect() {
        guard reconnectTimer == nil, !isClosed else { return }
        let delay = backoff
        backoff = min(backoff * 2, BackendConnection.maximumBackoff)
        let bound = NIOLoopBound(self, eventLoop: hub.loop.eventLoop)
        reconnectTimer = hub.loop.eventLoop.scheduleTask(in: delay) {
            let connection = bound.value
            connection.reconnectTimer = nil
            if connection.hub.hasSubscriptions(inGroup: connection.group) { connection.connect() }
        }
    }

    /// The group's master changed: start over on the new one.
    func masterChanged() {
        if channel != nil || isConnecting { lost(generation) }
    }

    func close() {
        isClosed = true
        reconnectTimer?.cancel()
        reconnectTimer = nil
        generation += 1
        channel?.close(promise: nil)
        channel = nil
    }
}

extension SubscriberConnection: ReplyFrameConsumer {
    func readStarted() { hub.loop.eventStarted() }

    func channelFailed(_ generation: Int, reason: String) {
        lost(generation)
    }

    func writabilityChanged(_ isWritable: Bool, generation: Int) {}
}
