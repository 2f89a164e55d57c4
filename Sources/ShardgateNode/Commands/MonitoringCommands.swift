import Commands

/// SLOWLOG and LATENCY.
enum MonitoringCommands {
    static var all: [(String, CommandHandler)] {[
        ("slowlog|get", .init(slowlogGet)), ("slowlog|len", .init(slowlogLen)), ("slowlog|reset", .init(slowlogReset)),
        ("slowlog|help", .init(slowlogHelp)), ("latency|latest", .init(latencyLatest)), ("latency|history", .init(latencyHistory)),
        ("latency|reset", .init(latencyReset)), ("latency|doctor", .init(latencyDoctor)), ("latency|graph", .init(latencyGraph)),
        ("latency|histogram", .init(latencyHistogram)), ("latency|help", .init(latencyHelp)),
    ]}

    // MARK: - SLOWLOG

    static func slowlogGet(_ call: inout CommandCall) throws(CommandError) {
        let entries = call.node.monitoring.slowlog
        var count = 10
        if call.count == 3 {
            count = try call.rangeInteger(2, min: -1, max: Int.max, message: "count should be greater than or equal to -1")
            if count == -1 { count = entries.count }
        }
        let sent = entries.prefix(count)
        let client = call.client
        client.arrayHeader(sent.count)
        for entry in sent {
            client.arrayHeader(6)
            client.integer(entry.id)
            client.integer(Int(entry.time))
            client.integer(entry.duration)
            client.arrayHeader(entry.arguments.count)
            for argument in entry.arguments { client.bulk(argument) }
            client.bulk(entry.address)
            client.bulk(entry.name)
        }
    }

    static func slowlogLen(_ call: inout CommandCall) throws(CommandError) {
        call.client.integer(call.node.monitoring.slowlog.count)
    }

    static func slowlogReset(_ call: inout CommandCall) throws(CommandError) {
        call.node.monitoring.slowlog.removeAll()
        call.client.ok()
    }

    static func slowlogHelp(_ call: inout CommandCall) throws(CommandError) {
        call.client.helpReply("SLOWLOG", CommandHelp.slowlog)
    }


    // MARK: - LATENCY

    static func latencyLatest(_ call: inout CommandCall) throws(CommandError) {
        call.node.monitoring.latency.writeLatest(into: &call.client.reply)
    }

    static func latencyHistory(_ call: inout CommandCall) throws(CommandError) {
        call.node.monitoring.latency.writeHistory(call.string(2), into: &call.client.reply)
    }

    static func latencyReset(_ call: inout CommandCall) throws(CommandError) {
        call.client.integer(call.node.monitoring.latency.reset((2..<call.count).map { call.string($0) }))
    }

    static func latencyGraph(_ call: inout CommandCall) throws(CommandError) {
        let event = call.string(2)
        guard let series = call.node.monitoring.latency.events[event], !series.samples.isEmpty else {
            throw CommandError("ERR No samples available for event '\(event)'")
        }
        let latencies = series.samples.map(\.latency)
        let high = latencies.max() ?? 0
        let low = latencies.min() ?? 0
        var text = "\(event) - high \(high) ms, low \(low) ms (all time high \(series.max) ms)\n"
        text += String(repeating: "-", count: 80) + "\n"
        // One column per sample, its height in four rows between the lowest and highest sample.
        let rows = 4
        for row in stride(from: rows, through: 1, by: -1) {
            var line = ""
            for latency in latencies {
                let level = high == low ? rows : Int((Double(latency - low) / Double(high - low) * Double(rows - 1)).rounded()) + 1
                line += level >= row ? "#" : " "
            }
            text += line + "\n"
        }
        let now = call.now / 1000
        text += latencies.indices.map { index in
            let age = now - series.samples[index].time
            return String(age < 60 ? "\(age)s" : "\(age / 60)m").prefix(1)
        }.joined() + "\n"
        call.client.verbatim(text)
    }

    static func latencyDoctor(_ call: inout CommandCall) throws(CommandError) {
        let node = call.node
        guard node.settings.latencyMonitorThreshold > 0 else {
            return call.client.verbatim(
                "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n")
        }
        let events = node.monitoring.latency.events.filter { !$0.value.samples.isEmpty }
        guard !events.isEmpty else {
            return call.client.verbatim(
                "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sleep in peace.\n")
        }
        var text = "Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n"
        for (number, (name, series)) in events.sorted(by: { $0.key < $1.key }).enumerated() {
            let latencies = series.samples.map(\.latency)
            let average = latencies.reduce(0, +) / latencies.count
            let deviation = latencies.map { abs($0 - average) }.reduce(0, +) / latencies.count
            let period = latencies.count > 1
                ? Double(series.samples[series.samples.count - 1].time - series.samples[0].time) / Double(latencies.count)
                : 0
            text += "\(number + 1). \(name): \(latencies.count) latency spikes (average \(average)ms, mean deviation \(deviation)ms, period \(Node.threeDecimals(period).dropLast()) sec). Worst all time event \(series.max)ms.\n"
        }
        text += "\nI have a few advices for you:\n\n- Check your system for other processes competing for the CPU, and the slow log (SLOWLOG GET) for slow commands.\n"
        call.client.verbatim(text)
    }

    /// LATENCY HISTOGRAM [command ...]: each command's calls and cumulative distribution; a container
    /// names its subcommands; unknown names are skipped.
    static func latencyHistogram(_ call: inout CommandCall) throws(CommandError) {
        let node = call.node
        let table = CommandTable.redis
        var ids: [Int] = []
        if call.count == 2 {
            ids = Array(0..<table.count)
        } else {
            for index in 2..<call.count {
                guard let spec = table.lookup(fullName: call.string(index).lowercased()) else { continue }
                ids.append(spec.id)
                ids += spec.subcommands.map(\.id)
            }
        }
        let histograms = node.stats.latencyHistograms
        let withData = histograms.isEmpty ? [] : ids.filter { histograms[$0].total > 0 }
        let client = call.client
        client.mapHeader(withData.count)
        for id in withData {
            let histogram = histograms[id]
            client.bulk(table[id].name)
            client.mapHeader(2)
            client.bulk("calls")
            client.integer(histogram.total)
            client.bulk("histogram_usec")
            let points = histogram.cumulative
            client.mapHeader(points.count)
            for (bound, count) in points {
                client.integer(Int(bound))
                client.integer(count)
            }
        }
    }

    static func latencyHelp(_ call: inout CommandCall) throws(CommandError) {
        call.client.helpReply("LATENCY", [
            "DOCTOR",
            "    Return a human readable latency analysis report.",
            "GRAPH <event>",
            "    Return an ASCII latency graph for the <event> class.",
        ] + CommandHelp.latencyEvents + [
            "HISTOGRAM [COMMAND ...]",
            "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
            "    If no commands are specified then all histograms are replied.",
        ])
    }
}
