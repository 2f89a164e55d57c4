import Foundation
import NIOCore
import RedisText

/// The commands a sentinel's port answers (Redis Sentinel's command set).
enum SentinelCommands {
    static let subscribedContext: Set<String> = ["subscribe", "psubscribe", "unsubscribe", "punsubscribe", "ping", "quit", "reset"]

    static func run(_ arguments: [String], client: SentinelClient, clients: ClientRegistry) -> Reply? {
        let sentinel = clients.sentinel
        let name = arguments[0].lowercased()
        let rest = Array(arguments.dropFirst())
        if !client.authenticated && !["auth", "hello", "quit"].contains(name) {
            return .error("NOAUTH Authentication required.")
        }
        if client.subscriptions > 0 && !client.resp3 && !subscribedContext.contains(name) {
            return .error(
                "ERR Can't execute '\(name)': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
        }
        switch name {
        case "ping":
            guard rest.count <= 1 else { return wrongArity(name) }
            if client.subscriptions > 0 && !client.resp3 { return .array([.bulk("pong"), .bulk(rest.first ?? "")]) }
            return rest.first.map(Reply.bulk) ?? .simple("PONG")
        case "echo":
            guard rest.count == 1 else { return wrongArity(name) }
            return .bulk(rest[0])
        case "quit":
            return .ok
        case "auth":
            return auth(rest, client: client, sentinel: sentinel)
        case "hello":
            return hello(rest, client: client, sentinel: sentinel)
        case "info":
            return .bulk(info(sections: rest.map { $0.lowercased() }, clients: clients))
        case "role":
            return .array([.bulk("sentinel"), .array(sentinel.masters.map { .bulk($0.name) })])
        case "client":
            return clientCommand(rest, client: client, clients: clients)
        case "command":
            if rest.first?.lowercased() == "count" { return .integer(commandNames.count) }
            return .array([])
        case "subscribe", "psubscribe":
            guard !rest.isEmpty else { return wrongArity(name) }
            for channel in rest {
                if name == "subscribe" { client.channels.insert(channel) } else { client.patterns.insert(channel) }
                client.send(.push([.bulk(name), .bulk(channel), .integer(client.subscriptions)]))
            }
            return nil
        case "unsubscribe", "punsubscribe":
            let pattern = name == "punsubscribe"
            let targets = rest.isEmpty ? Array(pattern ? client.patterns : client.channels).sorted() : rest
            if targets.isEmpty { return .push([.bulk(name), .null, .integer(client.subscriptions)]) }
            for target in targets {
                if pattern { client.patterns.remove(target) } else { client.channels.remove(target) }
                client.send(.push([.bulk(name), .bulk(target), .integer(client.subscriptions)]))
            }
            return nil
        case "publish":
            guard rest.count == 2 else { return wrongArity(name) }
            guard rest[0] == Sentinel.helloChannel else { return .error("ERR Only HELLO messages are accepted by Sentinel instances.") }
            sentinel.processHello(rest[1])
            return .integer(1)
        case "sentinel":
            guard let sub = rest.first else { return wrongArity(name) }
            return sentinelCommand(sub.lowercased(), Array(rest.dropFirst()), sentinel: sentinel, clients: clients)
        case "shutdown":
            sentinel.flushConfig()
            exit(0)
        case "reset":
            client.channels.removeAll()
            client.patterns.removeAll()
            client.name = ""
            client.resp3 = false
            client.authenticated = sentinel.settings.requirepass == nil
            return .simple("RESET")
        default:
            let shown = rest.prefix(20).map { "'\($0)' " }.joined()
            return .error("ERR unknown command '\(arguments[0])', with args beginning with: \(shown)")
        }
    }

    static let commandNames = [
        "ping", "echo", "quit", "auth", "hello", "info", "role", "client", "command", "subscribe", "psubscribe",
        "unsubscribe", "punsubscribe", "publish", "sentinel", "shutdown", "reset",
    ]

    static func wrongArity(_ name: String) -> Reply {
        .error("ERR wrong number of arguments for '\(name)' command")
    }

    // MARK: - Connection

    private static func auth(_ rest: [String], client: SentinelClient, sentinel: Sentinel) -> Reply {
        guard rest.count == 1 || rest.count == 2 else { return wrongArity("auth") }
        guard let password = sentinel.settings.requirepass else {
            return .error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
        }
        let user = rest.count == 2 ? rest[0] : "default"
        guard user == "default", rest.last == password else {
            return .error("WRONGPASS invalid username-password pair or user is disabled.")
        }
        client.authenticated = true
        return .ok
    }

    private static func hello(_ rest: [String], client: SentinelClient, sentinel: Sentinel) -> Reply {
        var index = 0
        var resp3 = client.resp3
        if let version = rest.first {
            guard let number = Int(version) else { return .error("ERR Protocol version is not an integer or out of range") }
            guard number == 2 || number == 3 else { return .error("NOPROTO unsupported protocol version") }
            resp3 = number == 3
            index = 1
        }
        while index < rest.count {
            switch rest[index].lowercased() {
            case "auth" where index + 2 < rest.count:
                if case .error(let text) = auth([rest[index + 1], rest[index + 2]], client: client, sentinel: sentinel) {
                    return .error(text)
                }
                index += 3
            case "setname" where index + 1 < rest.count:
                client.name = rest[index + 1]
                index += 2
            default:
                return .error("ERR Syntax error in HELLO option '\(rest[index])'")
            }
        }
        guard client.authenticated else { return .error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time") }
        client.resp3 = resp3
        return .map([
            (.bulk("server"), .bulk("redis")), (.bulk("version"), .bulk(serverVersion)), (.bulk("proto"), .integer(resp3 ? 3 : 2)),
            (.bulk("id"), .integer(client.id)), (.bulk("mode"), .bulk("sentinel")), (.bulk("role"), .bulk("sentinel")),
            (.bulk("modules"), .array([])),
        ])
    }

    static let serverVersion = "7.0.15"

    private static func clientCommand(_ rest: [String], client: SentinelClient, clients: ClientRegistry) -> Reply {
        guard let sub = rest.first?.lowercased() else { return wrongArity("client") }
        switch sub {
        case "setname":
            guard rest.count == 2 else { return wrongArity("client|setname") }
            guard !rest[1].contains(" ") else { return .error("ERR Client names cannot contain spaces, newlines or special characters.") }
            client.name = rest[1]
            return .ok
        case "getname":
            return client.name.isEmpty ? .null : .bulk(client.name)
        case "id":
            return .integer(client.id)
        case "list", "info":
            let listed = sub == "info" ? [client] : clients.all
            let lines = listed.map { other -> String in
                let address = other.channel.remoteAddress.map { "\($0.ipAddress ?? ""):\($0.port ?? 0)" } ?? ""
                return "id=\(other.id) addr=\(address) name=\(other.name) sub=\(other.channels.count) psub=\(other.patterns.count) cmd=client\n"
            }
            return .bulk(lines.joined())
        case "kill":
            // CLIENT KILL <ip:port> | ID <id> | ADDR <ip:port>
            if rest.count == 2 {
                let killed = clients.kill { other in
                    other.channel.remoteAddress.map { "\($0.ipAddress ?? ""):\($0.port ?? 0)" } == rest[1]
                }
                return killed > 0 ? .ok : .error("ERR No such client")
            }
            guard rest.count == 3 else { return .error("ERR syntax error") }
            let value = rest[2]
            switch rest[1].lowercased() {
            case "id": return .integer(clients.kill { "\($0.id)" == value })
            case "addr": return .integer(clients.kill { $0.channel.remoteAddress.map { "\($0.ipAddress ?? ""):\($0.port ?? 0)" } == value })
            case "type": return .integer(clients.kill { $0 !== client && (value.lowercased() == "pubsub") == ($0.subscriptions > 0) })
            default: return .error("ERR syntax error")
            }
        case "reply", "no-evict", "no-touch":
            return .ok
        default:
            return .error("ERR unknown subcommand '\(rest[0])'. Try CLIENT HELP.")
        }
    }

    // MARK: - INFO

    static func info(section: String, clients: ClientRegistry) -> String {
        info(sections: [section], clients: clients)
    }

    /// INFO's sections in a sentinel: server, clients, cpu, stats and sentinel (`default`, `all`
    /// and `everything` are all five).
    static func info(sections requested: [String], clients: ClientRegistry) -> String {
        let sentinel = clients.sentinel
        var sections: [String] = []
        let wanted = Set(requested.isEmpty ? ["default"] : requested)
        let all = !wanted.isDisjoint(with: ["all", "everything", "default"])
        if all || wanted.contains("server") {
            sections.append(
                [
                    "# Server", "redis_version:\(serverVersion)", "redis_mode:sentinel", "shardgate_sentinel:1",
                    "os:\(ProcessInfo.processInfo.operatingSystemVersionString)", "process_id:\(getpid())",
                    "run_id:\(sentinel.myID)", "tcp_port:\(sentinel.settings.port)",
                    "uptime_in_seconds:\((SentinelClock.now - sentinel.startedAt) / 1000)",
                    "config_file:\(sentinel.configPath.map { URL(fileURLWithPath: $0).standardizedFileURL.path } ?? "")",
                ].joined(separator: "\r\n"))
        }
        if all || wanted.contains("clients") {
            sections.append("# Clients\r\nconnected_clients:\(clients.all.count)\r\nmaxclients:10000")
        }
        if all || wanted.contains("cpu") {
            var usage = rusage()
            #if os(Linux)
            getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
            #else
            getrusage(RUSAGE_SELF, &usage)
            #endif
            func seconds(_ time: timeval) -> String { String(format: "%.6f", Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000) }
            sections.append("# CPU\r\nused_cpu_sys:\(seconds(usage.ru_stime))\r\nused_cpu_user:\(seconds(usage.ru_utime))")
        }
        if all || wanted.contains("stats") {
            sections.append("# Stats\r\ntotal_connections_received:\(clients.connectionsReceived)")
        }
        let section = all ? "sentinel" : (wanted.contains("sentinel") ? "sentinel" : "")
        if section == "sentinel" {
            var lines = [
                "# Sentinel", "sentinel_masters:\(sentinel.masters.count)", "sentinel_tilt:\(sentinel.tiltSince == nil ? 0 : 1)",
                "sentinel_tilt_since_seconds:\(sentinel.tiltSince.map { (SentinelClock.now - $0) / 1000 } ?? -1)",
                "sentinel_running_scripts:0", "sentinel_scripts_queue_length:0",
                "sentinel_simulate_failure_flags:\((sentinel.simulateCrashAfterElection ? 1 : 0) | (sentinel.simulateCrashAfterPromotion ? 2 : 0))",
            ]
            for (index, master) in sentinel.masters.enumerated() {
                let status = master.objectivelyDown ? "odown" : master.subjectivelyDown ? "sdown" : "ok"
                lines.append(
                    "master\(index):name=\(master.name),status=\(status),address=\(master.host):\(master.port),"
                        + "slaves=\(master.replicas.count),sentinels=\(master.sentinels.count + 1)")
            }
            sections.append(lines.joined(separator: "\r\n"))
        }
        return sections.map { $0 + "\r\n" }.joined(separator: "\r\n")
    }

    // MARK: - SENTINEL

    private static func sentinelCommand(_ sub: String, _ rest: [String], sentinel: Sentinel, clients: ClientRegistry) -> Reply {
        func named(_ name: String) -> Instance? { sentinel.master(named: name) }
        let noSuchMaster = Reply.error("ERR No such master with that name")
        switch sub {
        case "masters":
            return .array(sentinel.masters.map { describe($0, sentinel) })
        case "master":
            guard rest.count == 1 else { return wrongArity("sentinel|master") }
            return named(rest[0]).map { describe($0, sentinel) } ?? noSuchMaster
        case "replicas", "slaves":
            guard rest.count == 1 else { return wrongArity("sentinel|\(sub)") }
            guard let master = named(rest[0]) else { return noSuchMaster }
            // Replicas configured with replica-announced no are left out, as in Redis.
            return .array(master.replicas.filter(\.replicaAnnounced).map { describe($0, sentinel) })
        case "sentinels":
            guard rest.count == 1 else { return wrongArity("sentinel|sentinels") }
            guard let master = named(rest[0]) else { return noSuchMaster }
            return .array(master.sentinels.map { describe($0, sentinel) })
        case "get-master-addr-by-name":
            guard rest.count == 1 else { return wrongArity("sentinel|get-master-addr-by-name") }
            guard let master = named(rest[0]) else { return .nullArray }
            let address = sentinel.currentAddress(of: master)
            let promoted = master.promotedReplica.flatMap { $0.host == address.host && $0.port == address.port ? $0 : nil }
            let host = (promoted ?? master).announcedHost(hostnames: sentinel.settings.announceHostnames)
            return .array([.bulk(host), .bulk("\(address.port)")])
        case "is-master-down-by-addr":
            guard rest.count == 4 else { return wrongArity("sentinel|is-master-down-by-addr") }
            guard let port = Int(rest[1]), let epoch = UInt64(rest[2]) else { return .error("ERR value is not an integer or out of range") }
            let master = sentinel.masters.first { $0.host == rest[0] && $0.port == port }
            let down = master?.subjectivelyDown == true && sentinel.tiltSince == nil
            var leader: String?
            var leaderEpoch: UInt64 = 0
            if let master, rest[3] != "*" {
                (leader, leaderEpoch) = sentinel.voteLeader(master, epoch: epoch, runID: rest[3])
            }
            return .array([.integer(down ? 1 : 0), .bulk(leader ?? "*"), .integer(Int(leaderEpoch))])
        case "reset":
            guard rest.count == 1 else { return wrongArity("sentinel|reset") }
            var count = 0
            for master in sentinel.masters where GlobMatch.matches(rest[0], master.name) {
                sentinel.reset(master, keepSentinels: false)
                sentinel.event("+reset-master", master)
                count += 1
            }
            sentinel.flushConfig()
            return .integer(count)
        case "failover":
            guard rest.count == 1 else { return wrongArity("sentinel|failover") }
            guard let master = named(rest[0]) else { return noSuchMaster }
            if master.failoverInProgress { return .error("INPROG Failover already in progress") }
            guard sentinel.selectReplica(master) != nil else { return .error("NOGOODSLAVE No suitable replica to promote") }
            sentinel.logger.warning("Executing user requested FAILOVER of '\(master.name)'")
            sentinel.startFailover(master)
            master.forceFailover = true
            return .ok
        case "ckquorum":
            guard rest.count == 1 else { return wrongArity("sentinel|ckquorum") }
            guard let master = named(rest[0]) else { return noSuchMaster }
            let usable = 1 + master.sentinels.filter { !$0.subjectivelyDown && !$0.objectivelyDown }.count
            let voters = master.sentinels.count + 1
            if usable < master.quorum {
                return .error("NOQUORUM \(usable) usable Sentinels. Not enough available Sentinels to reach the specified quorum for this master")
            }
            if usable < voters / 2 + 1 {
                return .error("NOQUORUM \(usable) usable Sentinels. Not enough available Sentinels to reach the majority and authorize a failover")
            }
            return .simple("OK \(usable) usable Sentinels. Quorum and failover authorization can be reached")
        case "monitor":
            guard rest.count == 4 else { return wrongArity("sentinel|monitor") }
            guard let port = Int(rest[2]), (1...65535).contains(port) else { return .error("ERR Invalid port number") }
            guard let quorum = Int(rest[3]), quorum > 0 else { return .error("ERR Quorum must be 1 or greater.") }
            guard named(rest[0]) == nil else { return .error("ERR Duplicated master name") }
            guard SentinelSettings.validName(rest[0]) else { return .error("ERR Invalid master name") }
            var settings = MasterSettings(name: rest[0], host: rest[1], port: port, quorum: quorum)
            settings.downAfterMilliseconds = sentinel.defaultDownAfter
            settings.failoverTimeoutMilliseconds = sentinel.defaultFailoverTimeout
            let master = sentinel.addMaster(settings)
            sentinel.flushConfig()
            sentinel.event("+monitor", master, " quorum \(quorum)")
            return .ok
        case "remove":
            guard rest.count == 1 else { return wrongArity("sentinel|remove") }
            guard let master = named(rest[0]) else { return noSuchMaster }
            sentinel.event("-monitor", master)
            sentinel.removeMaster(master)
            sentinel.flushConfig()
            return .ok
        case "set":
            return set(rest, sentinel: sentinel)
        case "myid":
            return .bulk(sentinel.myID)
        case "flushconfig":
            sentinel.flushConfig()
            return .ok
        case "config":
            return config(rest, sentinel: sentinel)
        case "info-cache":
            let wanted = rest.isEmpty ? sentinel.masters : rest.compactMap(named)
            var items: [Reply] = []
            for master in wanted {
                let now = SentinelClock.now
                var entries: [Reply] = []
                for instance in [master] + master.replicas {
                    if let cached = instance.infoCache {
                        entries.append(.array([.integer(Int(now - cached.at)), .bulk(cached.text)]))
                    } else {
                        entries.append(.null)
                    }
                }
                items.append(.bulk(master.name))
                items.append(.array(entries))
            }
            return .array(items)
        case "simulate-failure":
            for option in rest {
                switch option.lowercased() {
                case "crash-after-election": sentinel.simulateCrashAfterElection = true
                case "crash-after-promotion": sentinel.simulateCrashAfterPromotion = true
                case "help":
                    return .array([.bulk("crash-after-election"), .bulk("crash-after-promotion")])
                default: return .error("ERR Unknown failure simulation specified")
                }
            }
            return .ok
        case "debug":
            // SENTINEL DEBUG [<parameter> <milliseconds> ...]: the timing constants, for tests.
            let parameters: [(String, ReferenceWritableKeyPath<Sentinel, Int64>)] = [
                ("info-period", \.infoPeriod), ("ping-period", \.pingPeriod), ("ask-period", \.askPeriod),
                ("publish-period", \.publishPeriod), ("tilt-trigger", \.tiltTrigger), ("tilt-period", \.tiltPeriod),
                ("slave-reconf-timeout", \.replicaReconfTimeout), ("min-link-reconnect-period", \.minLinkReconnectPeriod),
                ("election-timeout", \.electionTimeout), ("default-down-after", \.defaultDownAfter),
                ("default-failover-timeout", \.defaultFailoverTimeout), ("script-max-runtime", \.scriptMaxRuntime),
                ("script-retry-delay", \.scriptRetryDelay),
            ]
            if rest.isEmpty {
                return .fields(parameters.map { ($0.0.uppercased(), "\(sentinel[keyPath: $0.1])") })
            }
            guard rest.count % 2 == 0 else { return wrongArity("sentinel|debug") }
            var index = 0
            while index + 1 < rest.count {
                guard let parameter = parameters.first(where: { $0.0 == rest[index].lowercased() }) else {
                    return .error("ERR Unknown option or number of arguments for SENTINEL DEBUG '\(rest[index])'")
                }
                guard let value = Int64(rest[index + 1]), value > 0 else {
                    return .error("ERR Invalid argument '\(rest[index + 1])' for SENTINEL DEBUG '\(rest[index])'")
                }
                sentinel[keyPath: parameter.1] = value
                index += 2
            }
            return .ok
        case "pending-scripts":
            return .array([])
        case "help":
            return .array(
                [
                    "MASTERS", "MASTER <name>", "REPLICAS <name>", "SENTINELS <name>", "GET-MASTER-ADDR-BY-NAME <name>",
                    "IS-MASTER-DOWN-BY-ADDR <ip> <port> <epoch> <runid>", "RESET <pattern>", "FAILOVER <name>",
                    "CKQUORUM <name>", "MONITOR <name> <ip> <port> <quorum>", "REMOVE <name>", "SET <name> <option> <value>",
                    "MYID", "FLUSHCONFIG", "CONFIG GET|SET ...", "INFO-CACHE [<name> ...]", "SIMULATE-FAILURE <flag>",
                ].map(Reply.bulk))
        default:
            return .error("ERR unknown subcommand '\(sub)'. Try SENTINEL HELP.")
        }
    }

    private static func set(_ rest: [String], sentinel: Sentinel) -> Reply {
        guard rest.count >= 3 else { return wrongArity("sentinel|set") }
        guard let master = sentinel.master(named: rest[0]) else { return .error("ERR No such master with that name") }
        var index = 1
        while index + 1 < rest.count {
            let (option, value) = (rest[index].lowercased(), rest[index + 1])
            func invalid() -> Reply { .error("ERR Invalid argument '\(value)' for SENTINEL SET '\(option)'") }
            if option == "rename-command" {
                // rename-command <command> <renamed>: how this master and its replicas call it.
                guard index + 2 < rest.count else { return .error("ERR Unknown option or number of arguments for SENTINEL SET 'rename-command'") }
                let (command, renamed) = (value.uppercased(), rest[index + 2])
                if command == renamed.uppercased() { master.renamedCommands[command] = nil } else { master.renamedCommands[command] = renamed }
                sentinel.event("+set", master, " rename-command \(value) \(renamed)")
                index += 3
                continue
            }
            switch option {
            case "master-reboot-down-after-period":
                guard let number = Int64(value), number >= 0 else { return invalid() }
                master.masterRebootDownAfter = number
            case "down-after-milliseconds":
                guard let number = Int64(value), number > 0 else { return invalid() }
                master.downAfterMilliseconds = number
                for instance in master.replicas + master.sentinels { instance.downAfterMilliseconds = number }
            case "failover-timeout":
                guard let number = Int64(value), number > 0 else { return invalid() }
                master.failoverTimeoutMilliseconds = number
            case "parallel-syncs":
                guard let number = Int(value), number > 0 else { return invalid() }
                master.parallelSyncs = number
            case "quorum":
                guard let number = Int(value), number > 0 else { return invalid() }
                master.quorum = number
            case "notification-script", "client-reconfig-script":
                // Kept and written to the config file; shardgate sentinel does not run scripts.
                guard !sentinel.settings.denyScriptsReconfig else {
                    return .error("ERR Reconfiguration of scripts path is denied for security reasons. Check the deny-scripts-reconfig configuration directive in your config file for more info.")
                }
                if !value.isEmpty && access(value, X_OK) != 0 {
                    return .error(option == "notification-script"
                        ? "ERR Notification script seems non existing or non executable"
                        : "ERR Client reconfiguration script seems non existing or non executable")
                }
                if option == "notification-script" { master.notificationScript = value.isEmpty ? nil : value } else {
                    master.clientReconfigScript = value.isEmpty ? nil : value
                }
            case "auth-pass":
                master.authPass = value.isEmpty ? nil : value
                sentinel.dropConnections(master)
            case "auth-user":
                master.authUser = value.isEmpty ? nil : value
                sentinel.dropConnections(master)
            default:
                return .error("ERR Unknown option or number of arguments for SENTINEL SET '\(option)'")
            }
            sentinel.event("+set", master, " \(option) \(value)")
            index += 2
        }
        guard sentinel.flushConfig() else { return .error("ERR Failed to save config file. Check server logs.") }
        return .ok
    }

    private static func config(_ rest: [String], sentinel: Sentinel) -> Reply {
        guard let action = rest.first?.lowercased() else { return wrongArity("sentinel|config") }
        let settings = sentinel.settings
        let values: [(String, String)] = [
            ("resolve-hostnames", settings.resolveHostnames ? "yes" : "no"),
            ("announce-hostnames", settings.announceHostnames ? "yes" : "no"),
            ("announce-ip", settings.announceIP ?? ""), ("announce-port", "\(settings.announcePort)"),
            ("sentinel-user", settings.sentinelUser ?? ""), ("sentinel-pass", settings.sentinelPass ?? ""),
        ]
        switch action {
        case "get":
            guard rest.count == 2 else { return wrongArity("sentinel|config|get") }
            return .fields(values.filter { GlobMatch.matches(rest[1].lowercased(), $0.0) })
        case "set":
            guard rest.count >= 3, rest.count % 2 == 1 else { return wrongArity("sentinel|config|set") }
            var updated = settings
            var index = 1
            while index + 1 < rest.count {
                let (option, value) = (rest[index].lowercased(), rest[index + 1])
                switch option {
                case "resolve-hostnames", "announce-hostnames":
                    guard let flag = SentinelSettings.yesNo(value) else { return .error("ERR Invalid value for '\(option)'") }
                    if option == "resolve-hostnames" { updated.resolveHostnames = flag } else { updated.announceHostnames = flag }
                case "announce-ip": updated.announceIP = value.isEmpty ? nil : value
                case "announce-port":
                    guard let port = Int(value), (0...65535).contains(port) else { return .error("ERR Invalid value for '\(option)'") }
                    updated.announcePort = port
                case "sentinel-user": updated.sentinelUser = value.isEmpty ? nil : value
                case "sentinel-pass": updated.sentinelPass = value.isEmpty ? nil : value
                default: return .error("ERR Invalid argument '\(option)' to SENTINEL CONFIG SET")
                }
                index += 2
            }
            sentinel.settings = updated
            sentinel.flushConfig()
            return .ok
        default:
            return .error("ERR Only SENTINEL CONFIG GET <option> / SET <option> <value> are supported.")
        }
    }

    /// One instance as `SENTINEL MASTER/REPLICAS/SENTINELS` show it (Redis's field names and order).
    private static func describe(_ instance: Instance, _ sentinel: Sentinel) -> Reply {
        let now = SentinelClock.now
        func since(_ time: Int64) -> String { time == 0 ? "0" : "\(now - time)" }
        var fields: [(String, String)] = [
            ("name", instance.name), ("ip", instance.announcedHost(hostnames: sentinel.settings.announceHostnames)),
            ("port", "\(instance.port)"), ("runid", instance.runID ?? ""),
            ("flags", instance.flagsDescription), ("link-pending-commands", "\(instance.commands.pending)"),
            ("link-refcount", "1"), ("last-ping-sent", instance.pingSentAt == 0 ? "0" : since(instance.pingSentAt)),
            ("last-ok-ping-reply", since(instance.lastValidPongAt)), ("last-ping-reply", since(instance.lastPongAt)),
        ]
        if instance.subjectivelyDown { fields.append(("s-down-time", since(instance.subjectivelyDownSince))) }
        if instance.objectivelyDown { fields.append(("o-down-time", since(instance.objectivelyDownSince))) }
        fields.append(("down-after-milliseconds", "\(instance.downAfterMilliseconds)"))
        switch instance.kind {
        case .master:
            fields += [
                ("info-refresh", since(instance.infoRefreshedAt)), ("role-reported", instance.roleReported.rawValue),
                ("role-reported-time", since(instance.roleReportedAt)), ("config-epoch", "\(instance.configEpoch)"),
                ("num-slaves", "\(instance.replicas.count)"), ("num-other-sentinels", "\(instance.sentinels.count)"),
                ("quorum", "\(instance.quorum)"), ("failover-timeout", "\(instance.failoverTimeoutMilliseconds)"),
                ("parallel-syncs", "\(instance.parallelSyncs)"),
            ]
            if instance.failoverInProgress { fields.append(("failover-state", instance.failoverState.rawValue)) }
        case .slave:
            fields += [
                ("info-refresh", since(instance.infoRefreshedAt)), ("role-reported", instance.roleReported.rawValue),
                ("role-reported-time", since(instance.roleReportedAt)),
                ("master-link-down-time", "\(instance.masterLinkDownMilliseconds)"),
                ("master-link-status", instance.masterLinkUp ? "ok" : "err"), ("master-host", instance.reportedMasterHost ?? "?"),
                ("master-port", "\(instance.reportedMasterPort)"), ("slave-priority", "\(instance.priority)"),
                ("slave-repl-offset", "\(instance.replicationOffset)"), ("replica-announced", instance.replicaAnnounced ? "1" : "0"),
            ]
        case .sentinel:
            fields += [
                ("last-hello-message", since(instance.lastHelloAt)), ("voted-leader", instance.leader ?? "?"),
                ("voted-leader-epoch", "\(instance.leaderEpoch)"),
            ]
        }
        return .fields(fields)
    }
}
