import NIOCore
import NIOEmbedded
import Testing

@testable import ShardgateNode

/// The end-of-tick flush (`ClientRegistry.flushQueued`): what `prepare` fed the replicas goes out
/// before the replies of the clients whose writes it carries, as Redis writes replicas first.
@Suite struct FlushOrderTests {
    private func client(_ id: Int, on loop: EmbeddedEventLoop, replica: Bool = false) -> ClientConnection {
        let client = ClientConnection(id: id, channel: EmbeddedChannel(loop: loop), authenticated: true, now: 0)
        client.flags.isReplica = replica
        return client
    }

    @Test func replicasQueuedByPrepareAreFlushedBeforeTheClients() {
        let loop = EmbeddedEventLoop()
        let registry = ClientRegistry()
        let writer = client(3, on: loop)
        let reader = client(4, on: loop)
        let replica = client(5, on: loop, replica: true)
        #expect(registry.queueFlush(writer))
        _ = registry.queueFlush(reader)
        var flushed: [Int] = []
        // The write's stream reaches the replica while the replies wait (Node.beforeReplies).
        registry.flushQueued(prepare: { _ = registry.queueFlush(replica) }) { flushed.append($0.id) }
        #expect(flushed == [5, 3, 4])
    }

    @Test func everyQueuedClientIsFlushedOnceAndRequeueingWorks() {
        let loop = EmbeddedEventLoop()
        let registry = ClientRegistry()
        let clients = (3..<8).map { client($0, on: loop, replica: $0 % 2 == 0) }
        for client in clients { _ = registry.queueFlush(client) }
        var flushed: [Int] = []
        var requeued = false
        registry.flushQueued(prepare: {}) { client in
            flushed.append(client.id)
            // A flush that queues a client again (a reply written meanwhile) gets it flushed again.
            if client.id == 3 && !requeued {
                requeued = true
                _ = registry.queueFlush(client)
            }
        }
        #expect(flushed == [4, 6, 3, 5, 7, 3])
        #expect(clients.allSatisfy { !$0.flushQueued })
    }
}
