import ACL
import NIOCore
import RESP

/// One connected client's state: selected database, protocol, name, the replies waiting to be
/// written. Lives on the node's event loop; the channel handler owns it and the node keeps a
/// registry for CLIENT LIST/KILL and for pushing messages (pub/sub, unblocking).
final class ClientConnection {
    let id: Int
    let channel: any Channel
    let remoteAddress: String
    let localAddress: String
    let connectedAt: Int64
    var lastInteraction: Int64
    var database = 0
    var protocolVersion = 2
    var name: [UInt8]?
    var libraryName = ""
    var libraryVersion = ""
    var authenticated: Bool
    /// The ACL user it authenticated as; nil for the default user.
    var user: ACLUser?
    /// Command-table id of the last command run (CLIENT LIST `cmd`), -1 before the first.
    var lastCommandID = -1
    /// Set by QUIT and CLIENT KILL: close once the pending replies are written.
    var closeAfterReply = false
    /// Replies not yet handed to the channel.
    var reply: ByteBuffer
    /// The client handler's context while the channel is active: writing through it goes straight
    /// to the socket's end of the pipeline instead of entering at the channel's tail (a generic
    /// call, a second walk for the flush). Cleared when the channel goes inactive.
    var handlerContext: ChannelHandlerContext?
    /// Closed for exceeding its `client-output-buffer-limit`: nothing more is run or written.
    var closedForOutputLimit = false
    /// Replies of more than `handOffBytes` were gathered for it in one tick: its memory is given
    /// back to the system when it goes (`Node.unregister`).
    var hadLargeBacklog = false
    /// When its unsent replies first reached the soft limit (ms), 0 while below it.
    var softLimitReachedAt: Int64 = 0
    /// Past this many bytes of replies gathered in one tick, the output limit is checked after each
    /// command rather than only when the tick's replies are written.
    static let outputCheckBytes = 16 * 1024
    /// Replies gathered in one tick past this size are handed to the channel (`Node.repliesGrew`).
    static let handOffBytes = 1024 * 1024
    /// Waiting in the node's end-of-tick flush list.
    var flushQueued = false
    /// Argument spans of the request being executed, reused between requests.
    var spans: [RESPRequest.ArgumentSpan] = []
    /// Runs the requests the client sent while it was blocked (set by the channel handler).
    var resume: (() -> Void)?
    /// The request CLIENT PAUSE holds back until the pause ends.
    var postponed: PostponedRequest?
    /// CLIENT NO-EVICT ON: exempt from client eviction (reported in CLIENT LIST's flags).
    var noEvict = false
    /// Received bytes not yet run, the request being run excluded (CLIENT LIST `qbuf`).
    var pendingInputBytes = 0
    /// The size of the request being run.
    var runningRequestBytes = 0
    /// What Redis's query buffer would hold (`qbuf` + `qbuf-free`), and the most received at once
    /// since the last cron (its peak).
    var queryBufferCapacity = 0
    var queryBufferPeak = 0
    /// Redis's first query buffer (16 KB plus the allocator's rounding) and the size past which an
    /// idle buffer is shrunk.
    static let queryBufferInitial = 20474
    static let queryBufferResizeThreshold = 32 * 1024

    /// `bytes` are waiting to be run: the query buffer grows to hold them.
    func noteInput(pending bytes: Int) {
        pendingInputBytes = bytes
        queryBufferPeak = max(queryBufferPeak, bytes)
        if bytes > queryBufferCapacity { queryBufferCapacity = max(Self.queryBufferInitial, bytes) }
    }
    /// Extra per-client state owned by other features (transactions, pub/sub, blocking, replication).
    var flags = ClientFlags()

    init(id: Int, channel: any Channel, authenticated: Bool, now: Int64) {
        self.id = id
        self.channel = channel
        self.remoteAddress = Self.describe(channel.remoteAddress)
        self.localAddress = Self.describe(channel.localAddress)
        self.connectedAt = now
        self.lastInteraction = now
        self.authenticated = authenticated
        self.reply = channel.allocator.buffer(capacity: 512)
    }

    private static func describe(_ address: SocketAddress?) -> String {
        guard let address else { return "" }
        return "\(address.ipAddress ?? "?"):\(address.port ?? 0)"
    }

    /// Where this client's error replies are counted (INFO errorstats); nil for internal clients
    /// (AOF loading).
    var errorStats: ErrorReplyStats?
    /// Error replies written to this client by the command running now (see `Node.run`).
    var errorReplies = 0

    // MARK: - Replies (RESP2 or RESP3 as the client chose with HELLO)

    func ok() { reply.writeStaticString("+OK\r\n") }
    func simple(_ text: String) { reply.writeRESPSimpleString(text) }
    /// An error reply: counted for INFO errorstats (unless `counted` is false: a script's error
    /// that repeats one already counted where its command failed, as Redis does) and for the
    /// running command's `failed_calls` (`errorReplies`).
    func error(_ message: String, counted: Bool = true) {
        errorReplies += 1
        if counted { errorStats?.record(message) }
        reply.writeRESPError(message)
    }
    func integer(_ value: Int) { reply.writeRESPInteger(value) }

    func bulk(_ bytes: UnsafeRawBufferPointer) { reply.writeRESPBulkString(bytes: bytes) }
    func bulk(_ bytes: [UInt8]) { bytes.withUnsafeBytes { bulk($0) } }
    func bulk(_ text: String) { reply.writeRESPBulkString(text) }

    /// A missing value: `$-1` in RESP2, `_` in RESP3.
    func null() { reply.writeStaticString(protocolVersion == 3 ? "_\r\n" : "$-1\r\n") }
    /// A missing array (timeouts, aborted EXEC): `*-1` in RESP2, `_` in RESP3.
    func nullArray() { reply.writeStaticString(protocolVersion == 3 ? "_\r\n" : "*-1\r\n") }

    func arrayHeader(_ count: Int) { reply.writeRESPArrayHeader(count) }
    /// A map of `count` pairs: `%count` in RESP3, a flat array of 2×count in RESP2.
    func mapHeader(_ count: Int) { aggregateHeader(UInt8(ascii: "%"), count, resp2Count: count * 2) }
    /// A set: `~count` in RESP3, an array in RESP2.
    func setHeader(_ count: Int) { aggregateHeader(UInt8(ascii: "~"), count, resp2Count: count) }
    /// An out-of-band push (pub/sub messages): `>count` in RESP3, an array in RESP2.
    func pushHeader(_ count: Int) { aggregateHeader(UInt8(ascii: ">"), count, resp2Count: count) }

    /// A RESP3 aggregate header with its own type byte, or the RESP2 array that stands for it.
    private func aggregateHeader(_ resp3Type: UInt8, _ count: Int, resp2Count: Int) {
        guard protocolVersion == 3 else { return reply.writeRESPArrayHeader(resp2Count) }
        reply.writeRESPHeader(resp3Type, count)
    }

    /// A double as Redis 7.0 writes it (`%.17g`): a bulk string in RESP2, `,` in RESP3.
    func double(_ value: Double) {
        let text = DoubleFormat.reply(value)
        if protocolVersion == 3 {
            reply.writeInteger(UInt8(ascii: ","))
            reply.writeString(text)
            reply.writeCRLF()
        } else {
            reply.writeRESPBulkString(text)
        }
    }
    /// Text as INFO and CLIENT INFO send it: verbatim in RESP3, bulk in RESP2.
    func verbatim(_ text: String) {
        if protocolVersion == 3 { reply.writeRESPVerbatimString(text) } else { reply.writeRESPBulkString(text) }
    }
    func boolean(_ value: Bool) {
        if protocolVersion == 3 { reply.writeStaticString(value ? "#t\r\n" : "#f\r\n") } else { integer(value ? 1 : 0) }
    }
}

/// Per-client state of features layered on the core; each feature keeps its fields here.
struct ClientFlags {
    /// Inside MULTI: the queued requests; nil otherwise.
    var queued: [RESPRequest]?
    /// A command failed to queue: EXEC must abort.
    var transactionFailed = false
    /// WATCH saw a watched key change: EXEC must return a null array.
    var watchTouched = false
    var watchedKeys: [(database: Int, key: [UInt8])] = []
    /// Pub/sub: subscribed channels and patterns.
    var channels: Set<[UInt8]> = []
    var patterns: Set<[UInt8]> = []
    var shardChannels: Set<[UInt8]> = []
    /// Any subscription puts a RESP2 client in pub/sub mode.
    var subscriptionCount: Int { channels.count + patterns.count + shardChannels.count }
    /// MONITOR clients receive every command.
    var isMonitor = false
    /// A replica connection (after SYNC/PSYNC): its replies are not sent by the normal path.
    var isReplica = false
    /// The connection from a replica to its master.
    var isMaster = false
    /// What a replica said about itself with REPLCONF before its PSYNC.
    var replicaListeningPort = 0
    var replicaAnnouncedIP: String?
    var replicaSupportsEOF = false
    /// A replica that used the old SYNC (no FULLRESYNC line, `$<len>` framing).
    var legacySync = false
    /// The client changed data at least once (WAIT then waits for the current offset).
    var wroteData = false
    /// Waiting in a blocking command, or held back by CLIENT PAUSE.
    var isBlocked = false
    /// CLIENT TRACKING ON: its options; nil while tracking is off.
    var tracking: TrackingMode?
    /// CLIENT REPLY ON/OFF/SKIP.
    var replyMode = ReplyMode.on
    /// The client scripts run their commands as (`ScriptEngine.client`).
    var isScript = false
    /// Its socket, once a busy script looked it up (`Node.serveClientsWhileBusy`; -1: not found).
    var socketDescriptor: Int32?
    /// Bytes of its input already run while a script was busy, still to be read from the socket:
    /// the handler drops them.
    var servedWhileBusy = 0
}
