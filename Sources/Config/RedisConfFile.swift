import RESP

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

/// Splits redis.conf text the way Redis does: blank lines and `#` comments are skipped, and each
/// line is split into words by `sdssplitargs`, the splitter inline requests use too
/// (`InlineRequestSplitter`).
public enum RedisConfFile {
    public static func parse(_ text: String, file: String) throws(RedisConfError) -> [RedisConfDirective] {
        var directives: [RedisConfDirective] = []
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            var utf8 = line
            let split = utf8.withUTF8 { InlineRequestSplitter.split(UnsafeRawBufferPointer($0)) }
            guard let words = split?.map({ String(decoding: $0, as: UTF8.self) }) else {
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
}

extension Substring {
    fileprivate func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let start = firstIndex(where: { !isSpace($0) }) else { return "" }
        let end = lastIndex(where: { !isSpace($0) })!
        return String(self[start...end])
    }
}
