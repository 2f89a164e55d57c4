import Commands
import NIOCore

/// MONITOR: the client receives every command the node runs afterwards, one status line each:
/// `+<seconds>.<microseconds> [<db> <addr>] "arg" ...` with Redis's quoting (`sdscatrepr`).
enum MonitorCommand {
    static var all: [(String, CommandHandler)] {[("monitor", .init(monitor))]}

    static func monitor(_ call: inout CommandCall) throws(CommandError) {
        // Run from EXEC, the client expects one reply per command (Redis's CLIENT_DENY_BLOCKING).
        if call.node.clients.blocking.transactionDepth > 0 {
            throw CommandError("ERR MONITOR isn't allowed for DENY BLOCKING client")
        }
        // Redis ignores MONITOR (without a reply) from a client already monitoring.
        guard !call.client.flags.isMonitor else { return }
        call.client.flags.isMonitor = true
        call.node.clients.monitors.append(call.client)
        call.client.ok()
    }

    /// The monitor line for an executed command (CRLF included).
    static func line(_ call: CommandCall, microseconds: Int64) -> ByteBuffer {
        var line = call.client.channel.allocator.buffer(capacity: 64 + call.request.frame.readableBytes * 2)
        line.writeInteger(UInt8(ascii: "+"))
        line.writeString("\(microseconds / 1_000_000).")
        let fraction = String(microseconds % 1_000_000)
        line.writeString(String(repeating: "0", count: 6 - fraction.count) + fraction)
        // Commands a script runs show `lua` as their client, as in Redis.
        line.writeString(" [\(call.client.database) \(call.client.flags.isScript ? "lua" : call.client.remoteAddress)] ")
        let redacted = redactedArguments(call)
        for index in 0..<call.count {
            if index > 0 { line.writeInteger(UInt8(ascii: " ")) }
            if redacted.contains(index) {
                line.writeString("\"(redacted)\"")
            } else {
                call.argument(index) { quote($0, into: &line) }
            }
        }
        line.writeString("\r\n")
        return line
    }

    /// `sdscatrepr`: quoted, with `\\ \" \n \r \t \a \b` escaped and other unprintable bytes as `\xHH`.
    static func quote(_ bytes: UnsafeRawBufferPointer, into line: inout ByteBuffer) {
        let hex = Array("0123456789abcdef".utf8)
        line.writeInteger(UInt8(ascii: "\""))
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\\"), UInt8(ascii: "\""):
                line.writeInteger(UInt8(ascii: "\\"))
                line.writeInteger(byte)
            case UInt8(ascii: "\n"): line.writeStaticString("\\n")
            case UInt8(ascii: "\r"): line.writeStaticString("\\r")
            case UInt8(ascii: "\t"): line.writeStaticString("\\t")
            case 0x07: line.writeStaticString("\\a")
            case 0x08: line.writeStaticString("\\b")
            case 0x20...0x7e: line.writeInteger(byte)
            default:
                line.writeStaticString("\\x")
                line.writeInteger(hex[Int(byte >> 4)])
                line.writeInteger(hex[Int(byte & 15)])
            }
        }
        line.writeInteger(UInt8(ascii: "\""))
    }

    /// Arguments Redis shows as "(redacted)": AUTH's, HELLO's AUTH credentials, MIGRATE's AUTH/AUTH2,
    /// all of ACL SETUSER's (its rules hold passwords).
    static func redactedArguments(_ call: CommandCall) -> Set<Int> {
        switch call.spec {
        case "auth":
            return Set(1..<call.count)
        case "acl|setuser":
            return Set(2..<call.count)
        case "hello":
            // Only what HELLO parsed as credentials before any error.
            guard call.count > 1, (try? call.integer(1)) != nil else { return [] }
            var redacted: Set<Int> = []
            var index = 2
            while index < call.count {
                let remaining = call.count - index - 1
                if call.matches(index, "auth") && remaining >= 2 {
                    redacted.formUnion([index + 1, index + 2])
                    index += 3
                } else if call.matches(index, "setname") && remaining >= 1 {
                    index += 2
                } else {
                    break
                }
            }
            return redacted
        case "migrate":
            var redacted: Set<Int> = []
            var index = 6
            while index < call.count {
                if call.matches(index, "keys") { break }
                if call.matches(index, "auth") && index + 1 < call.count {
                    redacted.insert(index + 1)
                    index += 1
                } else if call.matches(index, "auth2") && index + 2 < call.count {
                    redacted.formUnion([index + 1, index + 2])
                    index += 2
                }
                index += 1
            }
            return redacted
        default:
            return []
        }
    }
}

extension Node {
    /// Sends the line of an executed command to every MONITOR client (admin commands excepted);
    /// `feedMonitors` calls it only when there are some.
    func feedMonitorClients(_ call: CommandCall) {
        guard !call.spec.flags.contains(.admin), !call.spec.flags.contains(.skipMonitor) else { return }
        let line = MonitorCommand.line(call, microseconds: Clock.microseconds())
        for monitor in clients.monitors {
            var copy = line
            monitor.reply.writeBuffer(&copy)
            if monitor !== call.client { scheduleFlush(monitor) }
        }
    }

    /// Commands Redis 7.0 flags `may_replicate` (a flag the generated table leaves out).
    private static func mayReplicate(_ spec: CommandSpec) -> Bool {
        switch spec {
        case "publish", "spublish", "eval", "evalsha", "fcall", "script|flush", "script|load", "function|load",
             "function|delete", "function|flush", "function|restore":
            true
        default: false
        }
    }

    /// Redis refuses keyspace access from MONITOR clients (they are replicas internally).
    func monitorAdmissionError(_ spec: CommandSpec, client: ClientConnection) -> String? {
        guard client.flags.isMonitor else { return nil }
        guard spec.flags.contains(.write) || spec.flags.contains(.readonly) || Self.mayReplicate(spec) else { return nil }
        return "ERR Replica can't interact with the keyspace"
    }
}
