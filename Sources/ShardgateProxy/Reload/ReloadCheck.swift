import Config
import Routing

/// What a new proxy.yml changes for one running pool: settings that only a restart can change,
/// and whether keys would move to other groups.
///
/// Pure: compares two `PoolConfig`s and never touches the running pool. A reload applies only when
/// no pool has a restart-only change, and keys move only when the operator forces it: moving the
/// data itself is a separate job, and a silent change of placement would make the keys already
/// stored unreachable.
struct PoolReloadCheck: Sendable {
    let old: PoolConfig
    let new: PoolConfig

    /// Changes a running pool cannot take, one sentence each (empty: the new config can apply).
    var restartOnlyChanges: [String] {
        var changes: [String] = []
        func check<T: Equatable>(_ what: String, _ field: (PoolConfig) -> T) {
            if field(old) != field(new) { changes.append("\(what) changed") }
        }
        check("listen", \.listen)
        check("backlog", \.backlog)
        check("reuseport", \.reusePort)
        check("the groups (their names, number or order)", { $0.groups.map(\.name) })
        check("sentinels", \.sentinels)
        check("sentinel_auth", \.sentinelAuth)
        check("sentinel_timeout", \.sentinelTimeoutMilliseconds)
        check("sentinel_poll", \.sentinelPollMilliseconds)
        check("sentinel_subscriptions", \.sentinelSubscriptions)
        check("max_replica_lag", { [$0.maxReplicaLagBytes, $0.maxReplicaLagSeconds] })
        check("read_your_writes", \.readYourWrites)
        check("database", \.database)
        check("keyless_group", \.keylessGroup)
        // Sessions keep each request until its reply only while the SLOWLOG is on, and time
        // requests only while something measures them.
        check("whether the SLOWLOG is on", { $0.slowlogLogSlowerThan >= 0 })
        check("whether the latency monitor is on", { $0.latencyMonitorThreshold > 0 })
        // Sentinel followers and replica watchers keep the TLS context they started with.
        if old.backendTLS != new.backendTLS && (old.usesSentinel || ReplicaWatcher.isNeeded(for: old) || ReplicaWatcher.isNeeded(for: new)) {
            changes.append("backend_tls changed in a pool that follows Sentinel or watches its replicas")
        }
        return changes
    }

    /// Whether a key could live in another group under the new config: exact, from everything
    /// placement depends on (distribution, hash, hash tag, routes, and each group's hashed name,
    /// weight, slots and range). With one group every key stays in it.
    var movesKeys: Bool { (old.groups.count > 1 || new.groups.count > 1) && Placement(old) != Placement(new) }

    /// Of `count` sample keys, how many the new config puts in another group (for the operator:
    /// `movesKeys` decides, this estimates how much). Deterministic sample keys of 4 to 24
    /// characters, some with a `{tag}`.
    func sampledMoves(count: Int = 10_000) -> Int {
        let before = PoolRuntime.makeShardMap(old)
        let after = PoolRuntime.makeShardMap(new)
        var random = SplitMix64(seed: 0x5348_4152_4447_4154)
        var moved = 0
        for _ in 0..<count {
            let key = random.sampleKey()
            let (was, will) = key.withUnsafeBytes { bytes in
                (old.routes.group(forKey: bytes) ?? before.group(forKey: bytes),
                 new.routes.group(forKey: bytes) ?? after.group(forKey: bytes))
            }
            if was.map({ old.groups[$0].name }) != will.map({ new.groups[$0].name }) { moved += 1 }
        }
        return moved
    }

    /// Everything key placement depends on.
    private struct Placement: Equatable {
        var distribution: Distribution
        var hash: HashFunction?
        var hashTag: HashTag?
        var routes: PrefixRoutes
        var groups: [Group]
        struct Group: Equatable {
            var name: String
            var hashName: String
            var weight: Int
            var slots: [SlotRange]
            var range: KeyRange?
        }

        init(_ config: PoolConfig) {
            distribution = config.distribution
            // Only ketama and modula hash with `hash`.
            hash = config.distribution == .ketama || config.distribution == .modula ? config.hash : nil
            hashTag = config.hashTag
            routes = config.routes
            groups = config.groups.map {
                Group(name: $0.name, hashName: $0.hashName, weight: $0.weight, slots: $0.slots, range: $0.range)
            }
        }
    }
}

/// A small seeded generator (SplitMix64): the same sample keys on every reload.
private struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    private static let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789:_-".utf8)

    mutating func sampleKey() -> [UInt8] {
        let length = 4 + Int(next() % 21)
        var key = (0..<length).map { _ in Self.alphabet[Int(next() % UInt64(Self.alphabet.count))] }
        if next() % 8 == 0 {
            key.insert(UInt8(ascii: "{"), at: 1)
            key.insert(UInt8(ascii: "}"), at: min(key.count, 4))
        }
        return key
    }
}
