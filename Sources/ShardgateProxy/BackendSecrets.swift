import NIOCore
import RESP

/// CONFIG GET through the proxy is answered by the keyless group's master, whose passwords are
/// the proxy's backend credentials (`auth:`) or its replication secret: those parameters are left
/// out of the reply, as if the pattern had not matched them.
enum BackendSecrets {
    static let parameters: Set<String> = ["requirepass", "masterauth", "tls-key-file-pass", "tls-client-key-file-pass"]

    /// CONFIG GET's reply (pairs in a RESP2 array or a RESP3 map) without the secret parameters;
    /// any other reply (an error) as it is.
    static func redacted(_ reply: ByteBuffer) -> ByteBuffer {
        let type = RESPReplyReader.type(of: reply)
        guard type == UInt8(ascii: "*") || type == UInt8(ascii: "%") else { return reply }
        var rest = reply
        guard let header = rest.readCRLFLine(), let count = Int(header.dropFirst()), count >= 0 else { return reply }
        let elementCount = type == UInt8(ascii: "%") ? 2 * count : count
        var framer = RESPReplyFramer()
        var kept: [(ByteBuffer, ByteBuffer)] = []
        for _ in 0..<elementCount / 2 {
            guard let name = try? framer.nextFrame(from: &rest), let value = try? framer.nextFrame(from: &rest) else { return reply }
            let text = RESPReplyReader.bulkPayload(name).map { String(decoding: $0, as: UTF8.self).lowercased() }
            if let text, parameters.contains(text) { continue }
            kept.append((name, value))
        }
        if kept.count * 2 == elementCount { return reply }
        var out = ByteBuffer()
        out.writeRESPHeader(type!, type == UInt8(ascii: "%") ? kept.count : 2 * kept.count)
        for (name, value) in kept {
            out.writeImmutableBuffer(name)
            out.writeImmutableBuffer(value)
        }
        return out
    }
}

extension ByteBuffer {
    /// Reads one line up to CRLF (without it), or nil when there is none.
    fileprivate mutating func readCRLFLine() -> String? {
        let view = readableBytesView
        guard let cr = view.firstIndex(of: UInt8(ascii: "\r")), cr + 1 < view.endIndex else { return nil }
        let line = String(decoding: view[view.startIndex..<cr], as: UTF8.self)
        moveReaderIndex(forwardBy: cr - view.startIndex + 2)
        return line
    }
}
