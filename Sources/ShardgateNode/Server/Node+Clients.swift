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
        if client.flags.isMonitor { flags += "O" } else if client.flags.isReplica { flags += "S" }
        if client.flags.isMaster { flags += "M" }
        if client.flags.subscriptionCount > 0 { flags += "P" }
        if client.flags.queued != nil { flags += "x" }
        if client.flags.isBlocked { flags += "b" }
        if let tracking = client.flags.tracking {
            flags += "t"
            if tracking.brokenRedirect { flags += "R" }
            if tracking.broadcast { flags += "B" }
        }
        if client.flags.watchTouched { flags += "d" }
        if client.closeAfterReply { flags += "c" }
        if client.noEvict { flags += "e" }
        if flags.isEmpty { flags = "N" }
        let name = client.name.map { String(decoding: $0, as: UTF8.self) } ?? ""
        let isCurrent = client === current
        let command = isCurrent ? running : (client.lastCommandID < 0 ? "NULL" : CommandTable.redis[client.lastCommandID].name)
        // The query buffer holds what is not yet run: for the client asking, its own request too.
        let queryBuffer = client.pendingInputBytes + (isCurrent ? client.runningRequestBytes : 0)
        let queryFree = max(0, client.queryBufferCapacity - queryBuffer)
        let argumentBytes = isCurrent ? client.spans.reduce(0) { $0 + Int($1.length) } : 0
        let multiBytes = client.flags.queued?.reduce(0) { $0 + $1.frame.readableBytes } ?? 0
        let outputBytes = client.channel.isWritable ? 0 : unsentReplyBytes(client)
        let totalBytes = client.queryBufferCapacity + argumentBytes + multiBytes + outputBytes + client.reply.capacity + 1024
        return "id=\(client.id) addr=\(client.remoteAddress) laddr=\(client.localAddress) fd=0 name=\(name) "
            + "age=\((now - client.connectedAt) / 1000) idle=\((now - client.lastInteraction) / 1000) flags=\(flags) "
            + "db=\(client.database) sub=\(client.flags.channels.count) psub=\(client.flags.patterns.count) "
            + "ssub=\(client.flags.shardChannels.count) multi=\(client.flags.queued.map { $0.count } ?? -1) "
            + "qbuf=\(queryBuffer) qbuf-free=\(queryFree) argv-mem=\(argumentBytes) multi-mem=\(multiBytes) "
            + "rbs=\(client.reply.capacity) rbp=\(client.reply.capacity) obl=\(isCurrent ? 0 : client.reply.readableBytes) oll=0 "
            + "omem=\(outputBytes) tot-mem=\(totalBytes) events=r cmd=\(command) user=\(user(of: client).name) redir=\(client.flags.tracking?.redirect ?? -1) resp=\(client.protocolVersion)"
    }

    /// Redis's query buffer upkeep in its client cron: the buffer of a client idle for more than 2
    /// seconds is freed; one much larger than what the client recently sent shrinks back.
    func resizeQueryBuffers(now: Int64) {
        for client in clients.connected.values where client.queryBufferCapacity > 0 {
            if client.pendingInputBytes == 0 && now - client.lastInteraction > 2000 {
                client.queryBufferCapacity = 0
            } else if client.queryBufferCapacity > ClientConnection.queryBufferResizeThreshold
                && client.queryBufferCapacity / 2 > client.queryBufferPeak
            {
                client.queryBufferCapacity = max(client.queryBufferPeak, client.pendingInputBytes, ClientConnection.queryBufferInitial)
            }
            client.queryBufferPeak = client.pendingInputBytes
        }
    }

    /// Why a new connection is turned away before it may send anything, as the error line it gets, or
    /// nil; Redis's accept checks in its order: `maxclients`, then protected mode (no password and
    /// `protected-mode yes`: only clients from 127.0.0.1 or ::1 get in).
    func admissionRefusal(_ channel: any Channel) -> String? {
        if clients.connected.count >= settings.maxClients {
            stats.rejectedConnections += 1
            return "-ERR max number of clients reached\r\n"
        }
        if settings.protectedMode && settings.requirePass == nil {
            let address = channel.remoteAddress?.ipAddress
            if address != "127.0.0.1" && address != "::1" {
                stats.rejectedConnections += 1
                return Self.protectedModeRefusal
            }
        }
        return nil
    }

    /// Redis's own words to a client refused by protected mode (clients show them to users).
    static let protectedModeRefusal =
        "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set "
        + "for the default user. In this mode connections are only accepted from the loopback interface. If you "
        + "want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just "
        + "disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by "
        + "connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly "
        + "accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively "
        + "you can just disable the protected mode by editing the Redis configuration file, and setting the "
        + "protected mode option to 'no', and then restarting the server. 3) If you started the server manually "
        + "just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password "
        + "for the default user. NOTE: You only need to do one of the above things in order for the server to start "
        + "accepting connections from the outside.\r\n"

    /// `timeout`: closes clients idle for longer, except replicas, the master link, MONITOR, blocked
    /// and subscribed clients (Redis's exceptions). Checked once a second.
    func closeIdleClients(now: Int64) {
        guard settings.timeout > 0 else { return }
        let limit = Int64(settings.timeout) * 1000
        for client in clients.connected.values where now - client.lastInteraction > limit {
            let flags = client.flags
            guard !flags.isReplica, !flags.isMaster, !flags.isMonitor, !flags.isBlocked, flags.subscriptionCount == 0,
                !client.closeAfterReply
            else { continue }
            logger.info("closing idle client", metadata: ["client": "\(client.remoteAddress)"])
            kill(client)
        }
    }

    /// Closes a client after what it has been sent so far (CLIENT KILL).
    func kill(_ client: ClientConnection) {
        client.closeAfterReply = true
        scheduleFlush(client)
    }
}

extension ClientConnection {
    /// A subcommand list as Redis's `addReplyHelp` writes it: the title, `lines`, then HELP.
    func helpReply(_ command: String, _ lines: [String]) {
        let all = CommandHelp.lines(command, lines)
        arrayHeader(all.count)
        for line in all { simple(line) }
    }

    /// Hands pending replies to the channel and flushes; closes when asked to.
    func flush() {
        if let handlerContext {
            if reply.readableBytes > 0 { handlerContext.write(NIOAny(reply), promise: nil) }
            handlerContext.flush()
        } else {
            if reply.readableBytes > 0 { channel.write(reply, promise: nil) }
            channel.flush()
        }
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
        case .stream: return "stream"
        }
    }
}
