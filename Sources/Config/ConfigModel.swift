import Routing

/// A TCP address written `host:port` (or `[v6-address]:port`) in the configuration.
///
/// The host is kept as written (a name or a literal address); it is resolved when connecting or
/// binding, never by the loader.
public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
    /// Host name or literal IP address, without brackets.
    public var host: String
    /// TCP port, 1...65535.
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`, `[ipv6]:port`, or (like twemproxy, which splits at the last colon)
    /// an unbracketed `ipv6:port`. Returns `nil` for anything else, including ports outside 1...65535.
    public init?(parsing text: String) {
        guard case .success(let endpoint) = Endpoint.parse(text) else { return nil }
        self = endpoint
    }

    /// `host:port`, with the host bracketed when it contains a colon (IPv6).
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Why a string is not an endpoint, as a message fragment for a ``ConfigIssue``.
    enum Problem: Error {
        case malformed
        case badPort(String)
    }

    static func parse(_ text: String) -> Result<Endpoint, Problem> {
        guard !text.isEmpty, !text.contains(where: { $0.isWhitespace }) else { return .failure(.malformed) }
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return .failure(.malformed) }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return .failure(.malformed) }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return .failure(.malformed) }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, !portText.isEmpty else { return .failure(.malformed) }
        guard let port = parsePort(portText) else { return .failure(.badPort(String(portText))) }
        return .success(Endpoint(host: String(host), port: port))
    }

    /// ASCII digits only, 1...65535 (twemproxy's `nc_valid_port`).
    static func parsePort(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.count <= 5, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            let port = Int(text), (1...65535).contains(port)
        else { return nil }
        return port
    }
}

/// Which member of a group serves read-only commands.
public enum ReadPolicy: String, Sendable, CaseIterable {
    /// Every command goes to the master.
    case master
    /// Reads go to a replica when one is up, otherwise to the master.
    case preferReplica = "prefer-replica"
    /// Reads go to replicas only (an error when none is up).
    case replica
    /// Reads go to any member, master included.
    case any
}

/// Credentials the proxy sends (`AUTH [username] password`) on every new backend connection.
public struct BackendAuth: Sendable, Hashable {
    /// ACL user name (Redis 6+); `nil` sends the single-argument `AUTH password`.
    public var username: String?
    public var password: String

    public init(username: String? = nil, password: String) {
        self.username = username
        self.password = password
    }
}

/// One shard group: a master and its read replicas, serving one share of the key space.
///
/// In a Sentinel pool (``PoolConfig/usesSentinel``) a group is just a Sentinel master name: `master`
/// is `nil` and `replicas` empty, because the proxy asks the Sentinels for them at run time.
public struct GroupConfig: Sendable, Hashable {
    /// Display name, unique within the pool. For a twemproxy `servers:` line this is the
    /// line's name if it has one, otherwise `host:port` as written. In a Sentinel pool it is the
    /// master name the Sentinels monitor (non-empty, no whitespace).
    public var name: String
    /// The bytes consistent hashing (ketama) hashes for this group. For native groups this is
    /// `name`; for twemproxy server lines it follows twemproxy exactly: the name if given, otherwise
    /// `host:port` as written, except that the port is dropped when it is 11211 (just `host`).
    public var hashName: String
    /// The configured master; `nil` exactly when the pool uses Sentinel (which discovers it).
    public var master: Endpoint?
    /// Read replicas of `master`; empty for twemproxy pools and Sentinel pools (Sentinel discovers them).
    public var replicas: [Endpoint]
    /// Relative share for ketama/modula/random, > 0.
    public var weight: Int
    /// The slots this group owns (only with `distribution: slots`, otherwise empty).
    public var slots: [SlotRange]
    /// The keys this group owns (only with `distribution: range`, otherwise `nil`).
    /// An open start is always `from == nil` (the loader turns `from: ""` into `nil`).
    public var range: KeyRange?

    public init(
        name: String, hashName: String? = nil, master: Endpoint?, replicas: [Endpoint] = [], weight: Int = 1,
        slots: [SlotRange] = [], range: KeyRange? = nil
    ) {
        self.name = name
        self.hashName = hashName ?? name
        self.master = master
        self.replicas = replicas
        self.weight = weight
        self.slots = slots
        self.range = range
    }

    /// This group as consistent hashing sees it.
    public var hashedNode: HashedNode {
        HashedNode(name: Array(hashName.utf8), weight: weight)
    }
}

/// The two shapes of pool proxy.yml accepts.
public enum PoolKind: String, Sendable, Hashable {
    /// Shardgate `groups:`, each a master and its replicas.
    case native
    /// An unchanged twemproxy nutcracker.yml pool (`servers:`).
    case twemproxy
}

/// One listening proxy and the shard groups behind it.
///
/// The initial values below are proxy.yml's defaults, written nowhere else: the loader starts every
/// pool from them, and the option table (``PoolOptions``) reads them to document each key (README,
/// `shardgate options`, `shardgate check`). A twemproxy pool differs only in `timeout`: none, as in
/// twemproxy.
public struct PoolConfig: Sendable, Hashable {
    /// `timeoutMilliseconds` value meaning "wait for the backend forever". Only twemproxy pools
    /// produce it: twemproxy's default when `timeout` is absent, and its meaning of `timeout: 0`.
    public static let noTimeout = 0

    /// The pool's name (its top-level key).
    public var name: String
    public var listen: Endpoint
    /// Key hash for ketama/modula (ignored by random, slots and range).
    public var hash: HashFunction = .fnv1a_64
    public var hashTag: HashTag?
    public var distribution: Distribution = .ketama
    public var readPolicy: ReadPolicy = .master
    /// Per-request backend timeout in ms; ``noTimeout`` (0) means none (twemproxy pools only).
    public var timeoutMilliseconds = 1000
    /// Connections per backend per proxy thread, >= 1.
    public var serverConnections = 1
    /// Clients must `AUTH` with this password (twemproxy: `redis_auth`): the default user's, as
    /// Redis's `requirepass`.
    public var password: String?
    /// The users clients AUTH as (`users:`): Redis ACL rule lines, the name first, checked at load.
    public var users: [String] = []
    /// Sent as `AUTH` on every backend connection (twemproxy: `redis_auth`).
    public var auth: BackendAuth?
    /// `SELECT`ed on every backend connection when non-zero (twemproxy: `redis_db`).
    public var database = 0
    /// twemproxy-style temporary ejection of failing groups; only with ketama/modula/random.
    public var autoEjectHosts = false
    public var serverFailureLimit = 2
    public var serverRetryTimeoutMilliseconds = 30_000
    public var preconnect = false
    /// Maximum client connections; 0 means unlimited.
    public var clientConnections = 0
    /// Seconds a client may stay idle before it is closed (Redis's `timeout`); 0 means never.
    public var clientTimeoutSeconds = 0
    /// How long a shutdown waits for the replies in flight before closing every client.
    public var drainTimeoutMilliseconds = 10_000
    /// Requests at least this slow (microseconds, from their arrival to their reply) go to the
    /// proxy's SLOWLOG; negative turns it off, 0 logs every request. Off by default, unlike Redis:
    /// the proxy must then keep every request until its reply (about 6% more CPU at -P 16).
    public var slowlogLogSlowerThan = -1
    public var slowlogMaxLen = 128
    /// Requests at least this many milliseconds from arrival to reply are LATENCY events
    /// (`command`, or `fast-command` for Redis's fast commands); 0 turns the monitor off.
    public var latencyMonitorThreshold = 0
    /// A client holding more than this many bytes of replies it has not read is disconnected
    /// (`client_output_buffer_limit`); 0 means no limit. The default is Redis's hard limit for replicas.
    public var clientOutputBufferLimit = 256 << 20
    /// Listen backlog (twemproxy `backlog`, and its default).
    public var backlog = 512
    /// `SO_KEEPALIVE` on client and backend connections (twemproxy `tcpkeepalive`).
    public var tcpKeepalive = false
    /// `SO_REUSEPORT` on the listening socket (twemproxy `reuseport`).
    public var reusePort = false
    /// TLS on the listener (`tls`); nil: clients connect in plain TCP.
    public var tls: ListenerTLS?
    /// TLS on every connection to backends and Sentinels (`backend_tls`); nil: plain TCP.
    public var backendTLS: BackendTLS?
    /// The Sentinels to ask for each group's master and replicas, in file order, no duplicates.
    /// Empty means the groups name their master (and replicas) themselves.
    public var sentinels: [Endpoint] = []
    /// Sent as `AUTH` on every Sentinel connection (`sentinel_auth`).
    public var sentinelAuth: BackendAuth?
    /// Timeout in ms for connecting to a Sentinel and for each request to it, > 0.
    public var sentinelTimeoutMilliseconds = 250
    /// Interval in ms between polls of the Sentinels, > 0.
    public var sentinelPollMilliseconds = 1000
    /// On how many Sentinels to keep pub/sub subscriptions (`sentinel_subscriptions`): only the
    /// failover's leader announces `+promoted-slave`, so the default covers every usual deployment.
    public var sentinelSubscriptions = 5
    /// Replicas further behind their master than this many bytes of replication offset serve no
    /// reads (`max_replica_lag.bytes`); `nil` means no byte limit. > 0 when set.
    public var maxReplicaLagBytes: Int?
    /// Replicas whose last contact with their master is older than this many seconds serve no reads
    /// (`max_replica_lag.seconds`); `nil` means no time limit. > 0 when set.
    public var maxReplicaLagSeconds: Int?
    /// After a client writes to a group, its reads of that group go to the master until the
    /// replicas have caught up (`read_your_writes`).
    public var readYourWrites = false
    /// Connections to a group's master that one event loop may lend to clients at once, each to one
    /// client while it blocks (BLPOP…) or watches keys (WATCH); one more is refused with an error.
    public var leasedConnections = 64
    /// Key prefixes pinned to groups (`routes:`), checked before the distribution.
    public var routes = PrefixRoutes([])
    /// The group that answers commands without keys (`keyless_group`, a group name; the first by default).
    public var keylessGroup = 0
    /// At least one group, in file order.
    public var groups: [GroupConfig]
    /// Whether the pool was written with Shardgate `groups:` or in nutcracker.yml form (`servers:`).
    public var kind: PoolKind

    /// A pool with every other setting at its default (twemproxy's defaults for a twemproxy pool).
    public init(name: String, listen: Endpoint, groups: [GroupConfig], kind: PoolKind = .native) {
        self.name = name
        self.listen = listen
        self.groups = groups
        self.kind = kind
        if kind == .twemproxy { timeoutMilliseconds = Self.noTimeout }
    }

    /// The pool was written in nutcracker.yml form (`servers:`).
    public var isTwemproxyPool: Bool { kind == .twemproxy }

    /// The groups' masters and replicas come from ``sentinels`` (each group's `name` is its
    /// Sentinel master name) rather than from the file.
    public var usesSentinel: Bool { !sentinels.isEmpty }

    /// The groups as consistent hashing sees them, in order.
    public var hashedNodes: [HashedNode] { groups.map(\.hashedNode) }
}

/// A whole configuration file: its pools, in file order.
public struct ProxyConfig: Sendable, Hashable {
    public var pools: [PoolConfig]

    public init(pools: [PoolConfig]) {
        self.pools = pools
    }
}

/// One problem found in a configuration file.
public struct ConfigIssue: Sendable, Hashable, CustomStringConvertible {
    /// The file name as given to the loader.
    public var file: String
    /// 1-based line, when known.
    public var line: Int?
    /// Where in the document, e.g. `main.groups[1].master`; empty for whole-file problems.
    public var keyPath: String
    public var message: String

    public init(file: String, line: Int?, keyPath: String, message: String) {
        self.file = file
        self.line = line
        self.keyPath = keyPath
        self.message = message
    }

    /// `file:line: key.path: message`.
    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": "
        if !keyPath.isEmpty { text += "\(keyPath): " }
        return text + message
    }
}

/// Every problem found in a configuration file (never empty).
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public var issues: [ConfigIssue]

    public init(issues: [ConfigIssue]) {
        self.issues = issues
    }

    /// One issue per line.
    public var description: String {
        issues.map(\.description).joined(separator: "\n")
    }
}
