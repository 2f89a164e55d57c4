import Commands

/// The counters behind INFO stats, commandstats and `total_error_replies`: the node's statistics
/// component. Commands and refusals are counted per command id (the command table's index), so
/// counting costs an array increment, never a lookup by name. CONFIG RESETSTAT starts it anew;
/// loading a dataset restores it afterwards (replayed commands are not the clients').
struct NodeStats {
    var commandsProcessed = 0
    var connectionsReceived = 0
    var rejectedConnections = 0
    var expiredKeys = 0
    var keyspaceHits = 0
    var keyspaceMisses = 0
    var commandCalls: [Int]
    var commandMicroseconds: [Int]
    var commandFailures: [Int]
    var commandRejections: [Int]
    /// Values UNLINK found costly enough to free in the background in Redis (`lazyfreed_objects`).
    var lazyfreedObjects = 0
    /// Per command id, filled once latency tracking records its first command.
    var latencyHistograms: [LatencyHistogram] = []

    init(commandCount: Int = CommandTable.redis.count) {
        commandCalls = [Int](repeating: 0, count: commandCount)
        commandMicroseconds = commandCalls
        commandFailures = commandCalls
        commandRejections = commandCalls
    }

    /// A command ran (whether it failed is counted apart, by `commandFailures`).
    mutating func recordCall(_ id: Int, microseconds: Int) {
        commandMicroseconds[id] += microseconds
        commandCalls[id] += 1
        commandsProcessed += 1
    }

    /// Error replies: commands that failed plus commands refused before they ran.
    var totalErrorReplies: Int { commandFailures.reduce(0, +) + commandRejections.reduce(0, +) }

    /// INFO commandstats: one line per command that ran or was refused, by name.
    func commandstatsFields(_ table: CommandTable = .redis, format: (Double) -> String) -> [(String, String)] {
        var rows: [(name: String, id: Int)] = []
        for id in 0..<table.count where commandCalls[id] > 0 || commandRejections[id] > 0 {
            rows.append((table[id].name, id))
        }
        return rows.sorted { $0.name < $1.name }.map { row in
            let calls = commandCalls[row.id]
            let micros = commandMicroseconds[row.id]
            let perCall = calls > 0 ? Double(micros) / Double(calls) : 0
            return (
                "cmdstat_\(row.name)",
                "calls=\(calls),usec=\(micros),usec_per_call=\(format(perCall)),rejected_calls=\(commandRejections[row.id]),failed_calls=\(commandFailures[row.id])"
            )
        }
    }
}
