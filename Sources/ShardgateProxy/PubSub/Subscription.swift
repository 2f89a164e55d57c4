import NIOCore
import RESP

/// The three pub/sub namespaces of Redis 7.
enum SubscriptionKind: UInt8, Sendable, Hashable {
    case channel, pattern, shardChannel

    var subscribeCommand: [UInt8] {
        switch self {
        case .channel: return Array("SUBSCRIBE".utf8)
        case .pattern: return Array("PSUBSCRIBE".utf8)
        case .shardChannel: return Array("SSUBSCRIBE".utf8)
        }
    }

    var unsubscribeCommand: [UInt8] {
        switch self {
        case .channel: return Array("UNSUBSCRIBE".utf8)
        case .pattern: return Array("PUNSUBSCRIBE".utf8)
        case .shardChannel: return Array("SUNSUBSCRIBE".utf8)
        }
    }

    /// The first element of the frames Redis sends: confirmations and messages.
    var subscribed: String {
        switch self {
        case .channel: return "subscribe"
        case .pattern: return "psubscribe"
        case .shardChannel: return "ssubscribe"
        }
    }

    var unsubscribed: String {
        switch self {
        case .channel: return "unsubscribe"
        case .pattern: return "punsubscribe"
        case .shardChannel: return "sunsubscribe"
        }
    }

    /// The kind whose confirmation or message frame starts with `word`.
    static func of(confirmation word: [UInt8]) -> SubscriptionKind? {
        switch word {
        case Array("subscribe".utf8): return .channel
        case Array("psubscribe".utf8): return .pattern
        case Array("ssubscribe".utf8): return .shardChannel
        default: return nil
        }
    }

    static func of(message word: [UInt8]) -> SubscriptionKind? {
        switch word {
        case Array("message".utf8): return .channel
        case Array("pmessage".utf8): return .pattern
        case Array("smessage".utf8): return .shardChannel
        default: return nil
        }
    }
}

/// One channel, pattern or shard channel.
struct SubscriptionKey: Hashable, Sendable {
    var kind: SubscriptionKind
    var name: [UInt8]
}

/// The frames the proxy writes to subscribed clients itself.
enum PubSubFrames {
    /// `subscribe ch 3` and the like; a nil name is Redis's reply to an UNSUBSCRIBE of nothing.
    static func confirmation(_ word: String, name: [UInt8]?, count: Int, protocolVersion: Int) -> ByteBuffer {
        var frame = ByteBuffer()
        frame.writeStaticString(protocolVersion == 3 ? ">3\r\n" : "*3\r\n")
        frame.writeRESPBulkString(word)
        if let name {
            frame.writeRESPBulkString(name)
        } else if protocolVersion == 3 {
            frame.writeStaticString("_\r\n")
        } else {
            frame.writeRESPNullBulk()
        }
        frame.writeRESPInteger(count)
        return frame
    }

    /// A message frame from a RESP2 subscriber connection, as a client of `protocolVersion` gets it:
    /// RESP3 clients get the same elements as a push (`>`).
    static func message(_ frame: ByteBuffer, protocolVersion: Int) -> ByteBuffer {
        guard protocolVersion == 3 else { return frame }
        var push = ByteBuffer()
        push.reserveCapacity(frame.readableBytes)
        push.writeStaticString(">")
        push.writeImmutableBuffer(frame.getSlice(at: frame.readerIndex + 1, length: frame.readableBytes - 1)!)
        return push
    }
}
