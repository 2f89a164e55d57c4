/// Shared helpers for describing test keys compactly and hashing them as raw bytes.

/// A key written the way the C vector generator wrote it (see HashFunctionTests.swift).
enum TestKey: Sendable, CustomStringConvertible {
    /// The UTF-8 bytes of a string literal.
    case ascii(String)
    /// Bytes given as lowercase hex.
    case hex(String)
    /// `count` bytes where byte `i` is `(i * 31 + 7) & 0xff` (covers 0x00 and 0x80...0xff).
    case cycle(Int)
    /// `text` repeated `times` times.
    case repeated(String, Int)

    var bytes: [UInt8] {
        switch self {
        case .ascii(let text):
            return Array(text.utf8)
        case .hex(let text):
            return hexBytes(text)
        case .cycle(let count):
            return (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        case .repeated(let text, let times):
            return Array(repeatElement(Array(text.utf8), count: times).joined())
        }
    }

    var description: String {
        switch self {
        case .ascii(let text): return "ascii(\(text.debugDescription))"
        case .hex(let text): return "hex(\(text))"
        case .cycle(let count): return "cycle(\(count))"
        case .repeated(let text, let times): return "repeated(\(text.debugDescription) x \(times))"
        }
    }
}

func hexBytes(_ text: String) -> [UInt8] {
    let digits = Array(text.utf8)
    precondition(digits.count % 2 == 0, "odd hex length")
    return stride(from: 0, to: digits.count, by: 2).map { i in
        UInt8(String(decoding: digits[i..<(i + 2)], as: UTF8.self), radix: 16)!
    }
}

/// Runs `body` over the bytes of `key` (an empty array still gets a valid, empty buffer).
func withKey<R>(_ key: [UInt8], _ body: (UnsafeRawBufferPointer) -> R) -> R {
    key.withUnsafeBytes(body)
}

func withKey<R>(_ key: String, _ body: (UnsafeRawBufferPointer) -> R) -> R {
    Array(key.utf8).withUnsafeBytes(body)
}
