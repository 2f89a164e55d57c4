/// Byte-exact answers to COMMAND, COMMAND COUNT, COMMAND INFO and COMMAND
/// DOCS, so clients introspecting through the proxy see what Redis sends.
///
/// All bytes are RESP2 (the proxy speaks RESP2 to clients); they are the
/// generating server's replies with one normalization: subcommand entries are
/// sorted by name (Redis orders them by a randomly seeded hash, so any order
/// is what some Redis run sends). Top-level COMMAND / COMMAND DOCS lists are
/// emitted sorted by name for the same reason.
extension CommandTable {
    /// The RESP2 `COMMAND INFO` entry of `spec` (the element of the outer
    /// array; a subcommand's entry is also nested in its container's).
    public func infoReply(for spec: CommandSpec) -> [UInt8] {
        withReplyBytes(infoRanges[spec.id]) { Array($0) }
    }

    /// The RESP2 `COMMAND DOCS` (name, docs map) pair of `spec`: two RESP
    /// values, to follow a map header (`*<2n>\r\n` in RESP2).
    public func docsReply(for spec: CommandSpec) -> [UInt8] {
        withReplyBytes(docsRanges[spec.id]) { Array($0) }
    }

    /// Zero-copy access to `infoReply(for:)`; the bytes live in read-only data.
    public func withInfoReply<R>(for spec: CommandSpec, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withReplyBytes(infoRanges[spec.id], body)
    }

    /// Zero-copy access to `docsReply(for:)`.
    public func withDocsReply<R>(for spec: CommandSpec, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withReplyBytes(docsRanges[spec.id], body)
    }

    /// Full reply to `COMMAND` (and to `COMMAND INFO` without names).
    public func commandReply() -> [UInt8] {
        var out = Self.header(UInt8(ascii: "*"), commands.count)
        for spec in commands { withInfoReply(for: spec) { out.append(contentsOf: $0) } }
        return out
    }

    /// Reply to `COMMAND COUNT`.
    public func commandCountReply() -> [UInt8] {
        Self.header(UInt8(ascii: ":"), commands.count)
    }

    /// Reply to `COMMAND INFO name...`, given each name resolved with
    /// `lookup(fullName:)`; unknown names (nil) get a RESP2 null bulk (`$-1`), as Redis 7 sends.
    public func commandInfoReply(_ specs: [CommandSpec?]) -> [UInt8] {
        var out = Self.header(UInt8(ascii: "*"), specs.count)
        for spec in specs {
            if let spec {
                withInfoReply(for: spec) { out.append(contentsOf: $0) }
            } else {
                out.append(contentsOf: Self.nullInfoEntry)
            }
        }
        return out
    }

    /// Reply to `COMMAND DOCS name...` (unknown names are simply left out by
    /// Redis, so pass only the found specs), or with nil to `COMMAND DOCS`
    /// without names (all top-level commands).
    public func commandDocsReply(_ specs: [CommandSpec]? = nil) -> [UInt8] {
        let specs = specs ?? commands
        var out = Self.header(UInt8(ascii: "*"), specs.count * 2)
        for spec in specs { withDocsReply(for: spec) { out.append(contentsOf: $0) } }
        return out
    }

    /// What Redis 7 sends in RESP2 for an unknown name in COMMAND INFO.
    static let nullInfoEntry: [UInt8] = Array("$-1\r\n".utf8)

    func withReplyBytes<R>(_ range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: replyBytes.utf8Start + range.lowerBound, count: range.count))
    }

    static func header(_ type: UInt8, _ count: Int) -> [UInt8] {
        [type] + Array(String(count).utf8) + [13, 10]
    }
}
