/// Why an RDB payload could not be read. Every case says where (byte offset from the start of the
/// payload) so a corrupt or truncated file can be inspected; none of them is a crash.
public enum RDBError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The payload does not start with `REDIS`.
    case badMagic
    /// The four digits after `REDIS` are not a version this reader understands.
    case unsupportedVersion(String)
    /// The payload ends early: `needed` more bytes were required at `offset`.
    case truncated(offset: Int, needed: Int)
    /// The CRC64 after the EOF opcode does not match the bytes before it.
    case checksumMismatch(stored: UInt64, computed: UInt64)
    /// A value type this module does not represent (stream, module type, hash with field expiry).
    case unsupportedType(name: String, type: UInt8, key: [UInt8], offset: Int)
    /// Module auxiliary data (`MODULE_AUX`): only the module that wrote it can parse it.
    case moduleAuxiliaryData(offset: Int)
    /// A type or opcode byte that no Redis version writes.
    case unknownType(UInt8, offset: Int)
    /// Structurally invalid content (bad length encoding, listpack that does not parse, ...).
    case corrupt(reason: String, key: [UInt8]?, offset: Int)

    public var description: String {
        switch self {
        case .badMagic:
            return "not an RDB file: it does not start with \"REDIS\""
        case .unsupportedVersion(let version):
            return "unsupported RDB version \"\(version)\" (this reader handles 1 to \(RDBFormat.newestReadableVersion))"
        case .truncated(let offset, let needed):
            return "RDB truncated at offset \(offset): \(needed) more byte\(needed == 1 ? "" : "s") needed"
        case .checksumMismatch(let stored, let computed):
            return "RDB checksum mismatch: file says \(hex(stored)), content gives \(hex(computed))"
        case .unsupportedType(let name, let type, let key, let offset):
            return "unsupported RDB value type \(type) (\(name)) for key \(quoted(key)) at offset \(offset)"
        case .moduleAuxiliaryData(let offset):
            return "RDB holds module auxiliary data at offset \(offset); only the module that wrote it can load it"
        case .unknownType(let type, let offset):
            return "unknown RDB type or opcode \(type) at offset \(offset)"
        case .corrupt(let reason, let key, let offset):
            let keyText = key.map { " in key \(quoted($0))" } ?? ""
            return "corrupt RDB\(keyText) at offset \(offset): \(reason)"
        }
    }
}

private func hex(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: 16 - digits.count) + digits
}

/// A key for a message: printable ASCII as is, other bytes as `\xNN`, long keys shortened.
func quoted(_ bytes: [UInt8]) -> String {
    var text = "\""
    for byte in bytes.prefix(64) {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"):
            text.append("\\")
            text.append(Character(Unicode.Scalar(byte)))
        case 0x20...0x7E:
            text.append(Character(Unicode.Scalar(byte)))
        default:
            let digits = String(byte, radix: 16)
            text.append("\\x" + (digits.count == 1 ? "0" : "") + digits)
        }
    }
    if bytes.count > 64 { text.append("...(\(bytes.count) bytes)") }
    return text + "\""
}
