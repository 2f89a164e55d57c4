/// A monitored master, one of its replicas, or another sentinel watching it: what this sentinel
/// knows about it and the link it talks to it over. Lives on the sentinel's event loop.
final class Instance: @unchecked Sendable {
    enum Kind: String { case master, slave, sentinel }

    enum FailoverState: String {
        case none, waitStart = "wait_start", selectSlave = "select_slave", sendSlaveofNoOne = "send_slaveof_noone"
        case waitPromotion = "wait_promotion", reconfSlaves = "reconf_slaves", updateConfig = "update_config"
    }

    let kind: Kind
    /// Master: its configured name; replica: "ip:port"; sentinel: its run id.
    var name: String
    var host: String
    var port: Int
    var runID: String?
    weak var master: Instance?

    // Links. Sentinels get a command link only.
    let commands = LinkConnection()
    let pubsub = LinkConnection()
    var lastReconnectAttempt: Int64 = 0

    // Flags.
    var subjectivelyDown = false
    var objectivelyDown = false
    /// (sentinel) It answered that it thinks the master is down.
    var masterDown = false
    var failoverInProgress = false
    var promoted = false
    var reconfSent = false
    var reconfInProgress = false
    var reconfDone = false
    var forceFailover = false
    var scriptKillSent = false

    // Times (ms, monotonic; 0 = never).
    let createdAt = SentinelClock.now
    var pingSentAt: Int64 = 0
    var lastPingAt: Int64 = 0
    var lastValidPongAt: Int64
    var lastPongAt: Int64
    var lastPublishAt: Int64 = 0
    var lastHelloAt: Int64 = 0
    var lastMasterDownReplyAt: Int64 = 0
    var lastAskAt: Int64 = 0
    var subjectivelyDownSince: Int64 = 0
    var objectivelyDownSince: Int64 = 0
    var infoRefreshedAt: Int64 = 0
    var infoRequested = false
    var roleReported: Kind
    var roleReportedAt: Int64
    var replicaConfigChangedAt: Int64

    // Master.
    var sentinels: [Instance] = []
    var replicas: [Instance] = []
    var quorum = 2
    var downAfterMilliseconds: Int64 = 30_000
    var failoverTimeoutMilliseconds: Int64 = 180_000
    var parallelSyncs = 1
    var authPass: String?
    var authUser: String?
    /// Accepted and kept in the config file, never run.
    var notificationScript: String?
    /// `rename-command`: the names this master and its replicas know commands by.
    var renamedCommands: [String: String] = [:] {
        didSet { commands.renamed = renamedCommands; pubsub.renamed = renamedCommands }
    }
    /// `master-reboot-down-after-period` (0: off): a master that restarted is down for this long.
    var masterRebootDownAfter: Int64 = 0
    var rebootedAt: Int64 = 0
    var clientReconfigScript: String?
    var configEpoch: UInt64 = 0
    /// Master: the sentinel this one voted for; sentinel: the leader it voted for.
    var leader: String?
    var leaderEpoch: UInt64 = 0
    var failoverEpoch: UInt64 = 0
    var failoverState = FailoverState.none
    var failoverStateChangedAt: Int64 = 0
    /// Far in the past at first: the monotonic clock starts at boot, and a failover must not wait
    /// for the machine to have been up for twice failover-timeout.
    var failoverStartedAt: Int64 = Int64.min / 4
    weak var promotedReplica: Instance?
    var infoCache: (at: Int64, text: String)?

    // Replica (from its INFO).
    var masterLinkDownMilliseconds: Int64 = 0
    var priority = 100
    var reconfSentAt: Int64 = 0
    var reportedMasterHost: String?
    var reportedMasterPort = 0
    var masterLinkUp = false
    var replicationOffset: Int64 = 0
    var replicaAnnounced = true

    init(kind: Kind, name: String, host: String, port: Int, master: Instance?) {
        self.kind = kind
        self.name = name
        self.host = host
        self.port = port
        self.master = master
        let now = SentinelClock.now
        lastValidPongAt = now
        lastPongAt = now
        roleReported = kind == .sentinel ? .master : kind
        roleReportedAt = now
        replicaConfigChangedAt = now
        if let master { downAfterMilliseconds = master.downAfterMilliseconds }
    }

    var address: String { "\(host):\(port)" }
    var isDisconnected: Bool { !commands.isConnected || (kind != .sentinel && !pubsub.isConnected) }

    /// The `%@` of Redis's event messages: `<type> <name> <ip> <port>`, and `@ <master> <ip> <port>`
    /// for replicas and sentinels. `hostnames`: announce hostnames as configured, else their IPs.
    func eventDescription(hostnames: Bool) -> String {
        var text = "\(kind.rawValue) \(name) \(announcedHost(hostnames: hostnames)) \(port)"
        if kind != .master, let master {
            text += " @ \(master.name) \(master.announcedHost(hostnames: hostnames)) \(master.port)"
        }
        return text
    }

    /// `host` as configured (a hostname, with announce-hostnames) or the IP it was reached at.
    func announcedHost(hostnames: Bool) -> String {
        hostnames ? host : (commands.remoteIP ?? host)
    }

    var flagsDescription: String {
        var flags = [kind.rawValue]
        if subjectivelyDown { flags.append("s_down") }
        if objectivelyDown { flags.append("o_down") }
        if masterDown { flags.append("master_down") }
        if isDisconnected { flags.append("disconnected") }
        if failoverInProgress { flags.append("failover_in_progress") }
        if promoted { flags.append("promoted") }
        if reconfSent { flags.append("reconf_sent") }
        if reconfInProgress { flags.append("reconf_inprog") }
        if reconfDone { flags.append("reconf_done") }
        if forceFailover { flags.append("force_failover") }
        if scriptKillSent { flags.append("script_kill_sent") }
        return flags.joined(separator: ",")
    }

    func closeLinks() {
        commands.onClose = nil
        pubsub.onClose = nil
        commands.close()
        pubsub.close()
    }
}
