import Foundation
import Logging
import NIOCore
import RESP

/// The sentinel's whole state and its periodic work: monitoring, hello messages, down detection,
/// leader election and the failover state machine. Like Redis's, it runs on one thread: every
/// method is called on `loop` (the timer, link callbacks, client commands).
final class Sentinel: @unchecked Sendable {
    var pingPeriod: Int64 = 1000
    var infoPeriod: Int64 = 10_000
    var askPeriod: Int64 = 1000
    var publishPeriod: Int64 = 2000
    var electionTimeout: Int64 = 10_000
    var replicaReconfTimeout: Int64 = 10_000
    var minLinkReconnectPeriod: Int64 = 15_000
    static let askForgetTime: Int64 = 5000
    static let maxDesync = 1000
    static let helloChannel = "__sentinel__:hello"

    let loop: any EventLoop
    let logger: Logger
    var settings: SentinelSettings
    let configPath: String?
    var myID: String
    var currentEpoch: UInt64
    var masters: [Instance] = []
    /// Publishes an event to the sentinel's own pub/sub clients.
    var publish: (_ channel: String, _ message: String) -> Void = { _, _ in }
    var simulateCrashAfterElection = false
    var simulateCrashAfterPromotion = false
    private var timer: RepeatedTask?

    init(settings: SentinelSettings, configPath: String?, loop: any EventLoop, logger: Logger) {
        self.settings = settings
        self.configPath = configPath
        self.loop = loop
        self.logger = logger
        myID = settings.myID ?? Self.randomID()
        currentEpoch = settings.currentEpoch
        for master in settings.masters { _ = addMaster(master) }
    }

    static func randomID() -> String {
        let digits = Array("0123456789abcdef")
        return String((0..<40).map { _ in digits[Int.random(in: 0..<16)] })
    }

    func start() {
        flushConfig()
        timer = loop.scheduleRepeatedTask(initialDelay: .milliseconds(10), delay: .milliseconds(100)) { [self] _ in tick() }
    }

    func stop() {
        timer?.cancel()
        for master in masters { closeAll(master) }
    }

    private func closeAll(_ master: Instance) {
        master.closeLinks()
        for instance in master.replicas + master.sentinels { instance.closeLinks() }
    }

    // MARK: - Masters

    @discardableResult
    func addMaster(_ config: MasterSettings) -> Instance {
        let master = Instance(kind: .master, name: config.name, host: config.host, port: config.port, master: nil)
        master.quorum = config.quorum
        master.downAfterMilliseconds = config.downAfterMilliseconds
        master.failoverTimeoutMilliseconds = config.failoverTimeoutMilliseconds
        master.parallelSyncs = config.parallelSyncs
        master.authPass = config.authPass
        master.authUser = config.authUser
        master.notificationScript = config.notificationScript
        master.renamedCommands = config.renamedCommands
        master.masterRebootDownAfter = config.masterRebootDownAfter
        master.clientReconfigScript = config.clientReconfigScript
        master.configEpoch = config.configEpoch
        master.leaderEpoch = config.leaderEpoch
        masters.append(master)
        for replica in config.knownReplicas { addReplica(to: master, host: replica.host, port: replica.port) }
        for known in config.knownSentinels where known.runID != myID {
            let sentinel = Instance(kind: .sentinel, name: known.runID, host: known.host, port: known.port, master: master)
            sentinel.runID = known.runID
            master.sentinels.append(sentinel)
        }
        return master
    }

    func master(named name: String) -> Instance? { masters.first { $0.name == name } }

    /// Closes the links of a master and its replicas, so they log in again (new credentials).
    func dropConnections(_ master: Instance) {
        for instance in [master] + master.replicas {
            instance.commands.close()
            instance.pubsub.close()
            instance.lastReconnectAttempt = 0
        }
    }

    func removeMaster(_ master: Instance) {
        closeAll(master)
        masters.removeAll { $0 === master }
    }

    @discardableResult
    func addReplica(to master: Instance, host: String, port: Int) -> Instance {
        if let existing = master.replicas.first(where: { $0.host == host && $0.port == port }) { return existing }
        let replica = Instance(kind: .slave, name: "\(host):\(port)", host: host, port: port, master: master)
        replica.commands.renamed = master.renamedCommands
        replica.pubsub.renamed = master.renamedCommands
        master.replicas.append(replica)
        return replica
    }

    /// The address clients should use for `master`: the promoted replica's once it has become
    /// master during a failover.
    func currentAddress(of master: Instance) -> (host: String, port: Int) {
        if master.failoverInProgress, let promoted = master.promotedReplica,
            master.failoverState == .reconfSlaves || master.failoverState == .updateConfig
        {
            return (promoted.host, promoted.port)
        }
        return (master.host, master.port)
    }

    // MARK: - Events and config

    /// Logs and publishes an event: `<type> <name> <ip> <port> [@ <master> <ip> <port>]` and extra text.
    func event(_ type: String, _ instance: Instance, _ extra: String = "", level: Logger.Level = .notice) {
        eventText(type, instance.eventDescription(hostnames: settings.announceHostnames) + extra, level: level)
    }

    func eventText(_ type: String, _ text: String, level: Logger.Level = .notice) {
        logger.log(level: level, "\(type) \(text)")
        publish(type, text)
    }

    /// Rewrites the config file with the current state (myid, epochs, known replicas and sentinels),
    /// as redis-sentinel does: every line that is not `sentinel ...` stays as it is; the lines of
    /// each `sentinel <directive>` replace that directive's old lines where they were, in order
    /// (old ones left over are dropped), and the rest is appended after a `# Generated by CONFIG
    /// REWRITE` line.
    @discardableResult
    func flushConfig() -> Bool {
        guard let configPath else { return true }
        var generated: [String] = ["sentinel myid \(myID)"]
        let quote = SentinelSettings.quoted
        for master in masters {
            let address = currentAddress(of: master)
            let name = quote(master.name)
            generated.append("sentinel monitor \(name) \(address.host) \(address.port) \(master.quorum)")
            generated.append("sentinel down-after-milliseconds \(name) \(master.downAfterMilliseconds)")
            generated.append("sentinel failover-timeout \(name) \(master.failoverTimeoutMilliseconds)")
            generated.append("sentinel parallel-syncs \(name) \(master.parallelSyncs)")
            if let pass = master.authPass { generated.append("sentinel auth-pass \(name) \(quote(pass))") }
            if let user = master.authUser { generated.append("sentinel auth-user \(name) \(quote(user))") }
            if let script = master.notificationScript { generated.append("sentinel notification-script \(name) \(quote(script))") }
            if let script = master.clientReconfigScript { generated.append("sentinel client-reconfig-script \(name) \(quote(script))") }
            for (command, renamed) in master.renamedCommands.sorted(by: { $0.key < $1.key }) {
                generated.append("sentinel rename-command \(name) \(command) \(quote(renamed))")
            }
            if master.masterRebootDownAfter > 0 {
                generated.append("sentinel master-reboot-down-after-period \(name) \(master.masterRebootDownAfter)")
            }
            generated.append("sentinel config-epoch \(name) \(master.configEpoch)")
            generated.append("sentinel leader-epoch \(name) \(master.leaderEpoch)")
            for replica in master.replicas where !(replica.host == address.host && replica.port == address.port) {
                generated.append("sentinel known-replica \(name) \(replica.host) \(replica.port)")
            }
            for sentinel in master.sentinels where sentinel.runID != nil {
                generated.append("sentinel known-sentinel \(name) \(sentinel.host) \(sentinel.port) \(sentinel.runID!)")
            }
        }
        generated.append("sentinel current-epoch \(currentEpoch)")
        if let ip = settings.announceIP { generated.append("sentinel announce-ip \(quote(ip))") }
        if settings.announcePort != 0 { generated.append("sentinel announce-port \(settings.announcePort)") }
        if let user = settings.sentinelUser { generated.append("sentinel sentinel-user \(quote(user))") }
        if let pass = settings.sentinelPass { generated.append("sentinel sentinel-pass \(quote(pass))") }
        if settings.resolveHostnames { generated.append("sentinel resolve-hostnames yes") }
        if !settings.denyScriptsReconfig { generated.append("sentinel deny-scripts-reconfig no") }
        if settings.announceHostnames { generated.append("sentinel announce-hostnames yes") }

        func key(_ line: String) -> String? {
            let words = line.split(whereSeparator: \.isWhitespace)
            guard words.count > 1, words[0].lowercased() == "sentinel" else { return nil }
            return "sentinel " + words[1].lowercased()
        }
        var byKey: [String: [String]] = [:]
        for line in generated { byKey[key(line)!, default: []].append(line) }
        var used: [String: Int] = [:]
        var lines: [String] = []
        for line in settings.fileLines {
            guard let lineKey = key(line) else {
                lines.append(line)
                continue
            }
            let index = used[lineKey, default: 0]
            if let replacements = byKey[lineKey], index < replacements.count {
                lines.append(replacements[index])
                used[lineKey] = index + 1
            }
        }
        var appended: [String] = []
        var seen: [String: Int] = [:]
        for line in generated {
            let lineKey = key(line)!
            let position = seen[lineKey, default: 0]
            seen[lineKey] = position + 1
            if position >= used[lineKey, default: 0] { appended.append(line) }
        }
        if !appended.isEmpty {
            if !lines.contains(SentinelSettings.generatedMarker) { lines.append(SentinelSettings.generatedMarker) }
            lines += appended
        }
        let text = lines.joined(separator: "\n") + "\n"
        let temporary = configPath + ".tmp-\(getpid())"
        do {
            try text.write(toFile: temporary, atomically: false, encoding: .utf8)
            let file = open(temporary, O_WRONLY)
            if file >= 0 {
                fsync(file)
                close(file)
            }
            if rename(temporary, configPath) != 0 { throw POSIXErrorCode(rawValue: errno).map { POSIXError($0) } ?? CocoaError(.fileWriteUnknown) }
            settings.fileLines = lines
            return true
        } catch {
            unlink(temporary)
            logger.warning("WARNING: Sentinel was not able to save the new configuration on disk", metadata: ["error": "\(error)"])
            return false
        }
    }

    // MARK: - The timer

    /// TILT: after the timer was held up (the process stopped, the machine stalled), times measured
    /// across the gap mean nothing, so for 30 s this sentinel only observes: no down state, votes
    /// or failover.
    private(set) var tiltSince: Int64?
    let startedAt = SentinelClock.now
    /// For masters added with SENTINEL MONITOR (SENTINEL DEBUG can change them).
    var defaultDownAfter: Int64 = 30_000
    var defaultFailoverTimeout: Int64 = 180_000
    /// Scripts are not run; SENTINEL DEBUG accepts these for compatibility.
    var scriptMaxRuntime: Int64 = 60_000
    var scriptRetryDelay: Int64 = 30_000
    private var previousTick: Int64 = 0
    var tiltTrigger: Int64 = 2000
    var tiltPeriod: Int64 = 30_000

    private func tick() {
        let now = SentinelClock.now
        if previousTick != 0 && now - previousTick > self.tiltTrigger {
            tiltSince = now
            eventText("+tilt", "#tilt mode entered", level: .warning)
        }
        previousTick = now
        if let since = tiltSince, now - since >= self.tiltPeriod {
            tiltSince = nil
            eventText("-tilt", "#tilt mode exited", level: .warning)
        }
        for master in masters {
            handle(master)
            for instance in master.replicas + master.sentinels { handle(instance) }
        }
        for master in masters where master.failoverState == .updateConfig && tiltSince == nil {
            switchToPromoted(master)
        }
    }

    private func handle(_ instance: Instance) {
        reconnect(instance)
        sendPeriodicCommands(instance)
        if tiltSince != nil { return }
        checkSubjectivelyDown(instance)
        guard instance.kind == .master else { return }
        checkObjectivelyDown(instance)
        if startFailoverIfNeeded(instance) { askMasterState(instance, force: true) }
        runFailover(instance)
        askMasterState(instance, force: false)
    }

    // MARK: - Links

    private func authArguments(for instance: Instance) -> [String]? {
        if instance.kind == .sentinel {
            if let pass = settings.sentinelPass { return ["AUTH"] + (settings.sentinelUser.map { [$0] } ?? []) + [pass] }
            return settings.requirepass.map { ["AUTH", $0] }
        }
        let master = instance.kind == .master ? instance : instance.master
        guard let pass = master?.authPass else { return nil }
        return ["AUTH"] + (master?.authUser.map { [$0] } ?? []) + [pass]
    }

    private func reconnect(_ instance: Instance) {
        guard instance.isDisconnected, instance.port != 0 else { return }
        let now = SentinelClock.now
        guard now - instance.lastReconnectAttempt >= self.pingPeriod else { return }
        instance.lastReconnectAttempt = now
        let timeout = TimeAmount.milliseconds(max(100, min(1000, instance.downAfterMilliseconds)))
        let auth = authArguments(for: instance)
        let shortID = String(myID.prefix(8))
        if !instance.commands.isConnected {
            // As in Redis, a connection attempt counts as a ping sent: an instance that cannot be
            // reached is down after down-after-milliseconds from the first attempt, whenever its
            // last reply was.
            if instance.pingSentAt == 0 { instance.pingSentAt = now }
            instance.commands.connect(host: instance.host, port: instance.port, on: loop, timeout: timeout) { [self] connected in
                guard connected else { return }
                instance.infoRequested = false
                // A link that drops is retried at the next tick, not a ping period after the last
                // attempt: the down-after clock starts at that first failed attempt.
                instance.commands.onClose = { [weak instance] in instance?.lastReconnectAttempt = 0 }
                if let auth { instance.commands.send(auth) }
                if instance.kind != .sentinel { instance.commands.send(["CLIENT", "SETNAME", "sentinel-\(shortID)-cmd"]) }
                sendPing(instance)
            }
        }
        if instance.kind != .sentinel && !instance.pubsub.isConnected {
            instance.pubsub.connect(host: instance.host, port: instance.port, on: loop, timeout: timeout) { [self] connected in
                guard connected else { return }
                instance.pubsub.onClose = { [weak instance] in instance?.lastReconnectAttempt = 0 }
                if let auth { instance.pubsub.send(auth) }
                instance.pubsub.send(["CLIENT", "SETNAME", "sentinel-\(shortID)-pubsub"])
                instance.pubsub.onPush = { [weak self, weak instance] message in
                    guard let self, let instance else { return }
                    self.receivedPush(message, from: instance)
                }
                instance.pubsub.sendWithoutReply(["SUBSCRIBE", Self.helloChannel])
            }
        }
    }

    private func receivedPush(_ message: RESPValue, from instance: Instance) {
        guard let parts = message.array, parts.count == 3, parts[0].string == "message",
            parts[1].string == Self.helloChannel, let payload = parts[2].string
        else { return }
        processHello(payload)
    }

    // MARK: - Periodic commands

    private func sendPeriodicCommands(_ instance: Instance) {
        guard instance.commands.isConnected, instance.commands.pending < 100 else { return }
        let now = SentinelClock.now
        var infoPeriod = self.infoPeriod
        if instance.kind == .slave, let master = instance.master,
            master.objectivelyDown || master.failoverInProgress || instance.roleReported != .slave
        {
            infoPeriod = 1000
        }
        if instance.kind == .master && instance.roleReported != .master { infoPeriod = 1000 }
        let pingPeriod = min(instance.downAfterMilliseconds, self.pingPeriod)
        if instance.kind != .sentinel && !instance.infoRequested
            && (instance.infoRefreshedAt == 0 || now - instance.infoRefreshedAt > infoPeriod)
        {
            instance.infoRequested = true
            instance.commands.send(["INFO"]) { [weak self, weak instance] reply in
                guard let self, let instance else { return }
                instance.infoRequested = false
                if case .bulk(let bytes?) = reply { self.refreshInfo(instance, String(decoding: bytes, as: UTF8.self)) }
            }
        }
        if now - instance.lastPongAt > pingPeriod && now - instance.lastPingAt > pingPeriod / 2 {
            sendPing(instance)
        }
        if now - instance.lastPublishAt > self.publishPeriod {
            sendHello(instance)
        }
    }

    private func sendPing(_ instance: Instance) {
        let now = SentinelClock.now
        if instance.pingSentAt == 0 { instance.pingSentAt = now }
        instance.lastPingAt = now
        instance.commands.send(["PING"]) { [weak self, weak instance] reply in
            guard let self, let instance, let reply else { return }
            let now = SentinelClock.now
            switch reply {
            case .simple("PONG"):
                instance.lastValidPongAt = now
                instance.pingSentAt = 0
            case .error(let text) where text.hasPrefix("LOADING") || text.hasPrefix("MASTERDOWN"):
                instance.lastValidPongAt = now
                instance.pingSentAt = 0
            case .error(let text) where text.hasPrefix("NOAUTH") || text.hasPrefix("WRONGPASS") || text.hasPrefix("NOPERM"):
                // Refused credentials: drop the link (it shows as disconnected) and log in again
                // on the next attempt, perhaps with a password set meanwhile.
                instance.commands.close()
                instance.pubsub.close()
            case .error(let text) where text.hasPrefix("BUSY"):
                if instance.subjectivelyDown && !instance.scriptKillSent {
                    instance.scriptKillSent = true
                    instance.commands.send(["SCRIPT", "KILL"])
                }
            default:
                break
            }
            instance.lastPongAt = now
            _ = self
        }
    }

    /// `ip,port,runid,current_epoch,master_name,master_ip,master_port,master_config_epoch` on
    /// `__sentinel__:hello`, redis-sentinel's exact format.
    private func sendHello(_ instance: Instance) {
        guard let master = instance.kind == .master ? instance : instance.master, instance.commands.isConnected else { return }
        guard let ip = settings.announceIP ?? instance.commands.localIP else { return }
        let port = settings.announcePort != 0 ? settings.announcePort : settings.port
        let address = currentAddress(of: master)
        let payload = "\(ip),\(port),\(myID),\(currentEpoch),\(master.name),\(address.host),\(address.port),\(master.configEpoch)"
        instance.lastPublishAt = SentinelClock.now
        instance.commands.send(["PUBLISH", Self.helloChannel, payload]) { [weak instance] reply in
            guard let reply, case .error = reply else { return }
            instance?.lastPublishAt = 0
        }
    }

    /// Sends a hello to every instance of `master` at the next tick.
    private func forceHello(_ master: Instance) {
        master.lastPublishAt = 0
        for instance in master.replicas + master.sentinels { instance.lastPublishAt = 0 }
    }

    // MARK: - Hello messages

    func processHello(_ payload: String) {
        let tokens = payload.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard tokens.count == 8, let port = Int(tokens[1]), let epoch = UInt64(tokens[3]),
            let masterPort = Int(tokens[6]), let masterConfigEpoch = UInt64(tokens[7])
        else { return }
        let (ip, runID, masterIP) = (tokens[0], tokens[2], tokens[5])
        guard runID != myID, let master = master(named: tokens[4]) else { return }
        var sentinel = master.sentinels.first { $0.host == ip && $0.port == port && $0.runID == runID }
        if sentinel == nil {
            // This master's entry for the same run id at another address, or for another run id at
            // this address, is stale: forget it. (A sentinel watching several masters has an entry
            // under each, all at the same address.)
            for stale in master.sentinels where stale.runID == runID || (stale.host == ip && stale.port == port) {
                stale.closeLinks()
                if stale.runID == runID {
                    event("+sentinel-address-switch", master, " ip \(ip) port \(port) for \(runID)")
                } else {
                    event("+sentinel-invalid-addr", stale)
                }
            }
            master.sentinels.removeAll { $0.runID == runID || ($0.host == ip && $0.port == port) }
            let added = Instance(kind: .sentinel, name: runID, host: ip, port: port, master: master)
            added.runID = runID
            master.sentinels.append(added)
            event("+sentinel", added)
            flushConfig()
            sentinel = added
        }
        if epoch > currentEpoch {
            currentEpoch = epoch
            flushConfig()
            eventText("+new-epoch", "\(currentEpoch)")
        }
        if master.configEpoch < masterConfigEpoch {
            master.configEpoch = masterConfigEpoch
            if master.host != masterIP || master.port != masterPort {
                event("+config-update-from", sentinel!)
                let old = "\(master.host) \(master.port)"
                // The config file names the new master before anyone hears of the switch.
                resetAndChangeAddress(master, host: masterIP, port: masterPort)
                eventText("+switch-master", "\(master.name) \(old) \(masterIP) \(masterPort)")
            }
        }
        sentinel!.lastHelloAt = SentinelClock.now
    }

    // MARK: - INFO

    private func refreshInfo(_ instance: Instance, _ info: String) {
        let now = SentinelClock.now
        var role: Instance.Kind?
        var runID: String?
        var replicaAddresses: [(String, Int)] = []
        var fields: [String: String] = [:]
        for rawLine in info.split(whereSeparator: \.isNewline) {
            let line = String(rawLine)
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = String(line[..<colon])
            let value = String(line[line.index(after: colon)...])
            fields[key] = value
            if key == "run_id", value.utf8.count == 40 { runID = value }
            if key == "role" { role = value == "master" ? .master : value == "slave" ? .slave : nil }
            if key.hasPrefix("slave"), key.dropFirst(5).allSatisfy(\.isNumber), !key.dropFirst(5).isEmpty {
                var parts: [String: String] = [:]
                for pair in value.split(separator: ",") {
                    let kv = pair.split(separator: "=", maxSplits: 1)
                    if kv.count == 2 { parts[String(kv[0])] = String(kv[1]) }
                }
                if let ip = parts["ip"], let port = parts["port"].flatMap(Int.init) { replicaAddresses.append((ip, port)) }
            }
        }
        instance.infoCache = (now, info)
        if let runID {
            if let old = instance.runID, old != runID {
                event("+reboot", instance)
                if instance.kind == .master && instance.masterRebootDownAfter > 0 { instance.rebootedAt = now }
            }
            instance.runID = runID
        }
        if instance.kind == .master && role == .master {
            for (ip, port) in replicaAddresses where !instance.replicas.contains(where: { $0.host == ip && $0.port == port }) {
                let replica = addReplica(to: instance, host: ip, port: port)
                event("+slave", replica)
                flushConfig()
            }
        }
        if let seconds = fields["master_link_down_since_seconds"].flatMap(Int64.init) {
            instance.masterLinkDownMilliseconds = seconds * 1000
        } else {
            instance.masterLinkDownMilliseconds = 0
        }
        if role == .slave {
            if let host = fields["master_host"], host != instance.reportedMasterHost {
                instance.reportedMasterHost = host
                instance.replicaConfigChangedAt = now
            }
            if let port = fields["master_port"].flatMap(Int.init), port != instance.reportedMasterPort {
                instance.reportedMasterPort = port
                instance.replicaConfigChangedAt = now
            }
            instance.masterLinkUp = fields["master_link_status"] == "up"
            if let priority = (fields["slave_priority"] ?? fields["replica_priority"]).flatMap(Int.init) { instance.priority = priority }
            if let offset = fields["slave_repl_offset"].flatMap(Int64.init) { instance.replicationOffset = offset }
            if let announced = fields["replica_announced"].flatMap(Int.init) { instance.replicaAnnounced = announced != 0 }
        }
        instance.infoRefreshedAt = now
        guard let role, tiltSince == nil else { return }
        if role != instance.roleReported {
            instance.roleReportedAt = now
            instance.roleReported = role
            if role == .slave { instance.replicaConfigChangedAt = now }
            event(role == instance.kind ? "+role-change" : "-role-change", instance, " new reported role is \(role.rawValue)", level: .info)
        }
        guard instance.kind == .slave, let master = instance.master else { return }

        if role == .master {
            if instance.promoted && master.failoverInProgress && master.failoverState == .waitPromotion {
                // The replica we promoted says it is master now: the failover goes on.
                master.configEpoch = master.failoverEpoch
                master.failoverState = .reconfSlaves
                master.failoverStateChangedAt = now
                flushConfig()
                event("+promoted-slave", instance)
                if simulateCrashAfterPromotion {
                    logger.warning("Simulated failure: crash after promotion")
                    exit(99)
                }
                event("+failover-state-reconf-slaves", master)
                forceHello(master)
            } else {
                // A replica (an old master coming back, say) that claims to be master: once our
                // view has stood long enough for the failover's leader to announce it, convert it.
                let wait = convertWait(master)
                if !master.failoverInProgress && masterLooksSane(master) && now - instance.roleReportedAt > wait
                    && noDown(instance, for: wait)
                {
                    if sendReplicaOf(instance, host: master.host, port: master.port) {
                        event("+convert-to-slave", instance)
                    }
                }
            }
        }
        if role == .slave && !master.failoverInProgress && !instance.reconfSent && !instance.reconfInProgress
            && (instance.reportedMasterHost != master.host || instance.reportedMasterPort != master.port)
        {
            // A replica of the wrong master.
            let wait = convertWait(master)
            if masterLooksSane(master) && now - instance.replicaConfigChangedAt > wait {
                if sendReplicaOf(instance, host: master.host, port: master.port) {
                    event("+fix-slave-config", instance)
                }
            }
        }
        if role == .slave && (instance.reconfSent || instance.reconfInProgress), let promoted = master.promotedReplica {
            if instance.reconfSent && instance.reportedMasterHost == promoted.host && instance.reportedMasterPort == promoted.port {
                instance.reconfSent = false
                instance.reconfInProgress = true
                event("+slave-reconf-inprog", instance)
            }
            if instance.reconfInProgress && instance.masterLinkUp {
                instance.reconfInProgress = false
                instance.reconfDone = true
                event("+slave-reconf-done", instance)
            }
        }
    }

    /// How long a replica's wrong role or master must stand before this sentinel corrects it
    /// (Redis waits 4 publish periods; a short down-after shortens it, never below one hello round).
    private func convertWait(_ master: Instance) -> Int64 {
        min(self.publishPeriod * 4, max(self.publishPeriod, master.downAfterMilliseconds * 2))
    }

    private func masterLooksSane(_ master: Instance) -> Bool {
        master.roleReported == .master && !master.subjectivelyDown && !master.objectivelyDown
            && SentinelClock.now - master.infoRefreshedAt < self.infoPeriod * 2
    }

    private func noDown(_ instance: Instance, for milliseconds: Int64) -> Bool {
        let since = max(instance.subjectivelyDownSince, instance.objectivelyDownSince)
        return since == 0 || SentinelClock.now - since > milliseconds
    }

    /// `REPLICAOF` in a transaction with `CONFIG REWRITE` and `CLIENT KILL TYPE normal`, as Redis
    /// Sentinel sends it (nil host: `REPLICAOF NO ONE`).
    @discardableResult
    func sendReplicaOf(_ instance: Instance, host: String?, port: Int) -> Bool {
        guard instance.commands.isConnected else { return false }
        instance.commands.send(["MULTI"])
        instance.commands.send(["REPLICAOF", host ?? "NO", host == nil ? "ONE" : "\(port)"])
        instance.commands.send(["CONFIG", "REWRITE"])
        instance.commands.send(["CLIENT", "KILL", "TYPE", "normal"])
        instance.commands.send(["EXEC"])
        return true
    }

    // MARK: - Down detection

    private func checkSubjectivelyDown(_ instance: Instance) {
        let now = SentinelClock.now
        var elapsed: Int64 = 0
        if instance.pingSentAt != 0 {
            elapsed = now - instance.pingSentAt
        } else if instance.isDisconnected {
            elapsed = now - instance.lastValidPongAt
        }
        // A command link with a ping pending for half the down period is reconnected; a pub/sub
        // link silent for three publish periods too.
        let half = instance.downAfterMilliseconds / 2
        if instance.commands.isConnected && now - instance.commands.connectedAt >= self.minLinkReconnectPeriod
            && instance.pingSentAt != 0 && now - instance.pingSentAt > half && now - instance.lastPongAt > half
        {
            instance.commands.close()
        }
        if instance.pubsub.isConnected && now - instance.pubsub.connectedAt >= self.minLinkReconnectPeriod
            && now - instance.pubsub.lastActivity >= self.publishPeriod * 3
        {
            instance.pubsub.close()
        }
        let reportsWrongRole = instance.kind == .master && instance.roleReported == .slave
            && now - instance.roleReportedAt > instance.downAfterMilliseconds + self.infoPeriod * 2
        let rebooting = instance.rebootedAt != 0 && now - instance.rebootedAt < instance.masterRebootDownAfter
        if elapsed > instance.downAfterMilliseconds || reportsWrongRole || rebooting {
            if !instance.subjectivelyDown {
                instance.subjectivelyDown = true
                instance.subjectivelyDownSince = now
                event("+sdown", instance, level: .warning)
            }
        } else if instance.subjectivelyDown {
            instance.subjectivelyDown = false
            instance.scriptKillSent = false
            event("-sdown", instance, level: .warning)
        }
    }

    private func checkObjectivelyDown(_ master: Instance) {
        var votes = 0
        var down = false
        if master.subjectivelyDown {
            votes = 1 + master.sentinels.filter(\.masterDown).count
            down = votes >= master.quorum
        }
        if down && !master.objectivelyDown {
            master.objectivelyDown = true
            master.objectivelyDownSince = SentinelClock.now
            event("+odown", master, " #quorum \(votes)/\(master.quorum)", level: .warning)
        } else if !down && master.objectivelyDown {
            master.objectivelyDown = false
            event("-odown", master, level: .warning)
        }
    }

    /// Asks every other sentinel whether it thinks `master` is down (and, during a failover, for its
    /// vote): `SENTINEL is-master-down-by-addr <ip> <port> <current-epoch> <runid or *>`.
    private func askMasterState(_ master: Instance, force: Bool) {
        let now = SentinelClock.now
        for sentinel in master.sentinels {
            let elapsed = now - sentinel.lastMasterDownReplyAt
            if elapsed > Self.askForgetTime {
                sentinel.masterDown = false
                sentinel.leader = nil
            }
            guard master.subjectivelyDown, sentinel.commands.isConnected else { continue }
            if !force && elapsed < self.askPeriod { continue }
            // One question a period, even when the last one went unanswered.
            if !force && now - sentinel.lastAskAt < self.askPeriod { continue }
            sentinel.lastAskAt = now
            let runID = master.failoverState != .none ? myID : "*"
            sentinel.commands.send(
                ["SENTINEL", "is-master-down-by-addr", master.host, "\(master.port)", "\(currentEpoch)", runID]
            ) { [weak sentinel] reply in
                guard let sentinel, let items = reply?.array, items.count == 3,
                    case .integer(let down) = items[0], let leader = items[1].string, case .integer(let epoch) = items[2]
                else { return }
                sentinel.lastMasterDownReplyAt = SentinelClock.now
                sentinel.masterDown = down == 1
                if leader != "*" {
                    sentinel.leader = leader
                    sentinel.leaderEpoch = UInt64(max(0, epoch))
                }
            }
        }
    }

    // MARK: - Leader election

    /// Votes for `runID` as leader of `master`'s failover in `epoch`, unless this sentinel already
    /// voted in that epoch; returns the vote it holds.
    func voteLeader(_ master: Instance, epoch: UInt64, runID: String) -> (leader: String?, epoch: UInt64) {
        if epoch > currentEpoch {
            currentEpoch = epoch
            flushConfig()
            eventText("+new-epoch", "\(currentEpoch)")
        }
        if master.leaderEpoch < epoch && currentEpoch <= epoch {
            master.leader = runID
            master.leaderEpoch = currentEpoch
            flushConfig()
            eventText("+vote-for-leader", "\(runID) \(master.leaderEpoch)")
            // Voting for another sentinel: do not start a failover of our own for a while.
            if runID != myID { master.failoverStartedAt = SentinelClock.now + Int64.random(in: 0..<Int64(Self.maxDesync)) }
        }
        return (master.leader, master.leaderEpoch)
    }

    /// The sentinel that won `epoch`: a majority of all known sentinels and at least the quorum.
    private func leader(of master: Instance, epoch: UInt64) -> String? {
        var counts: [String: Int] = [:]
        let voters = master.sentinels.count + 1
        for sentinel in master.sentinels where sentinel.leaderEpoch == currentEpoch {
            if let leader = sentinel.leader { counts[leader, default: 0] += 1 }
        }
        func best() -> (String, Int)? {
            counts.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }.map { ($0.key, $0.value) }
        }
        let winner = best()?.0
        let vote = voteLeader(master, epoch: epoch, runID: winner ?? myID)
        if let leader = vote.leader, vote.epoch == epoch { counts[leader, default: 0] += 1 }
        guard let (candidate, votes) = best() else { return nil }
        return votes >= voters / 2 + 1 && votes >= master.quorum ? candidate : nil
    }

    // MARK: - Failover

    private func startFailoverIfNeeded(_ master: Instance) -> Bool {
        guard master.objectivelyDown, !master.failoverInProgress else { return false }
        if SentinelClock.now - master.failoverStartedAt < master.failoverTimeoutMilliseconds * 2 { return false }
        startFailover(master)
        return true
    }

    func startFailover(_ master: Instance) {
        master.failoverState = .waitStart
        master.failoverStateChangedAt = SentinelClock.now
        master.failoverInProgress = true
        currentEpoch += 1
        master.failoverEpoch = currentEpoch
        eventText("+new-epoch", "\(currentEpoch)", level: .warning)
        event("+try-failover", master, level: .warning)
        master.failoverStartedAt = SentinelClock.now + Int64.random(in: 0..<Int64(Self.maxDesync))
        master.failoverStateChangedAt = SentinelClock.now
    }

    private func runFailover(_ master: Instance) {
        guard master.failoverInProgress else { return }
        let now = SentinelClock.now
        switch master.failoverState {
        case .waitStart:
            let leader = leader(of: master, epoch: master.failoverEpoch)
            if leader != myID && !master.forceFailover {
                if now - master.failoverStartedAt > min(self.electionTimeout, master.failoverTimeoutMilliseconds) {
                    event("-failover-abort-not-elected", master, level: .warning)
                    abortFailover(master)
                }
                return
            }
            event("+elected-leader", master, level: .warning)
            if simulateCrashAfterElection {
                logger.warning("Simulated failure: crash after election")
                exit(99)
            }
            setFailoverState(master, .selectSlave)
            event("+failover-state-select-slave", master, level: .warning)
            fallthrough
        case .selectSlave:
            guard let replica = selectReplica(master) else {
                event("-failover-abort-no-good-slave", master, level: .warning)
                abortFailover(master)
                return
            }
            event("+selected-slave", replica, level: .warning)
            replica.promoted = true
            master.promotedReplica = replica
            setFailoverState(master, .sendSlaveofNoOne)
            event("+failover-state-send-slaveof-noone", replica, level: .warning)
            fallthrough
        case .sendSlaveofNoOne:
            guard let promoted = master.promotedReplica else { return abortFailover(master) }
            guard promoted.commands.isConnected else {
                if now - master.failoverStateChangedAt > master.failoverTimeoutMilliseconds {
                    event("-failover-abort-slave-timeout", master, level: .warning)
                    abortFailover(master)
                }
                return
            }
            sendReplicaOf(promoted, host: nil, port: 0)
            event("+failover-state-wait-promotion", promoted, level: .warning)
            setFailoverState(master, .waitPromotion)
        case .waitPromotion:
            if now - master.failoverStateChangedAt > master.failoverTimeoutMilliseconds {
                event("-failover-abort-slave-timeout", master, level: .warning)
                abortFailover(master)
            }
        case .reconfSlaves:
            reconfigureNextReplicas(master)
        case .none, .updateConfig:
            break
        }
    }

    private func setFailoverState(_ master: Instance, _ state: Instance.FailoverState) {
        master.failoverState = state
        master.failoverStateChangedAt = SentinelClock.now
    }

    private func abortFailover(_ master: Instance) {
        master.failoverInProgress = false
        master.forceFailover = false
        setFailoverState(master, .none)
        if let promoted = master.promotedReplica {
            promoted.promoted = false
            master.promotedReplica = nil
        }
        for replica in master.replicas {
            replica.reconfSent = false
            replica.reconfInProgress = false
            replica.reconfDone = false
        }
    }

    /// The best replica to promote, or nil: not down or disconnected, recently heard from, with a
    /// replication link not down for too long and a non-zero priority; then by priority, offset and
    /// run id.
    func selectReplica(_ master: Instance) -> Instance? {
        let now = SentinelClock.now
        let maxMasterDown = (master.subjectivelyDown ? now - master.subjectivelyDownSince : 0) + master.downAfterMilliseconds * 10
        let infoValidity = master.subjectivelyDown ? self.pingPeriod * 5 : self.infoPeriod * 3
        let candidates = master.replicas.filter { replica in
            !replica.subjectivelyDown && !replica.objectivelyDown && !replica.isDisconnected
                && now - replica.lastValidPongAt <= self.pingPeriod * 5 && replica.priority != 0
                && now - replica.infoRefreshedAt <= infoValidity && replica.masterLinkDownMilliseconds <= maxMasterDown
                && replica.roleReported == .slave
        }
        return candidates.min { a, b in
            if a.priority != b.priority { return a.priority < b.priority }
            if a.replicationOffset != b.replicationOffset { return a.replicationOffset > b.replicationOffset }
            switch (a.runID, b.runID) {
            case (let x?, let y?): return x < y
            case (nil, _?): return false
            case (_?, nil): return true
            default: return false
            }
        }
    }

    private func reconfigureNextReplicas(_ master: Instance) {
        guard let promoted = master.promotedReplica else { return }
        let now = SentinelClock.now
        var inProgress = master.replicas.filter { $0.reconfSent || $0.reconfInProgress }.count
        for replica in master.replicas where inProgress < master.parallelSyncs {
            if replica.promoted || replica.reconfDone { continue }
            if replica.reconfSent && now - replica.reconfSentAt > self.replicaReconfTimeout {
                event("-slave-reconf-sent-timeout", replica)
                replica.reconfSent = false
                replica.reconfInProgress = false
                replica.reconfDone = true
                continue
            }
            if replica.reconfSent || replica.reconfInProgress || replica.isDisconnected { continue }
            if sendReplicaOf(replica, host: promoted.host, port: promoted.port) {
                replica.reconfSent = true
                replica.reconfSentAt = now
                event("+slave-reconf-sent", replica)
                inProgress += 1
            }
        }
        detectFailoverEnd(master)
    }

    private func detectFailoverEnd(_ master: Instance) {
        guard let promoted = master.promotedReplica, !promoted.subjectivelyDown else { return }
        var notReconfigured = master.replicas.filter { !$0.promoted && !$0.reconfDone && !$0.subjectivelyDown }.count
        var timedOut = false
        if SentinelClock.now - master.failoverStateChangedAt > master.failoverTimeoutMilliseconds {
            notReconfigured = 0
            timedOut = true
            event("-failover-end-for-timeout", master)
        }
        guard notReconfigured == 0 else { return }
        event("+failover-end", master, level: .warning)
        setFailoverState(master, .updateConfig)
        if timedOut {
            for replica in master.replicas where !replica.promoted && !replica.reconfDone && !replica.reconfSent {
                if sendReplicaOf(replica, host: promoted.host, port: promoted.port) {
                    replica.reconfSent = true
                    event("+slave-reconf-sent-be", replica)
                }
            }
        }
    }

    private func switchToPromoted(_ master: Instance) {
        guard let promoted = master.promotedReplica else { return abortFailover(master) }
        let old = "\(master.host) \(master.port)"
        let (host, port) = (promoted.host, promoted.port)
        // The config file names the new master before anyone hears of the switch.
        resetAndChangeAddress(master, host: host, port: port)
        eventText("+switch-master", "\(master.name) \(old) \(host) \(port)", level: .warning)
    }

    /// Points `master` at a new address: its replicas are the old ones (minus the new master) plus
    /// the old master; failover state, flags and links start over. Sentinels are kept.
    func resetAndChangeAddress(_ master: Instance, host: String, port: Int) {
        var replicaAddresses = master.replicas.filter { !($0.host == host && $0.port == port) }.map { ($0.host, $0.port) }
        if !(master.host == host && master.port == port) { replicaAddresses.append((master.host, master.port)) }
        reset(master, keepSentinels: true)
        master.host = host
        master.port = port
        for (ip, replicaPort) in replicaAddresses { addReplica(to: master, host: ip, port: replicaPort) }
        flushConfig()
    }

    func reset(_ master: Instance, keepSentinels: Bool) {
        for replica in master.replicas { replica.closeLinks() }
        master.replicas.removeAll()
        if !keepSentinels {
            for sentinel in master.sentinels { sentinel.closeLinks() }
            master.sentinels.removeAll()
        }
        master.closeLinks()
        master.subjectivelyDown = false
        master.objectivelyDown = false
        master.failoverInProgress = false
        master.forceFailover = false
        master.scriptKillSent = false
        master.failoverState = .none
        master.failoverStateChangedAt = SentinelClock.now
        master.promotedReplica = nil
        master.leader = nil
        master.runID = nil
        master.infoRefreshedAt = 0
        master.infoRequested = false
        master.pingSentAt = 0
        master.lastValidPongAt = SentinelClock.now
        master.lastPongAt = SentinelClock.now
        master.roleReported = .master
        master.roleReportedAt = SentinelClock.now
        master.lastReconnectAttempt = 0
        master.lastPublishAt = 0
        master.infoCache = nil
    }
}
