#if canImport(Glibc)
import Glibc
#endif
import Commands
import NIOCore
import RESP

/// MONITOR through the proxy: a monitoring client receives every request the pool's clients send,
/// on every event loop, as the proxy routes it: Redis's line, then the groups it goes to, e.g.
/// `+1733500000.123456 [0 127.0.0.1:52110] "SET" "k" "v" (group g1)`.
extension ClientSession {
    func monitorCommand() {
        // Redis ignores MONITOR (without a reply) from a client already monitoring.
        guard !isMonitor else { return }
        isMonitor = true
        loop.pool.addMonitor(self)
        respond { $0.writeStaticString("+OK\r\n") }
    }

    /// RESET or a closed connection: no more lines.
    func stopMonitoring() {
        guard isMonitor else { return }
        isMonitor = false
        loop.pool.removeMonitor(self)
    }

    /// Called for each request while the pool has monitors. Admin commands and those Redis keeps
    /// out of MONITOR (flagged `skip-monitor`) are not shown, as in Redis.
    func feedMonitors(_ request: RESPRequest, spec: CommandSpec, policy: CommandPolicy) {
        guard !spec.flags.contains(.admin), !spec.flags.contains(.skipMonitor) else { return }
        let line = MonitorLine.make(
            microseconds: UnixTime.microseconds(), database: database,
            client: remoteAddressText, request: request, spec: spec, suffix: routeDescription(request, spec: spec, policy: policy))
        loop.pool.sendToMonitors(line)
    }

    /// A line from the pool's feed, written between this client's replies like a pub/sub message.
    func monitorLine(_ line: ByteBuffer) {
        guard isOpen, isMonitor else { return }
        respond(isRequest: false) { $0.writeImmutableBuffer(line) }
    }

    /// Where the request goes: `(group g1)`, `(groups g0, g2)`, `(every group)`, or `(proxy)` for
    /// what the proxy answers itself (MONITOR lines, SLOWLOG entries).
    func routeDescription(_ request: RESPRequest, spec: CommandSpec, policy: CommandPolicy) -> String {
        var groups: [Int] = []
        switch policy {
        case .local, .transaction, .pubsub, .refused, .closeSilently:
            return "(proxy)"
        case .everyGroup, .scan:
            return "(every group)"
        case .keylessGroup:
            groups = [keylessGroup]
        case .byChannel:
            if request.argumentCount > 1, let group = request.withArgument(1, { loop.group(forKey: $0) }) { groups = [group] }
        case .forward, .split, .blocking:
            // The groups routing finds for the keys, each named once.
            if case .groups(let owners) = keyGroups(request, spec: spec) {
                for group in owners where !groups.contains(group) { groups.append(group) }
            }
        }
        let names = groups.map { loop.groups[$0].name }
        switch names.count {
        case 0: return "(no group)"
        case 1: return "(group \(names[0]))"
        default: return "(groups \(names.joined(separator: ", ")))"
        }
    }
}
