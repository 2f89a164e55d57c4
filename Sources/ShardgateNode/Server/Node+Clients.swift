import Commands
import NIOCore

extension Node {
    /// "normal", "pubsub", "replica" or "master", as CLIENT LIST TYPE filters.
    func clientType(_ client: ClientConnection) -> String {
        if client.flags.isReplica { return "replica" }
        if client.flags.isMaster { return "master" }
        if client.flags.subscriptionCount > 0 { return "pubsub" }
        return "normal"
    }

    /// One CLIENT LIST line with Redis 7.0's fields. `omem` counts the replies held back because the
    /// client's socket is full (what Redis keeps in its reply list).
    func clientInfoLine(_ client: ClientConnection, current: ClientConnection, running: String = "client|list") -> String {
        let now = self.now
        var flags = ""
        if client.flags.isMonitor { flags += "O" }
        if client.flags.isReplica { flags += "S" }
        if client.flags.isMaster { flags += "M" }
        if client.flags.subscriptionCount > 0 { flags += "P" }
        if client.flags.queued != nil { flags += "x" }
        if client.flags.isBlocked { flags += "b" }
        if client.closeAfterReply { flags += "c" }
        if flags.isEmpty { flags = "N" }
        let name = client.name.map { String(decoding: $0, as: UTF8.self) } ?? ""
        let command = client === current ? running : (client.lastCommandID < 0 ? "NULL" : CommandTable.redis[client.lastCommandID].name)
        return "id=\(client.id) addr=\(client.remoteAddress) laddr=\(client.localAddress) fd=0 name=\(name) "
            + "age=\((now - client.connectedAt) / 1000) idle=\((now - client.lastInteraction) / 1000) flags=\(flags) "
            + "db=\(client.database) sub=\(client.flags.channels.count) psub=\(client.flags.patterns.count) ssub=0 "
            + "multi=\(client.flags.queued.map { $0.count } ?? -1) qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=512 "
            + "rbp=0 obl=0 oll=0 omem=\(client.channel.isWritable ? 0 : unsentReplyBytes(client)) tot-mem=0 events=r cmd=\(command) user=default redir=-1 "
            + "resp=\(client.protocolVersion) lib-name=\(client.libraryName) lib-ver=\(client.libraryVersion)"
    }

    /// Closes a client after what it has been sent so far (CLIENT KILL).
    func kill(_ client: ClientConnection) {
        client.closeAfterReply = true
        scheduleFlush(client)
    }
}

extension ClientConnection {
    /// Hands pending replies to the channel and flushes; closes when asked to.
    func flush() {
        if reply.readableBytes > 0 {
            channel.write(reply, promise: nil)
        }
        channel.flush()
        // The write has completed or holds its own reference: reuse the storage.
        reply.clear()
        if reply.capacity > 256 * 1024 { reply = channel.allocator.buffer(capacity: 512) }
        if closeAfterReply { channel.close(promise: nil) }
    }
}

extension Value {
    /// OBJECT ENCODING's answer.
    var encodingName: String {
        switch self {
        case .string(let bytes):
            if bytes.count <= 20 && bytes.withUnsafeBytes({ RedisNumber.isCanonicalInteger($0) }) { return "int" }
            return bytes.count <= 44 ? "embstr" : "raw"
        case .list: return "quicklist"
        case .hash(let hash): return hash.encodingName
        case .set(let set): return set.encodingName
        case .sortedSet(let sortedSet): return sortedSet.encodingName
        }
    }
}
