import CMallocInfo

/// MEMORY STATS, DOCTOR, MALLOC-STATS and PURGE (MEMORY USAGE is `MemoryUsage`, HELP is in
/// `StandaloneCommands`).
///
/// The figures come from what the node measures: the C allocator's bytes in use (as INFO's
/// `used_memory`), the process's RSS, and the sizes of the structures the node keeps beside the
/// data. The allocator is glibc's, not jemalloc, so it has no active/resident split: its three
/// `allocator.*` figures are the bytes in use, the same again, and the RSS.
enum MemoryCommands {
    static var all: [(String, CommandHandler)] {[
        ("memory|stats", .init(stats)), ("memory|doctor", .init(doctor)), ("memory|malloc-stats", .init(mallocStats)),
        ("memory|purge", .init(purge)),
    ]}

    /// What the node's memory goes to, measured once for a MEMORY STATS or DOCTOR reply.
    struct Overview {
        var peak = 0
        var total = 0
        var startup = 0
        var backlog = 0
        var replicaClients = 0
        var normalClients = 0
        var scripts = 0
        var functions = 0
        /// (database, key table bytes, expiry queue bytes) of each database holding keys.
        var databases: [(index: Int, main: Int, expires: Int)] = []
        var keys = 0
        var rss = 0

        var overhead: Int {
            startup + backlog + replicaClients + normalClients + scripts + functions
                + databases.reduce(0) { $0 + $1.main + $1.expires }
        }
        /// What the node uses beyond what it started with.
        var net: Int { max(0, total - startup) }
        var dataset: Int { max(0, total - overhead) }

        init(_ node: Node) {
            total = node.memory.measure()
            peak = max(node.memory.peak, total)
            startup = node.memory.startup
            backlog = node.replication.backlog?.historyLength ?? 0
            for client in node.clients.connected.values {
                let buffers = node.unsentReplyBytes(client) + client.pendingInputBytes
                if client.flags.isReplica { replicaClients += buffers } else { normalClients += buffers }
            }
            scripts = node.scripts.scriptBodyBytes
            functions = node.functions.libraries.values.reduce(0) { $0 + $1.code.count }
            for database in node.keyspace.databases where database.count > 0 {
                databases.append((database.index, database.tableBytes, database.expiryQueueBytes))
                keys += database.count
            }
            rss = NodeInfo.memoryUsage().rss
        }
    }

    /// One figure of MEMORY STATS: bytes or a count (an integer), a ratio or a percentage (a
    /// double), or a database's map of its table overheads.
    enum Figure {
        case integer(Int)
        case double(Double)
        case database(main: Int, expires: Int)
    }

    /// MEMORY STATS's fields in Redis's order.
    static func figures(_ memory: Overview) -> [(String, Figure)] {
        func ratio(_ a: Int, _ b: Int) -> Figure { .double(b > 0 ? Double(a) / Double(b) : 0) }
        func percentage(_ a: Int, _ b: Int) -> Figure { .double(b > 0 ? Double(a) * 100 / Double(b) : 0) }
        let beforeDatabases: [(String, Figure)] = [
            ("peak.allocated", .integer(memory.peak)), ("total.allocated", .integer(memory.total)),
            ("startup.allocated", .integer(memory.startup)), ("replication.backlog", .integer(memory.backlog)),
            ("clients.slaves", .integer(memory.replicaClients)), ("clients.normal", .integer(memory.normalClients)),
            ("cluster.links", .integer(0)), ("aof.buffer", .integer(0)),
            ("lua.caches", .integer(memory.scripts)), ("functions.caches", .integer(memory.functions)),
        ]
        let databases = memory.databases.map { ("db.\($0.index)", Figure.database(main: $0.main, expires: $0.expires)) }
        let afterDatabases: [(String, Figure)] = [
            ("overhead.total", .integer(memory.overhead)), ("keys.count", .integer(memory.keys)),
            ("keys.bytes-per-key", .integer(memory.keys > 0 ? memory.net / memory.keys : 0)),
            ("dataset.bytes", .integer(memory.dataset)), ("dataset.percentage", percentage(memory.dataset, memory.net)),
            ("peak.percentage", percentage(memory.total, memory.peak)),
            ("allocator.allocated", .integer(memory.total)), ("allocator.active", .integer(memory.total)),
            ("allocator.resident", .integer(memory.rss)),
            ("allocator-fragmentation.ratio", .double(1)), ("allocator-fragmentation.bytes", .integer(0)),
            ("allocator-rss.ratio", ratio(memory.rss, memory.total)), ("allocator-rss.bytes", .integer(memory.rss - memory.total)),
            ("rss-overhead.ratio", .double(1)), ("rss-overhead.bytes", .integer(0)),
            ("fragmentation", ratio(memory.rss, memory.total)), ("fragmentation.bytes", .integer(memory.rss - memory.total)),
        ]
        return beforeDatabases + databases + afterDatabases
    }

    static func stats(_ call: inout CommandCall) throws(CommandError) {
        let client = call.client
        let figures = figures(Overview(call.node))
        client.mapHeader(figures.count)
        for (name, figure) in figures {
            client.bulk(name)
            switch figure {
            case .integer(let value): client.integer(value)
            case .double(let value): client.double(value)
            case .database(let main, let expires):
                client.mapHeader(3)
                for (field, value) in [("overhead.hashtable.main", main), ("overhead.hashtable.expires", expires),
                                       ("overhead.hashtable.slot-to-keys", 0)] {
                    client.bulk(field)
                    client.integer(value)
                }
            }
        }
    }

    /// A short report of what looks wrong, from the same figures: a peak well above today's use,
    /// RSS far above the bytes in use, or client buffers that hold much of the memory.
    static func doctor(_ call: inout CommandCall) throws(CommandError) {
        let memory = Overview(call.node)
        guard memory.total >= 5 * 1024 * 1024 else {
            return call.client.verbatim(
                "This node uses too little memory (under 5 MB) for its memory report to mean anything. Ask again once it holds some data.\n")
        }
        var findings: [String] = []
        if memory.peak > memory.total * 3 / 2 {
            findings.append("Peak memory: at its peak the node used \(memory.peak) bytes, more than 150% of the \(memory.total) it uses now. The allocator may not have given that memory back to the system (MEMORY PURGE asks it to).")
        }
        if memory.rss > memory.total * 7 / 5 && memory.rss - memory.total > 10 * 1024 * 1024 {
            findings.append("High fragmentation: the process's RSS is \(memory.rss) bytes for \(memory.total) bytes in use. MEMORY PURGE may give some of it back.")
        }
        let clients = max(1, call.node.clients.connected.count)
        if memory.normalClients / clients > 200 * 1024 {
            findings.append("Big client buffers: normal clients hold \(memory.normalClients) bytes of unsent replies and unread requests, over 200 KB each on average: slow readers or big pipelines.")
        }
        if memory.replicaClients > 10 * 1024 * 1024 {
            findings.append("Big replica buffers: replicas hold \(memory.replicaClients) bytes of unsent replication stream: a replica is slow or its link is.")
        }
        guard !findings.isEmpty else {
            return call.client.verbatim("No memory problem found: the figures of MEMORY STATS look healthy.\n")
        }
        call.client.verbatim("The node's memory shows \(findings.count) possible problem(s):\n\n"
            + findings.map { " * \($0)\n" }.joined())
    }

    /// glibc's allocator keeps no statistics in this form (Redis answers the same without jemalloc).
    static func mallocStats(_ call: inout CommandCall) throws(CommandError) {
        call.client.bulk("Stats not supported for the current allocator")
    }

    /// Gives the memory the allocator holds free back to the system (`malloc_trim`).
    static func purge(_ call: inout CommandCall) throws(CommandError) {
        shardgate_release_free_memory()
        call.client.ok()
    }
}
