import Commands
import NIOCore

/// REPLICAOF/SLAVEOF, ROLE, WAIT, and the commands replicas send their master (REPLCONF, PSYNC, SYNC).
enum ReplicationCommands {
    static var all: [(String, CommandHandler)] {[
        ("replicaof", .init(replicaof)), ("slaveof", .init(replicaof)), ("role", .init(role)), ("wait", .init(wait)), ("replconf", .init(replconf)),
        ("psync", .init(psync)), ("sync", .init(sync)),
    ]}

    static func replicaof(_ call: inout CommandCall) throws(CommandError) {
        let node = call.node
        if call.client.flags.isReplica { throw CommandError("ERR Command is not valid when client is a replica.") }
        if call.matches(1, "no") && call.matches(2, "one") {
            if node.isReplica { node.becomeMaster() }
            return call.client.ok()
        }
        let host = call.string(1)
        let port = try call.integer(2)
        guard port >= 0 && port <= 65535 else { throw CommandError("ERR Invalid master port") }
        if let link = node.replication.link, link.host == host, link.port == port {
            return call.client.simple("OK Already connected to specified master")
        }
        node.becomeReplica(of: host, port: port)
        call.client.ok()
    }

    static func role(_ call: inout CommandCall) throws(CommandError) {
        let node = call.node
        let client = call.client
        if let link = node.replication.link {
            client.arrayHeader(5)
            client.bulk("slave")
            client.bulk(link.host)
            client.integer(link.port)
            client.bulk(link.roleState)
            client.integer(link.isUp ? node.replication.identity.offset : -1)
            return
        }
        client.arrayHeader(3)
        client.bulk("master")
        client.integer(node.replication.identity.offset)
        let online = node.replication.replicas.filter { $0.state == .online }
        client.arrayHeader(online.count)
        for peer in online {
            client.arrayHeader(3)
            client.bulk(peer.ip)
            client.bulk(String(peer.listeningPort))
            client.bulk(String(peer.ackOffset))
        }
    }

    static func wait(_ call: inout CommandCall) throws(CommandError) {
        let node = call.node
        if node.isReplica {
            throw CommandError("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.")
        }
        let wanted = try call.integer(1)
        let timeout = try call.integer(2, error: CommandError("ERR timeout is not an integer or out of range"))
        guard timeout >= 0 else { throw CommandError("ERR timeout is negative") }
        node.flushPropagation()
        let offset = call.client.flags.wroteData ? node.replication.identity.offset : 0
        let acknowledged = node.replication.acknowledgedReplicas(atLeast: offset)
        if acknowledged >= wanted || call.client.flags.queued != nil || node.clients.blocking.transactionDepth > 0 {
            return call.client.integer(acknowledged)
        }
        let client = call.client
        client.flags.isBlocked = true
        var scheduled: Scheduled<Void>?
        if timeout > 0 {
            let bound = NIOLoopBound(node, eventLoop: node.loop)
            let clientID = client.id
            scheduled = node.loop.scheduleTask(in: .milliseconds(Int64(timeout))) {
                bound.value.waitTimedOut(clientID: clientID)
            }
        }
        node.replication.waiters.append(ReplicationWaiter(client: client, offset: offset, replicas: wanted, timeout: scheduled))
        node.propagateToReplicas(["REPLCONF", "GETACK", "*"])
    }

    static func replconf(_ call: inout CommandCall) throws(CommandError) {
        guard call.count % 2 == 1 else { throw .syntax }
        let node = call.node
        let client = call.client
        var index = 1
        while index < call.count {
            if call.matches(index, "listening-port") {
                client.flags.replicaListeningPort = try call.integer(index + 1)
            } else if call.matches(index, "ip-address") {
                // NET_HOST_STR_LEN (256) bounds the address Redis keeps.
                let length = Int(call.spans[index + 1].length)
                guard length < 256 else {
                    throw CommandError("ERR REPLCONF ip-address provided by replica instance is too long: \(length) bytes")
                }
                client.flags.replicaAnnouncedIP = call.string(index + 1)
            } else if call.matches(index, "capa") {
                if call.matches(index + 1, "eof") { client.flags.replicaSupportsEOF = true }
            } else if call.matches(index, "ack") {
                // Sent by replicas every second; never answered.
                if let offset = call.argument(index + 1, { RedisNumber.parseInteger($0) }) {
                    node.replicaAcknowledged(client, offset: offset)
                }
                return
            } else if call.matches(index, "getack") {
                // From our master: answer with our offset, on the master link (no normal reply).
                if client.flags.isMaster { node.replication.link?.sendAck() }
                return
            } else if call.matches(index, "rdb-only") {
                _ = try call.rangeInteger(index + 1, min: 0, max: 1)
                // Accepted for compatibility (redis-cli --rdb); full snapshots are always sent.
            } else if call.matches(index, "rdb-filter-only") {
                // Accepted for compatibility (redis-cli --rdb); full snapshots are always sent.
            } else {
                throw CommandError("ERR Unrecognized REPLCONF option: \(call.string(index))")
            }
            index += 2
        }
        client.ok()
    }

    static func psync(_ call: inout CommandCall) throws(CommandError) {
        try startSync(call, legacy: false)
    }

    static func sync(_ call: inout CommandCall) throws(CommandError) {
        try startSync(call, legacy: true)
    }

    private static func startSync(_ call: CommandCall, legacy: Bool) throws(CommandError) {
        let node = call.node
        let client = call.client
        if client.flags.isReplica { return }
        if let link = node.replication.link, !link.isUp {
            throw CommandError("NOMASTERLINK Can't SYNC while not connected with my master")
        }
        if !legacy {
            let id = call.string(1)
            // A PSYNC whose offset is no integer is refused, as Redis does.
            let offset = try call.integer(2)
            if node.tryPartialResync(client, id: id, offset: offset) { return }
        } else {
            // SYNC replicas expect the payload without a FULLRESYNC line, on disk framing.
            client.flags.replicaSupportsEOF = false
            client.flags.legacySync = true
        }
        node.startFullResync(client)
    }
}

extension Node {
    fileprivate func waitTimedOut(clientID: Int) {
        guard let index = replication.waiters.firstIndex(where: { $0.client.id == clientID }) else { return }
        let waiter = replication.waiters.remove(at: index)
        finishWait(waiter, count: replication.acknowledgedReplicas(atLeast: waiter.offset))
    }
}
