import Foundation
import Routing

/// Shard groups of real redis-servers (a master and `replicas` replicas each) for proxy tests, or
/// of `shardgate node`s (`kind`), as `shardgate up` runs them.
final class ShardGroups: @unchecked Sendable {
    let masters: [RedisServer]
    let replicas: [[RedisServer]]

    init(groups: Int, replicas replicaCount: Int = 0, extra: [String] = [], kind: DataServerKind = .redis) async throws {
        var masters: [RedisServer] = []
        var replicas: [[RedisServer]] = []
        for _ in 0..<groups {
            let master = try await RedisServer(extra, kind: kind)
            var group: [RedisServer] = []
            for _ in 0..<replicaCount {
                let replica = try await RedisServer(extra, kind: kind)
                try await replica.replicate(from: master)
                group.append(replica)
            }
            masters.append(master)
            replicas.append(group)
        }
        self.masters = masters
        self.replicas = replicas
    }

    /// The `groups:` block of a native pool, groups named g0, g1, ...
    /// The proxy's CROSSSLOT error for keys in groups `first` then `second` (as `groupsYAML` names them).
    static func crossSlot(_ first: Int, _ second: Int) -> Reply {
        .error("CROSSSLOT Keys in request don't hash to the same slot (shardgate: they live in groups 'g\(first)' and 'g\(second)'; "
            + "keep them in one group with a hash tag (`hash_tag`) or a prefix route (`routes:`))")
    }

    /// A proxy over these groups with the `{}` hash tag (`extra`: more pool lines).
    func taggedProxy(extra: String = "", threads: Int = 2) async throws -> ProxyUnderTest {
        try await ProxyUnderTest(yaml: "pool:\n  listen: LISTEN\n  hash_tag: \"{}\"\n\(extra)" + groupsYAML(), threads: threads)
    }

    func groupsYAML(extra: (Int) -> String = { _ in "" }) -> String {
        var text = "  groups:\n"
        for (index, master) in masters.enumerated() {
            text += "    - name: g\(index)\n      master: \(master.address)\n"
            if !replicas[index].isEmpty {
                text += "      replicas: [\(replicas[index].map(\.address).joined(separator: ", "))]\n"
            }
            text += extra(index)
        }
        return text
    }

    /// The group index holding `key` on its master, or nil (asks every master).
    func owner(of key: String) throws -> Int? {
        for (index, master) in masters.enumerated() where try master.client().command("EXISTS", key) == .integer(1) {
            return index
        }
        return nil
    }

    /// Waits (bounded) until every replica's replication offset has reached its master's.
    func syncReplicas() async throws {
        for (index, master) in masters.enumerated() {
            let target = try master.replicationOffset()
            for replica in replicas[index] {
                try await waitUntil("replica \(replica.port) at offset \(target)") {
                    try replica.replicationOffset() >= target
                }
            }
        }
    }

    func stop() {
        for server in masters + replicas.flatMap({ $0 }) { server.stop() }
    }
}

/// Keys guaranteed to live in different groups (or the same group) under `map`.
func keys(count: Int, prefix: String = "key:") -> [String] {
    (0..<count).map { "\(prefix)\($0)" }
}
