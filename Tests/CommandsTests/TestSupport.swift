@testable import Commands

/// A request and the server's `COMMAND GETKEYS` answer for it (see
/// GetKeysVectors+Generated.swift, written by scripts/gen-command-table).
struct GetKeysVector: Sendable, CustomStringConvertible {
    enum Answer: Sendable, Equatable {
        case keys([String])
        case error(String)
    }

    let arguments: [String]
    let answer: Answer

    init(_ arguments: [String], _ answer: Answer) {
        self.arguments = arguments
        self.answer = answer
    }

    var description: String { arguments.joined(separator: " ") }
}

/// Runs `body` with stable byte buffers for each argument (keyIndices reads
/// arguments through UnsafeRawBufferPointer).
func withArguments<R>(_ arguments: [String], _ body: ([UnsafeRawBufferPointer]) throws -> R) rethrows -> R {
    let buffers = arguments.map { argument -> UnsafeMutableRawBufferPointer in
        let bytes = Array(argument.utf8)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
        buffer.copyBytes(from: bytes)
        return UnsafeMutableRawBufferPointer(rebasing: buffer[0..<bytes.count])
    }
    defer { for buffer in buffers { buffer.deallocate() } }
    return try body(buffers.map { UnsafeRawBufferPointer($0) })
}

/// The spec Redis would run for `arguments`: the command, or its subcommand
/// for container commands.
func resolve(_ arguments: [String]) -> CommandSpec? {
    guard let first = arguments.first, let spec = CommandTable.redis.lookup(first) else { return nil }
    guard spec.hasSubcommands else { return spec }
    guard arguments.count > 1 else { return nil }
    return CommandTable.redis.subcommand(of: spec, named: arguments[1])
}

/// Key indices of a request given as strings.
func keyIndices(_ arguments: [String], options: KeyExtractionOptions = []) throws(KeyExtractionError) -> [Int] {
    guard let spec = resolve(arguments) else { fatalError("unknown command in test: \(arguments)") }
    return try keyIndices(spec, arguments, options: options)
}

/// Key indices of `arguments` run as `spec` (no command resolution).
func keyIndices(
    _ spec: CommandSpec, _ arguments: [String], options: KeyExtractionOptions = []
) throws(KeyExtractionError) -> [Int] {
    let result: Result<[Int], KeyExtractionError> = withArguments(arguments) { buffers in
        do throws(KeyExtractionError) {
            return .success(try spec.keyIndices(argumentCount: buffers.count, options: options) { buffers[$0] })
        } catch {
            return .failure(error)
        }
    }
    return try result.get()
}

/// Key names of a request given as strings.
func keyNames(_ arguments: [String], options: KeyExtractionOptions = []) throws(KeyExtractionError) -> [String] {
    try keyIndices(arguments, options: options).map { arguments[$0] }
}

/// Minimal RESP2 reader for checking the embedded reply bytes.
indirect enum RESPValue: Equatable {
    case simple(String)
    case error(String)
    case integer(Int)
    case bulk([UInt8]?)
    case array([RESPValue]?)

    var text: String? {
        switch self {
        case .simple(let s): return s
        case .bulk(let b?): return String(decoding: b, as: UTF8.self)
        default: return nil
        }
    }

    var items: [RESPValue]? {
        if case .array(let a?) = self { return a }
        return nil
    }

    /// Parses one value at `index`, advancing it; nil on malformed input.
    static func parse(_ bytes: [UInt8], _ index: inout Int) -> RESPValue? {
        guard index < bytes.count else { return nil }
        let type = bytes[index]
        var end = index + 1
        while end + 1 < bytes.count && !(bytes[end] == 13 && bytes[end + 1] == 10) { end += 1 }
        guard end + 1 < bytes.count else { return nil }
        let line = String(decoding: bytes[(index + 1)..<end], as: UTF8.self)
        index = end + 2
        switch type {
        case UInt8(ascii: "+"): return .simple(line)
        case UInt8(ascii: "-"): return .error(line)
        case UInt8(ascii: ":"): return Int(line).map { .integer($0) }
        case UInt8(ascii: "$"):
            guard let length = Int(line) else { return nil }
            if length < 0 { return .bulk(nil) }
            guard index + length + 2 <= bytes.count,
                  bytes[index + length] == 13, bytes[index + length + 1] == 10 else { return nil }
            defer { index += length + 2 }
            return .bulk(Array(bytes[index..<(index + length)]))
        case UInt8(ascii: "*"):
            guard let count = Int(line) else { return nil }
            if count < 0 { return .array(nil) }
            var items: [RESPValue] = []
            for _ in 0..<count {
                guard let item = parse(bytes, &index) else { return nil }
                items.append(item)
            }
            return .array(items)
        default: return nil
        }
    }

    /// Parses `bytes` as exactly `count` consecutive values.
    static func parseAll(_ bytes: [UInt8], count: Int) -> [RESPValue]? {
        var index = 0
        var values: [RESPValue] = []
        for _ in 0..<count {
            guard let value = parse(bytes, &index) else { return nil }
            values.append(value)
        }
        return index == bytes.count ? values : nil
    }
}

/// Flat RESP2 map -> value for `key`.
func field(_ map: [RESPValue], _ key: String) -> RESPValue? {
    stride(from: 0, to: map.count - 1, by: 2).first { map[$0].text == key }.map { map[$0 + 1] }
}
