import Config
import NIOCore
import RESP

extension SentinelFollower {
    /// Asks the Sentinels (in order) where `group`'s master is and which replicas are healthy, then
    /// checks with the nodes themselves: the master's ROLE must say master, a replica's ROLE must say
    /// connected, and their offsets feed `max_replica_lag` and `read_your_writes`.
    func observe(group index: Int, sentinels: [Endpoint]) async -> GroupObservation {
        let startedAt = NIODeadline.now()
        var observation = await lookThroughSentinels(group: index, sentinels: sentinels)
        observation.startedAt = startedAt
        return observation
    }

    private func lookThroughSentinels(group index: Int, sentinels: [Endpoint]) async -> GroupObservation {
        let name = config.groups[index].name
        var unreachable: [String] = []
        var unknownName = false
        for sentinel in sentinels {
            enum Answer: Sendable {
                case unreachable
                case unknownName
                case master(Endpoint, listed: [RESPValue])
            }
            let answer = await ControlConnection.with(sentinel, on: group, timeout: timeout, auth: config.sentinelAuth, tls: sentinelTLS) {
                connection -> Answer in
                guard let reply = try? await connection.command(["SENTINEL", "GET-MASTER-ADDR-BY-NAME", name], timeout: timeout)
                else { return .unreachable }
                guard let parts = reply.array, parts.count == 2, let host = parts[0].string, let portText = parts[1].string,
                    let master = Endpoint(host: host, portText: portText)
                else { return .unknownName }
                let listed = (try? await connection.command(["SENTINEL", "REPLICAS", name], timeout: timeout))?.array ?? []
                return .master(master, listed: listed)
            }
            switch answer {
            case nil, .unreachable?:
                unreachable.append("\(sentinel)")
            case .unknownName?:
                unknownName = true
            case .master(let master, let listed)?:
                var observation = await checkNodes(
                    master: master, candidates: Self.healthyReplicas(listed), listed: Self.listedReplicas(listed))
                observation.answeredBy = sentinel
                return observation
            }
        }
        if unknownName && unreachable.isEmpty {
            return .failed("no Sentinel knows a master named '\(name)'")
        }
        if unknownName {
            return .failed("no reachable Sentinel knows a master named '\(name)' (unreachable: \(unreachable.joined(separator: ", ")))")
        }
        return .failed("Sentinel unreachable (tried \(unreachable.joined(separator: ", ")))")
    }

    /// Replicas from `SENTINEL REPLICAS` that are not down or disconnected and whose link is not `err`.
    static func healthyReplicas(_ entries: [RESPValue]) -> [Endpoint] {
        entries.compactMap { entry in
            let fields = fields(entry)
            let flags = (fields["flags"] ?? "").split(separator: ",")
            guard !flags.contains("s_down"), !flags.contains("o_down"), !flags.contains("disconnected"),
                fields["master-link-status"] != "err",
                let ip = fields["ip"], let port = fields["port"]
            else { return nil }
            return Endpoint(host: ip, portText: port)
        }
    }

    /// Every replica `SENTINEL REPLICAS` lists, healthy or not.
    static func listedReplicas(_ entries: [RESPValue]) -> [Endpoint] {
        entries.compactMap { entry in
            let fields = fields(entry)
            guard let ip = fields["ip"], let port = fields["port"] else { return nil }
            return Endpoint(host: ip, portText: port)
        }
    }

    /// ROLE on the master (retried briefly: a freshly promoted replica may take a moment), then
    /// ROLE and, when lag in seconds matters, INFO replication on each candidate replica.
    private func checkNodes(master: Endpoint, candidates: [Endpoint], listed: [Endpoint]) async -> GroupObservation {
        var sampledAt = NIODeadline.now()
        var masterOffset: Int?
        var role = "unreachable"
        for attempt in 0..<3 {
            if attempt > 0 { try? await Task.sleep(for: .milliseconds(50)) }
            let start = NIODeadline.now()
            guard let reply = await probe.role(of: master) else { continue }
            sampledAt = start
            role = reply.first?.string ?? "unreachable"
            if role == "master" {
                masterOffset = reply.dropFirst().first?.integer
                break
            }
        }
        if role == "unreachable" {
            // Sentinel's master is down. If one of its replicas already answers ROLE master, Sentinel has
            // promoted it (in a Sentinel-managed group nothing else sends REPLICAOF NO ONE); that is
            // known about a second before +switch-master. Otherwise keep the master until Sentinel acts.
            if let promoted = await promotedReplica(among: listed) {
                var observation = GroupObservation.failed("")
                observation.master = promoted
                observation.problem = nil
                return observation
            }
            var observation = GroupObservation.failed("master \(master) is unreachable; waiting for Sentinel")
            observation.master = master
            return observation
        }
        guard role == "master" else {
            return .failed("Sentinel names \(master) as master but its ROLE is \(role)")
        }
        let (replicas, samples) = await probe.syncedReplicas(candidates, master: master)
        return GroupObservation(
            master: master, problem: nil, replicas: replicas, sampledAt: sampledAt, masterOffset: masterOffset,
            replicaOffsets: samples)
    }

    /// The one listed replica whose ROLE says master, if exactly one does.
    private func promotedReplica(among listed: [Endpoint]) async -> Endpoint? {
        var masters: [Endpoint] = []
        for replica in listed {
            if await probe.role(of: replica)?.first?.string == "master" { masters.append(replica) }
        }
        return masters.count == 1 ? masters[0] : nil
    }
}
