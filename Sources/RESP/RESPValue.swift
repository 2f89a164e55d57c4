import NIOCore

/// A decoded reply, for the control plane (Sentinel, health checks) where values must be read.
/// The data path never builds these: it forwards frames.
public indirect enum RESPValue: Sendable, Equatable {
    case simple(String)
    case error(String)
    case integer(Int)
    case bulk([UInt8]?)
    case array([RESPValue]?)

    /// Text of a simple or bulk string.
    public var string: String? {
        switch self {
        case .simple(let text): return text
        case .bulk(let bytes?): return String(decoding: bytes, as: UTF8.self)
        default: return nil
        }
    }

    public var array: [RESPValue]? {
        if case .array(let items?) = self { return items }
        return nil
    }

    public var integer: Int? {
        switch self {
        case .integer(let value): return value
        default: return string.flatMap { Int($0) }
        }
    }

    /// Decodes one complete RESP2 frame (as cut by `RESPReplyFramer`); nil for other types.
    public static func decode(_ frame: ByteBuffer) -> RESPValue? {
        var buffer = frame
        return decode(&buffer)
    }

    private static func decode(_ buffer: inout ByteBuffer) -> RESPValue? {
        guard let type = buffer.readInteger(as: UInt8.self) else { return nil }
        func line() -> String? {
            let view = buffer.readableBytesView
            guard let end = view.firstIndex(of: UInt8(ascii: "\r")) else { return nil }
            let text = String(decoding: view[view.startIndex..<end], as: UTF8.self)
            buffer.moveReaderIndex(forwardBy: end - view.startIndex + 2)
            return text
        }
        switch type {
        case UInt8(ascii: "+"): return line().map(RESPValue.simple)
        case UInt8(ascii: "-"): return line().map(RESPValue.error)
        case UInt8(ascii: ":"): return line().flatMap(Int.init).map(RESPValue.integer)
        case UInt8(ascii: "$"):
            guard let length = line().flatMap(Int.init) else { return nil }
            guard length >= 0 else { return .bulk(nil) }
            guard let bytes = buffer.readBytes(length: length) else { return nil }
            buffer.moveReaderIndex(forwardBy: 2)
            return .bulk(bytes)
        case UInt8(ascii: "*"):
            guard let count = line().flatMap(Int.init) else { return nil }
            guard count >= 0 else { return .array(nil) }
            var items: [RESPValue] = []
            for _ in 0..<count {
                guard let item = decode(&buffer) else { return nil }
                items.append(item)
            }
            return .array(items)
        default:
            return nil
        }
    }
}
