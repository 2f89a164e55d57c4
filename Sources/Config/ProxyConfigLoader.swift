import Foundation
import Routing
import Yams

/// Reads `proxy.yml`: a map of pool name -> pool, each pool either native (`groups:` of
/// master + replicas) or an unchanged twemproxy nutcracker.yml pool (`servers:`).
///
/// Loading never stops at the first problem: every issue in the file is collected and thrown
/// together in one ``ConfigError``, each naming file, line and key path, e.g.
/// `proxy.yml:14: main.groups[1].master: expected host:port, got "localhost"`.
///
/// Defaults for native pools: `hash: fnv1a_64`, `distribution: ketama`, `read_policy: master`,
/// `timeout: 1000`, `server_connections: 1`, `database: 0`, `auto_eject_hosts: false`,
/// `server_failure_limit: 2`, `server_retry_timeout: 30000`, `preconnect: false`,
/// `client_connections: 0` (unlimited), `client_output_buffer_limit: 256mb`, `backlog: 512`, `tcpkeepalive: false`, `reuseport: false`,
/// `read_your_writes: false`, no `max_replica_lag`.
///
/// A native pool with `sentinels:` (a list of `host:port`) is Sentinel-managed: each group gives
/// only its `name` (the master name the Sentinels monitor; plus `weight`, `slots`, `range`), and the
/// proxy asks the Sentinels for its master and replicas. Such pools also take `sentinel_auth` (like
/// `auth`), `sentinel_timeout` (ms, default 250), `sentinel_poll` (ms, default 1000) and
/// `sentinel_subscriptions` (how many Sentinels to subscribe to, default 5).
///
/// twemproxy pools take twemproxy 0.5.0's defaults, which match the above except `timeout`:
/// absent (or `0`) means no timeout (``PoolConfig/noTimeout``), as in twemproxy. They must say
/// `redis: true` (twemproxy's default is memcached), and `redis_auth` sets both the password clients
/// must `AUTH` with and the backend `AUTH`, as in twemproxy.
public enum ProxyConfigLoader {
    /// Reads and parses the file at `path`; issues name the file as `path` was given.
    public static func load(path: String) throws(ConfigError) -> ProxyConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(issues: [
                ConfigIssue(file: path, line: nil, keyPath: "", message: "cannot read the file: \(error.localizedDescription)")
            ])
        }
        return try parse(text, file: path)
    }

    /// Parses configuration text; `file` is only used to name the source in issues.
    public static func parse(_ yaml: String, file: String = "proxy.yml") throws(ConfigError) -> ProxyConfig {
        var reader = ConfigReader(file: file)
        let config = reader.readDocument(yaml)
        guard let config, reader.issues.isEmpty else {
            // In file order; issues on the same line keep the order they were found in.
            let ordered = reader.issues.enumerated().sorted {
                ($0.element.line ?? 0, $0.offset) < ($1.element.line ?? 0, $1.offset)
            }
            throw ConfigError(issues: ordered.map(\.element))
        }
        return config
    }
}

/// Keys of a native pool.
private let nativePoolKeys = [
    "listen", "hash", "hash_tag", "distribution", "read_policy", "timeout", "server_connections", "password", "auth",
    "database", "redis_db", "auto_eject_hosts", "server_failure_limit", "server_retry_timeout", "preconnect",
    "client_connections", "backlog", "tcpkeepalive", "reuseport", "groups", "sentinels", "sentinel_auth",
    "sentinel_timeout", "sentinel_poll", "sentinel_subscriptions", "max_replica_lag", "read_your_writes",
    "leased_connections", "routes", "keyless_group", "client_output_buffer_limit",
]

/// Keys of a twemproxy pool: twemproxy 0.5.0's `conf_commands` plus `reuseport` (added on its master).
private let twemproxyPoolKeys = [
    "listen", "hash", "hash_tag", "distribution", "timeout", "backlog", "client_connections", "redis", "tcpkeepalive",
    "redis_auth", "redis_db", "preconnect", "auto_eject_hosts", "server_connections", "server_retry_timeout",
    "server_failure_limit", "servers", "reuseport",
]

private let groupKeys = ["name", "master", "replicas", "weight", "slots", "range"]

extension ConfigReader {
    mutating func readDocument(_ yaml: String) -> ProxyConfig? {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            reportYAMLError(error, in: yaml)
            return nil
        } catch {
            report(line: nil, "", "invalid YAML: \(error)")
            return nil
        }
        guard let root, !isNull(root) else {
            report(line: nil, "", "the file is empty; expected a map of pool name -> pool settings")
            return nil
        }
        guard let entries = entries(of: root, "", what: "a map of pool name -> pool settings at the top level")
        else { return nil }
        if case .mapping(let mapping) = root, mapping.isEmpty {
            report(root, "", "no pools defined; expected a map of pool name -> pool settings")
            return nil
        }

        var pools: [PoolConfig] = []
        var listeners: [Endpoint: (pool: String, line: Int?)] = [:]
        for entry in entries {
            guard let (pool, listenNode) = readPool(entry) else { continue }
            let key = Endpoint(host: pool.listen.host.lowercased(), port: pool.listen.port)
            if key.port != 0, let other = listeners[key] {
                report(
                    listenNode, join(pool.name, "listen"),
                    "listen address \(pool.listen) is already used by pool \(quote(other.pool))"
                        + (other.line.map { " (line \($0))" } ?? ""))
            } else {
                listeners[key] = (pool.name, listenNode.mark?.line)
            }
            pools.append(pool)
        }
        return ProxyConfig(pools: pools)
    }

    // MARK: Pools

    /// Reads one pool; returns it (with its `listen` value node) only if it is complete.
    private mutating func readPool(_ pool: Entry) -> (PoolConfig, Node)? {
        let path = pool.key
        if path.isEmpty { report(pool.keyNode, path, "a pool name must not be empty") }
        guard let items = entries(of: pool.value, path, what: "a map of pool settings") else { return nil }
        let isTwemproxy = items.contains { $0.key == "servers" } && !items.contains { $0.key == "groups" }
        let issuesBefore = issues.count

        var listen: Endpoint?
        var listenNode: Node?
        var hash = HashFunction.fnv1a_64
        var hashTag: HashTag?
        var distribution: Distribution? = .ketama  // nil: given but invalid
        var readPolicy = ReadPolicy.master
        var timeout = isTwemproxy ? PoolConfig.noTimeout : PoolConfig.defaultTimeoutMilliseconds
        var serverConnections = 1
        var password: String?
        var auth: BackendAuth?
        var database = 0
        var databaseKey: Entry?
        var autoEject = false
        var autoEjectEntry: Entry?
        var failureLimit = PoolConfig.defaultServerFailureLimit
        var retryTimeout = PoolConfig.defaultServerRetryTimeoutMilliseconds
        var preconnect = false
        var clientConnections = 0
        var outputLimit = PoolConfig.defaultClientOutputBufferLimit
        var backlog = PoolConfig.defaultBacklog
        var tcpKeepalive = false
        var reusePort = false
        var redis: Bool?
        var redisNode: Node?
        var groupsEntry: Entry?
        var sentinels: [Endpoint] = []
        var sentinelAuth: BackendAuth?
        var sentinelTimeout = PoolConfig.defaultSentinelTimeoutMilliseconds
        var sentinelPoll = PoolConfig.defaultSentinelPollMilliseconds
        var sentinelSubscriptions = PoolConfig.defaultSentinelSubscriptions
        var sentinelOnlyEntries: [Entry] = []
        var replicaLagEntry: Entry?
        var maxLagBytes: Int?
        var maxLagSeconds: Int?
        var readYourWrites = false
        var leasedConnections = PoolConfig.defaultLeasedConnections
        var routesEntry: Entry?
        var keylessGroupEntry: Entry?
        // Groups are checked in Sentinel mode whenever `sentinels` is written, even if invalid, so a
        // bad sentinel address does not also make every group "miss" its master.
        let sentinelMode = !isTwemproxy && items.contains { $0.key == "sentinels" }

        for item in items {
            let key = join(path, item.key)
            let value = item.value
            switch item.key {
            case "listen":
                listenNode = value
                listen = endpoint(value, key, allowAnyPort: true)
            case "hash":
                if let parsed: HashFunction = choice(value, key, "hash") { hash = parsed }
            case "hash_tag":
                hashTag = readHashTag(value, key)
            case "distribution":
                distribution = choice(value, key, "distribution")
                if isTwemproxy, let chosen = distribution, chosen == .slots || chosen == .range {
                    report(
                        value, key,
                        "twemproxy pools (with `servers:`) support ketama, modula and random; "
                            + "\(chosen.rawValue) needs Shardgate `groups:`")
                    distribution = nil
                }
            case "read_policy" where !isTwemproxy:
                if let parsed: ReadPolicy = choice(value, key, "read policy") { readPolicy = parsed }
            case "timeout":
                timeout = int(value, key, minimum: isTwemproxy ? 0 : 1) ?? timeout
            case "server_connections":
                serverConnections = int(value, key, minimum: 1) ?? serverConnections
            case "password" where !isTwemproxy:
                password = nonEmptyString(value, key, hint: "omit `password` to let clients in without AUTH")
            case "auth" where !isTwemproxy:
                auth = backendAuth(value, key, omitHint: "omit `auth` to connect to backends without AUTH")
            case "database" where !isTwemproxy, "redis_db":
                if let earlier = databaseKey {
                    report(
                        item.keyNode, key,
                        "`database` and `redis_db` are the same setting and \(quote(earlier.key)) is already given"
                            + (earlier.keyNode.mark.map { " (line \($0.line))" } ?? ""))
                }
                databaseKey = item
                database = int(value, key, minimum: 0) ?? database
            case "auto_eject_hosts":
                autoEjectEntry = item
                autoEject = bool(value, key) ?? autoEject
            case "server_failure_limit":
                failureLimit = int(value, key, minimum: 0) ?? failureLimit
            case "server_retry_timeout":
                retryTimeout = int(value, key, minimum: 0) ?? retryTimeout
            case "preconnect":
                preconnect = bool(value, key) ?? preconnect
            case "client_connections":
                clientConnections = int(value, key, minimum: 0) ?? clientConnections
            case "client_output_buffer_limit" where !isTwemproxy:
                outputLimit = byteSize(value, key) ?? outputLimit
            case "backlog":
                backlog = int(value, key, minimum: 0) ?? backlog
            case "tcpkeepalive":
                tcpKeepalive = bool(value, key) ?? tcpKeepalive
            case "reuseport":
                reusePort = bool(value, key) ?? reusePort
            case "sentinels" where isTwemproxy:
                report(
                    item.keyNode, key,
                    "twemproxy has no Sentinel support, so a twemproxy pool (with `servers:`) cannot use "
                        + "`sentinels`; convert `servers:` to Shardgate `groups:` (one group per Sentinel master name)")
            case "sentinels":
                sentinels = readSentinels(value, key)
            case "sentinel_auth" where !isTwemproxy:
                sentinelOnlyEntries.append(item)
                sentinelAuth = backendAuth(
                    value, key, omitHint: "omit `sentinel_auth` to connect to the Sentinels without AUTH")
            case "sentinel_timeout" where !isTwemproxy:
                sentinelOnlyEntries.append(item)
                sentinelTimeout = int(value, key, minimum: 1) ?? sentinelTimeout
            case "sentinel_poll" where !isTwemproxy:
                sentinelOnlyEntries.append(item)
                sentinelPoll = int(value, key, minimum: 1) ?? sentinelPoll
            case "sentinel_subscriptions" where !isTwemproxy:
                sentinelOnlyEntries.append(item)
                sentinelSubscriptions = int(value, key, minimum: 1) ?? sentinelSubscriptions
            case "max_replica_lag" where !isTwemproxy:
                // Lag is measured by the Sentinel follower, or in a fixed pool by the replica watcher;
                // a pool without replicas would ignore it silently.
                replicaLagEntry = item
                (maxLagBytes, maxLagSeconds) = readReplicaLag(value, key)
            case "read_your_writes" where !isTwemproxy:
                readYourWrites = bool(value, key) ?? readYourWrites
            case "leased_connections" where !isTwemproxy:
                leasedConnections = int(value, key, minimum: 1) ?? leasedConnections
            case "routes" where !isTwemproxy:
                routesEntry = item
            case "keyless_group" where !isTwemproxy:
                keylessGroupEntry = item
            case "groups":
                groupsEntry = item
            case "servers":
                if isTwemproxy {
                    groupsEntry = item
                } else {
                    report(
                        item.keyNode, key,
                        "a pool has either Shardgate `groups:` or twemproxy `servers:`, not both")
                }
            case "redis" where isTwemproxy:
                redisNode = value
                redis = bool(value, key)
            case "redis_auth" where isTwemproxy:
                // twemproxy: an empty redis_auth means no AUTH at all.
                if let secret = string(value, key), !secret.isEmpty {
                    password = secret
                    auth = BackendAuth(password: secret)
                }
            default:
                report(item.keyNode, key, poolKeyMessage(item.key, isTwemproxy: isTwemproxy))
            }
        }

        if listenNode == nil {
            report(pool.keyNode, join(path, "listen"), "missing required key (the host:port to listen on)")
        }
        if isTwemproxy {
            if redisNode == nil {
                report(
                    pool.keyNode, join(path, "redis"),
                    "missing `redis: true`: twemproxy treats a pool without it as memcached "
                        + "(its default is redis: false), and Shardgate speaks Redis only")
            } else if redis == false {
                report(
                    redisNode, join(path, "redis"),
                    "memcached pools (redis: false) are not supported: Shardgate speaks Redis only")
            }
        }
        if autoEject, let autoEjectEntry, let chosen = distribution, chosen == .slots || chosen == .range {
            report(
                autoEjectEntry.value, join(path, autoEjectEntry.key),
                "auto_eject_hosts cannot be used with distribution: \(chosen.rawValue): ejecting a failing group "
                    + "would rehash its keys to a different group, but \(chosen.rawValue) pins every key to one "
                    + "group, so other groups would serve (and store) keys they do not own")
        }

        if !sentinelMode && !isTwemproxy {
            for entry in sentinelOnlyEntries {
                report(
                    entry.keyNode, join(path, entry.key),
                    "only used with `sentinels` (this pool has none: its groups name their masters)")
            }
        }

        var groups: [GroupConfig]?
        if let groupsEntry {
            groups =
                isTwemproxy
                ? readTwemproxyServers(groupsEntry, poolPath: path)
                : readGroups(groupsEntry, poolPath: path, distribution: distribution, sentinelMode: sentinelMode)
        } else if !items.contains(where: { $0.key == "servers" }) {
            report(
                pool.keyNode, join(path, "groups"),
                "missing required key: a pool needs at least one group (`groups:`, or twemproxy `servers:`)")
        }

        if !sentinelMode && !isTwemproxy, let replicaLagEntry, let groups, groups.allSatisfy({ $0.replicas.isEmpty }) {
            report(
                replicaLagEntry.keyNode, join(path, replicaLagEntry.key),
                "only used with replicas: `sentinels`, or groups that list `replicas` (no group of this pool has any)")
        }

        var routes = PrefixRoutes([])
        var keylessGroup = 0
        if let groups {
            let names = groups.map(\.name)
            if let routesEntry { routes = readRoutes(routesEntry.value, join(path, "routes"), groupNames: names) }
            if let keylessGroupEntry, let name = string(keylessGroupEntry.value, join(path, "keyless_group")) {
                if let index = names.firstIndex(of: name) {
                    keylessGroup = index
                } else {
                    report(keylessGroupEntry.value, join(path, "keyless_group"), "no group is named \(quote(name)); the groups are \(names.map(quote).joined(separator: ", "))")
                }
            }
        }

        guard issues.count == issuesBefore, let listen, let listenNode, let groups, let distribution else {
            return nil
        }
        let config = PoolConfig(
            name: path, listen: listen, hash: hash, hashTag: hashTag, distribution: distribution,
            readPolicy: readPolicy, timeoutMilliseconds: timeout, serverConnections: serverConnections,
            password: password, auth: auth, database: database, autoEjectHosts: autoEject,
            serverFailureLimit: failureLimit, serverRetryTimeoutMilliseconds: retryTimeout, preconnect: preconnect,
            clientConnections: clientConnections, clientOutputBufferLimit: outputLimit, backlog: backlog, tcpKeepalive: tcpKeepalive, reusePort: reusePort,
            sentinels: sentinels, sentinelAuth: sentinelAuth, sentinelTimeoutMilliseconds: sentinelTimeout,
            sentinelPollMilliseconds: sentinelPoll, sentinelSubscriptions: sentinelSubscriptions,
            maxReplicaLagBytes: maxLagBytes,
            maxReplicaLagSeconds: maxLagSeconds, readYourWrites: readYourWrites,
            leasedConnections: leasedConnections, routes: routes, keylessGroup: keylessGroup, groups: groups,
            isTwemproxyPool: isTwemproxy)
        return (config, listenNode)
    }

    private func poolKeyMessage(_ key: String, isTwemproxy: Bool) -> String {
        if isTwemproxy && nativePoolKeys.contains(key) {
            return "\(quote(key)) is a Shardgate key, but this is a twemproxy pool (it has `servers:`), "
                + "which takes nutcracker.yml keys only; convert `servers:` to `groups:` to use it"
        }
        if !isTwemproxy && twemproxyPoolKeys.contains(key) {
            switch key {
            case "redis":
                return "`redis` is a nutcracker.yml key, accepted only in twemproxy pools (with `servers:`); "
                    + "Shardgate always speaks Redis, so remove it"
            case "redis_auth":
                return "`redis_auth` is a nutcracker.yml key, accepted only in twemproxy pools (with `servers:`); "
                    + "use `password` (clients' AUTH) and `auth` (backends' AUTH)"
            default:
                break
            }
        }
        return unknownKeyMessage(key, allowed: isTwemproxy ? twemproxyPoolKeys : nativePoolKeys)
    }

    /// `routes:` maps key prefixes to group names: `{"rq:": shard-a, "celery": shard-b}`.
    private mutating func readRoutes(_ node: Node, _ path: String, groupNames: [String]) -> PrefixRoutes {
        guard let entries = entries(of: node, path, what: "a map of key prefixes to group names") else { return PrefixRoutes([]) }
        var routes: [PrefixRoutes.Route] = []
        for entry in entries {
            let routePath = join(path, entry.key)
            guard !entry.key.isEmpty else {
                report(entry.keyNode, routePath, "a route's prefix must not be empty (keys that match no route are placed by the distribution)")
                continue
            }
            guard let name = string(entry.value, routePath) else { continue }
            guard let group = groupNames.firstIndex(of: name) else {
                report(entry.value, routePath, "no group is named \(quote(name)); the groups are \(groupNames.map(quote).joined(separator: ", "))")
                continue
            }
            routes.append(PrefixRoutes.Route(prefix: Array(entry.key.utf8), group: group))
        }
        return PrefixRoutes(routes)
    }

    private mutating func readHashTag(_ node: Node, _ path: String) -> HashTag? {
        switch node {
        case .mapping(let mapping) where mapping.isEmpty:
            report(node, path, "expected two characters such as \"{}\"; quote them, unquoted {} is an empty YAML map")
            return nil
        default:
            guard let text = string(node, path) else { return nil }
            let bytes = Array(text.utf8)
            guard bytes.count == 2 else {
                report(node, path, "expected exactly two characters (the opening and closing tag), got \(quote(text))")
                return nil
            }
            return HashTag(open: bytes[0], close: bytes[1])
        }
    }

    private mutating func nonEmptyString(_ node: Node, _ path: String, hint: String) -> String? {
        guard let text = string(node, path) else { return nil }
        if text.isEmpty {
            report(node, path, "must not be empty; \(hint)")
            return nil
        }
        return text
    }

    /// `auth: password` or `auth: {user: name, password: secret}` (`username` is accepted for `user`).
    /// Also `sentinel_auth`. `omitHint` ends the message for an empty password.
    private mutating func backendAuth(_ node: Node, _ path: String, omitHint: String) -> BackendAuth? {
        switch node {
        case .scalar where !isNull(node):
            return nonEmptyString(node, path, hint: omitHint).map {
                BackendAuth(password: $0)
            }
        case .mapping:
            guard let items = entries(of: node, path) else { return nil }
            rejectUnknown(items, allowed: ["user", "username", "password"], path)
            var username: String?
            var secret: String?
            var sawUser = false
            for item in items {
                let key = join(path, item.key)
                switch item.key {
                case "user", "username":
                    if sawUser {
                        report(item.keyNode, key, "`user` and `username` are the same setting; give only one")
                    }
                    sawUser = true
                    username = nonEmptyString(item.value, key, hint: "omit it to use the default user")
                case "password":
                    secret = string(item.value, key)
                default:
                    break
                }
            }
            if !items.contains(where: { $0.key == "password" }) {
                report(node, join(path, "password"), "missing required key")
            }
            return secret.map { BackendAuth(username: username, password: $0) }
        default:
            report(node, path, "expected a password or {user: name, password: secret}, got \(describe(node))")
            return nil
        }
    }

    // MARK: Sentinel

    /// `sentinels: [host:port, ...]`: at least one, no duplicates (host names compared case-insensitively).
    private mutating func readSentinels(_ node: Node, _ path: String) -> [Endpoint] {
        guard case .sequence(let sequence) = node else {
            report(node, path, "expected a list of Sentinel host:port addresses, got \(describe(node))")
            return []
        }
        if sequence.isEmpty {
            report(
                node, path,
                "expected at least one Sentinel host:port; omit `sentinels` to give each group's master instead")
            return []
        }
        var sentinels: [Endpoint] = []
        var seen: [Endpoint: (index: Int, line: Int?)] = [:]
        for (index, item) in sequence.enumerated() {
            let itemPath = "\(path)[\(index)]"
            guard let sentinel = endpoint(item, itemPath) else { continue }
            let key = Endpoint(host: sentinel.host.lowercased(), port: sentinel.port)
            if let other = seen[key] {
                report(
                    item, itemPath,
                    "duplicate sentinel \(sentinel) (also \(path)[\(other.index)]"
                        + (other.line.map { " at line \($0)" } ?? "") + ")")
            } else {
                seen[key] = (index, item.mark?.line)
                sentinels.append(sentinel)
            }
        }
        return sentinels
    }

    /// A byte count: a non-negative integer, optionally with Redis's units (`k`/`m`/`g` are powers of
    /// 1000, `kb`/`mb`/`gb` of 1024; case-insensitive), e.g. `256mb`.
    private mutating func byteSize(_ node: Node, _ path: String) -> Int? {
        guard case .scalar(let scalar) = node, !isNull(node) else {
            report(node, path, "expected a size such as 256mb, got \(describe(node))")
            return nil
        }
        let text = scalar.string.lowercased()
        let units: [(String, Int)] = [
            ("gb", 1 << 30), ("mb", 1 << 20), ("kb", 1 << 10), ("g", 1_000_000_000), ("m", 1_000_000), ("k", 1000),
            ("b", 1),
        ]
        var digits = Substring(text)
        var scale = 1
        if let unit = units.first(where: { text.hasSuffix($0.0) }) {
            digits = digits.dropLast(unit.0.count)
            scale = unit.1
        }
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let number = Int(digits),
            number <= Int.max / scale
        else {
            report(node, path, "expected a size such as 256mb (b, k, kb, m, mb, g, gb; 0 for no limit), got \(describe(node))")
            return nil
        }
        return number * scale
    }

    /// `max_replica_lag: {bytes: n, seconds: n}`, each optional but not both, each > 0.
    private mutating func readReplicaLag(_ node: Node, _ path: String) -> (bytes: Int?, seconds: Int?) {
        guard let items = entries(of: node, path, what: "a map {bytes: ..., seconds: ...}") else { return (nil, nil) }
        rejectUnknown(items, allowed: ["bytes", "seconds"], path)
        var bytes: Int?
        var seconds: Int?
        for item in items {
            let key = join(path, item.key)
            switch item.key {
            case "bytes": bytes = int(item.value, key, minimum: 1, maximum: Int.max)
            case "seconds": seconds = int(item.value, key, minimum: 1)
            default: break
            }
        }
        if !items.contains(where: { $0.key == "bytes" || $0.key == "seconds" }) {
            report(
                node, path,
                "give `bytes`, `seconds` or both; omit `max_replica_lag` to read from replicas however far behind")
        }
        return (bytes, seconds)
    }

    // MARK: Native groups

    /// `sentinelMode`: the pool has `sentinels`, so a group names a Sentinel master instead of
    /// giving `master` and `replicas`.
    private mutating func readGroups(
        _ entry: Entry, poolPath: String, distribution: Distribution?, sentinelMode: Bool
    ) -> [GroupConfig]? {
        let path = join(poolPath, entry.key)
        guard case .sequence(let sequence) = entry.value else {
            report(entry.value, path, "expected a list of groups, got \(describe(entry.value))")
            return nil
        }
        if sequence.isEmpty {
            report(entry.keyNode, path, "a pool needs at least one group")
            return nil
        }
        let issuesBefore = issues.count
        var groups: [GroupConfig] = []
        var names: [String: (index: Int, line: Int?)] = [:]
        var slotClaims: [SlotClaim] = []
        var slotSites: [(node: Node, path: String)] = []
        var rangeClaims: [RangeClaim] = []
        var rangeSites: [(node: Node, path: String)] = []
        var coverageReadable = true

        for (index, node) in sequence.enumerated() {
            let groupPath = "\(path)[\(index)]"
            guard let items = entries(of: node, groupPath, what: "a group (a map with name, master, ...)") else {
                coverageReadable = false
                continue
            }
            rejectUnknown(items, allowed: groupKeys, groupPath)
            var name: String?
            var master: Endpoint?
            var replicas: [Endpoint] = []
            var weight = 1
            var slots: [SlotRange]?
            var range: KeyRange?
            var slotsEntry: Entry?
            var rangeEntry: Entry?
            for item in items {
                let key = join(groupPath, item.key)
                switch item.key {
                case "name":
                    name = nonEmptyString(item.value, key, hint: "every group needs a name")
                    if sentinelMode, let text = name, text.contains(where: { $0.isWhitespace }) {
                        report(
                            item.value, key,
                            "a Sentinel master name cannot contain spaces, got \(quote(text))")
                        name = nil
                    }
                    if let name {
                        if let other = names[name] {
                            report(
                                item.value, key,
                                "duplicate group name \(quote(name)) (also \(path)[\(other.index)]"
                                    + (other.line.map { " at line \($0)" } ?? "") + ")")
                        } else {
                            names[name] = (index, item.value.mark?.line)
                        }
                    }
                case "master" where sentinelMode, "replicas" where sentinelMode:
                    report(
                        item.keyNode, key,
                        "not used in a Sentinel pool: the Sentinels report each group's master and replicas; "
                            + "give only the group's `name` (the Sentinel master name)")
                case "master":
                    master = endpoint(item.value, key)
                case "replicas":
                    replicas = readReplicas(item.value, key)
                case "weight":
                    weight = int(item.value, key, minimum: 1) ?? weight
                case "slots":
                    slotsEntry = item
                case "range":
                    rangeEntry = item
                default:
                    break
                }
            }
            if !items.contains(where: { $0.key == "name" }) {
                report(node, join(groupPath, "name"), "missing required key (the group's name)")
            }
            if !sentinelMode && !items.contains(where: { $0.key == "master" }) {
                report(
                    node, join(groupPath, "master"),
                    "missing required key (the master's host:port; or list `sentinels` in the pool "
                        + "to have Sentinel find it)")
            }
            if let master, replicas.contains(master) {
                report(node, join(groupPath, "replicas"), "\(master) is both the master and a replica")
            }

            if let distribution {
                let slotsPath = join(groupPath, "slots")
                if let slotsEntry {
                    if distribution == .slots {
                        slots = readSlots(slotsEntry.value, slotsPath, sites: &slotSites)
                        for slot in slots ?? [] { slotClaims.append(SlotClaim(group: name ?? groupPath, range: slot)) }
                        if slots == nil { coverageReadable = false }
                    } else {
                        report(
                            slotsEntry.keyNode, slotsPath,
                            "only used with distribution: slots (this pool uses \(distribution.rawValue))")
                    }
                } else if distribution == .slots {
                    report(node, slotsPath, "missing: every group needs `slots` with distribution: slots")
                    coverageReadable = false
                }
                let rangePath = join(groupPath, "range")
                if let rangeEntry {
                    if distribution == .range {
                        range = readKeyRange(rangeEntry.value, rangePath)
                        if let range {
                            rangeClaims.append(RangeClaim(group: name ?? groupPath, range: range))
                            rangeSites.append((rangeEntry.value, rangePath))
                        } else {
                            coverageReadable = false
                        }
                    } else {
                        report(
                            rangeEntry.keyNode, rangePath,
                            "only used with distribution: range (this pool uses \(distribution.rawValue))")
                    }
                } else if distribution == .range {
                    report(node, rangePath, "missing: every group needs `range` with distribution: range")
                    coverageReadable = false
                }
            }
            if let name, master != nil || sentinelMode {
                groups.append(
                    GroupConfig(
                        name: name, master: master, replicas: replicas, weight: weight, slots: slots ?? [],
                        range: range))
            }
        }

        if coverageReadable {
            let problems: [CoverageProblem]
            let sites: [(node: Node, path: String)]
            switch distribution {
            case .slots?:
                (problems, sites) = (slotCoverage(slotClaims), slotSites)
            case .range?:
                (problems, sites) = (rangeCoverage(rangeClaims), rangeSites)
            default:
                (problems, sites) = ([], [])
            }
            for problem in problems {
                if let claim = problem.claim {
                    report(sites[claim].node, sites[claim].path, problem.message)
                } else {
                    report(entry.keyNode, path, problem.message)
                }
            }
        }
        return issues.count == issuesBefore ? groups : nil
    }

    private mutating func readReplicas(_ node: Node, _ path: String) -> [Endpoint] {
        if isNull(node) { return [] }
        guard case .sequence(let sequence) = node else {
            report(node, path, "expected a list of host:port, got \(describe(node))")
            return []
        }
        var replicas: [Endpoint] = []
        for (index, item) in sequence.enumerated() {
            let itemPath = "\(path)[\(index)]"
            guard let replica = endpoint(item, itemPath) else { continue }
            if replicas.contains(replica) {
                report(item, itemPath, "duplicate replica \(replica)")
            } else {
                replicas.append(replica)
            }
        }
        return replicas
    }

    /// `0-5460`, `42`, or a list of those. Appends the node and path of each range to `sites`.
    private mutating func readSlots(_ node: Node, _ path: String, sites: inout [(node: Node, path: String)])
        -> [SlotRange]?
    {
        let items: [(node: Node, path: String)]
        switch node {
        case .sequence(let sequence):
            if sequence.isEmpty {
                report(node, path, "expected at least one slot range")
                return nil
            }
            items = sequence.enumerated().map { ($1, "\(path)[\($0)]") }
        case .scalar where !isNull(node):
            items = [(node, path)]
        default:
            report(node, path, "expected a slot range like 0-5460, a slot number, or a list of them, got \(describe(node))")
            return nil
        }
        var ranges: [SlotRange] = []
        var valid = true
        for item in items {
            guard case .scalar(let scalar) = item.node, !isNull(item.node) else {
                report(item.node, item.path, "expected a slot range like 0-5460 or a slot number, got \(describe(item.node))")
                valid = false
                continue
            }
            let parts = scalar.string.split(separator: "-", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            let bounds = parts.compactMap { parseDecimal($0) }
            guard (1...2).contains(parts.count), bounds.count == parts.count else {
                report(item.node, item.path, "expected a slot range like 0-5460 or a slot number, got \(describe(item.node))")
                valid = false
                continue
            }
            let lower = bounds[0], upper = bounds[bounds.count - 1]
            guard lower >= 0, upper < SlotRange.slotCount else {
                report(item.node, item.path, "slots must be between 0 and \(SlotRange.slotCount - 1), got \(describe(item.node))")
                valid = false
                continue
            }
            guard lower <= upper else {
                report(item.node, item.path, "the range's start is after its end, got \(describe(item.node))")
                valid = false
                continue
            }
            ranges.append(SlotRange(lower: lower, upper: upper))
            sites.append(item)
        }
        return valid ? ranges : nil
    }

    /// `{from: "a", to: "m"}`: `from` inclusive, `to` exclusive, each omitted or null for open.
    /// `from: ""` is the same as an open start (the empty key is the smallest key).
    private mutating func readKeyRange(_ node: Node, _ path: String) -> KeyRange? {
        guard let items = entries(of: node, path, what: "a map {from: ..., to: ...}") else { return nil }
        let issuesBefore = issues.count
        rejectUnknown(items, allowed: ["from", "to"], path)
        var from: [UInt8]?
        var to: [UInt8]?
        for item in items where item.key == "from" || item.key == "to" {
            let key = join(path, item.key)
            if isNull(item.value) { continue }
            guard let text = string(item.value, key) else { continue }
            let bytes = Array(text.utf8)
            if item.key == "from" {
                from = bytes.isEmpty ? nil : bytes
            } else if bytes.isEmpty {
                report(item.value, key, "must not be empty (that would be an empty range); omit `to` or use null for an open end")
            } else {
                to = bytes
            }
        }
        if let from, let to, !from.lexicographicallyPrecedes(to) {
            report(node, path, "empty range: from \(quote(bytes: from)) is not before to \(quote(bytes: to)) in byte order")
        }
        return issues.count == issuesBefore ? KeyRange(from: from, to: to) : nil
    }

    // MARK: twemproxy servers

    private mutating func readTwemproxyServers(_ entry: Entry, poolPath: String) -> [GroupConfig]? {
        let path = join(poolPath, entry.key)
        guard case .sequence(let sequence) = entry.value else {
            report(entry.value, path, "expected a list of \"host:port:weight [name]\" lines, got \(describe(entry.value))")
            return nil
        }
        if sequence.isEmpty {
            report(entry.keyNode, path, "a pool needs at least one server")
            return nil
        }
        let issuesBefore = issues.count
        var groups: [GroupConfig] = []
        var hashNames: [String: (index: Int, line: Int?)] = [:]
        var displayNames: [String: (index: Int, line: Int?)] = [:]
        for (index, node) in sequence.enumerated() {
            let itemPath = "\(path)[\(index)]"
            guard let text = string(node, itemPath) else { continue }
            let server: TwemproxyServer
            switch TwemproxyServer.parse(text) {
            case .success(let parsed): server = parsed
            case .failure(let problem):
                report(node, itemPath, "\(problem.message), got \(quote(text))")
                continue
            }
            func also(_ other: (index: Int, line: Int?)) -> String {
                "also \(path)[\(other.index)]" + (other.line.map { " at line \($0)" } ?? "")
            }
            if let other = hashNames[server.hashName] {
                report(
                    node, itemPath,
                    "duplicate server name \(quote(server.hashName)) (\(also(other))); ketama places servers by "
                        + "name, so names must be unique (add a distinct name after the weight)")
                continue
            }
            if let other = displayNames[server.displayName] {
                report(node, itemPath, "duplicate server \(quote(server.displayName)) (\(also(other)))")
                continue
            }
            hashNames[server.hashName] = (index, node.mark?.line)
            displayNames[server.displayName] = (index, node.mark?.line)
            groups.append(
                GroupConfig(
                    name: server.displayName, hashName: server.hashName, master: server.endpoint, weight: server.weight
                ))
        }
        return issues.count == issuesBefore ? groups : nil
    }

    // MARK: YAML syntax errors

    private mutating func reportYAMLError(_ error: YamlError, in yaml: String) {
        func detail(_ context: YamlError.Context?, _ problem: String) -> String {
            guard let context else { return problem }
            return "\(problem) (\(context.text) at line \(context.mark.line))"
        }
        switch error {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            report(line: mark.line, "", "invalid YAML: \(detail(context, problem))")
        case .reader(let problem, let offset, _, _):
            let line = offset.map { offset in
                yaml.prefix(offset).reduce(into: 1) { count, character in if character.isNewline { count += 1 } }
            }
            report(line: line, "", "invalid YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            for key in duplicates.sorted() {
                let line = duplicateLine(of: key, in: yaml, mapStart: context.mark) ?? context.mark.line
                report(line: line, key, "duplicate key \(quote(key)) (in the map starting at line \(context.mark.line))")
            }
        default:
            report(line: nil, "", "invalid YAML: \(error)")
        }
    }

    /// Best effort: the line of the second `key:` at the map's column, at or after the map's start.
    private func duplicateLine(of key: String, in yaml: String, mapStart: Mark) -> Int? {
        let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
        var found = 0
        for number in mapStart.line...max(mapStart.line, lines.count) where number <= lines.count {
            let line = lines[number - 1].unicodeScalars
            guard line.count >= mapStart.column else { continue }
            let prefix = line.prefix(mapStart.column - 1)
            let rest = String(String.UnicodeScalarView(line.dropFirst(mapStart.column - 1)))
            guard prefix.allSatisfy({ $0 == " " || $0 == "-" }) else { continue }
            if rest.hasPrefix("\(key):") || rest.hasPrefix("\"\(key)\":") || rest.hasPrefix("'\(key)':") {
                found += 1
                if found == 2 { return number }
            }
        }
        return nil
    }
}
