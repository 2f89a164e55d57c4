import Config
import NIOCore

/// The running version, and the Redis version whose command table the proxy speaks.
public enum ShardgateVersion {
    public static let current = "0.1.0"
    public static let redisCompatible = "7.0.15"
}

/// Renders the proxy's INFO: Redis's `server`, `clients` and `stats` fields where they mean the same
/// thing for a proxy, plus a `shards` section with one line per group and per backend.
struct InfoReport {
    let pool: ProxyPool
    let snapshots: [LoopSnapshot]

    static let defaultSections = ["server", "clients", "stats", "shards"]

    func render(_ requested: Set<String>) -> String {
        let wanted: [String]
        if requested.isEmpty || requested.contains("default") || requested.contains("all")
            || requested.contains("everything")
        {
            wanted = Self.defaultSections
        } else {
            wanted = Self.defaultSections.filter { requested.contains($0) }
        }
        var text = ""
        for section in wanted {
            if !text.isEmpty { text += "\r\n" }
            switch section {
            case "server": text += server()
            case "clients": text += clients()
            case "stats": text += stats()
            default: text += shards()
            }
        }
        return text
    }

    private func lines(_ title: String, _ fields: [(String, String)]) -> String {
        var text = "# \(title)\r\n"
        for (key, value) in fields { text += "\(key):\(value)\r\n" }
        return text
    }

    private var totals: LoopStats {
        var total = LoopStats()
        for snapshot in snapshots { total.add(snapshot.stats) }
        return total
    }

    private func server() -> String {
        let uptime = (NIODeadline.now() - pool.startedAt).nanoseconds / 1_000_000_000
        let config = pool.runtime.config
        let port = pool.listenAddress.withLockedValue { $0?.port } ?? config.listen.port
        return lines("Server", [
            ("redis_version", ShardgateVersion.redisCompatible),
            ("shardgate_version", ShardgateVersion.current),
            ("redis_mode", "standalone"),
            ("shardgate_pool", config.name),
            ("arch_bits", "\(Int.bitWidth)"),
            ("multiplexing_api", "epoll"),
            ("process_id", "\(ProcessID.current)"),
            ("tcp_port", "\(port)"),
            ("uptime_in_seconds", "\(uptime)"),
            ("uptime_in_days", "\(uptime / 86400)"),
            ("config_file", pool.configPath ?? ""),
        ])
    }

    private func clients() -> String {
        lines("Clients", [
            ("connected_clients", "\(snapshots.reduce(0) { $0 + $1.connectedClients })"),
            ("blocked_clients", "0"),
            ("maxclients", "\(pool.runtime.config.clientConnections)"),
        ])
    }

    private func stats() -> String {
        let total = totals
        return lines("Stats", [
            ("total_connections_received", "\(total.connectionsReceived)"),
            ("total_commands_processed", "\(total.commandsProcessed)"),
            ("rejected_connections", "\(total.rejectedConnections)"),
            ("protocol_errors", "\(total.protocolErrors)"),
            ("crossslot_errors", "\(total.crossSlotErrors)"),
            ("split_commands", "\(total.splitCommands)"),
            ("client_output_buffer_limit_disconnections", "\(total.outputLimitDisconnections)"),
        ])
    }

    private func shards() -> String {
        let config = pool.runtime.config
        var fields: [(String, String)] = [
            ("distribution", config.distribution.rawValue),
            ("hash", config.hash.rawValue),
            ("read_policy", config.readPolicy.rawValue),
            ("groups", "\(config.groups.count)"),
        ]
        var backendNumber = 0
        for (groupIndex, group) in config.groups.enumerated() {
            // Each loop reports its own connections; add them up per server (a Sentinel change may
            // reach the loops a moment apart, so servers are matched by address, not position).
            var servers: [(role: String, endpoint: Endpoint, available: Bool, inFlight: Int, stats: BackendStats)] = []
            for snapshot in snapshots {
                for backend in snapshot.backends[groupIndex] {
                    if let index = servers.firstIndex(where: { $0.endpoint == backend.endpoint && $0.role == backend.role }) {
                        servers[index].available = servers[index].available || backend.available
                        servers[index].inFlight += backend.inFlight
                        servers[index].stats.add(backend.stats)
                    } else {
                        servers.append((backend.role, backend.endpoint, backend.available, backend.inFlight, backend.stats))
                    }
                }
            }
            let master = servers.first { $0.role == "master" }.map { "\($0.endpoint)" } ?? "unknown"
            let replicas = servers.filter { $0.role == "replica" }.count
            var line = "name=\(group.name),master=\(master),replicas=\(replicas)"
            if let topology = pool.currentTopology(group: groupIndex), let problem = topology.problem {
                line += ",problem=\(problem.replacingOccurrences(of: ",", with: ";"))"
            }
            fields.append(("group\(groupIndex)", line))
            for server in servers {
                let total = server.stats
                fields.append(("backend\(backendNumber)",
                    "group=\(group.name),role=\(server.role),addr=\(server.endpoint),status=\(server.available ? "up" : "down"),"
                        + "requests=\(total.requests),errors=\(total.errors),error_replies=\(total.errorReplies),"
                        + "timeouts=\(total.timeouts),inflight=\(server.inFlight)"))
                backendNumber += 1
            }
        }
        return lines("Shards", fields)
    }
}

/// The process id without Foundation.
enum ProcessID {
    static var current: Int32 { getpid() }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
