import Commands
import NIOCore
import RESP

/// LATENCY LATEST/HISTORY/RESET/HELP at the proxy: requests at least `latency_monitor_threshold` ms
/// from their arrival to their reply, as Redis's `command` and `fast-command` events, gathered
/// from every event loop.
extension ClientSession {
    func latencyCommand(_ request: RESPRequest) {
        guard request.argumentCount >= 2 else { return respondError(RedisErrors.wrongArity("latency")) }
        let sub = request.string(1).lowercased()
        let sequence: UInt64
        let bound = NIOLoopBound(self, eventLoop: loop.eventLoop)
        switch sub {
        case "help" where request.argumentCount == 2:
            return respondHelp("LATENCY", CommandHelp.latencyEvents)
        case "latest" where request.argumentCount == 2:
            sequence = reserveSlot()
            gatherLatency { events in bound.value.complete(sequence) { events.writeLatest(into: &$0) } }
        case "history" where request.argumentCount == 3:
            let event = request.string(2)
            sequence = reserveSlot()
            gatherLatency { events in bound.value.complete(sequence) { events.writeHistory(event, into: &$0) } }
        case "reset":
            let names = (2..<request.argumentCount).map { request.string($0) }
            sequence = reserveSlot()
            loop.pool.onEveryLoop(deliveredOn: loop.eventLoop) { loop in
                // What each loop had, so an event counts once however many loops saw it.
                let had = Set(loop.latency.events.keys).intersection(names.isEmpty ? Set(loop.latency.events.keys) : Set(names))
                _ = loop.latency.reset(names)
                return had
            }.whenComplete { result in
                let count = ((try? result.get()) ?? []).reduce(Set<String>()) { $0.union($1) }.count
                bound.value.complete(sequence) { $0.writeRESPInteger(count) }
            }
        case "help", "latest", "history":
            respondError(RedisErrors.wrongArity("latency|\(sub)"))
        default:
            respondError(RedisErrors.unknownSubcommand(request.string(1), of: "latency"))
        }
    }

    /// Every loop's events merged, delivered on this loop.
    private func gatherLatency(_ deliver: @escaping @Sendable (LatencyEvents) -> Void) {
        loop.pool.onEveryLoop(deliveredOn: loop.eventLoop) { $0.latency }.whenComplete { result in
            var merged = LatencyEvents()
            for events in (try? result.get()) ?? [] { merged.merge(events) }
            deliver(merged)
        }
    }
}
