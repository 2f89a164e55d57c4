import Commands
import Config

/// What `/metrics` shows: every pool's counters, gauges and latency histograms, summed over the
/// event loops' snapshots, in Prometheus's names and conventions (`_total` counters, seconds,
/// bytes). Labels: `pool` everywhere; `category` (Redis's command group: string, hash, ...) on
/// command counts; `group`, `role` and `address` on backends.
enum MetricsReport {
    /// One pool's part: its name, its loops' snapshots, the failovers it has seen.
    struct Pool {
        var name: String
        var snapshots: [LoopSnapshot]
        var masterChanges: Int
    }

    static func render(_ pools: [Pool]) -> String {
        var out = PrometheusText()
        let summed = pools.map { pool -> (name: String, stats: LoopStats, snapshots: [LoopSnapshot]) in
            var stats = LoopStats()
            for snapshot in pool.snapshots { stats.add(snapshot.stats) }
            return (pool.name, stats, pool.snapshots)
        }

        func poolGauge(_ name: String, _ help: String, _ value: (Pool) -> Int) {
            out.family(name, .gauge, help)
            for pool in pools { out.sample(name, [("pool", pool.name)], value(pool)) }
        }
        func poolCounter(_ name: String, _ help: String, _ value: (LoopStats) -> Int) {
            out.family(name, .counter, help)
            for pool in summed { out.sample(name, [("pool", pool.name)], value(pool.stats)) }
        }

        poolGauge("shardgate_client_connections", "Client connections open now.") { pool in
            pool.snapshots.reduce(0) { $0 + $1.connectedClients }
        }
        poolCounter("shardgate_client_connections_received_total", "Client connections accepted.") { $0.connectionsReceived }
        poolCounter("shardgate_client_connections_rejected_total", "Client connections refused (client_connections reached, or shutting down).") {
            $0.rejectedConnections
        }
        out.family("shardgate_client_disconnections_total", .counter, "Client connections closed, by reason.")
        for pool in summed {
            for (reason, value) in [
                ("eof", pool.stats.clientEOF), ("error", pool.stats.clientErrors), ("output_limit", pool.stats.outputLimitDisconnections),
            ] {
                out.sample("shardgate_client_disconnections_total", [("pool", pool.name), ("reason", reason)], value)
            }
        }

        out.family("shardgate_commands_total", .counter, "Requests received, by command category.")
        for pool in summed {
            for (category, value) in byCategory(pool.stats.commandCalls) {
                out.sample("shardgate_commands_total", [("pool", pool.name), ("category", category)], value)
            }
        }
        out.family("shardgate_command_errors_total", .counter, "Requests answered with an error reply, by command category.")
        for pool in summed {
            for (category, value) in byCategory(pool.stats.commandErrors) {
                out.sample("shardgate_command_errors_total", [("pool", pool.name), ("category", category)], value)
            }
        }
        out.family(
            "shardgate_request_duration_seconds", .histogram,
            "From the read that brought a request to its reply leaving for the client.")
        for pool in summed { out.histogram("shardgate_request_duration_seconds", [("pool", pool.name)], pool.stats.requestLatency) }

        poolCounter("shardgate_protocol_errors_total", "Clients closed for invalid RESP.") { $0.protocolErrors }
        poolCounter("shardgate_cross_slot_errors_total", "Multi-key requests refused because their keys live in several groups.") {
            $0.crossSlotErrors
        }
        poolCounter("shardgate_split_commands_total", "Multi-key requests split over groups.") { $0.splitCommands }
        poolCounter("shardgate_fragments_total", "Parts sent to groups for split requests.") { $0.fragments }
        poolCounter("shardgate_server_ejects_total", "Groups taken out by auto_eject_hosts.") { $0.serverEjects }
        out.family("shardgate_master_changes_total", .counter, "Masters replaced by a Sentinel failover, as the proxy saw them.")
        for pool in pools { out.sample("shardgate_master_changes_total", [("pool", pool.name)], pool.masterChanges) }
        poolGauge("shardgate_leased_connections", "Backend connections lent to clients now (blocking commands, WATCH).") { pool in
            pool.snapshots.reduce(0) { $0 + $1.leasedConnections }
        }
        poolGauge("shardgate_pubsub_subscriptions", "Client subscriptions to channels and patterns now.") { pool in
            pool.snapshots.reduce(0) { $0 + $1.subscriptions }
        }

        let backends = pools.map { (name: $0.name, backends: Self.backends(of: $0.snapshots)) }
        func backendFamily(_ name: String, _ kind: PrometheusText.Kind, _ help: String, _ value: (BackendSnapshot) -> Int) {
            out.family(name, kind, help)
            for pool in backends {
                for backend in pool.backends { out.sample(name, backend.labels(pool: pool.name), value(backend)) }
            }
        }
        backendFamily("shardgate_backend_up", .gauge, "1 when the backend takes requests, 0 when it is down or ejected.") {
            $0.available ? 1 : 0
        }
        backendFamily("shardgate_backend_connections", .gauge, "Connections to the backend now.") { $0.stats.connections }
        backendFamily("shardgate_backend_in_flight", .gauge, "Requests sent to the backend and not answered yet.") { $0.inFlight }
        backendFamily("shardgate_backend_requests_total", .counter, "Requests sent to the backend.") { $0.stats.requests }
        backendFamily("shardgate_backend_responses_total", .counter, "Replies received from the backend.") { $0.stats.responses }
        backendFamily("shardgate_backend_error_replies_total", .counter, "Error replies received from the backend.") {
            $0.stats.errorReplies
        }
        backendFamily("shardgate_backend_failed_requests_total", .counter, "Requests that got no reply (backend down, lost or timed out).") {
            $0.stats.errors
        }
        backendFamily("shardgate_backend_timeouts_total", .counter, "Requests that passed the pool's timeout.") { $0.stats.timeouts }
        backendFamily("shardgate_backend_sent_bytes_total", .counter, "Bytes of requests sent to the backend.") { $0.stats.requestBytes }
        backendFamily("shardgate_backend_received_bytes_total", .counter, "Bytes of replies received from the backend.") {
            $0.stats.responseBytes
        }
        backendFamily("shardgate_backend_closed_total", .counter, "Connections the backend closed.") { $0.stats.serverEOF }
        backendFamily("shardgate_backend_connection_errors_total", .counter, "Connections that failed to open, failed, or carried invalid RESP.") {
            $0.stats.serverErrors
        }
        out.family(
            "shardgate_backend_request_duration_seconds", .histogram, "From a request's queueing for the backend to its reply's arrival.")
        for pool in backends {
            for backend in pool.backends {
                out.histogram("shardgate_backend_request_duration_seconds", backend.labels(pool: pool.name), backend.stats.latency)
            }
        }
        return out.text
    }

    /// Per-command counts added up by the command's group; unknown commands last.
    static func byCategory(_ counts: [Int]) -> [(String, Int)] {
        var order: [String] = []
        var totals: [String: Int] = [:]
        let table = CommandTable.redis
        for (id, count) in counts.enumerated() {
            let category = id < table.count ? table[id].group : "unknown"
            if totals[category] == nil { order.append(category) }
            totals[category, default: 0] += count
        }
        return order.map { ($0, totals[$0]!) }
    }

    /// Every backend of a pool, summed over the loops, in group order (master first).
    static func backends(of snapshots: [LoopSnapshot]) -> [BackendSnapshot] {
        snapshots.mergedBackends { "\($0.group)/\($0.role)/\($0.endpoint)" }
    }
}

extension BackendSnapshot {
    /// A backend's labels in `/metrics`.
    func labels(pool: String) -> [(String, String)] {
        [("pool", pool), ("group", group), ("role", role), ("address", "\(endpoint)")]
    }
}
