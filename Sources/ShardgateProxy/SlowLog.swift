import NIOCore
import RESP

/// The proxy's SLOWLOG: requests that took at least `slowlog_log_slower_than` microseconds from
/// the read that brought them to their reply leaving for the client (backend time included), kept
/// by each event loop, newest first, at most `slowlog_max_len` each. SLOWLOG GET merges the
/// loops' entries by id (ids are the pool's, so they order entries across loops).
struct SlowLog {
    struct Entry: Sendable {
        var id: Int
        /// Unix seconds when it was logged.
        var time: Int
        var microseconds: Int
        /// As Redis keeps them: at most 32 (the last then says how many more), each at most 128
        /// bytes (then how many more).
        var arguments: [[UInt8]]
        var clientAddress: String
        var clientName: String
        /// Where it went (`(group g1)`, `(every group)`…) and the backend's part of `microseconds`
        /// (0 when the proxy answered, or the request was split over groups): `SLOWLOG GET … DETAILS`.
        var destination = ""
        var backendMicroseconds = 0
    }

    private(set) var entries = CircularBuffer<Entry>()

    static let maxArguments = 32
    static let maxArgumentBytes = 128

    mutating func add(_ entry: Entry, maxLength: Int) {
        entries.prepend(entry)
        while entries.count > maxLength { entries.removeLast() }
    }

    mutating func reset() { entries.removeAll() }

    /// `request`'s arguments cut as Redis cuts them for its slow log.
    static func arguments(of request: RESPRequest) -> [[UInt8]] {
        let count = request.argumentCount
        let kept = count > maxArguments ? maxArguments - 1 : count
        var arguments: [[UInt8]] = []
        arguments.reserveCapacity(min(count, maxArguments))
        let spans = request.allSpans()
        request.frame.withUnsafeReadableBytes { bytes in
            for index in 0..<kept {
                let argument = UnsafeRawBufferPointer(rebasing: bytes[spans[index].range])
                if argument.count > maxArgumentBytes {
                    arguments.append(Array(argument.prefix(maxArgumentBytes)) + Array("... (\(argument.count - maxArgumentBytes) more bytes)".utf8))
                } else {
                    arguments.append(Array(argument))
                }
            }
        }
        if count > maxArguments { arguments.append(Array("... (\(count - kept) more arguments)".utf8)) }
        return arguments
    }

    /// Writes `entries` as SLOWLOG GET replies them; with `details`, each entry has two more
    /// fields after Redis's six: where the request went, and the backend's microseconds.
    static func write(_ entries: [Entry], details: Bool = false, into buffer: inout ByteBuffer) {
        buffer.writeRESPArrayHeader(entries.count)
        for entry in entries {
            buffer.writeRESPArrayHeader(details ? 8 : 6)
            buffer.writeRESPInteger(entry.id)
            buffer.writeRESPInteger(entry.time)
            buffer.writeRESPInteger(entry.microseconds)
            buffer.writeRESPArrayHeader(entry.arguments.count)
            for argument in entry.arguments { _ = argument.withUnsafeBytes { buffer.writeRESPBulkString(bytes: $0) } }
            buffer.writeRESPBulkString(entry.clientAddress)
            buffer.writeRESPBulkString(entry.clientName)
            if details {
                buffer.writeRESPBulkString(entry.destination)
                buffer.writeRESPInteger(entry.backendMicroseconds)
            }
        }
    }
}
