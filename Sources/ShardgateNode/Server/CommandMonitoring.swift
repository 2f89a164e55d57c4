#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import Commands
import RESP

/// The slow log (SLOWLOG) and the latency monitor's events (LATENCY LATEST/HISTORY/GRAPH/DOCTOR).
/// Per-command latency histograms (LATENCY HISTOGRAM, INFO latencystats) are counters of `NodeStats`,
/// cleared by CONFIG RESETSTAT.
final class CommandMonitoring {
    struct SlowEntry {
        var id: Int
        var time: Int64
        var duration: Int
        var arguments: [[UInt8]]
        var address: String
        var name: [UInt8]
    }

    /// Newest first, at most `slowlog-max-len`.
    var slowlog: [SlowEntry] = []
    var nextSlowID = 0

    /// The latency monitor's events ("command", "fast-command", "expire-cycle", ...).
    var latency = LatencyEvents()
}

/// A latency histogram with power-of-two buckets in the shape of Redis's HdrHistogram report: the
/// first bucket ends at 1024 ns, each next one at twice that (reported as its highest value in µs).
struct LatencyHistogram {
    var buckets: [Int] = []
    var total = 0

    static let bucketCount = 40

    /// The highest value (ns) bucket `k` counts, as HdrHistogram's log iterator reports it with two
    /// significant figures.
    static func upperBound(_ k: Int) -> Int64 {
        let start = Int64(1024) << k
        return start + start / 128 - 1
    }

    mutating func record(nanoseconds: Int64) {
        if buckets.isEmpty { buckets = [Int](repeating: 0, count: Self.bucketCount) }
        var k = 0
        while k < Self.bucketCount - 1 && nanoseconds > Self.upperBound(k) { k += 1 }
        buckets[k] += 1
        total += 1
    }

    /// (µs bound, cumulative count) for each bucket that added samples.
    var cumulative: [(Int64, Int)] {
        var result: [(Int64, Int)] = []
        var running = 0
        for (k, count) in buckets.enumerated() where count > 0 {
            running += count
            result.append((Self.upperBound(k) / 1000, running))
        }
        return result
    }

    /// The value (µs, three decimals) below which `percentile` % of the samples fall.
    func value(atPercentile percentile: Double) -> Double {
        guard total > 0 else { return 0 }
        let wanted = Swift.max(1, Int((percentile / 100 * Double(total)).rounded(.up)))
        var running = 0
        for (k, count) in buckets.enumerated() where count > 0 {
            running += count
            if running >= wanted { return Double(Self.upperBound(k)) / 1000 }
        }
        return Double(Self.upperBound(Self.bucketCount - 1)) / 1000
    }
}

extension Node {
    /// Whether a finished command must be looked at (slow log, latency monitor, histograms): the
    /// one test a command pays when all three are off.
    @inline(__always)
    var monitorsCommands: Bool {
        settings.slowlogLogSlowerThan >= 0 || settings.latencyMonitorThreshold > 0 || settings.latencyTracking
    }

    /// After a command ran (not one that blocked): slow log entry, latency sample, histogram.
    func commandFinished(_ call: CommandCall, microseconds: Int) {
        let spec = call.spec
        if settings.latencyMonitorThreshold > 0 && microseconds / 1000 >= settings.latencyMonitorThreshold {
            monitoring.latency.add(
                spec.flags.contains(.fast) ? "fast-command" : "command", milliseconds: microseconds / 1000, now: now)
        }
        if settings.latencyTracking {
            if stats.latencyHistograms.isEmpty {
                stats.latencyHistograms = [LatencyHistogram](repeating: LatencyHistogram(), count: CommandTable.redis.count)
            }
            stats.latencyHistograms[spec.id].record(nanoseconds: Int64(microseconds) * 1000)
        }
        if settings.slowlogLogSlowerThan >= 0 && microseconds >= settings.slowlogLogSlowerThan
            && !spec.flags.contains(.skipSlowlog)
        {
            addSlowlogEntry(call, microseconds: microseconds)
        }
    }

    private func addSlowlogEntry(_ call: CommandCall, microseconds: Int) {
        let count = call.request.argumentCount
        let kept = min(count, Self.slowlogMaxArguments)
        var arguments: [[UInt8]] = []
        arguments.reserveCapacity(kept)
        let redacted = Self.redactedArguments(call)
        for index in 0..<kept {
            if kept != count && index == kept - 1 {
                arguments.append(Array("... (\(count - kept + 1) more arguments)".utf8))
            } else if redacted.contains(index) {
                arguments.append(Array("(redacted)".utf8))
            } else {
                let bytes = call.bytes(index)
                if bytes.count > Self.slowlogMaxArgumentBytes {
                    arguments.append(
                        Array(bytes[0..<Self.slowlogMaxArgumentBytes])
                            + Array("... (\(bytes.count - Self.slowlogMaxArgumentBytes) more bytes)".utf8))
                } else {
                    arguments.append(bytes)
                }
            }
        }
        let entry = CommandMonitoring.SlowEntry(
            id: monitoring.nextSlowID, time: now / 1000, duration: microseconds, arguments: arguments,
            address: call.client.remoteAddress, name: call.client.name ?? [])
        monitoring.nextSlowID += 1
        monitoring.slowlog.insert(entry, at: 0)
        trimSlowlog()
    }

    func trimSlowlog() {
        if monitoring.slowlog.count > settings.slowlogMaxLen {
            monitoring.slowlog.removeLast(monitoring.slowlog.count - settings.slowlogMaxLen)
        }
    }

    static let slowlogMaxArguments = 32
    static let slowlogMaxArgumentBytes = 128

    /// Arguments Redis hides from the slow log: those MONITOR hides (AUTH, HELLO .. AUTH, MIGRATE ..
    /// AUTH/AUTH2) and the sensitive values of CONFIG SET (masterauth, requirepass).
    static func redactedArguments(_ call: CommandCall) -> Set<Int> {
        guard call.spec.isNamed("config|set") else { return MonitorLine.redactedArguments(of: call.request, spec: call.spec) }
        var hidden: Set<Int> = []
        for index in stride(from: 2, to: call.count - 1, by: 2)
        where call.matches(index, "masterauth") || call.matches(index, "requirepass") {
            hidden.insert(index + 1)
        }
        return hidden
    }

    /// INFO latencystats: each command's percentiles (`latency-tracking-info-percentiles`).
    func latencyStatsFields() -> [(String, String)] {
        guard !stats.latencyHistograms.isEmpty else { return [] }
        let table = CommandTable.redis
        var rows: [(String, Int)] = []
        for id in 0..<table.count where stats.latencyHistograms[id].total > 0 { rows.append((table[id].name, id)) }
        return rows.sorted { $0.0 < $1.0 }.map { name, id in
            let values = settings.latencyTrackingPercentiles.map { percentile in
                "p\(Self.formatPercentile(percentile))=\(Self.threeDecimals(stats.latencyHistograms[id].value(atPercentile: percentile)))"
            }
            return ("latency_percentiles_usec_\(name)", values.joined(separator: ","))
        }
    }

    /// `%f`-like trimmed as Redis prints a percentile name (50, 99.9).
    static func formatPercentile(_ value: Double) -> String {
        if value == value.rounded() { return String(Int(value)) }
        var text = String(value)
        while text.hasSuffix("0") { text.removeLast() }
        return text
    }

    static func threeDecimals(_ value: Double) -> String {
        let thousandths = Int((value * 1000).rounded())
        let fraction = String(thousandths % 1000)
        return "\(thousandths / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
    }
}
