import NIOCore
import Testing

@testable import ShardgateProxy

/// The proxy's MULTI queue without sockets: which group a transaction goes to, and when it aborts.
@Suite struct TransactionTests {
    let frame = ByteBuffer(string: "*1\r\n$4\r\nPING\r\n")

    @Test func emptyTransactionAnswersEmpty() {
        #expect(Transaction().execution(keylessGroup: 1) == .empty)
    }

    @Test func keylessTransactionGoesToTheKeylessGroup() {
        var transaction = Transaction()
        #expect(transaction.queue(frame, keyGroups: []) == nil)
        #expect(transaction.execution(keylessGroup: 2) == .send(group: 2))
    }

    @Test func keysFixTheGroup() {
        var transaction = Transaction()
        #expect(transaction.queue(frame, keyGroups: []) == nil)
        #expect(transaction.queue(frame, keyGroups: [3, 3]) == nil)
        #expect(transaction.queue(frame, keyGroups: [3]) == nil)
        #expect(transaction.frames.count == 3)
        #expect(transaction.execution(keylessGroup: 0) == .send(group: 3))
    }

    @Test func aKeyInAnotherGroupDoomsTheTransaction() {
        var transaction = Transaction()
        #expect(transaction.queue(frame, keyGroups: [1]) == nil)
        #expect(transaction.queue(frame, keyGroups: [1, 0]) == 0, "the group that does not fit")
        #expect(transaction.frames.count == 1, "the rejected command is not queued")
        #expect(transaction.queue(frame, keyGroups: [1]) == nil, "later commands still queue, as in Redis")
        #expect(transaction.execution(keylessGroup: 0) == .abort)
    }

    @Test func aQueueTimeErrorDoomsTheTransaction() {
        var transaction = Transaction()
        #expect(transaction.reject("ERR unknown command") == "ERR unknown command")
        #expect(transaction.execution(keylessGroup: 0) == .abort)
    }
}
