import Commands

/// Redis's ACL categories, in Redis's order (ACL CAT, the order ACL LIST tries them in).
package enum ACLCategory {
    package static let names = [
        "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap", "hyperloglog", "geo",
        "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous", "connection", "transaction", "scripting",
    ]

    package static func bit(_ name: String) -> UInt32? {
        names.firstIndex(of: name.lowercased()).map { 1 << UInt32($0) }
    }

    /// Every command id of the table (top-level commands, then each one's subcommands), in name order.
    package static let commandIDs: [Int] = {
        var ids: [Int] = []
        for spec in CommandTable.redis.commands.sorted(by: { $0.name < $1.name }) {
            ids.append(spec.id)
            for sub in spec.subcommands { ids.append(sub.id) }
        }
        return ids
    }()

    /// One past the largest command id.
    package static let idLimit = (commandIDs.max() ?? 0) + 1

    /// Each command's categories (bits of `names`), read from its COMMAND INFO entry as Redis 7 sends it.
    package static let masks: [UInt32] = {
        var masks = [UInt32](repeating: 0, count: idLimit)
        for id in commandIDs {
            let spec = CommandTable.redis[id]
            masks[id] = CommandTable.redis.withInfoReply(for: spec) { categoryMask(ofInfo: $0) }
        }
        return masks
    }()

    /// The names of the commands in category `bit` (ACL CAT's answer), in `commandIDs` order.
    package static func commandNames(inCategory bit: UInt32) -> [String] {
        commandIDs.filter { masks[$0] & bit != 0 }.map { CommandTable.redis[$0].name }
    }

    /// The categories element (the 7th) of a RESP2 COMMAND INFO entry.
    private static func categoryMask(ofInfo bytes: UnsafeRawBufferPointer) -> UInt32 {
        var reader = Reader(bytes: bytes)
        guard reader.header() != nil else { return 0 }
        for _ in 0..<6 { reader.skip() }
        guard let count = reader.header() else { return 0 }
        var mask: UInt32 = 0
        for _ in 0..<count {
            if let line = reader.line(), line.hasPrefix("+@"), let bit = bit(String(line.dropFirst(2))) { mask |= bit }
        }
        return mask
    }

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var position = 0

        mutating func line() -> String? {
            var end = position
            while end + 1 < bytes.count && !(bytes[end] == 13 && bytes[end + 1] == 10) { end += 1 }
            guard end + 1 < bytes.count else { return nil }
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[position..<end]), as: UTF8.self)
            position = end + 2
            return text
        }

        /// Reads an aggregate or bulk header's count.
        mutating func header() -> Int? {
            guard let text = line(), let first = text.first, "*$%~".contains(first) else { return nil }
            return Int(text.dropFirst())
        }

        mutating func skip() {
            guard position < bytes.count else { return }
            let type = bytes[position]
            guard let text = line() else { return }
            switch type {
            case UInt8(ascii: "*"), UInt8(ascii: "~"):
                for _ in 0..<max(0, Int(text.dropFirst()) ?? 0) { skip() }
            case UInt8(ascii: "%"):
                for _ in 0..<max(0, 2 * (Int(text.dropFirst()) ?? 0)) { skip() }
            case UInt8(ascii: "$"):
                let length = Int(text.dropFirst()) ?? -1
                if length >= 0 { position += length + 2 }
            default:
                break
            }
        }
    }
}
