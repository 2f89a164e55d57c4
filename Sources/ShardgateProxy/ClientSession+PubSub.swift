import Commands
import NIOCore
import OrderedCollections
import RESP

/// SUBSCRIBE and friends through the proxy: the client's own subscriptions, confirmed in Redis's
/// words, with the upstream side multiplexed by the loop's `PubSubHub`.
extension ClientSession {
    func pubSubCommand(_ command: PubSubCommand, _ request: RESPRequest) {
        let names = (1..<request.argumentCount).map { index in request.withArgument(index) { Array($0) } }
        if command.subscribes {
            subscribe(command.kind, names)
        } else {
            unsubscribe(command.kind, names)
        }
    }

    private func subscribe(_ kind: SubscriptionKind, _ names: [[UInt8]]) {
        let hub = loop.pubSub
        let version = protocolVersion
        let frames = machine.subscribe(kind, names).map { confirmation in
            PubSubFrames.confirmation(kind.subscribed, name: confirmation.name, count: confirmation.count, protocolVersion: version)
        }
        // The confirmations go out once every subscription is active upstream.
        let reply = PendingConfirmations(session: self, sequence: reserveSlot(), frames: frames)
        for name in names {
            hub.subscribe(self, to: SubscriptionKey(kind: kind, name: name)) { reply.oneActive() }
        }
    }

    private func unsubscribe(_ kind: SubscriptionKind, _ requested: [[UInt8]]) {
        let action = machine.unsubscribe(kind, requested)
        for key in action.leave { loop.pubSub.unsubscribe(self, from: key) }
        let version = protocolVersion
        let frames = action.confirmations.map { confirmation in
            PubSubFrames.confirmation(kind.unsubscribed, name: confirmation.name, count: confirmation.count, protocolVersion: version)
        }
        respond { buffer in for frame in frames { buffer.writeImmutableBuffer(frame) } }
    }

    /// A published message for this client, after any reply already due.
    func deliverPush(_ frame: ByteBuffer) {
        guard isOpen else { return }
        let push = PubSubFrames.message(frame, protocolVersion: protocolVersion)
        respond(isRequest: false) { $0.writeImmutableBuffer(push) }
    }

    /// Subscriptions the machine ended (the connection closed, or RESET) are left upstream.
    func leave(_ keys: OrderedSet<SubscriptionKey>) {
        for key in keys { loop.pubSub.unsubscribe(self, from: key) }
    }
}

/// A SUBSCRIBE's confirmations, written once each of its subscriptions is active upstream.
final class PendingConfirmations {
    private let session: ClientSession
    private let sequence: UInt64
    private let frames: [ByteBuffer]
    private var remaining: Int

    init(session: ClientSession, sequence: UInt64, frames: [ByteBuffer]) {
        self.session = session
        self.sequence = sequence
        self.frames = frames
        self.remaining = frames.count
    }

    func oneActive() {
        remaining -= 1
        guard remaining == 0 else { return }
        session.complete(sequence) { buffer in
            for frame in frames { buffer.writeImmutableBuffer(frame) }
        }
    }
}

/// The commands that change a client's subscriptions.
enum PubSubCommand: String, Sendable {
    case subscribe, unsubscribe, psubscribe, punsubscribe, ssubscribe, sunsubscribe

    var kind: SubscriptionKind {
        switch self {
        case .subscribe, .unsubscribe: return .channel
        case .psubscribe, .punsubscribe: return .pattern
        case .ssubscribe, .sunsubscribe: return .shardChannel
        }
    }

    var subscribes: Bool { self == .subscribe || self == .psubscribe || self == .ssubscribe }
}
