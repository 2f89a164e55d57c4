import CMallocInfo
import Commands
import Config
import NIOCore

/// The running version, and the Redis version whose command table the proxy speaks.
public enum ShardgateVersion {
    public static let current = "0.1.0"
    public static let redisCompatible = "7.0.15"
}

/// Renders the proxy's INFO: Redis's `server`, `clients`, `memory` and `stats` fields where they mean
/// the same thing for a proxy, `cluster` (clients read `cluster_enabled`), `keyspace` summed over the
/// groups' masters, and a `shards` section with one line per group and per backend.
struct InfoReport {
    let pool: ProxyPool
    let snapshots: [LoopSnapshot]
    /// Per database, keys and keys with a TTL, summed over every group (from their `INFO keyspace`).
    var keyspace: [(database: Int, keys: Int, expires: Int)] = []

    static let defaultSections = ["server", "clients", "memory", "stats", "errorstats", "cluster", "keyspace", "shards"]
    /// What `all` and `everything` add, as in Redis.
    static let allSections = ["server", "clients", "memory", "stats", "commandstats", "errorstats", "cluster", "keyspace", "shards"]

    /// Adds one group's `INFO keyspace` text (`db0:keys=3,expires=1,avg_ttl=0` lines) to `keyspace`.
    mutating func addKeyspace(_ text: String) {
        for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix("db") {
            guard let colon = line.firstIndex(of: ":"), let database = Int(line[line.index(line.startIndex, offsetBy: 2)..<colon])
            else { continue }
            var keys = 0
            var expires = 0
            for field in line[line.index(after: colon)...].split(separator: ",") {
                let pair = field.split(separator: "=", maxSplits: 1)
                guard pair.count == 2, let value = Int(pair[1]) else { continue }
                if pair[0] == "keys" { keys = value } else if pair[0] == "expires" { expires = value }
            }
            if let index = keyspace.firstIndex(where: { $0.database == database }) {
                keyspace[index].keys += keys
                keyspace[index].expires += expires
            } else {
                keyspace.append((database, keys, expires))
            }
        }
        keyspace.sort { $0.database < $1.database }
    }

    func render(_ requested: Set<String>) -> String {
        let wanted: [String]
        if requested.contains("all") || requested.contains("everything") {
            wanted = Self.allSections
        } else if requested.isEmpty || requested.contains("default") {
            wanted = Self.defaultSections
        } else {
            wanted = Self.allSections.filter { requested.contains($0) }
        }
        var text = ""
        for section in wanted {
            if !text.isEmpty { text += "\r\n" }
            switch section {
            case "server": text += server()
            case "clients": text += clients()
            case "stats": text += stats()
            case "memory": text += memory()
            case "commandstats": text += commandStats()
            case "errorstats": text += errorStats()
            case "cluster": text += lines("Cluster", [("cluster_enabled", "0")])
            case "keyspace": text += lines("Keyspace", keyspace.map { ("db\($0.database)", "keys=\($0.keys),expires=\($0.expires),avg_ttl=0") })
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
            ("blocked_clients", "\(snapshots.reduce(0) { $0 + $1.blockedClients })"),
            ("maxclients", "\(pool.runtime.config.clientConnections)"),
        ])
    }

    /// The proxy process's own memory (the data lives on the backends).
    private func memory() -> String {
        let used = Int(shardgate_heap_in_use())
        var rss = 0
        if let statm = try? String(contentsOfProcFile: "/proc/self/statm"), let pages = statm.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) {
            rss = pages * Int(sysconf(Int32(_SC_PAGESIZE)))
        }
        return lines("Memory", [
            ("used_memory", "\(used)"),
            ("used_memory_human", Self.human(used)),
            ("used_memory_rss", "\(rss)"),
            ("used_memory_rss_human", Self.human(rss)),
            ("maxmemory", "0"),
            ("maxmemory_human", "0B"),
            ("maxmemory_policy", "noeviction"),
        ])
    }

    /// Redis's bytesToHuman for INFO (`1.50M`).
    static func human(_ bytes: Int) -> String {
        let value = Double(bytes)
        switch bytes {
        case ..<1024: return "\(bytes)B"
        case ..<(1024 * 1024): return formatTwoDecimals(value / 1024) + "K"
        case ..<(1024 * 1024 * 1024): return formatTwoDecimals(value / 1024 / 1024) + "M"
        default: return formatTwoDecimals(value / 1024 / 1024 / 1024) + "G"
        }
    }

    private static func formatTwoDecimals(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
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

    /// Redis's `cmdstat_<name>` lines for the commands received. Only `calls` unless the proxy serves
    /// `/metrics`, which also times requests (`usec`: from the read that brought a request to its
    /// reply leaving) and counts error replies (`failed_calls`; the proxy rejects nothing before
    /// running it in Redis's sense, so `rejected_calls` is 0).
    private func commandStats() -> String {
        let total = totals
        let table = CommandTable.redis
        var rows: [(String, String)] = []
        for id in 0..<min(table.count, total.commandCalls.count) where total.commandCalls[id] > 0 {
            let calls = total.commandCalls[id]
            var value = "calls=\(calls)"
            if id < total.commandNanoseconds.count {
                let microseconds = Int(total.commandNanoseconds[id] / 1000)
                let hundredths = microseconds * 100 / calls
                value += ",usec=\(microseconds),usec_per_call=\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)"
                value += ",rejected_calls=0,failed_calls=\(total.commandErrors[id])"
            }
            rows.append(("cmdstat_\(table[id].name)", value))
        }
        return lines("Commandstats", rows.sorted { $0.0 < $1.0 })
    }

    /// Redis's `errorstat_<CODE>:count=N`, by the first word of the error replies sent (kept when
    /// the proxy serves `/metrics`).
    private func errorStats() -> String {
        lines("Errorstats", totals.errorCodes.sorted { $0.key < $1.key }.map { ("errorstat_\($0.key)", "count=\($0.value)") })
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

extension String {
    /// A small /proc file read with read(2) (no Foundation).
    init(contentsOfProcFile path: String) throws {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw ProcFileError() }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: 4096)
        let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, 4096) }
        guard count >= 0 else { throw ProcFileError() }
        self = String(decoding: bytes[0..<count], as: UTF8.self)
    }
}

struct ProcFileError: Error {}

/// The process id without Foundation.
enum ProcessID {
    static var current: Int32 { getpid() }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
