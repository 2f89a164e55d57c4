import ACL
import Routing
import Yams

/// One key of a pool in proxy.yml: its name, which pools take it, its value and validation, its
/// one-line doc, and the ``PoolConfig`` field it sets.
///
/// The loader reads a pool by looking each key up here, `shardgate options` and the README print
/// this table, and `shardgate check` shows a pool's settings through it. Defaults are not written
/// here: they are ``PoolConfig``'s initial values, which ``defaultText(in:)`` shows.
public struct PoolOption: Sendable {
    /// Which pools take a key.
    public enum Pools: String, Sendable {
        case any, native, twemproxy

        public func accept(_ kind: PoolKind) -> Bool {
            switch self {
            case .any: true
            case .native: kind == .native
            case .twemproxy: kind == .twemproxy
            }
        }
    }

    public let name: String
    public let pools: Pools
    /// What the value looks like, e.g. `integer ≥ 1 (ms)`.
    public let value: String
    /// One line: what the setting does.
    public let doc: String
    /// The key must be given (and has no default).
    public let isRequired: Bool
    /// Another key this one is a second name for (`redis_db` for `database`).
    public let sameAs: String?
    /// Only meaningful in a pool with `sentinels`.
    public let needsSentinels: Bool
    /// The error for this key in the kind of pool that does not take it, when the generic one
    /// ("a Shardgate key" / "unknown key") would not say what to do.
    let elsewhere: String?
    /// The default, when it is not a field's value (e.g. "the first group").
    let defaultNote: String?
    /// A pool's value of this key as proxy.yml would spell it (secrets masked); nil for keys that
    /// are not one value (the groups) or have no field.
    let show: (@Sendable (PoolConfig) -> String)?
    /// Validates the key's value and stores it in the draft; reports problems on the reader.
    let read: @Sendable (inout ConfigReader, Entry, _ path: String, inout PoolDraft) -> Void

    init(
        name: String, pools: Pools, value: String, doc: String, isRequired: Bool = false, sameAs: String? = nil,
        needsSentinels: Bool = false, elsewhere: String? = nil, defaultNote: String? = nil,
        show: (@Sendable (PoolConfig) -> String)? = nil,
        read: @escaping @Sendable (inout ConfigReader, Entry, String, inout PoolDraft) -> Void
    ) {
        self.name = name
        self.pools = pools
        self.value = value
        self.doc = doc
        self.isRequired = isRequired
        self.sameAs = sameAs
        self.needsSentinels = needsSentinels
        self.elsewhere = elsewhere
        self.defaultNote = defaultNote
        self.show = show
        self.read = read
    }

    /// The default as the docs give it, for a pool of `kind`.
    public func defaultText(in kind: PoolKind) -> String {
        if isRequired { return "required" }
        if let defaultNote { return defaultNote }
        guard let show else { return "" }
        return show(PoolConfig(name: "", listen: Endpoint(host: "", port: 0), groups: [], kind: kind))
    }

    /// `pool`'s value of this key, as proxy.yml would spell it; nil when it is not one value.
    public func setting(in pool: PoolConfig) -> String? {
        show?(pool)
    }
}

/// A pool while its keys are read: the settings so far, and what later checks need.
struct PoolDraft {
    let kind: PoolKind
    /// The pool has `sentinels` (even an invalid one), so its groups are Sentinel master names.
    let sentinelMode: Bool
    var config: PoolConfig
    /// Every entry read, by key.
    var given: [String: Entry] = [:]
    var listenNode: Node?
    var listenValid = false
    /// False when `distribution` was given but is invalid (slot and range checks are then skipped).
    var distributionValid = true
    /// twemproxy's `redis` flag, when given and valid.
    var redis: Bool?
}

/// The option table: every key a pool of proxy.yml takes, in the order the docs list them.
public enum PoolOptions {
    public static let all: [PoolOption] = [
        PoolOption(
            name: "listen", pools: .any, value: "host:port",
            doc: "The address clients connect to; port 0 picks a free port (shown in the log and INFO).",
            isRequired: true,
            show: { "\($0.listen)" },
            read: { reader, entry, path, draft in
                draft.listenNode = entry.value
                if let endpoint = reader.endpoint(entry.value, path, allowAnyPort: true) {
                    draft.config.listen = endpoint
                    draft.listenValid = true
                }
            }),
        PoolOption(
            name: "groups", pools: .native, value: "list of groups",
            doc: "The shard groups, in order: each a master and its replicas (group keys below).",
            isRequired: true, read: afterGroups),
        PoolOption(
            name: "servers", pools: .twemproxy, value: "list of `host:port:weight [name]`",
            doc: "twemproxy's servers: each becomes a group without replicas, hashed by twemproxy's name for it.",
            isRequired: true,
            elsewhere: "a pool has either Shardgate `groups:` or twemproxy `servers:`, not both",
            read: afterGroups),
        PoolOption(
            name: "redis", pools: .twemproxy, value: "true",
            doc: "Must be true: twemproxy's default is memcached, and Shardgate speaks Redis only.",
            isRequired: true,
            elsewhere: "`redis` is a nutcracker.yml key, accepted only in twemproxy pools (with `servers:`); "
                + "Shardgate always speaks Redis, so remove it",
            read: { reader, entry, path, draft in
                draft.redis = reader.bool(entry.value, path)
            }),
        choice(
            "hash", \.hash, what: "hash",
            doc: "The key hash of ketama and modula (all of twemproxy's, bit-exact)."),
        PoolOption(
            name: "hash_tag", pools: .any, value: "two characters, e.g. `\"{}\"`",
            doc: "Hash only the part of the key between these two characters, so related keys share a group.",
            show: { $0.hashTag.map { quote(bytes: [$0.open, $0.close]) } ?? "none" },
            read: { reader, entry, path, draft in
                draft.config.hashTag = reader.hashTag(entry.value, path)
            }),
        PoolOption(
            name: "distribution", pools: .any, value: choices(Distribution.self),
            doc: "How keys are placed on groups: consistent hashing, hash modulo, random, slots or key ranges "
                + "(twemproxy pools: the first three).",
            show: { $0.distribution.rawValue },
            read: { reader, entry, path, draft in
                guard let chosen: Distribution = reader.choice(entry.value, path, "distribution") else {
                    draft.distributionValid = false
                    return
                }
                if draft.kind == .twemproxy, chosen == .slots || chosen == .range {
                    reader.report(
                        entry.value, path,
                        "twemproxy pools (with `servers:`) support ketama, modula and random; "
                            + "\(chosen.rawValue) needs Shardgate `groups:`")
                    draft.distributionValid = false
                    return
                }
                draft.config.distribution = chosen
            }),
        choice(
            "read_policy", \.readPolicy, what: "read policy", pools: .native,
            doc: "Which member of a group serves read-only commands (replicas only while in sync)."),
        integer(
            "timeout", \.timeoutMilliseconds, minimum: 1, twemproxyMinimum: 0, unit: "ms",
            doc: "How long a backend may take per request, connect included (twemproxy pools: 0 is none)."),
        integer(
            "server_connections", \.serverConnections, minimum: 1,
            doc: "Connections to each backend server per event loop, pipelined by every client of the loop."),
        integer(
            "client_connections", \.clientConnections, minimum: 0,
            doc: "The most clients connected at once (0: no limit); one more gets an error and is closed."),
        integer(
            "client_timeout", \.clientTimeoutSeconds, minimum: 0, unit: "s",
            doc: "Close a client idle this long (0: never), as Redis's `timeout`: not while it is subscribed or waits for a reply."),
        integer(
            "drain_timeout", \.drainTimeoutMilliseconds, minimum: 0, unit: "ms",
            doc: "On SIGTERM or SIGINT, how long to wait for the replies in flight before closing every client; a second signal stops at once."),
        integer(
            "slowlog_log_slower_than", \.slowlogLogSlowerThan, minimum: -1, unit: "µs",
            doc: "Requests at least this slow, from their arrival to their reply (backend time included), go to the proxy's SLOWLOG; -1: none (the default: the log keeps every request until its reply, about 6% more CPU), 0: all (Redis's `slowlog-log-slower-than`)."),
        integer(
            "slowlog_max_len", \.slowlogMaxLen, minimum: 0,
            doc: "Entries SLOWLOG keeps per event loop (Redis's `slowlog-max-len`)."),
        integer(
            "latency_monitor_threshold", \.latencyMonitorThreshold, minimum: 0, unit: "ms",
            doc: "Requests at least this slow, from their arrival to their reply, are LATENCY events (`command`, `fast-command`); 0: off (Redis's `latency-monitor-threshold`)."),
        PoolOption(
            name: "password", pools: .native, value: "string",
            doc: "The default user's password, as Redis's `requirepass`: clients must AUTH with it (`AUTH pass` or `AUTH default pass`).",
            show: { $0.password == nil ? "none" : "(set)" },
            read: { reader, entry, path, draft in
                draft.config.password = reader.nonEmptyString(
                    entry.value, path, hint: "omit `password` to let clients in without AUTH")
            }),
        PoolOption(
            name: "users", pools: .native, value: "list of Redis ACL rule lines, `\"name rule…\"`",
            doc: "Users clients AUTH as, each as Redis's ACL SETUSER takes it (`\"app on >secret ~app:* +@read\"`): "
                + "commands, keys and channels are checked at the proxy before routing (README: Users).",
            show: { pool in
                pool.users.isEmpty ? "none" : "[" + pool.users.compactMap { ACLRules.words(ofLine: $0).first }.joined(separator: ", ") + "]"
            },
            read: { reader, entry, path, draft in
                draft.config.users = reader.users(entry.value, path)
            }),
        PoolOption(
            name: "auth", pools: .native, value: "password, or `{user: u, password: p}`",
            doc: "Sent as AUTH on every backend connection.",
            show: { $0.auth == nil ? "none" : "(set)" },
            read: { reader, entry, path, draft in
                draft.config.auth = reader.backendAuth(
                    entry.value, path, omitHint: "omit `auth` to connect to backends without AUTH")
            }),
        PoolOption(
            name: "redis_auth", pools: .twemproxy, value: "string",
            doc: "twemproxy's password: clients must AUTH with it, and it is sent as AUTH to every server.",
            elsewhere: "`redis_auth` is a nutcracker.yml key, accepted only in twemproxy pools (with `servers:`); "
                + "use `password` (clients' AUTH) and `auth` (backends' AUTH)",
            show: { $0.password == nil ? "none" : "(set)" },
            read: { reader, entry, path, draft in
                // twemproxy: an empty redis_auth means no AUTH at all.
                if let secret = reader.string(entry.value, path), !secret.isEmpty {
                    draft.config.password = secret
                    draft.config.auth = BackendAuth(password: secret)
                }
            }),
        integer(
            "database", \.database, minimum: 0, pools: .native,
            doc: "SELECTed on every backend connection when not 0."),
        integer(
            "redis_db", \.database, minimum: 0, sameAs: "database",
            doc: "twemproxy's name for `database`."),
        flag(
            "auto_eject_hosts", \.autoEjectHosts,
            doc: "After `server_failure_limit` failures in a row, take a group out (its keys move to the others) "
                + "for `server_retry_timeout`: twemproxy's cache behaviour, ketama, modula and random only."),
        integer(
            "server_failure_limit", \.serverFailureLimit, minimum: 0,
            doc: "Failures in a row after which `auto_eject_hosts` takes a group out."),
        integer(
            "server_retry_timeout", \.serverRetryTimeoutMilliseconds, minimum: 0, unit: "ms",
            doc: "How long an ejected group stays out before it is tried again."),
        flag(
            "preconnect", \.preconnect,
            doc: "Connect to every backend at start, not at first use."),
        integer(
            "backlog", \.backlog, minimum: 0,
            doc: "The listen backlog: connections the kernel queues before the proxy accepts them."),
        flag(
            "tcpkeepalive", \.tcpKeepalive,
            doc: "SO_KEEPALIVE on client and backend connections, so the kernel notices peers that vanished."),
        flag(
            "reuseport", \.reusePort,
            doc: "SO_REUSEPORT on the listening socket: proxies that all set it share the port, "
                + "and the kernel spreads new clients over them."),
        PoolOption(
            name: "tls", pools: .any, value: "`{cert: file, key: file}`, optional `ca`, `protocols`, `ciphers`",
            doc: "Clients connect over TLS only, to this PEM certificate and key; with `ca`, they must present a "
                + "certificate it signed (mutual TLS). `protocols`: TLSv1.2, TLSv1.3 (default both); "
                + "`ciphers`: TLS 1.2 suites by OpenSSL name, colon-separated.",
            show: { $0.tls.map(showTLS) ?? "none" },
            read: { reader, entry, path, draft in
                draft.config.tls = reader.listenerTLS(entry.value, path)
            }),
        PoolOption(
            name: "backend_tls", pools: .any, value: "`{ca: file}`, optional `cert`, `key`, `server_name`, `verify`",
            doc: "Every connection to backends (and Sentinels) speaks TLS, checked against `ca` (default: the system's "
                + "CAs) and `server_name` (default: the host as written, or the address's IP); `cert` and `key`: a "
                + "client certificate; `verify: false` accepts any certificate.",
            show: { $0.backendTLS.map(showTLS) ?? "none" },
            read: { reader, entry, path, draft in
                draft.config.backendTLS = reader.backendTLS(entry.value, path)
            }),
        PoolOption(
            name: "client_output_buffer_limit", pools: .native, value: "size: bytes, or b k kb m mb g gb",
            doc: "Disconnect a client holding more unread replies than this (0: no limit), like Redis's hard limit.",
            show: { formatSize($0.clientOutputBufferLimit) },
            read: { reader, entry, path, draft in
                draft.config.clientOutputBufferLimit =
                    reader.byteSize(entry.value, path) ?? draft.config.clientOutputBufferLimit
            }),
        integer(
            "leased_connections", \.leasedConnections, minimum: 1, pools: .native,
            doc: "Per group and event loop: master connections lent to clients that block (BLPOP…) or WATCH."),
        PoolOption(
            name: "routes", pools: .native, value: "map of key prefix → group name",
            doc: "Key prefixes pinned to a group, checked before the distribution (the longest match wins).",
            show: { pool in
                if pool.routes.isEmpty { return "none" }
                let pairs = pool.routes.routes.sorted { $0.prefix.lexicographicallyPrecedes($1.prefix) }.map {
                    "\(quote(bytes: $0.prefix)): \(pool.groups.indices.contains($0.group) ? pool.groups[$0.group].name : "?")"
                }
                return "{" + pairs.joined(separator: ", ") + "}"
            },
            read: afterGroups),
        PoolOption(
            name: "keyless_group", pools: .native, value: "group name",
            doc: "The group that answers commands without keys.",
            defaultNote: "the first group",
            show: { $0.groups.indices.contains($0.keylessGroup) ? $0.groups[$0.keylessGroup].name : "the first group" },
            read: afterGroups),
        PoolOption(
            name: "sentinels", pools: .native, value: "list of host:port",
            doc: "Follow Redis Sentinel: each group's `name` is a Sentinel master name, "
                + "whose master and replicas these Sentinels report.",
            elsewhere: "twemproxy has no Sentinel support, so a twemproxy pool (with `servers:`) cannot use "
                + "`sentinels`; convert `servers:` to Shardgate `groups:` (one group per Sentinel master name)",
            show: { $0.sentinels.isEmpty ? "none" : "[" + $0.sentinels.map(\.description).joined(separator: ", ") + "]" },
            read: { reader, entry, path, draft in
                draft.config.sentinels = reader.sentinels(entry.value, path)
            }),
        PoolOption(
            name: "sentinel_auth", pools: .native, value: "password, or `{user: u, password: p}`",
            doc: "Sent as AUTH on every Sentinel connection.",
            needsSentinels: true,
            show: { $0.sentinelAuth == nil ? "none" : "(set)" },
            read: { reader, entry, path, draft in
                draft.config.sentinelAuth = reader.backendAuth(
                    entry.value, path, omitHint: "omit `sentinel_auth` to connect to the Sentinels without AUTH")
            }),
        integer(
            "sentinel_timeout", \.sentinelTimeoutMilliseconds, minimum: 1, unit: "ms", pools: .native,
            needsSentinels: true,
            doc: "Timeout for connecting to a Sentinel and for each request to it."),
        integer(
            "sentinel_poll", \.sentinelPollMilliseconds, minimum: 1, unit: "ms", pools: .native,
            needsSentinels: true,
            doc: "Time between polls of the Sentinels (pub/sub events act at once)."),
        integer(
            "sentinel_subscriptions", \.sentinelSubscriptions, minimum: 1, pools: .native,
            needsSentinels: true,
            doc: "On how many Sentinels to subscribe to failover events (only the leader announces a promotion)."),
        PoolOption(
            name: "max_replica_lag", pools: .native, value: "`{bytes: n, seconds: n}`, either or both",
            doc: "A replica further behind its master (offset bytes, or seconds since the master last "
                + "reached it) serves no reads until it catches up.",
            show: { pool in
                let parts = [pool.maxReplicaLagBytes.map { "bytes: \($0)" }, pool.maxReplicaLagSeconds.map { "seconds: \($0)" }]
                    .compactMap { $0 }
                return parts.isEmpty ? "none" : "{" + parts.joined(separator: ", ") + "}"
            },
            read: { reader, entry, path, draft in
                (draft.config.maxReplicaLagBytes, draft.config.maxReplicaLagSeconds) =
                    reader.replicaLag(entry.value, path)
            }),
        flag(
            "read_your_writes", \.readYourWrites, pools: .native,
            doc: "After a client writes to a group, its reads there go to the master until a replica has the write."),
    ]

    /// The table by key name.
    public static let byName: [String: PoolOption] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// The keys a pool of `kind` takes, in table order.
    public static func names(for kind: PoolKind) -> [String] {
        all.filter { $0.pools.accept(kind) }.map(\.name)
    }

    /// For keys the loader reads once the pool's groups are known (`groups`, `servers`, `routes`,
    /// `keyless_group`): `PoolDraft.given` keeps their entries until then.
    private static let afterGroups: @Sendable (inout ConfigReader, Entry, String, inout PoolDraft) -> Void = { _, _, _, _ in }

    // MARK: Building entries

    private static func flag(
        _ name: String, _ field: any WritableKeyPath<PoolConfig, Bool> & Sendable, pools: PoolOption.Pools = .any,
        doc: String
    ) -> PoolOption {
        PoolOption(
            name: name, pools: pools, value: "true, false", doc: doc,
            show: { "\($0[keyPath: field])" },
            read: { reader, entry, path, draft in
                if let value = reader.bool(entry.value, path) { draft.config[keyPath: field] = value }
            })
    }

    /// `twemproxyMinimum`: a different lower bound in twemproxy pools.
    private static func integer(
        _ name: String, _ field: any WritableKeyPath<PoolConfig, Int> & Sendable, minimum: Int, twemproxyMinimum: Int? = nil,
        unit: String? = nil, pools: PoolOption.Pools = .any, sameAs: String? = nil, needsSentinels: Bool = false,
        doc: String
    ) -> PoolOption {
        PoolOption(
            name: name, pools: pools, value: "integer ≥ \(minimum)" + (unit.map { " (\($0))" } ?? ""), doc: doc,
            sameAs: sameAs, needsSentinels: needsSentinels,
            show: { pool in
                let value = pool[keyPath: field]
                return value == 0 && twemproxyMinimum == 0 && minimum > 0 ? "none" : "\(value)"
            },
            read: { reader, entry, path, draft in
                let lower = draft.kind == .twemproxy ? twemproxyMinimum ?? minimum : minimum
                if let value = reader.int(entry.value, path, minimum: lower) { draft.config[keyPath: field] = value }
            })
    }

    private static func choice<Value: RawRepresentable & CaseIterable & Sendable>(
        _ name: String, _ field: any WritableKeyPath<PoolConfig, Value> & Sendable, what: String,
        pools: PoolOption.Pools = .any, doc: String
    ) -> PoolOption where Value.RawValue == String {
        PoolOption(
            name: name, pools: pools, value: choices(Value.self), doc: doc,
            show: { $0[keyPath: field].rawValue },
            read: { reader, entry, path, draft in
                if let value: Value = reader.choice(entry.value, path, what) { draft.config[keyPath: field] = value }
            })
    }

    private static func choices<Value: RawRepresentable & CaseIterable>(_: Value.Type) -> String
    where Value.RawValue == String {
        Value.allCases.map(\.rawValue).joined(separator: ", ")
    }
}

/// `tls` as proxy.yml would spell it (paths are not secrets: they show where the keys are).
func showTLS(_ tls: ListenerTLS) -> String {
    var parts = ["cert: \(tls.certificate)", "key: \(tls.privateKey)"]
    if let ca = tls.clientCA { parts.append("ca: \(ca)") }
    if !tls.protocols.isEmpty { parts.append("protocols: [" + tls.protocols.map(\.rawValue).joined(separator: ", ") + "]") }
    if !tls.ciphers.isEmpty { parts.append("ciphers: " + quote(tls.ciphers.joined(separator: ":"))) }
    return "{" + parts.joined(separator: ", ") + "}"
}

/// `backend_tls` as proxy.yml would spell it.
func showTLS(_ tls: BackendTLS) -> String {
    let parts = [
        tls.ca.map { "ca: \($0)" }, tls.certificate.map { "cert: \($0)" }, tls.privateKey.map { "key: \($0)" },
        tls.serverName.map { "server_name: \($0)" }, tls.verify ? nil : "verify: false",
    ]
    return "{" + parts.compactMap { $0 }.joined(separator: ", ") + "}"
}

/// A byte count in the largest unit that divides it (`256mb`), as `client_output_buffer_limit` takes it.
func formatSize(_ bytes: Int) -> String {
    for (unit, scale) in [("gb", 1 << 30), ("mb", 1 << 20), ("kb", 1 << 10)] where bytes != 0 && bytes % scale == 0 {
        return "\(bytes / scale)\(unit)"
    }
    return "\(bytes)"
}

/// One key of a group in a native pool, for the docs (the loader reads groups itself: their keys
/// depend on each other and on the pool's distribution).
public struct GroupKey: Sendable {
    public let name: String
    public let value: String
    /// The default, or when the key is required.
    public let defaultText: String
    public let doc: String
}

extension GroupConfig {
    /// A group with every optional key at its default (GroupConfig's init holds the defaults).
    static let unnamed = GroupConfig(name: "", master: nil)
}

extension PoolOptions {
    /// The keys of one entry of `groups:`, in the order the docs list them.
    public static let groupKeys: [GroupKey] = [
        GroupKey(
            name: "name", value: "string", defaultText: "required",
            doc: "Unique in the pool, and what ketama hashes; in a Sentinel pool, the Sentinel master name."),
        GroupKey(
            name: "master", value: "host:port", defaultText: "required without `sentinels`",
            doc: "Takes the group's writes, and its reads unless `read_policy` sends them to replicas."),
        GroupKey(
            name: "replicas", value: "list of host:port", defaultText: "none",
            doc: "Read replicas of the master, used while they are in sync (Sentinel pools discover them)."),
        GroupKey(
            name: "weight", value: "integer ≥ 1", defaultText: "`\(GroupConfig.unnamed.weight)`",
            doc: "The group's share of keys with ketama, modula and random."),
        GroupKey(
            name: "slots", value: "`0-5460`, a slot, or a list of them", defaultText: "required with `distribution: slots`",
            doc: "The Redis Cluster hash slots the group owns; the groups must cover 0-16383 exactly once."),
        GroupKey(
            name: "range", value: "`{from: \"a\", to: \"m\"}`", defaultText: "required with `distribution: range`",
            doc: "The keys the group owns, `from` inclusive, `to` exclusive (byte order), either left out for an open end."),
    ]
}
