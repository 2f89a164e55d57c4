import ACL
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
/// Every key a pool takes (its value, validation, doc and field) is one entry of the option table,
/// ``PoolOptions``; the defaults are ``PoolConfig``'s initial values. Rules between keys (Sentinel-only
/// keys, `auto_eject_hosts` with slots, `routes` naming groups…) are checked here once every key is read.
///
/// A native pool with `sentinels:` (a list of `host:port`) is Sentinel-managed: each group gives
/// only its `name` (the master name the Sentinels monitor; plus `weight`, `slots`, `range`), and the
/// proxy asks the Sentinels for its master and replicas.
///
/// twemproxy pools take twemproxy 0.5.0's defaults, which match the native ones except `timeout`:
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
        let kind: PoolKind =
            items.contains { $0.key == "servers" } && !items.contains { $0.key == "groups" } ? .twemproxy : .native
        let issuesBefore = issues.count
        var draft = PoolDraft(
            kind: kind,
            // Groups are checked in Sentinel mode whenever `sentinels` is written, even if invalid, so a
            // bad sentinel address does not also make every group "miss" its master.
            sentinelMode: kind == .native && items.contains { $0.key == "sentinels" },
            config: PoolConfig(name: path, listen: Endpoint(host: "", port: 0), groups: [], kind: kind))
        for item in items {
            readPoolKey(item, poolPath: path, into: &draft)
        }
        checkPoolKeys(pool, items, draft)

        var groups: [GroupConfig]?
        if let entry = draft.given["servers"] {
            groups = readTwemproxyServers(entry, poolPath: path)
        } else if let entry = draft.given["groups"] {
            groups = readGroups(
                entry, poolPath: path, distribution: draft.distributionValid ? draft.config.distribution : nil,
                sentinelMode: draft.sentinelMode)
        } else {
            report(
                pool.keyNode, join(path, "groups"),
                "missing required key: a pool needs at least one group (`groups:`, or twemproxy `servers:`)")
        }
        if let groups {
            readGroupReferences(groups, path: path, into: &draft)
        }

        guard issues.count == issuesBefore, draft.listenValid, let listenNode = draft.listenNode, let groups,
            draft.distributionValid
        else { return nil }
        var config = draft.config
        config.groups = groups
        return (config, listenNode)
    }

    /// Reads one key of a pool through the option table.
    private mutating func readPoolKey(_ item: Entry, poolPath: String, into draft: inout PoolDraft) {
        let path = join(poolPath, item.key)
        guard let option = PoolOptions.byName[item.key], option.pools.accept(draft.kind) else {
            report(item.keyNode, path, poolKeyMessage(item.key, kind: draft.kind))
            return
        }
        let setting = option.sameAs ?? option.name
        if let earlier = draft.given.values.first(where: { (PoolOptions.byName[$0.key]?.sameAs ?? $0.key) == setting }) {
            let other = item.key == setting ? earlier.key : item.key
            report(
                item.keyNode, path,
                "`\(setting)` and `\(other)` are the same setting and \(quote(earlier.key)) is already given"
                    + (earlier.keyNode.mark.map { " (line \($0.line))" } ?? ""))
        }
        draft.given[item.key] = item
        option.read(&self, item, path, &draft)
    }

    /// The rules between a pool's keys that do not need its groups.
    private mutating func checkPoolKeys(_ pool: Entry, _ items: [Entry], _ draft: PoolDraft) {
        let path = pool.key
        if draft.given["listen"] == nil {
            report(pool.keyNode, join(path, "listen"), "missing required key (the host:port to listen on)")
        }
        if draft.kind == .twemproxy {
            if let entry = draft.given["redis"] {
                if draft.redis == false {
                    report(
                        entry.value, join(path, "redis"),
                        "memcached pools (redis: false) are not supported: Shardgate speaks Redis only")
                }
            } else {
                report(
                    pool.keyNode, join(path, "redis"),
                    "missing `redis: true`: twemproxy treats a pool without it as memcached "
                        + "(its default is redis: false), and Shardgate speaks Redis only")
            }
        }
        let distribution = draft.config.distribution
        if draft.config.autoEjectHosts, draft.distributionValid, distribution == .slots || distribution == .range,
            let entry = draft.given["auto_eject_hosts"]
        {
            report(
                entry.value, join(path, entry.key),
                "auto_eject_hosts cannot be used with distribution: \(distribution.rawValue): ejecting a failing group "
                    + "would rehash its keys to a different group, but \(distribution.rawValue) pins every key to one "
                    + "group, so other groups would serve (and store) keys they do not own")
        }
        if let entry = draft.given["password"], draft.config.users.contains(where: { ACLRules.words(ofLine: $0).first == "default" }) {
            // Redis's `user default` line replaces what `requirepass` set: one of the two would be ignored.
            report(
                entry.keyNode, join(path, "password"),
                "`password` is the default user's password and `users` defines the default user too; "
                    + "give the password in its line (\"default on >secret …\") and remove `password`")
        }
        if draft.kind == .native && !draft.sentinelMode {
            for entry in items where PoolOptions.byName[entry.key]?.needsSentinels == true {
                report(
                    entry.keyNode, join(path, entry.key),
                    "only used with `sentinels` (this pool has none: its groups name their masters)")
            }
        }
    }

    /// The keys that name groups or depend on them: `max_replica_lag`, `routes`, `keyless_group`.
    private mutating func readGroupReferences(_ groups: [GroupConfig], path: String, into draft: inout PoolDraft) {
        // Lag is measured by the Sentinel follower, or in a fixed pool by the replica watcher; a pool
        // without replicas would ignore it silently.
        if !draft.sentinelMode, let entry = draft.given["max_replica_lag"], groups.allSatisfy({ $0.replicas.isEmpty }) {
            report(
                entry.keyNode, join(path, entry.key),
                "only used with replicas: `sentinels`, or groups that list `replicas` (no group of this pool has any)")
        }
        let names = groups.map(\.name)
        if let entry = draft.given["routes"] {
            draft.config.routes = readRoutes(entry.value, join(path, "routes"), groupNames: names)
        }
        if let entry = draft.given["keyless_group"], let name = string(entry.value, join(path, "keyless_group")) {
            if let index = names.firstIndex(of: name) {
                draft.config.keylessGroup = index
            } else {
                report(
                    entry.value, join(path, "keyless_group"),
                    "no group is named \(quote(name)); the groups are \(names.map(quote).joined(separator: ", "))")
            }
        }
    }

    /// Why `key` is not a key of a `kind` pool.
    private func poolKeyMessage(_ key: String, kind: PoolKind) -> String {
        if let option = PoolOptions.byName[key] {
            if let elsewhere = option.elsewhere { return elsewhere }
            if kind == .twemproxy {
                return "\(quote(key)) is a Shardgate key, but this is a twemproxy pool (it has `servers:`), "
                    + "which takes nutcracker.yml keys only; convert `servers:` to `groups:` to use it"
            }
        }
        return unknownKeyMessage(key, allowed: PoolOptions.names(for: kind))
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
            rejectUnknown(items, allowed: PoolOptions.groupKeys.map(\.name), groupPath)
            var name: String?
            var master: Endpoint?
            var replicas: [Endpoint] = []
            var weight = GroupConfig.unnamed.weight
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
