import Config
import NIOCore

extension PoolLoop {
    /// A reload on this loop: new requests use `new` from here on, without closing any client.
    ///
    /// A server that left the config, or every server when the settings its connections were made
    /// with changed (`server_connections`, backend `auth`, `tcpkeepalive`, `backend_tls`), gets a new backend set;
    /// the old one takes no new requests and closes once its replies in flight have arrived. The
    /// groups themselves (names, order) and the settings `PoolReloadCheck.restartOnlyChanges`
    /// lists are the same, so the clients' per-group state stays valid.
    func reload(to new: PoolRuntime) {
        let old = runtime
        runtime = new
        routes = new.config.routes
        // Ejected groups get a fresh start under the new map (auto_eject_hosts may be off now).
        ejection = new.config.autoEjectHosts ? Ejection(groupCount: new.config.groups.count) : nil
        shardMap = new.shardMap
        leases.limit = new.config.leasedConnections
        users = ProxyUsers(lines: new.config.users, password: new.config.password)
        // As after ACL SETUSER, clients run under their user's new rules; as after ACL DELUSER, the
        // clients of a user that is gone are closed.
        for session in sessions.values {
            if session.machine.usersReloaded(users) { session.authenticationChanged() } else { session.kill() }
        }

        let reconnectAll =
            old.config.serverConnections != new.config.serverConnections || old.config.auth != new.config.auth
            || old.config.tcpKeepalive != new.config.tcpKeepalive || old.config.backendTLS != new.config.backendTLS
        for (index, backends) in groups.enumerated() {
            let group = new.config.groups[index]
            // Sentinel pools: the servers are Sentinel's; only their connections may need remaking.
            let master = new.config.usesSentinel ? backends.master?.endpoint : group.master
            if let current = backends.master, reconnectAll || current.endpoint != master {
                backends.master = master.map { makeBackendSet($0, role: "master", group: index) }
                current.retireAfterInFlight()
                pubSub.masterChanged(group: index)
                leases.masterChanged(group: index)
            } else if backends.master == nil, !new.config.usesSentinel, let master {
                backends.master = makeBackendSet(master, role: "master", group: index)
            }
            let replicas: [Endpoint]
            if new.config.usesSentinel {
                replicas = backends.replicas.map(\.endpoint)
            } else if ReplicaWatcher.isNeeded(for: new.config) {
                // Only replicas the watcher found in sync serve reads: a new one joins once it has.
                replicas = backends.replicas.map(\.endpoint).filter(group.replicas.contains)
            } else {
                replicas = group.replicas
            }
            var kept: [BackendSet] = []
            for endpoint in replicas {
                if !reconnectAll, let existing = backends.replicas.first(where: { $0.endpoint == endpoint }) {
                    kept.append(existing)
                } else {
                    let set = makeBackendSet(endpoint, role: "replica", group: index)
                    // A Sentinel pool's replica stays as caught up as its follower last saw it.
                    set.caughtUpThrough = backends.replicas.first { $0.endpoint == endpoint }?.caughtUpThrough ?? .distantPast
                    kept.append(set)
                }
            }
            for replaced in backends.replicas where !kept.contains(where: { $0 === replaced }) {
                replaced.retireAfterInFlight()
            }
            backends.replicas = kept
        }
        if new.config.preconnect {
            for set in allBackendSets { set.connectAll() }
        }
        if new.config.clientTimeoutSeconds > 0 { scheduleIdleCheck() }
    }
}
