import Config
import NIOCore

/// What one event loop counted for one pool, and what a snapshot of its state shows: the source
/// of INFO, twemproxy's stats port and `/metrics`, summed over loops when read.
struct LoopStats: Sendable {
    var connectionsReceived = 0
    var commandsProcessed = 0
    var rejectedConnections = 0
    var protocolErrors = 0
    var crossSlotErrors = 0
    var splitCommands = 0
    /// Clients closed for holding more unsent replies than `client_output_buffer_limit`.
    var outputLimitDisconnections = 0
    /// Clients that closed their connection, and those closed on an error (twemproxy's
    /// `client_eof` and `client_err`).
    var clientEOF = 0
    var clientErrors = 0
    /// Requests sent to a group as parts of a split command (twemproxy's `fragments`).
    var fragments = 0
    /// Groups taken out by auto_eject_hosts (twemproxy's `server_ejects`).
    var serverEjects = 0
    /// Requests by command id (`CommandTable.redis`), the last entry for unknown commands.
    var commandCalls: [Int] = []
    /// Error replies and the time to the reply, by command id, and error replies by their first
    /// word (INFO errorstats): kept only when the proxy serves `/metrics` (`PoolLoop.measures`).
    var commandErrors: [Int] = []
    var commandNanoseconds: [UInt64] = []
    var errorCodes: [String: Int] = [:]
    /// Time from the read that brought a request to its reply leaving for the client.
    var requestLatency = LatencyBuckets()

    mutating func add(_ other: LoopStats) {
        connectionsReceived += other.connectionsReceived
        commandsProcessed += other.commandsProcessed
        rejectedConnections += other.rejectedConnections
        protocolErrors += other.protocolErrors
        crossSlotErrors += other.crossSlotErrors
        splitCommands += other.splitCommands
        outputLimitDisconnections += other.outputLimitDisconnections
        clientEOF += other.clientEOF
        clientErrors += other.clientErrors
        fragments += other.fragments
        serverEjects += other.serverEjects
        if commandCalls.isEmpty { commandCalls = other.commandCalls } else { Self.add(other.commandCalls, to: &commandCalls) }
        if commandErrors.isEmpty { commandErrors = other.commandErrors } else { Self.add(other.commandErrors, to: &commandErrors) }
        if commandNanoseconds.isEmpty {
            commandNanoseconds = other.commandNanoseconds
        } else {
            for index in other.commandNanoseconds.indices where index < commandNanoseconds.count {
                commandNanoseconds[index] &+= other.commandNanoseconds[index]
            }
        }
        errorCodes.merge(other.errorCodes, uniquingKeysWith: +)
        requestLatency.add(other.requestLatency)
    }

    private static func add(_ counts: [Int], to total: inout [Int]) {
        for index in counts.indices where index < total.count { total[index] += counts[index] }
    }
}

struct BackendSnapshot: Sendable {
    var group: String
    var role: String
    var endpoint: Endpoint
    var available: Bool
    var inFlight: Int
    var stats: BackendStats
    /// Unix seconds of the group's last ejection by auto_eject_hosts (masters only), 0 if never.
    var ejectedAt: Int64 = 0
}

struct LoopSnapshot: Sendable {
    var stats: LoopStats
    var connectedClients: Int
    /// Clients waiting for a blocking command's reply (INFO `blocked_clients`).
    var blockedClients = 0
    /// Connections lent to clients (blocking commands, WATCH) now, and pub/sub subscriptions.
    var leasedConnections = 0
    var subscriptions = 0
    /// `backends[group][0]` is the master, then the replicas.
    var backends: [[BackendSnapshot]]
}

extension [LoopSnapshot] {
    /// Every backend of the loops, summed over the loops by `key` (counters and in-flight requests
    /// added, available only if available everywhere, the latest ejection), in first-seen order:
    /// group order, master first.
    func mergedBackends(by key: (BackendSnapshot) -> String) -> [BackendSnapshot] {
        var merged: [BackendSnapshot] = []
        var index: [String: Int] = [:]
        for snapshot in self {
            for group in snapshot.backends {
                for backend in group {
                    let name = key(backend)
                    if let position = index[name] {
                        merged[position].stats.add(backend.stats)
                        merged[position].inFlight += backend.inFlight
                        merged[position].available = merged[position].available && backend.available
                        merged[position].ejectedAt = Swift.max(merged[position].ejectedAt, backend.ejectedAt)
                    } else {
                        index[name] = merged.count
                        merged.append(backend)
                    }
                }
            }
        }
        return merged
    }
}

/// The first word of an error reply (`ERR`, `WRONGTYPE`, `CROSSSLOT`…), as INFO errorstats counts it.
struct ErrorCode {
    let text: String

    /// `reply` has an error (`-CODE message\r\n`) at `index`.
    init(_ reply: ByteBuffer, at index: Int) {
        var end = index + 1
        while end < reply.writerIndex, end - index <= 64, let byte = reply.getInteger(at: end, as: UInt8.self),
            byte != UInt8(ascii: " "), byte != UInt8(ascii: "\r")
        {
            end += 1
        }
        text = reply.getString(at: index + 1, length: end - index - 1) ?? "ERR"
    }
}
