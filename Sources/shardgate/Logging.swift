#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import ShardgateProxy

/// Logs to standard error, or appended to `file` (the node's `logfile`, as redis-server does),
/// as plain lines or JSON objects one per line (`--log-format json`, for log shippers).
/// Throws when the file cannot be opened, so a bad path stops the start with a clear error.
func bootstrapLogging(_ level: Logger.Level, file: String? = nil, format: LogFormat = .plain) throws(LogFileError) {
    let output: LogFile
    if let file, !file.isEmpty {
        guard let stream = fopen(file, "a") else {
            throw LogFileError(description: "Can't open the log file: \(String(cString: strerror(errno)))")
        }
        output = LogFile(stream: stream)
    } else if format == .plain {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return
    } else {
        // Standard error as a stream of its own (the C global is not concurrency-safe to name).
        guard let stream = fdopen(STDERR_FILENO, "w") else {
            throw LogFileError(description: "Can't write to standard error: \(String(cString: strerror(errno)))")
        }
        output = LogFile(stream: stream)
    }
    LoggingSystem.bootstrap { label in
        var handler = LineLogHandler(label: label, output: output, format: format)
        handler.logLevel = level
        return handler
    }
}

/// `--log-format`.
enum LogFormat: String, CaseIterable, Sendable {
    case plain, json
}

struct LogFileError: Error, CustomStringConvertible {
    let description: String
}

/// The open log file, shared by every logger; each line goes out in one `fputs` and is flushed, so
/// lines from several threads never interleave and survive a crash.
final class LogFile: @unchecked Sendable {
    private let stream: UnsafeMutablePointer<FILE>

    init(stream: UnsafeMutablePointer<FILE>) { self.stream = stream }

    func write(_ line: String) {
        flockfile(stream)
        fputs(line, stream)
        fflush(stream)
        funlockfile(stream)
    }
}

/// One line per event into a `LogFile`: swift-log's stream format (`timestamp level label:
/// [metadata] message`), or a JSON object with `time`, `level`, `label`, `message` and the
/// metadata's keys.
struct LineLogHandler: LogHandler {
    let label: String
    let output: LogFile
    let format: LogFormat
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let sorted = merged.sorted { $0.key < $1.key }
        switch format {
        case .plain:
            let fields = merged.isEmpty ? "" : " " + sorted.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            output.write("\(Self.timestamp()) \(event.level) \(label):\(fields) \(event.message)\n")
        case .json:
            var fields = [
                ("time", Self.json(Self.timestamp())), ("level", Self.json("\(event.level)")), ("label", Self.json(label)),
                ("message", Self.json("\(event.message)")),
            ]
            for (key, value) in sorted where !["time", "level", "label", "message"].contains(key) {
                fields.append((key, Self.json(value)))
            }
            output.write("{" + fields.map { "\(Self.json($0.0)):\($0.1)" }.joined(separator: ",") + "}\n")
        }
    }

    /// A metadata value as JSON: strings as strings, arrays and dictionaries as themselves.
    private static func json(_ value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let text): return json(text)
        case .stringConvertible(let convertible): return json(convertible.description)
        case .array(let values): return "[" + values.map { json($0) }.joined(separator: ",") + "]"
        case .dictionary(let entries):
            return "{" + entries.sorted { $0.key < $1.key }.map { "\(json($0.key)):\(json($0.value))" }.joined(separator: ",") + "}"
        }
    }

    private static func json(_ text: String) -> String { JSONText.quoted(text) }

    /// Local time, to the second, as `2026-12-06T05:30:00+0000`.
    private static func timestamp() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        var buffer = [Int8](repeating: 0, count: 32)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &parts)
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
