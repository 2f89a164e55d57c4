import NIOCore
import RESP

/// Redis's latency monitor (LATENCY LATEST/HISTORY/RESET): per event (`command`, `fast-command`,
/// `expire-cycle`…), at most one sample per second, the worst of that second, the last 160 of them,
/// and the worst ever. The node keeps one; the proxy one per event loop, merged when asked.
public struct LatencyEvents: Sendable {
    public struct Sample: Sendable, Equatable {
        /// Unix seconds.
        public var time: Int64
        /// Milliseconds.
        public var latency: Int
    }

    public struct Series: Sendable {
        public var samples: [Sample] = []
        public var max = 0
    }

    public private(set) var events: [String: Series] = [:]
    public static let capacity = 160

    public init() {}

    /// Records `milliseconds` of `event` at Unix time `now` (ms), as Redis's `latencyAddSample`.
    public mutating func add(_ event: String, milliseconds: Int, now: Int64) {
        let second = now / 1000
        var series = events[event] ?? Series()
        series.max = Swift.max(series.max, milliseconds)
        if let last = series.samples.last, last.time == second {
            series.samples[series.samples.count - 1].latency = Swift.max(last.latency, milliseconds)
        } else {
            series.samples.append(Sample(time: second, latency: milliseconds))
            if series.samples.count > Self.capacity { series.samples.removeFirst() }
        }
        events[event] = series
    }

    /// LATENCY RESET: the named events (every event when `names` is empty); how many there were.
    public mutating func reset(_ names: [String]) -> Int {
        guard !names.isEmpty else {
            defer { events.removeAll() }
            return events.count
        }
        return Set(names).reduce(0) { count, name in events.removeValue(forKey: name) == nil ? count : count + 1 }
    }

    /// Adds another monitor's events (another event loop's): per second the worse sample.
    public mutating func merge(_ other: LatencyEvents) {
        for (name, theirs) in other.events {
            var series = events[name] ?? Series()
            var byTime: [Int64: Int] = [:]
            for sample in series.samples + theirs.samples { byTime[sample.time] = Swift.max(byTime[sample.time] ?? 0, sample.latency) }
            series.samples = byTime.sorted { $0.key < $1.key }.suffix(Self.capacity).map { Sample(time: $0.key, latency: $0.value) }
            series.max = Swift.max(series.max, theirs.max)
            events[name] = series
        }
    }

    /// LATENCY LATEST: `[event, time of the latest sample, its latency, the worst]` per event, by name.
    public func writeLatest(into reply: inout ByteBuffer) {
        let shown = events.filter { !$0.value.samples.isEmpty }.sorted { $0.key < $1.key }
        reply.writeRESPArrayHeader(shown.count)
        for (name, series) in shown {
            let last = series.samples[series.samples.count - 1]
            reply.writeRESPArrayHeader(4)
            reply.writeRESPBulkString(name)
            reply.writeRESPInteger(Int(last.time))
            reply.writeRESPInteger(last.latency)
            reply.writeRESPInteger(series.max)
        }
    }

    /// LATENCY HISTORY event: `[time, latency]` per sample, oldest first.
    public func writeHistory(_ event: String, into reply: inout ByteBuffer) {
        let samples = events[event]?.samples ?? []
        reply.writeRESPArrayHeader(samples.count)
        for sample in samples {
            reply.writeRESPArrayHeader(2)
            reply.writeRESPInteger(Int(sample.time))
            reply.writeRESPInteger(sample.latency)
        }
    }
}
