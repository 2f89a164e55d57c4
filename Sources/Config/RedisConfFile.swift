/// One directive line of a redis.conf-style file: its name (lowercased), arguments and position.
public struct RedisConfDirective: Sendable, Equatable {
    public var name: String
    public var arguments: [String]
    public var file: String
    public var line: Int

    public init(name: String, arguments: [String], file: String, line: Int) {
        self.name = name
        self.arguments = arguments
        self.file = file
        self.line = line
    }

    /// "file:line" for error messages.
    public var location: String { "\(file):\(line)" }
}

/// A syntax problem in a redis.conf-style file, naming file and line.
public struct RedisConfError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// Splits redis.conf text the way Redis does (`sdssplitargs`): blank lines and `#` comments are
/// skipped, arguments are separated by spaces, "double quotes" take \n \r \t \b \a \\ \" and \xHH
/// escapes, 'single quotes' take \'.
public enum RedisConfFile {
    public static func parse(_ text: String, file: String) throws(RedisConfError) -> [RedisConfDirective] {
        var directives: [RedisConfDirective] = []
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let words = splitArguments(Array(line.utf8)) else {
                throw RedisConfError(description: "\(file):\(lineNumber): unbalanced quotes in '\(line)'")
            }
            guard let first = words.first else { continue }
            directives.append(
                RedisConfDirective(name: first.lowercased(), arguments: Array(words.dropFirst()), file: file, line: lineNumber))
        }
        return directives
    }

    /// redis-server's command line: `[file] --name value ... --other value`. Each `--name` starts a
    /// directive whose arguments are the words up to the next `--name`.
    public static func parseCommandLine(_ arguments: [String]) throws(RedisConfError) -> [RedisConfDirective] {
        var directives: [RedisConfDirective] = []
        for argument in arguments {
            if argument.hasPrefix("--") && argument.count > 2 {
                directives.append(
                    RedisConfDirective(
                        name: String(argument.dropFirst(2)).lowercased(), arguments: [], file: "command line",
                        line: directives.count + 1))
            } else if directives.isEmpty {
                throw RedisConfError(description: "command line: expected --directive before '\(argument)'")
            } else {
                directives[directives.count - 1].arguments.append(argument)
            }
        }
        return directives
    }

    static func splitArguments(_ bytes: [UInt8]) -> [String]? {
        var words: [String] = []
        var index = 0
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0B || byte == 0x0C }
        while true {
            while index < bytes.count && isSpace(bytes[index]) { index += 1 }
            guard index < bytes.count else { return words }
            var word: [UInt8] = []
            var inDouble = false
            var inSingle = false
            while true {
                if inDouble {
                    guard index < bytes.count else { return nil }
                    let byte = bytes[index]
                    if byte == UInt8(ascii: "\\") && index + 3 < bytes.count && bytes[index + 1] == UInt8(ascii: "x"),
                        let value = UInt8(String(decoding: bytes[(index + 2)...(index + 3)], as: UTF8.self), radix: 16)
                    {
                        word.append(value)
                        index += 3
                    } else if byte == UInt8(ascii: "\\") && index + 1 < bytes.count {
                        index += 1
                        switch bytes[index] {
                        case UInt8(ascii: "n"): word.append(0x0A)
                        case UInt8(ascii: "r"): word.append(0x0D)
                        case UInt8(ascii: "t"): word.append(0x09)
                        case UInt8(ascii: "b"): word.append(0x08)
                        case UInt8(ascii: "a"): word.append(0x07)
                        default: word.append(bytes[index])
                        }
                    } else if byte == UInt8(ascii: "\"") {
                        // A closing quote must be followed by a space or the end.
                        if index + 1 < bytes.count && !isSpace(bytes[index + 1]) { return nil }
                        index += 1
                        break
                    } else {
                        word.append(byte)
                    }
                } else if inSingle {
                    guard index < bytes.count else { return nil }
                    let byte = bytes[index]
                    if byte == UInt8(ascii: "\\") && index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "'") {
                        word.append(UInt8(ascii: "'"))
                        index += 1
                    } else if byte == UInt8(ascii: "'") {
                        if index + 1 < bytes.count && !isSpace(bytes[index + 1]) { return nil }
                        index += 1
                        break
                    } else {
                        word.append(byte)
                    }
                } else {
                    if index >= bytes.count || isSpace(bytes[index]) { break }
                    if bytes[index] == UInt8(ascii: "\"") {
                        inDouble = true
                    } else if bytes[index] == UInt8(ascii: "'") {
                        inSingle = true
                    } else {
                        word.append(bytes[index])
                    }
                }
                index += 1
            }
            words.append(String(decoding: word, as: UTF8.self))
        }
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let start = firstIndex(where: { !isSpace($0) }) else { return "" }
        let end = lastIndex(where: { !isSpace($0) })!
        return String(self[start...end])
    }
}
