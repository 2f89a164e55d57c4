import Commands
import NIOCore

/// MONITOR: the client receives every command the node runs afterwards, one status line each:
/// `+<seconds>.<microseconds> [<db> <addr>] "arg" ...` with Redis's quoting (`sdscatrepr`).
enum MonitorCommand {
    static var all: [(String, CommandHandler)] {[("monitor", .init(monitor))]}

    static func monitor(_ call: inout CommandCall) throws(CommandError) {
        // Run from EXEC, the client expects one reply per command (Redis's CLIENT_DENY_BLOCKING).
        if call.node.clients.blocking.transactionDepth > 0 {
            throw CommandError("ERR MONITOR isn't allowed for DENY BLOCKING client")
        }
        // Redis ignores MONITOR (without a reply) from a client already monitoring.
        guard !call.client.flags.isMonitor else { return }
        call.client.flags.isMonitor = true
        call.node.clients.monitors.append(call.client)
        call.client.ok()
    }

    /// The monitor line for an executed command (CRLF included); commands a script runs show
    /// `lua` as their client, as in Redis.
    static func line(_ call: CommandCall, microseconds: Int64) -> ByteBuffer {
        MonitorLine.make(
            microseconds: microseconds, database: call.client.database,
            client: call.client.flags.isScript ? "lua" : call.client.remoteAddress, request: call.request, spec: call.spec)
    }
}

extension Node {
    /// Sends the line of an executed command to every MONITOR client (admin commands excepted);
    /// `feedMonitors` calls it only when there are some.
    func feedMonitorClients(_ call: CommandCall) {
        guard !call.spec.flags.contains(.admin), !call.spec.flags.contains(.skipMonitor) else { return }
        sendToMonitors(MonitorCommand.line(call, microseconds: Clock.microseconds()), from: call.client)
    }

    /// Writes `line` to every MONITOR client (flushed at the end of the tick; `client`, whose
    /// command it is, flushes with its own reply).
    func sendToMonitors(_ line: ByteBuffer, from client: ClientConnection) {
        for monitor in clients.monitors {
            var copy = line
            monitor.reply.writeBuffer(&copy)
            if monitor !== client { scheduleFlush(monitor) }
        }
    }

    /// Redis refuses keyspace access from MONITOR clients (they are replicas internally).
    func monitorAdmissionError(_ spec: CommandSpec, client: ClientConnection) -> String? {
        client.flags.isMonitor && spec.touchesKeyspace ? RedisErrors.monitorTouchesKeyspace : nil
    }
}
