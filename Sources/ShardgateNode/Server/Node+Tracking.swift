import Commands
import RESP

/// Client-side caching: CLIENT TRACKING's state changes, remembering the keys tracking clients
/// read, and the invalidation messages (called from the hooks in Node+Hooks.swift and from
/// `Node.run`/`Node.process`).
extension Node {
    // MARK: - Turning tracking on and off

    /// CLIENT TRACKING ON with the options already checked.
    func enableTracking(_ client: ClientConnection, mode: TrackingMode, prefixes: [[UInt8]]) {
        var state = client.flags.tracking ?? TrackingMode()
        if client.flags.tracking == nil { tracking.clientCount += 1 }
        state.redirect = mode.redirect
        state.broadcast = mode.broadcast
        state.optIn = mode.optIn
        state.optOut = mode.optOut
        state.noLoop = mode.noLoop
        state.brokenRedirect = false
        if mode.broadcast {
            for prefix in prefixes.isEmpty ? [[]] : prefixes where tracking.addPrefix(prefix, client: client) {
                state.prefixes.append(prefix)
            }
            state.prefixes.sort { $0.lexicographicallyPrecedes($1) }
        }
        client.flags.tracking = state
    }

    /// CLIENT TRACKING OFF, RESET or disconnection. The keys it read stay in the table until they
    /// change (their ids are dropped then), as in Redis.
    func disableTracking(_ client: ClientConnection) {
        guard let state = client.flags.tracking else { return }
        for prefix in state.prefixes { tracking.removePrefix(prefix, client: client) }
        client.flags.tracking = nil
        tracking.clientCount -= 1
    }

    // MARK: - Reads

    /// After a read-only command: the keys it read are remembered for the client that ran it (for
    /// a command a script ran: the script's caller, with the keys the script declared).
    func rememberTrackedKeys(_ call: CommandCall) {
        let reader = call.client.flags.isScript ? tracking.actor : call.client
        guard let reader, let mode = reader.flags.tracking, !mode.broadcast else { return }
        if (mode.optIn && !mode.caching) || (mode.optOut && mode.caching) { return }
        let spec: CommandSpec
        let request: RESPRequest
        if call.client.flags.isScript {
            guard let outerSpec = tracking.outerSpec, let outerRequest = tracking.outerRequest else { return }
            (spec, request) = (outerSpec, outerRequest)
        } else {
            // The read-only script commands track through the commands their scripts run.
            if Self.readOnlyScriptCommands.contains(call.spec.id) { return }
            (spec, request) = (call.spec, call.request)
        }
        var spans: [RESPRequest.ArgumentSpan] = []
        request.collectSpans(into: &spans)
        let keys = request.frame.withUnsafeReadableBytes { bytes in
            try? spec.keyIndices(argumentCount: spans.count) { UnsafeRawBufferPointer(rebasing: bytes[spans[$0].range]) }
        }
        guard let keys else { return }
        for index in keys {
            let key = request.frame.withUnsafeReadableBytes { Array($0[spans[index].range]) }
            tracking.remember(key, client: reader.id)
        }
    }

    private static let readOnlyScriptCommands: Set<Int> = Set(
        ["eval_ro", "evalsha_ro", "fcall_ro"].compactMap { CommandTable.redis.lookup($0)?.id })

    // MARK: - Changes

    /// A command changed data: the keys it modified are invalidated (FLUSHDB/FLUSHALL: every key).
    func invalidateModifiedKeys(_ effect: CommandEffect, of call: CommandCall) {
        let modifier = call.client.flags.isScript ? tracking.actor : call.client
        switch effect.modifiedKeys {
        case .flushed:
            invalidateAllTrackedKeys()
        case .swapped:
            break
        case .writtenArguments:
            guard call.spec.isWrite, let keys = Self.writtenKeys(call) else { break }
            for index in keys { invalidateTrackedKey(call.bytes(index), modifiedBy: modifier) }
        }
        for other in effect.otherModifiedKeys { invalidateTrackedKey(other.key, modifiedBy: modifier) }
    }

    /// `key` changed (or, with `broadcast` false, left the table): the clients that may cache it
    /// are told; BCAST clients learn it at the end of the tick.
    func invalidateTrackedKey(_ key: [UInt8], modifiedBy modifier: ClientConnection?, broadcast: Bool = true) {
        if broadcast && !tracking.prefixes.isEmpty { tracking.noteChanged(key, by: modifier?.id ?? 0) }
        guard let ids = tracking.take(key) else { return }
        for id in ids.sorted() {
            guard let target = clients.connected[id], let mode = target.flags.tracking, !mode.broadcast else { continue }
            if mode.noLoop && target === tracking.actor { continue }
            if target === tracking.actor {
                tracking.pending.append((target, key))
            } else {
                sendInvalidation(to: target, keys: [key])
            }
        }
    }

    /// FLUSHDB, FLUSHALL or a dataset replaced: every tracking client is told that all its keys are
    /// invalid (a null instead of keys), and the table is emptied.
    func invalidateAllTrackedKeys() {
        guard !tracking.isEmpty else { return tracking.removeAllKeys() }
        for client in clients.connected.values.sorted(by: { $0.id < $1.id }) where client.flags.tracking != nil {
            if client === tracking.actor {
                tracking.pending.append((client, nil))
            } else {
                sendInvalidation(to: client, keys: nil)
            }
        }
        tracking.removeAllKeys()
    }

    /// After a client's request ran (and CLIENT REPLY cut its reply): the invalidations it got
    /// meanwhile follow the reply; CLIENT CACHING lasts one command (or one transaction).
    func trackingRequestFinished(_ client: ClientConnection, _ request: RESPRequest) {
        sendPendingInvalidations()
        if client.flags.tracking?.caching == true && client.flags.queued == nil
            && !request.withArgument(0, { Self.isClientCommand($0) })
        {
            client.flags.tracking!.caching = false
        }
    }

    private static func isClientCommand(_ name: UnsafeRawBufferPointer) -> Bool {
        name.count == 6 && zip(name, "client".utf8).allSatisfy { $0 | 0x20 == $1 }
    }

    func sendPendingInvalidations() {
        guard !tracking.pending.isEmpty else { return }
        let pending = tracking.pending
        tracking.pending.removeAll()
        for (client, key) in pending where client.flags.tracking != nil {
            sendInvalidation(to: client, keys: key.map { [$0] })
        }
    }

    /// The BCAST clients get the keys changed under their prefixes this tick (one message per
    /// prefix; NOLOOP clients without the keys they changed themselves).
    func broadcastInvalidations() {
        guard !tracking.isEmpty, tracking.hasBroadcasts else { return }
        for (subscribers, changed) in tracking.takeBroadcasts() {
            let sorted = changed.keys.sorted { $0.lexicographicallyPrecedes($1) }
            for client in subscribers where client.flags.tracking != nil {
                if client.flags.tracking!.noLoop {
                    let keys = sorted.filter { changed[$0] != client.id }
                    if !keys.isEmpty { sendInvalidation(to: client, keys: keys) }
                } else {
                    sendInvalidation(to: client, keys: sorted)
                }
            }
        }
    }

    /// Over `tracking-table-max-keys`: keys leave the table as if they changed, a bounded number
    /// per call, more each time the table is still over (before each command and in cron).
    func limitTrackingTable() {
        let limit = settings.trackingTableMaxKeys
        guard limit > 0, tracking.keys.count > limit else {
            tracking.limitRounds = 0
            return
        }
        var effort = 100 * (tracking.limitRounds + 1)
        while effort > 0, let key = tracking.someKey {
            effort -= 1
            invalidateTrackedKey(key, modifiedBy: nil, broadcast: false)
            if tracking.keys.count <= limit {
                tracking.limitRounds = 0
                return
            }
        }
        tracking.limitRounds += 1
    }

    /// What `run` saves while a client's command runs (the actor and command before it).
    struct TrackingScope {
        var actor: ClientConnection?
        var request: RESPRequest?
        var spec: CommandSpec?
    }

    /// A client (not a script) starts a command while some client tracks: it is the actor, and
    /// the command whose keys its scripts' reads track.
    func beginTrackingScope(_ client: ClientConnection, _ request: RESPRequest, _ spec: CommandSpec) -> TrackingScope? {
        guard !tracking.isEmpty, !client.flags.isScript else { return nil }
        let saved = TrackingScope(actor: tracking.actor, request: tracking.outerRequest, spec: tracking.outerSpec)
        tracking.actor = client
        tracking.outerRequest = request
        tracking.outerSpec = spec
        return saved
    }

    func endTrackingScope(_ saved: TrackingScope?) {
        guard let saved else { return }
        tracking.actor = saved.actor
        tracking.outerRequest = saved.request
        tracking.outerSpec = saved.spec
    }

    /// Applies a command's effect on the tracking table: changed keys are invalidated, the keys a
    /// read-only command read are remembered.
    func applyTracking(_ effect: CommandEffect, of call: CommandCall) {
        if case .flushed = effect.modifiedKeys {
            invalidateModifiedKeys(effect, of: call)
        } else if effect.changedData && tracking.hasKeysOrPrefixes {
            invalidateModifiedKeys(effect, of: call)
        }
        if call.spec.isReadOnly && !tracking.isEmpty { rememberTrackedKeys(call) }
    }

    // MARK: - Messages

    /// One invalidation for `client`'s cache: `keys`, or nil for all of them. It goes to the
    /// redirect client when there is one (a pub/sub message on `__redis__:invalidate` to a RESP2
    /// subscriber), else to the client itself in RESP3 (RESP2 has no push to carry it).
    func sendInvalidation(to client: ClientConnection, keys: [[UInt8]]?) {
        guard let mode = client.flags.tracking else { return }
        var receiver = client
        let redirected = mode.redirect != 0
        if redirected {
            guard let redirect = clients.connected[mode.redirect] else {
                client.flags.tracking!.brokenRedirect = true
                if client.protocolVersion == 3 {
                    client.pushHeader(2)
                    client.bulk("tracking-redir-broken")
                    client.integer(mode.redirect)
                    scheduleFlush(client)
                    repliesGrew(client)
                }
                return
            }
            receiver = redirect
        }
        if receiver.protocolVersion == 3 {
            receiver.pushHeader(2)
            receiver.bulk("invalidate")
        } else if redirected && receiver.flags.subscriptionCount > 0 {
            receiver.pushHeader(3)
            receiver.bulk("message")
            receiver.bulk("__redis__:invalidate")
        } else {
            return
        }
        if let keys {
            receiver.arrayHeader(keys.count)
            for key in keys { receiver.bulk(key) }
        } else {
            receiver.null()
        }
        scheduleFlush(receiver)
        repliesGrew(receiver)
    }
}
