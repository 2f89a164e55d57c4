import Logging
import RedisText

/// The node's configuration, as redis.conf directives, command-line `--directive value` pairs and
/// CONFIG SET change it.
///
/// One table (`NodeSettings.parameters`) names every directive with how to read, print and (if
/// allowed at run time) change it; the file loader, CONFIG GET/SET and CONFIG REWRITE all go through it.
public struct NodeSettings: Sendable {
    public var port = 6379
    public var bind = ["*", "-::*"]
    public var requirePass: String?
    /// `user <name> <rules...>` lines of the config file, in order (ACL users made at startup).
    public var users: [[String]] = []
    /// `aclfile`: where ACL LOAD reads users and ACL SAVE writes them ("" for none).
    public var aclFile = ""
    /// `acllog-max-len`: ACL LOG entries kept.
    public var aclLogMaxLength = 128
    /// `acl-pubsub-default`: the channels a new user (or a `reset` one, or a new selector) may use:
    /// `resetchannels` (none, Redis 7.0's default) or `allchannels`.
    public var aclPubsubDefault = "resetchannels"
    public var directory = "."
    public var dbFilename = "dump.rdb"
    /// `save` points: after `seconds` if at least `changes` writes happened.
    public var savePoints: [(seconds: Int, changes: Int)] = [(3600, 1), (300, 100), (60, 10000)]
    public var appendOnly = false
    public var appendFilename = "appendonly.aof"
    public var appendDirname = "appendonlydir"
    public var appendFsync = "everysec"
    public var autoAOFRewritePercentage = 100
    /// `aof-use-rdb-preamble`: whether a rewrite writes the AOF's base as an RDB (yes, the default)
    /// or as commands. Accepted and reported as in Redis; the node always writes an RDB base
    /// (`<name>.base.rdb`, which Redis 7 loads whichever the setting), so `no` only changes the answer
    /// to CONFIG GET.
    public var aofUseRDBPreamble = true
    public var autoAOFRewriteMinSize = 64 * 1024 * 1024
    public var databases = 16
    public var maxClients = 10000
    public var clientOutputBufferLimits = ClientOutputBufferLimits()
    public var maxMemory = 0
    public var maxMemoryPolicy = "noeviction"
    public var maxMemorySamples = 5
    /// CLIENT TRACKING: most keys in the tracking table (0: no limit).
    public var trackingTableMaxKeys = 1_000_000
    public var logLevel = "notice"
    /// `loglevel` as swift-log's level.
    public var swiftLogLevel: Logger.Level {
        switch logLevel {
        case "debug": .debug
        case "verbose": .info
        case "warning": .warning
        case "nothing": .critical
        default: .notice
        }
    }
    public var logFile = ""
    public var hz = 10
    public var timeout = 0
    public var tcpKeepalive = 300
    public var protectedMode = true
    public var rdbCompression = true
    public var rdbChecksum = true
    public var stopWritesOnBgsaveError = true
    public var pidFile = ""
    public var daemonize = false
    /// `no`, `yes` or `local`: who may run DEBUG, and CONFIG SET protected directives (`dir`, `dbfilename`).
    public var enableDebugCommand = "no"
    public var enableProtectedConfigs = "no"
    // Encoding thresholds (Redis 7.0 defaults).
    public var hashMaxListpackEntries = 512
    public var hashMaxListpackValue = 64
    public var setMaxIntsetEntries = 512
    public var zsetMaxListpackEntries = 128
    public var zsetMaxListpackValue = 64
    public var listMaxListpackSize = -2
    /// `list-compress-depth`: how many quicklist nodes at each end Redis leaves uncompressed (0: no
    /// compression). Accepted, validated and reported as Redis does, but it changes nothing here: the
    /// node keeps a list's elements in one deque, not in a quicklist of listpacks, so there are no
    /// inner nodes to compress (a list costs its plain bytes at any depth).
    public var listCompressDepth = 0
    /// A sparse HyperLogLog that would grow past this many bytes (header included) turns dense.
    public var hllSparseMaxBytes = 3000
    /// A stream node takes new entries until it holds this many (deleted ones included); 0: no limit.
    public var streamNodeMaxEntries = 100
    /// ... or until its listpack size reaches this many bytes; 0: no limit.
    public var streamNodeMaxBytes = 4096
    // Replication (used by the replication work).
    public var replicaOf: (host: String, port: Int)?
    public var masterAuth: String?
    public var masterUser: String?
    public var replicaReadOnly = true
    public var replicaServeStaleData = true
    /// Milliseconds a script runs before other clients get -BUSY (`lua-time-limit`).
    public var busyReplyThreshold = 5000
    public var replicaPriority = 100
    public var replicaAnnounceIP = ""
    public var replicaAnnouncePort = 0
    public var replicaLazyFlush = false
    public var replBacklogSize = 1024 * 1024
    public var replBacklogTTL = 3600
    public var replDisklessSync = true
    public var replDisklessSyncDelay = 5
    public var replDisklessSyncMaxReplicas = 0
    public var replDisklessLoad = "disabled"
    public var replPingReplicaPeriod = 10
    public var replTimeout = 60
    public var minReplicasToWrite = 0
    public var minReplicasMaxLag = 10
    public var replicaProtectEmptyMaster = true
    /// `notify-keyspace-events`: which keyspace notifications are published.
    public var keyspaceEvents = KeyspaceEvents()
    /// SLOWLOG: commands taking at least this many µs are logged (-1: none), at most `slowlogMaxLen`.
    public var slowlogLogSlowerThan = 10000
    public var slowlogMaxLen = 128
    /// LATENCY: events of at least this many ms are sampled (0: off).
    public var latencyMonitorThreshold = 0
    /// Per-command latency histograms (LATENCY HISTOGRAM, INFO latencystats) and their percentiles.
    public var latencyTracking = true
    public var latencyTrackingPercentiles: [Double] = [50, 99, 99.9]
    /// `maxmemory-clients` as given (bytes or a percentage of maxmemory); accepted and reported
    /// only: the node does not evict clients.
    public var maxMemoryClients = "0"
    /// `client-query-buffer-limit`; accepted and reported (the node's parser bounds requests itself).
    public var clientQueryBufferLimit = 1024 * 1024 * 1024
    /// `key-load-delay` (a hidden debugging directive of Redis): accepted and reported only.
    public var keyLoadDelay = 0

    public init() {}
}

/// A configuration problem, worded like Redis's own where it has one.
public struct NodeConfigError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// How one directive is read, printed and changed.
struct ConfigParameter: Sendable {
    let name: String
    var alias: String? = nil
    /// False for directives that only take effect at startup (CONFIG SET refuses them).
    var mutable = true
    /// Redis's PROTECTED_CONFIG: CONFIG SET refuses it unless `enable-protected-configs` allows it.
    var isProtected = false
    /// Redis's HIDDEN_CONFIG: CONFIG GET names it only when asked by its exact name.
    var hidden = false
    let get: @Sendable (NodeSettings) -> String
    let set: @Sendable (inout NodeSettings, String) throws(NodeConfigError) -> Void
}

extension NodeSettings {
    /// Every directive the node knows, in redis.conf order.
    static let parameters: [ConfigParameter] = [
        integer("port", \.port, range: 0...65535),
        ConfigParameter(
            name: "bind", get: { $0.bind.joined(separator: " ") },
            set: { settings, value in settings.bind = value.split(separator: " ").map(String.init) }),
        ConfigParameter(
            name: "requirepass", get: { $0.requirePass ?? "" },
            set: { settings, value in settings.requirePass = value.isEmpty ? nil : value }),
        string("aclfile", \.aclFile, mutable: false),
        integer("acllog-max-len", \.aclLogMaxLength, range: 0...Int(Int32.max)),
        choice("acl-pubsub-default", \.aclPubsubDefault, ["allchannels", "resetchannels"]),
        protected(string("dir", \.directory, mutable: false)),
        protected(string("dbfilename", \.dbFilename, validate: baseName("dbfilename", "filename"))),
        ConfigParameter(
            name: "save",
            get: { $0.savePoints.map { "\($0.seconds) \($0.changes)" }.joined(separator: " ") },
            set: { settings, value throws(NodeConfigError) in
                let fields = value.split(separator: " ")
                guard fields.count % 2 == 0 else { throw NodeConfigError("Invalid save parameters") }
                var points: [(Int, Int)] = []
                for pair in stride(from: 0, to: fields.count, by: 2) {
                    // Read as Redis reads them (`strtoll`: a sign allowed, saturating), changes kept as a C int.
                    guard let seconds = saturatingInteger(fields[pair]), let changes = saturatingInteger(fields[pair + 1]),
                        seconds >= 1, changes >= 0
                    else { throw NodeConfigError("Invalid save parameters") }
                    points.append((seconds, Int(Int32(truncatingIfNeeded: changes))))
                }
                settings.savePoints = points
            }),
        boolean("appendonly", \.appendOnly),
        string("appendfilename", \.appendFilename, mutable: false, validate: baseName("appendfilename", "filename", nonEmpty: true)),
        string("appenddirname", \.appendDirname, mutable: false, validate: baseName("appenddirname", "dirname", nonEmpty: true)),
        choice("appendfsync", \.appendFsync, ["always", "everysec", "no"]),
        boolean("aof-use-rdb-preamble", \.aofUseRDBPreamble),
        integer("auto-aof-rewrite-percentage", \.autoAOFRewritePercentage, range: 0...Int(Int32.max)),
        memory("auto-aof-rewrite-min-size", \.autoAOFRewriteMinSize, range: 0...Int.max),
        integer("databases", \.databases, range: 1...Int(Int32.max), mutable: false),
        integer("maxclients", \.maxClients, range: 1...Int(UInt32.max)),
        ConfigParameter(
            name: "client-output-buffer-limit", get: { $0.clientOutputBufferLimits.description },
            set: { settings, value throws(NodeConfigError) in try settings.clientOutputBufferLimits.apply(value) }),
        memory("maxmemory", \.maxMemory, range: nil),
        choice(
            "maxmemory-policy", \.maxMemoryPolicy,
            ["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-lru", "allkeys-lfu",
             "allkeys-random", "noeviction"]),
        integer("maxmemory-samples", \.maxMemorySamples, range: 1...Int(Int32.max)),
        integer("tracking-table-max-keys", \.trackingTableMaxKeys, range: 0...Int.max),
        choice("loglevel", \.logLevel, ["debug", "verbose", "notice", "warning", "nothing"]),
        string("logfile", \.logFile, mutable: false),
        // Redis accepts 0...INT_MAX and applies (and reports) it clamped to 1...500.
        ConfigParameter(
            name: "hz", get: { String($0.hz) },
            set: { settings, value throws(NodeConfigError) in
                guard let number = parseInteger(value) else { throw NodeConfigError("argument couldn't be parsed into an integer") }
                guard (0...Int(Int32.max)).contains(number) else { throw outOfRange(0...Int(Int32.max)) }
                settings.hz = min(max(number, 1), 500)
            }),
        integer("timeout", \.timeout, range: 0...Int(Int32.max)),
        integer("tcp-keepalive", \.tcpKeepalive, range: 0...Int(Int32.max)),
        boolean("protected-mode", \.protectedMode),
        boolean("rdbcompression", \.rdbCompression),
        boolean("rdbchecksum", \.rdbChecksum),
        boolean("stop-writes-on-bgsave-error", \.stopWritesOnBgsaveError),
        string("pidfile", \.pidFile, mutable: false),
        choice("enable-protected-configs", \.enableProtectedConfigs, ["no", "yes", "local"], mutable: false),
        choice("enable-debug-command", \.enableDebugCommand, ["no", "yes", "local"], mutable: false),
        ConfigParameter(
            name: "daemonize", mutable: false, get: { $0.daemonize ? "yes" : "no" },
            set: { settings, value throws(NodeConfigError) in
                guard try parseBool(value) == false else {
                    throw NodeConfigError("daemonize yes is not supported: run the node under a supervisor")
                }
                settings.daemonize = false
            }),
        integer("hash-max-listpack-entries", \.hashMaxListpackEntries, range: 0...Int.max, alias: "hash-max-ziplist-entries"),
        memory("hash-max-listpack-value", \.hashMaxListpackValue, range: 0...Int.max, alias: "hash-max-ziplist-value"),
        integer("set-max-intset-entries", \.setMaxIntsetEntries, range: 0...Int.max),
        integer("zset-max-listpack-entries", \.zsetMaxListpackEntries, range: 0...Int.max, alias: "zset-max-ziplist-entries"),
        memory("zset-max-listpack-value", \.zsetMaxListpackValue, range: 0...Int.max, alias: "zset-max-ziplist-value"),
        memory("hll-sparse-max-bytes", \.hllSparseMaxBytes, range: 0...Int.max),
        integer("stream-node-max-entries", \.streamNodeMaxEntries, range: 0...Int.max),
        memory("stream-node-max-bytes", \.streamNodeMaxBytes, range: 0...Int.max),
        integer("list-max-listpack-size", \.listMaxListpackSize, range: Int(Int32.min)...Int(Int32.max), alias: "list-max-ziplist-size"),
        integer("list-compress-depth", \.listCompressDepth, range: 0...Int(Int32.max)),
        ConfigParameter(
            name: "replicaof", alias: "slaveof", mutable: false,
            get: { settings in settings.replicaOf.map { "\($0.host) \($0.port)" } ?? "" },
            set: { settings, value throws(NodeConfigError) in
                let fields = value.split(separator: " ")
                if fields.isEmpty || (fields.count == 2 && fields[0].lowercased() == "no" && fields[1].lowercased() == "one") {
                    settings.replicaOf = nil
                    return
                }
                guard fields.count == 2, let port = Int(fields[1]), (1...65535).contains(port) else {
                    throw NodeConfigError("Invalid master port")
                }
                settings.replicaOf = (String(fields[0]), port)
            }),
        ConfigParameter(
            name: "masterauth", get: { $0.masterAuth ?? "" },
            set: { settings, value in settings.masterAuth = value.isEmpty ? nil : value }),
        ConfigParameter(
            name: "masteruser", get: { $0.masterUser ?? "" },
            set: { settings, value in settings.masterUser = value.isEmpty ? nil : value }),
        boolean("replica-read-only", \.replicaReadOnly, alias: "slave-read-only"),
        boolean("replica-serve-stale-data", \.replicaServeStaleData, alias: "slave-serve-stale-data"),
        integer("busy-reply-threshold", \.busyReplyThreshold, range: 0...Int.max, alias: "lua-time-limit"),
        integer("replica-priority", \.replicaPriority, range: 0...Int(Int32.max), alias: "slave-priority"),
        string("replica-announce-ip", \.replicaAnnounceIP, alias: "slave-announce-ip"),
        integer("replica-announce-port", \.replicaAnnouncePort, range: 0...65535, alias: "slave-announce-port"),
        boolean("replica-lazy-flush", \.replicaLazyFlush, alias: "slave-lazy-flush"),
        memory("repl-backlog-size", \.replBacklogSize, range: 1...Int.max, atLeast: 16 * 1024),
        integer("repl-backlog-ttl", \.replBacklogTTL, range: 0...Int.max),
        boolean("repl-diskless-sync", \.replDisklessSync),
        integer("repl-diskless-sync-delay", \.replDisklessSyncDelay, range: 0...Int(Int32.max)),
        integer("repl-diskless-sync-max-replicas", \.replDisklessSyncMaxReplicas, range: 0...Int(Int32.max)),
        choice("repl-diskless-load", \.replDisklessLoad, ["disabled", "on-empty-db", "swapdb"]),
        integer("repl-ping-replica-period", \.replPingReplicaPeriod, range: 1...Int(Int32.max), alias: "repl-ping-slave-period"),
        integer("repl-timeout", \.replTimeout, range: 1...Int(Int32.max)),
        integer("min-replicas-to-write", \.minReplicasToWrite, range: 0...Int(Int32.max), alias: "min-slaves-to-write"),
        integer("min-replicas-max-lag", \.minReplicasMaxLag, range: 0...Int(Int32.max), alias: "min-slaves-max-lag"),
        boolean("replica-protect-empty-master", \.replicaProtectEmptyMaster),
        ConfigParameter(
            name: "maxmemory-clients", get: { $0.maxMemoryClients },
            set: { settings, value throws(NodeConfigError) in
                if value.hasSuffix("%") {
                    guard let percent = parseInteger(String(value.dropLast())), percent >= 0 else {
                        throw NodeConfigError("argument must be a memory or percent value")
                    }
                    guard percent <= 100 else { throw NodeConfigError("percentage argument must be less or equal to 100") }
                } else if parseMemory(value) == nil {
                    throw NodeConfigError("argument must be a memory or percent value")
                }
                settings.maxMemoryClients = value
            }),
        memory("client-query-buffer-limit", \.clientQueryBufferLimit, range: (1024 * 1024)...Int.max),
        hidden(integer("key-load-delay", \.keyLoadDelay, range: Int(Int32.min)...Int(Int32.max))),
        integer("slowlog-log-slower-than", \.slowlogLogSlowerThan, range: -1...Int.max),
        integer("slowlog-max-len", \.slowlogMaxLen, range: 0...Int.max),
        integer("latency-monitor-threshold", \.latencyMonitorThreshold, range: 0...Int.max),
        boolean("latency-tracking", \.latencyTracking),
        ConfigParameter(
            name: "latency-tracking-info-percentiles",
            get: { $0.latencyTrackingPercentiles.map { Node.formatPercentile($0) }.joined(separator: " ") },
            set: { settings, value throws(NodeConfigError) in
                var percentiles: [Double] = []
                for field in value.split(separator: " ") {
                    guard let number = Double(field), number.isFinite else {
                        throw NodeConfigError("Invalid latency-tracking-info-percentiles parameters")
                    }
                    guard (0...100).contains(number) else {
                        throw NodeConfigError("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]")
                    }
                    percentiles.append(number)
                }
                settings.latencyTrackingPercentiles = percentiles
            }),
        ConfigParameter(
            name: "notify-keyspace-events", get: { $0.keyspaceEvents.canonical },
            set: { settings, value throws(NodeConfigError) in
                guard let events = KeyspaceEvents(parsing: value) else {
                    throw NodeConfigError("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
                }
                settings.keyspaceEvents = events
            }),
    ]

    static func parameter(named name: String) -> ConfigParameter? {
        let name = name.lowercased()
        return parameters.first { $0.name == name || $0.alias == name }
    }

    // MARK: Parameter kinds

    static func parseBool(_ value: String) throws(NodeConfigError) -> Bool {
        switch value.lowercased() {
        case "yes": return true
        case "no": return false
        default: throw NodeConfigError("argument must be 'yes' or 'no'")
        }
    }

    /// Redis's `memtoull`: digits then an optional unit (b, k, kb, m, mb, g, gb; k = 1000,
    /// kb = 1024; any case). As in Redis the digits saturate at UInt64.max and the product with the
    /// unit wraps around (no trap on any input); nil for anything else (a sign, spaces, other units).
    static func parseMemory(_ value: String) -> UInt64? {
        let bytes = Array(value.utf8)
        var end = 0
        while end < bytes.count && bytes[end] >= UInt8(ascii: "0") && bytes[end] <= UInt8(ascii: "9") { end += 1 }
        let unit = String(decoding: bytes[end...], as: UTF8.self).lowercased()
        let scale: UInt64
        switch unit {
        case "", "b": scale = 1
        case "k": scale = 1000
        case "kb": scale = 1024
        case "m": scale = 1_000_000
        case "mb": scale = 1 << 20
        case "g": scale = 1_000_000_000
        case "gb": scale = 1 << 30
        default: return nil
        }
        guard end < 128 else { return nil }
        var number: UInt64 = 0
        for byte in bytes[..<end] {
            let (times10, o1) = number.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            if o1 || o2 { number = .max; break }
            number = sum
        }
        return number &* scale
    }

    /// `strtoll` over all of `text`: an optional sign then digits, saturating at the Int64 bounds
    /// instead of failing; nil when anything else is there.
    static func saturatingInteger(_ text: Substring) -> Int? {
        var bytes = text.utf8[...]
        var negative = false
        if let first = bytes.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            negative = first == UInt8(ascii: "-")
            bytes = bytes.dropFirst()
        }
        guard !bytes.isEmpty else { return nil }
        var magnitude: UInt64 = 0
        var saturated = false
        for byte in bytes {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            let (times10, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            if o1 || o2 { saturated = true } else { magnitude = sum }
        }
        if negative { return saturated || magnitude > UInt64(Int.max) + 1 ? Int.min : Int(truncatingIfNeeded: 0 &- magnitude) }
        return saturated || magnitude > UInt64(Int.max) ? Int.max : Int(magnitude)
    }

    /// Redis's `string2ll` over a directive's value.
    static func parseInteger(_ value: String) -> Int? {
        var value = value
        return value.withUTF8 { RedisInteger.parse(UnsafeRawBufferPointer($0)).map(Int.init) }
    }

    static func outOfRange(_ range: ClosedRange<Int>) -> NodeConfigError {
        NodeConfigError("argument must be between \(range.lowerBound) and \(range.upperBound) inclusive")
    }

    private static func integer(
        _ name: String, _ path: any WritableKeyPath<NodeSettings, Int> & Sendable, range: ClosedRange<Int>,
        mutable: Bool = true, alias: String? = nil
    ) -> ConfigParameter {
        ConfigParameter(
            name: name, alias: alias, mutable: mutable, get: { String($0[keyPath: path]) },
            set: { settings, value throws(NodeConfigError) in
                guard let number = parseInteger(value) else { throw NodeConfigError("argument couldn't be parsed into an integer") }
                guard range.contains(number) else { throw outOfRange(range) }
                settings[keyPath: path] = number
            })
    }

    /// A memory directive (units allowed). `range`: its bounds as a signed value (a value past
    /// Int64.max reads as negative, as Redis's long long cast makes it); nil for `maxmemory`,
    /// unsigned with no bound, kept here capped at Int.max. `minimum`: what a smaller valid value
    /// is raised to.
    private static func memory(
        _ name: String, _ path: any WritableKeyPath<NodeSettings, Int> & Sendable, range: ClosedRange<Int>?,
        alias: String? = nil, atLeast minimum: Int = 0
    ) -> ConfigParameter {
        ConfigParameter(
            name: name, alias: alias, get: { String($0[keyPath: path]) },
            set: { settings, value throws(NodeConfigError) in
                guard let bytes = parseMemory(value) else { throw NodeConfigError("argument must be a memory value") }
                guard let range else {
                    settings[keyPath: path] = Int(clamping: bytes)
                    return
                }
                let signed = Int(Int64(bitPattern: bytes))
                guard range.contains(signed) else { throw outOfRange(range) }
                // Redis raises a too small value when applying it (the replication backlog's 16kb).
                settings[keyPath: path] = Swift.max(signed, minimum)
            })
    }

    private static func boolean(
        _ name: String, _ path: any WritableKeyPath<NodeSettings, Bool> & Sendable, alias: String? = nil
    ) -> ConfigParameter {
        ConfigParameter(
            name: name, alias: alias, get: { $0[keyPath: path] ? "yes" : "no" },
            set: { settings, value throws(NodeConfigError) in settings[keyPath: path] = try parseBool(value) })
    }

    private static func string(
        _ name: String, _ path: any WritableKeyPath<NodeSettings, String> & Sendable, mutable: Bool = true,
        alias: String? = nil, validate: (@Sendable (String) throws(NodeConfigError) -> Void)? = nil
    ) -> ConfigParameter {
        ConfigParameter(
            name: name, alias: alias, mutable: mutable, get: { $0[keyPath: path] },
            set: { settings, value throws(NodeConfigError) in
                try validate?(value)
                settings[keyPath: path] = value
            })
    }

    private static func hidden(_ parameter: ConfigParameter) -> ConfigParameter {
        var parameter = parameter
        parameter.hidden = true
        return parameter
    }

    private static func protected(_ parameter: ConfigParameter) -> ConfigParameter {
        var parameter = parameter
        parameter.isProtected = true
        return parameter
    }

    /// Redis's file name checks: no `/` or `\\` (`pathIsBaseName`), and not empty when `nonEmpty`.
    private static func baseName(
        _ name: String, _ what: String, nonEmpty: Bool = false
    ) -> @Sendable (String) throws(NodeConfigError) -> Void {
        { value throws(NodeConfigError) in
            if nonEmpty && value.isEmpty { throw NodeConfigError("\(name) can't be empty") }
            if value.utf8.contains(UInt8(ascii: "/")) || value.utf8.contains(UInt8(ascii: "\\")) {
                throw NodeConfigError("\(name) can't be a path, just a \(what)")
            }
        }
    }

    private static func choice(
        _ name: String, _ path: any WritableKeyPath<NodeSettings, String> & Sendable, _ choices: [String],
        mutable: Bool = true
    ) -> ConfigParameter {
        ConfigParameter(
            name: name, mutable: mutable, get: { $0[keyPath: path] },
            set: { settings, value throws(NodeConfigError) in
                let lower = value.lowercased()
                guard choices.contains(lower) else { throw NodeConfigError("argument(s) must be one of the following: \(choices.joined(separator: ", "))") }
                settings[keyPath: path] = lower
            })
    }
}
