#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging

/// Logs to standard error, or appended to `file` (the node's `logfile`, as redis-server does).
/// Throws when the file cannot be opened, so a bad path stops the start with a clear error.
func bootstrapLogging(_ level: Logger.Level, file: String? = nil) throws(LogFileError) {
    guard let file, !file.isEmpty else {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return
    }
    guard let stream = fopen(file, "a") else {
        throw LogFileError(description: "Can't open the log file: \(String(cString: strerror(errno)))")
    }
    let output = LogFile(stream: stream)
    LoggingSystem.bootstrap { label in
        var handler = FileLogHandler(label: label, output: output)
        handler.logLevel = level
        return handler
    }
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

/// swift-log's stream format (`timestamp level label: [metadata] message`), into a `LogFile`.
struct FileLogHandler: LogHandler {
    let label: String
    let output: LogFile
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let fields = merged.isEmpty ? "" : " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        output.write("\(Self.timestamp()) \(event.level) \(label):\(fields) \(event.message)\n")
    }

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
