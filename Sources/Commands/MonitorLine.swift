import NIOCore
import RESP
import RedisText

/// Redis's MONITOR line, `+<seconds>.<microseconds> [<db> <client>] "arg" ...`: each argument quoted
/// as Redis's `sdscatrepr` does, and credentials shown as `"(redacted)"`. The data node writes one
/// per command it runs, the proxy one per request it routes.
public enum MonitorLine {
    /// The line for `request` (a `spec` command) from `client` (`ip:port`, or `lua`), CRLF included;
    /// `suffix` goes after the arguments (the proxy names the groups a request went to there, where
    /// MONITOR parsers such as redis-py's, which read the quoted arguments, pass it over).
    public static func make(
        microseconds: Int64, database: Int, client: String, request: RESPRequest, spec: CommandSpec, suffix: String? = nil
    ) -> ByteBuffer {
        var line = ByteBuffer()
        line.reserveCapacity(64 + request.frame.readableBytes * 2)
        line.writeInteger(UInt8(ascii: "+"))
        line.writeString("\(microseconds / 1_000_000).")
        let fraction = String(microseconds % 1_000_000)
        line.writeString(String(repeating: "0", count: 6 - fraction.count) + fraction)
        line.writeString(" [\(database) \(client)] ")
        let redacted = redactedArguments(of: request, spec: spec)
        for index in 0..<request.argumentCount {
            if index > 0 { line.writeInteger(UInt8(ascii: " ")) }
            if redacted.contains(index) {
                line.writeString("\"(redacted)\"")
            } else {
                request.withArgument(index) { quote($0, into: &line) }
            }
        }
        if let suffix { line.writeString(" \(suffix)") }
        line.writeString("\r\n")
        return line
    }

    /// `sdscatrepr`: quoted, with `\\ \" \n \r \t \a \b` escaped and other unprintable bytes as `\xHH`.
    public static func quote(_ bytes: UnsafeRawBufferPointer, into line: inout ByteBuffer) {
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
    public static func redactedArguments(of request: RESPRequest, spec: CommandSpec) -> Set<Int> {
        let count = request.argumentCount
        func matches(_ index: Int, _ word: String) -> Bool { request.string(index).lowercased() == word }
        switch spec {
        case "auth":
            return Set(1..<count)
        case "acl|setuser":
            return Set(min(2, count)..<count)
        case "hello":
            // Only what HELLO parsed as credentials before any error.
            guard count > 1, request.withArgument(1, { RedisInteger.parse($0) }) != nil else { return [] }
            var redacted: Set<Int> = []
            var index = 2
            while index < count {
                let remaining = count - index - 1
                if matches(index, "auth") && remaining >= 2 {
                    redacted.formUnion([index + 1, index + 2])
                    index += 3
                } else if matches(index, "setname") && remaining >= 1 {
                    index += 2
                } else {
                    break
                }
            }
            return redacted
        case "migrate":
            var redacted: Set<Int> = []
            var index = 6
            while index < count {
                if matches(index, "keys") { break }
                if matches(index, "auth") && index + 1 < count {
                    redacted.insert(index + 1)
                    index += 1
                } else if matches(index, "auth2") && index + 2 < count {
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

extension CommandSpec {
    /// What a MONITOR client may not run, being a replica to Redis: commands that read or write
    /// keys, or may replicate (Redis 7.0's `may_replicate`, a flag the generated table leaves out).
    public var touchesKeyspace: Bool {
        if flags.contains(.write) || flags.contains(.readonly) { return true }
        switch self {
        case "publish", "spublish", "eval", "evalsha", "fcall", "script|flush", "script|load", "function|load",
             "function|delete", "function|flush", "function|restore":
            return true
        default:
            return false
        }
    }
}
