import Commands
import NIOCore
import RESP

/// Blocking commands and WATCH: each runs on a connection to its group's master lent to this
/// client alone (`LeasePool`), so the shared, pipelined connections never stall or carry a
/// client's watched keys. Which leases the client holds, which one carries its WATCH and when one
/// goes back is `machine`'s to decide; this takes them from the pool and sends on them.
extension ClientSession {
    /// The client's lease on `group`'s master, one it holds or a new one; nil (after answering the
    /// error) when none can be had.
    private func lease(forGroup group: Int) -> Lease? {
        lease(forGroup: group) { respondError($0) }
    }

    /// The same, failing `target` instead of answering when no lease can be had.
    func lease(forGroup group: Int, failing target: ReplyTarget) -> Lease? {
        lease(forGroup: group) { target.fail($0) }
    }

    private func lease(forGroup group: Int, orElse fail: (String) -> Void) -> Lease? {
        if let held = machine.heldLease(forGroup: group) { return held }
        switch loop.leases.lease(group: group, protocolVersion: protocolVersion, database: database) {
        case .success(let lease):
            machine.leaseAcquired(lease)
            lease.connection.whenIdle = { [unowned self, unowned lease] in self.releaseIfIdle(lease) }
            return lease
        case .failure(let error):
            fail(error.message)
            return nil
        }
    }

    /// The one group every key of `request` lives in; nil after answering the error.
    private func singleGroup(_ request: RESPRequest, spec: CommandSpec) -> Int? {
        switch keyGroups(request, spec: spec) {
        case .failed(let message):
            respondError(message)
            return nil
        case .groups(let groups):
            guard let first = groups.first, groups.allSatisfy({ $0 == first }) else {
                respondCrossSlot(groups)
                return nil
            }
            return first
        }
    }

    /// BLPOP, BLMOVE, BZPOPMIN, XREAD … BLOCK …: on the client's lease, however long the server
    /// keeps it; a client that goes away closes its lease, so nothing is popped for it.
    func sendBlocking(_ request: RESPRequest, spec: CommandSpec) {
        guard let group = singleGroup(request, spec: spec) else { return }
        afterEarlierRepliesUnlessLeased(group) { [self] in
            guard let lease = lease(forGroup: group) else { return }
            blockingInFlight += 1
            lease.connection.send(request.frame, to: .blocking(self, sequence: reserveSlot()))
        }
    }

    /// A client with a lease on `group` already sends there in order; otherwise a new lease waits
    /// until the client's earlier requests are answered.
    private func afterEarlierRepliesUnlessLeased(_ group: Int, _ run: @escaping () -> Void) {
        if machine.holdsLease(onGroup: group) { return run() }
        afterEarlierReplies(run)
    }

    /// WATCH: from here until EXEC, DISCARD or UNWATCH, the client's commands for the watched group
    /// run on its lease (see `connection(forGroup:)`), as on a connection of its own.
    func watch(_ request: RESPRequest, spec: CommandSpec) {
        guard let group = singleGroup(request, spec: spec) else { return }
        switch machine.watch(group: group) {
        case .crossSlot(let groups):
            respondCrossSlot(groups)
        case .send(let group):
            afterEarlierRepliesUnlessLeased(group) { [self] in
                guard let lease = machine.watching ?? lease(forGroup: group) else { return }
                machine.watchStarted(on: lease)
                lease.connection.send(request.frame, to: .client(self, sequence: reserveSlot()))
                if lease.watchedGeneration == nil { lease.watchedGeneration = lease.connection.generation }
            }
        }
    }

    /// Ends the WATCH on `lease`: the client's UNWATCH (`request`, answered by the server), or the
    /// implicit one of DISCARD, RESET or an aborted EXEC (nobody reads its reply).
    func unwatch(_ lease: Lease, _ request: RESPRequest? = nil) {
        lease.watchedGeneration = nil
        let target: ReplyTarget = request == nil ? .discard : .client(self, sequence: reserveSlot())
        lease.connection.send(request?.frame ?? Self.unwatchFrame, to: target)
    }

    static let unwatchFrame = RESPRequest(arguments: [Array("UNWATCH".utf8)]).frame

    /// EXEC of a client that watches: the block goes on its lease, and the lease may go back after.
    func executeWatched(_ queued: Transaction, on lease: Lease) {
        defer { lease.watchedGeneration = nil }
        guard lease.watchedGeneration == lease.connection.generation else {
            // Run on a new connection, the transaction would skip the WATCH check: refuse it.
            respondError(ProxyErrors.watchLost(loop.groups[lease.group].name))
            return releaseIfIdle(lease)
        }
        lease.connection.send(Self.multiFrame, to: .discard)
        for frame in queued.frames { lease.connection.send(frame, to: .discard) }
        lease.connection.send(Self.execFrame, to: .client(self, sequence: reserveSlot()))
    }

    /// A lease with nothing in flight goes back to the pool, unless the client still watches
    /// through it.
    func releaseIfIdle(_ lease: Lease) {
        guard lease.connection.inFlight == 0, machine.leaseIdle(lease) else { return }
        lease.connection.whenIdle = nil
        loop.leases.giveBack(lease)
    }

    /// The client went away: its leases are closed, not reused.
    func drop(_ leases: [Lease]) {
        for lease in leases {
            lease.connection.whenIdle = nil
            loop.leases.discard(lease)
        }
    }
}
