import Commands

/// Error replies by their code, the first word of the message (INFO errorstats, and
/// `total_error_replies`). Shared by reference with every client, whose `error` counts here, so
/// every error reply is counted where it is written. Redis stops adding new codes past 128.
final class ErrorReplyStats {
    private(set) var counts: [String: Int] = [:]
    private(set) var total = 0

    static let maximumCodes = 128

    func record(_ message: String) {
        total += 1
        let code = message.split(separator: " ", maxSplits: 1).first.map(String.init) ?? ""
        if let count = counts[code] {
            counts[code] = count + 1
        } else if counts.count < Self.maximumCodes {
            counts[code] = 1
        }
    }

    func reset() {
        counts = [:]
        total = 0
    }

    /// `errorstat_<CODE>:count=N`, codes in byte order as Redis lists them.
    var infoFields: [(String, String)] {
        counts.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map { ("errorstat_\($0)", "count=\(counts[$0]!)") }
    }
}

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
