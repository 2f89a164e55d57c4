/// A client sent bytes that are not a valid request. `message` is exactly what Redis 7 replies
/// (after `-ERR `) before it closes the connection, so clients see the same errors as with Redis.
public struct RESPProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }

    static let invalidMultibulkLength = RESPProtocolError("Protocol error: invalid multibulk length")
    static let invalidBulkLength = RESPProtocolError("Protocol error: invalid bulk length")
    static let unauthenticatedMultibulkLength = RESPProtocolError("Protocol error: unauthenticated multibulk length")
    static let unauthenticatedBulkLength = RESPProtocolError("Protocol error: unauthenticated bulk length")
    static let tooBigMultibulkCount = RESPProtocolError("Protocol error: too big mbulk count string")
    static let tooBigBulkCount = RESPProtocolError("Protocol error: too big bulk count string")
    static let tooBigInlineRequest = RESPProtocolError("Protocol error: too big inline request")
    static let unbalancedQuotes = RESPProtocolError("Protocol error: unbalanced quotes in request")

    static func expectedDollar(got byte: UInt8) -> RESPProtocolError {
        RESPProtocolError("Protocol error: expected '$', got '\(Character(Unicode.Scalar(byte)))'")
    }

    /// A backend sent something that is not RESP: the connection to it cannot be trusted any more.
    static func badReply(_ byte: UInt8) -> RESPProtocolError {
        RESPProtocolError("Protocol error: unexpected reply type byte \(byte)")
    }
    static let replyTooDeep = RESPProtocolError("Protocol error: reply nested too deeply")
}

/// The request-size limits Redis 7 applies to clients (its defaults).
public struct RESPLimits: Sendable, Equatable {
    /// `proto-max-bulk-len`: 512 MB.
    public var maxBulkLength: Int = 512 * 1024 * 1024
    /// `PROTO_INLINE_MAX_SIZE`: an inline request, or a `*`/`$` header line, must end within 64 KB.
    public var maxInlineLength: Int = 64 * 1024
    /// Before AUTH, at most this many arguments...
    public var unauthenticatedMaxArguments: Int = 10
    /// ...and this many bytes per argument.
    public var unauthenticatedMaxBulkLength: Int = 16 * 1024

    public init() {}
}
