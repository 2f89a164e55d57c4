import CMallocInfo
import NIOCore

extension Node {
    /// Bytes of replies `client` has not been sent yet: those gathered this tick plus those the
    /// channel still holds because the client's socket is full (Redis's `omem`). While the channel
    /// is writable it holds less than its high-water mark, so it is only asked when it is not, or
    /// when replies were handed to it during the tick (they count before any flush).
    func unsentReplyBytes(_ client: ClientConnection) -> Int {
        var used = client.reply.readableBytes
        if !client.channel.isWritable || client.hadLargeBacklog,
            let buffered = try? client.channel.syncOptions?.getOption(.bufferedWritableBytes)
        {
            used += buffered
        }
        return used
    }

    /// Replies were added to `client` during the tick: past a few KB, checks its output limit, and hands
    /// a large reply buffer to the channel unflushed (it still leaves with the end-of-tick flush, after
    /// the AOF and replicas are fed), so a client without a limit that pipelines large reads cannot
    /// grow one buffer past ByteBuffer's 4 GiB (the node crashed there where Redis keeps buffering).
    func repliesGrew(_ client: ClientConnection) {
        guard client.reply.readableBytes >= ClientConnection.outputCheckBytes else { return }
        // A command whose reply CLIENT REPLY drops keeps it whole until `Node.process` cuts it off.
        if client.flags.replyMode == .off || client.flags.replyMode == .skip { return }
        if enforceOutputBufferLimit(client) { return }
        if client.reply.readableBytes >= ClientConnection.handOffBytes {
            client.channel.write(client.reply, promise: nil)
            client.reply = client.channel.allocator.buffer(capacity: 512)
            client.hadLargeBacklog = true
        }
    }

    /// A client that had a large reply backlog is gone: once its channel has released the buffers,
    /// return the freed memory to the system (Redis's allocator does this by itself).
    func releaseBacklogMemory(of client: ClientConnection) {
        guard client.hadLargeBacklog || client.closedForOutputLimit else { return }
        loop.execute { shardgate_release_free_memory() }
    }

    /// The `client-output-buffer-limit` class of `client`.
    func outputLimitClass(_ client: ClientConnection) -> ClientOutputBufferLimits.Class {
        if client.flags.isReplica && !client.flags.isMonitor { return .replica }
        if client.flags.subscriptionCount > 0 { return .pubsub }
        return .normal
    }

    /// Closes `client` at once, dropping its unsent replies, when its unsent replies reach its class's
    /// hard limit, or have stayed at or above the soft limit for more than the soft seconds (Redis's
    /// `checkClientOutputBufferLimits`). Returns true when the client is (or already was) closed so.
    /// The connection to our master is never closed this way.
    @discardableResult
    func enforceOutputBufferLimit(_ client: ClientConnection) -> Bool {
        if client.closedForOutputLimit { return true }
        guard !client.flags.isMaster else { return false }
        let limit = settings.clientOutputBufferLimits[outputLimitClass(client)]
        guard !limit.isUnlimited else { return false }
        let used = unsentReplyBytes(client)
        var reached = limit.hardBytes > 0 && used >= limit.hardBytes
        if limit.softBytes > 0 && used >= limit.softBytes {
            let now = self.now
            if client.softLimitReachedAt == 0 {
                client.softLimitReachedAt = now
            } else if (now - client.softLimitReachedAt) / 1000 > limit.softSeconds {
                reached = true
            }
        } else {
            client.softLimitReachedAt = 0
        }
        guard reached else { return false }
        logger.warning(
            "Client \(clientInfoLine(client, current: client)) closed for overcoming of output buffer limits.")
        client.closedForOutputLimit = true
        client.reply.clear()
        client.channel.close(promise: nil)
        return true
    }
}
