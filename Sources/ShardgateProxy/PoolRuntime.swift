import Commands
import Config
import NIOCore
import Routing

/// Everything about one pool that stays fixed while it runs, shared read-only by all event loops:
/// the configuration, the shard map, the per-command policy and the TLS contexts.
final class PoolRuntime: Sendable {
    let config: PoolConfig
    let shardMap: ShardMap
    let commands: CommandTable
    /// `policies[command id]`: what to do with each command of the table.
    let policies: [CommandPolicy]
    /// nil when `timeout` is 0 (wait forever, as twemproxy without a timeout).
    let timeout: TimeAmount?
    /// The pool's TLS contexts, loaded once at start (`tls`, `backend_tls`).
    let tls: PoolTLS

    init(config: PoolConfig, commands: CommandTable = .redis, tls: PoolTLS = .plain) {
        self.config = config
        self.tls = tls
        self.commands = commands
        self.policies = (0..<commands.count).map { CommandPolicy.make(for: commands[$0], groupCount: config.groups.count) }
        self.timeout = config.timeoutMilliseconds > 0 ? .milliseconds(Int64(config.timeoutMilliseconds)) : nil
        self.shardMap = Self.makeShardMap(config)
    }

    /// The pool's shard map; `ejected[g] == true` leaves group `g` out (auto_eject_hosts only).
    static func makeShardMap(_ config: PoolConfig, ejected: [Bool]? = nil) -> ShardMap {
        var nodes = config.hashedNodes
        if let ejected {
            for (index, out) in ejected.enumerated() where out { nodes[index] = HashedNode(name: nodes[index].name, weight: 0) }
        }
        switch config.distribution {
        case .ketama:
            return .ketama(nodes: nodes, hash: config.hash, hashTag: config.hashTag)
        case .modula:
            return .modula(nodes: nodes, hash: config.hash, hashTag: config.hashTag)
        case .random:
            return .random(groupCount: config.groups.count, live: nodes.indices.filter { nodes[$0].weight > 0 })
        case .slots:
            return .slots(assignments: config.groups.map(\.slots), hashTag: config.hashTag ?? .braces)
        case .range:
            return .range(ranges: config.groups.map { $0.range ?? KeyRange(from: nil, to: nil) }, hashTag: config.hashTag)
        }
    }
}
