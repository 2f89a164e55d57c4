#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import Commands

/// INFO, section by section, with Redis 7.0's field names.
enum NodeInfo {
    static let redisVersion = "7.0.15"

    /// One INFO section's lines (`field:value`), in Redis's order.
    typealias Section = (name: String, fields: [(String, String)])

    static let defaultSections = ["server", "clients", "memory", "persistence", "stats", "replication", "cpu",
                                  "modules", "errorstats", "cluster", "keyspace"]

    /// The INFO text for the requested section names (none: default; "all"/"everything": all).
    static func report(_ node: Node, sections requested: [String]) -> String {
        var names = requested.map { $0.lowercased() }
        if names.isEmpty || names.contains("default") { names += defaultSections }
        if names.contains("all") || names.contains("everything") { names += defaultSections + ["commandstats", "latencystats"] }
        var seen: Set<String> = []
        var text = ""
        for name in defaultSections + ["commandstats", "latencystats"] where names.contains(name) && seen.insert(name).inserted {
            guard let section = section(name, node) else { continue }
            if !text.isEmpty { text += "\r\n" }
            text += "# \(section.name)\r\n"
            for (field, value) in section.fields { text += "\(field):\(value)\r\n" }
        }
        return text
    }

    static func section(_ name: String, _ node: Node) -> Section? {
        switch name {
        case "server": return server(node)
        case "clients": return clients(node)
        case "memory": return memory(node)
        case "persistence": return ("Persistence", node.persistence.infoFields)
        case "stats": return stats(node)
        case "replication": return ("Replication", node.replication.infoFields(settings: node.settings, now: node.now))
        case "cpu": return cpu()
        case "modules": return ("Modules", [])
        case "errorstats": return ("Errorstats", node.errorReplies.infoFields)
        case "cluster": return ("Cluster", [("cluster_enabled", "0")])
        case "keyspace": return keyspace(node)
        case "commandstats": return commandstats(node)
        case "latencystats": return ("Latencystats", node.latencyStatsFields())
        default: return nil
        }
    }

    private static func server(_ node: Node) -> Section {
        let now = node.now
        let uptime = (now - node.startedAt) / 1000
        var name = utsname()
        uname(&name)
        func field<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        return ("Server", [
            ("redis_version", redisVersion), ("redis_git_sha1", "00000000"), ("redis_git_dirty", "0"),
            ("redis_build_id", "shardgate"), ("redis_mode", "standalone"),
            ("os", "\(field(name.sysname)) \(field(name.release)) \(field(name.machine))"),
            ("arch_bits", "64"), ("monotonic_clock", "POSIX clock_gettime"), ("multiplexing_api", "epoll"),
            ("atomicvar_api", "c11-builtin"), ("gcc_version", "0.0.0"), ("process_id", "\(getpid())"),
            ("process_supervised", "no"), ("run_id", node.runID), ("tcp_port", "\(node.boundPort)"),
            ("server_time_usec", "\(Clock.microseconds())"), ("uptime_in_seconds", "\(uptime)"),
            ("uptime_in_days", "\(uptime / 86400)"), ("hz", "\(node.settings.hz)"),
            ("configured_hz", "\(node.settings.hz)"), ("lru_clock", "\((now / 1000) & 0xFFFFFF)"),
            ("executable", CommandLine.arguments.first ?? ""), ("config_file", node.configFile ?? ""),
            ("io_threads_active", "0"),
        ])
    }

    private static func clients(_ node: Node) -> Section {
        let all = node.clients.connected.values
        let replicas = all.filter { $0.flags.isReplica }.count
        return ("Clients", [
            ("connected_clients", "\(all.count - replicas)"), ("cluster_connections", "0"),
            ("maxclients", "\(node.settings.maxClients)"), ("client_recent_max_input_buffer", "0"),
            // The largest `omem` of the clients connected now (Redis keeps a few seconds' peak).
            ("client_recent_max_output_buffer",
             "\(all.map { $0.channel.isWritable ? 0 : node.unsentReplyBytes($0) }.max() ?? 0)"),
            ("blocked_clients", "\(all.filter { $0.flags.isBlocked }.count)"), ("tracking_clients", "\(node.tracking.clientCount)"),
            ("clients_in_timeout_table", "\(all.filter { $0.flags.isBlocked }.count)"),
        ])
    }

    /// The resident set size from /proc (also the memory in use where the allocator reports none).
    static func memoryUsage() -> (used: Int, rss: Int) {
        var rss = 0
        let fd = open("/proc/self/statm", O_RDONLY)
        if fd >= 0 {
            var buffer = [UInt8](repeating: 0, count: 128)
            let count = read(fd, &buffer, 127)
            close(fd)
            if count > 0 {
                let fields = buffer[0..<count].split(separator: UInt8(ascii: " "))
                if fields.count > 1, let pages = Int(String(decoding: fields[1], as: UTF8.self)) {
                    rss = pages * Int(sysconf(Int32(_SC_PAGESIZE)))
                }
            }
        }
        return (rss, rss)
    }

    private static func human(_ bytes: Int) -> String {
        let value = Double(bytes)
        if bytes < 1024 { return "\(bytes)B" }
        if bytes < 1024 * 1024 { return format(value / 1024) + "K" }
        if bytes < 1024 * 1024 * 1024 { return format(value / 1024 / 1024) + "M" }
        return format(value / 1024 / 1024 / 1024) + "G"
    }

    private static func format(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    private static func memory(_ node: Node) -> Section {
        let used = node.memory.measure()
        let rss = memoryUsage().rss
        let peak = node.memory.peak
        let maxMemory = node.settings.maxMemory
        let ratio = used > 0 ? Double(rss) / Double(used) : 0
        let scripts = node.scripts
        let functions = node.functions
        return ("Memory", [
            ("used_memory", "\(used)"), ("used_memory_human", human(used)), ("used_memory_rss", "\(rss)"),
            ("used_memory_rss_human", human(rss)), ("used_memory_peak", "\(peak)"),
            ("used_memory_peak_human", human(peak)),
            ("used_memory_lua", "\(scripts.memoryBytes)"), ("used_memory_vm_eval", "\(scripts.memoryBytes)"),
            ("used_memory_vm_functions", "\(functions.memoryBytes)"),
            ("used_memory_scripts_eval", "\(scripts.scriptBodyBytes)"),
            ("number_of_cached_scripts", "\(scripts.scripts.count)"),
            ("number_of_functions", "\(functions.libraries.values.reduce(0) { $0 + $1.functions.count })"),
            ("number_of_libraries", "\(functions.libraries.count)"),
            ("used_memory_scripts", "\(scripts.scriptBodyBytes)"), ("maxmemory", "\(maxMemory)"),
            ("maxmemory_human", human(maxMemory)), ("maxmemory_policy", node.settings.maxMemoryPolicy),
            // The node's eviction figure leaves nothing out (see `MemoryState`), where Redis leaves
            // out replica output buffers and the AOF buffer.
            ("mem_not_counted_for_evict", "0"),
            ("mem_fragmentation_ratio", format(ratio)), ("mem_allocator", "libc"),
            ("lazyfree_pending_objects", "0"), ("lazyfreed_objects", "\(node.stats.lazyfreedObjects)"),
        ])
    }

    private static func stats(_ node: Node) -> Section {
        let stats = node.stats
        return ("Stats", [
            ("total_connections_received", "\(stats.connectionsReceived)"),
            ("total_commands_processed", "\(stats.commandsProcessed)"),
            ("instantaneous_ops_per_sec", "0"), ("total_net_input_bytes", "0"), ("total_net_output_bytes", "0"),
            ("rejected_connections", "\(stats.rejectedConnections)"),
            ("sync_full", "\(node.replication.counters.full)"),
            ("sync_partial_ok", "\(node.replication.counters.partialOK)"),
            ("sync_partial_err", "\(node.replication.counters.partialError)"),
            ("expired_keys", "\(stats.expiredKeys)"), ("expired_stale_perc", "0.00"),
            ("expired_time_cap_reached_count", "0"), ("evicted_keys", "\(node.memory.evictedKeys)"),
            ("keyspace_hits", "\(stats.keyspaceHits)"), ("keyspace_misses", "\(stats.keyspaceMisses)"),
            ("pubsub_channels", "\(node.pubsubChannelCount)"), ("pubsub_patterns", "\(node.pubsubPatternCount)"),
            ("latest_fork_usec", "\(node.persistence.latestForkMicroseconds)"), ("total_forks", "\(node.persistence.totalForks)"),
            ("migrate_cached_sockets", "\(node.migrateSockets.count)"),
            ("tracking_total_keys", "\(node.tracking.keys.count)"), ("tracking_total_items", "\(node.tracking.totalItems)"),
            ("tracking_total_prefixes", "\(node.tracking.prefixes.count)"), ("total_error_replies", "\(node.errorReplies.total)"),
            ("total_reads_processed", "0"), ("total_writes_processed", "0"),
        ])
    }

    private static func cpu() -> Section {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        func seconds(_ time: timeval) -> String {
            let micros = Int(time.tv_usec)
            let text = String(micros)
            return "\(time.tv_sec).\(String(repeating: "0", count: max(0, 6 - text.count)))\(text)"
        }
        return ("CPU", [
            ("used_cpu_sys", seconds(usage.ru_stime)), ("used_cpu_user", seconds(usage.ru_utime)),
            ("used_cpu_sys_children", "0.000000"), ("used_cpu_user_children", "0.000000"),
        ])
    }

    private static func keyspace(_ node: Node) -> Section {
        var fields: [(String, String)] = []
        for database in node.keyspace.databases where database.count > 0 {
            fields.append(("db\(database.index)", "keys=\(database.count),expires=\(database.expiresCount),avg_ttl=0"))
        }
        return ("Keyspace", fields)
    }

    private static func commandstats(_ node: Node) -> Section {
        ("Commandstats", node.stats.commandstatsFields(format: format))
    }
}
