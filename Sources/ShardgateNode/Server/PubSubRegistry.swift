import RedisText

/// Who listens to what: channel, pattern and shard-channel subscribers, in subscription order.
///
/// The client side of each subscription is kept in `ClientFlags` (`channels`, `patterns`,
/// `shardChannels`), so unsubscribing everything walks only the client's own names.
final class PubSubRegistry {
    enum Kind {
        case channel, pattern, shardChannel

        /// The reply tags: subscribe, unsubscribe, message.
        var subscribeName: StaticString {
            switch self {
            case .channel: "subscribe"
            case .pattern: "psubscribe"
            case .shardChannel: "ssubscribe"
            }
        }
        var unsubscribeName: StaticString {
            switch self {
            case .channel: "unsubscribe"
            case .pattern: "punsubscribe"
            case .shardChannel: "sunsubscribe"
            }
        }
    }

    private(set) var channels: [[UInt8]: [ClientConnection]] = [:]
    private(set) var patterns: [[UInt8]: [ClientConnection]] = [:]
    private(set) var shardChannels: [[UInt8]: [ClientConnection]] = [:]

    func subscribers(_ kind: Kind) -> [[UInt8]: [ClientConnection]] {
        switch kind {
        case .channel: channels
        case .pattern: patterns
        case .shardChannel: shardChannels
        }
    }

    /// Adds `client` under `name`; false when it was already subscribed.
    @discardableResult
    func subscribe(_ client: ClientConnection, to name: [UInt8], kind: Kind) -> Bool {
        switch kind {
        case .channel:
            guard client.flags.channels.insert(name).inserted else { return false }
            channels[name, default: []].append(client)
        case .pattern:
            guard client.flags.patterns.insert(name).inserted else { return false }
            patterns[name, default: []].append(client)
        case .shardChannel:
            guard client.flags.shardChannels.insert(name).inserted else { return false }
            shardChannels[name, default: []].append(client)
        }
        return true
    }

    /// Removes `client` from `name`; false when it was not subscribed.
    @discardableResult
    func unsubscribe(_ client: ClientConnection, from name: [UInt8], kind: Kind) -> Bool {
        switch kind {
        case .channel:
            guard client.flags.channels.remove(name) != nil else { return false }
            Self.remove(client, name, from: &channels)
        case .pattern:
            guard client.flags.patterns.remove(name) != nil else { return false }
            Self.remove(client, name, from: &patterns)
        case .shardChannel:
            guard client.flags.shardChannels.remove(name) != nil else { return false }
            Self.remove(client, name, from: &shardChannels)
        }
        return true
    }

    private static func remove(_ client: ClientConnection, _ name: [UInt8], from table: inout [[UInt8]: [ClientConnection]]) {
        guard var list = table[name] else { return }
        list.removeAll { $0 === client }
        table[name] = list.isEmpty ? nil : list
    }

    /// Drops every subscription of `client` without replying (disconnect, RESET).
    func removeAll(_ client: ClientConnection) {
        for name in client.flags.channels { Self.remove(client, name, from: &channels) }
        for name in client.flags.patterns { Self.remove(client, name, from: &patterns) }
        for name in client.flags.shardChannels { Self.remove(client, name, from: &shardChannels) }
        client.flags.channels = []
        client.flags.patterns = []
        client.flags.shardChannels = []
    }

    /// Delivers `message` on `channel`; returns how many subscriptions received it
    /// (channel subscribers first, then each matching pattern's subscribers, as Redis counts).
    func publish(_ channel: [UInt8], _ message: [UInt8], shard: Bool, node: Node) -> Int {
        var receivers = 0
        if let clients = (shard ? shardChannels : channels)[channel] {
            for client in clients {
                client.pushHeader(3)
                client.bulk(shard ? "smessage" : "message")
                client.bulk(channel)
                client.bulk(message)
                node.scheduleFlush(client)
                node.repliesGrew(client)
                receivers += 1
            }
        }
        guard !shard else { return receivers }
        for (pattern, clients) in patterns where GlobMatch.matches(pattern, channel) {
            for client in clients {
                client.pushHeader(4)
                client.bulk("pmessage")
                client.bulk(pattern)
                client.bulk(channel)
                client.bulk(message)
                node.scheduleFlush(client)
                node.repliesGrew(client)
                receivers += 1
            }
        }
        return receivers
    }
}
