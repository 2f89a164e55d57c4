import Commands
import RedisText
/// Publish/subscribe: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, (S)PUBLISH, PUBSUB.
///
/// Confirmations and messages are pushes (`>` in RESP3, arrays in RESP2). Shard channels are a
/// namespace of their own, as in Redis 7.0; without a cluster every shard channel is local.
enum PubSubCommands {
    static var all: [(String, CommandHandler)] {[
        ("subscribe", .init(subscribe)), ("unsubscribe", .init(unsubscribe)), ("psubscribe", .init(psubscribe)),
        ("punsubscribe", .init(punsubscribe)), ("ssubscribe", .init(ssubscribe)), ("sunsubscribe", .init(sunsubscribe)),
        ("publish", .init(publish)), ("spublish", .init(spublish)), ("pubsub|channels", .init(pubsubChannels)),
        ("pubsub|numsub", .init(pubsubNumsub)), ("pubsub|numpat", .init(pubsubNumpat)),
        ("pubsub|shardchannels", .init(pubsubShardChannels)), ("pubsub|shardnumsub", .init(pubsubShardNumsub)),
    ]}

    static func subscribe(_ call: inout CommandCall) throws(CommandError) { subscribe(call, kind: .channel) }
    static func psubscribe(_ call: inout CommandCall) throws(CommandError) { subscribe(call, kind: .pattern) }
    static func ssubscribe(_ call: inout CommandCall) throws(CommandError) { subscribe(call, kind: .shardChannel) }
    static func unsubscribe(_ call: inout CommandCall) throws(CommandError) { unsubscribe(call, kind: .channel) }
    static func punsubscribe(_ call: inout CommandCall) throws(CommandError) { unsubscribe(call, kind: .pattern) }
    static func sunsubscribe(_ call: inout CommandCall) throws(CommandError) { unsubscribe(call, kind: .shardChannel) }

    /// The count a confirmation carries: channels plus patterns, or shard channels alone.
    private static func count(_ client: ClientConnection, _ kind: PubSubRegistry.Kind) -> Int {
        kind == .shardChannel ? client.flags.shardChannels.count : client.flags.channels.count + client.flags.patterns.count
    }

    private static func confirm(_ client: ClientConnection, _ tag: StaticString, _ name: [UInt8]?, _ kind: PubSubRegistry.Kind) {
        client.pushHeader(3)
        client.bulk(tag.description)
        if let name { client.bulk(name) } else { client.null() }
        client.integer(count(client, kind))
    }

    private static func subscribe(_ call: CommandCall, kind: PubSubRegistry.Kind) {
        let registry = call.node.clients.pubsub
        for index in 1..<call.count {
            let name = call.bytes(index)
            registry.subscribe(call.client, to: name, kind: kind)
            confirm(call.client, kind.subscribeName, name, kind)
        }
    }

    private static func unsubscribe(_ call: CommandCall, kind: PubSubRegistry.Kind) {
        let client = call.client
        let registry = call.node.clients.pubsub
        var names: [[UInt8]]
        if call.count > 1 {
            names = (1..<call.count).map { call.bytes($0) }
        } else {
            switch kind {
            case .channel: names = Array(client.flags.channels)
            case .pattern: names = Array(client.flags.patterns)
            case .shardChannel: names = Array(client.flags.shardChannels)
            }
            if names.isEmpty {
                // Nothing to leave: one confirmation with a null name.
                return confirm(client, kind.unsubscribeName, nil, kind)
            }
        }
        for name in names {
            registry.unsubscribe(client, from: name, kind: kind)
            confirm(client, kind.unsubscribeName, name, kind)
        }
    }

    /// PUBLISH: delivered here, and propagated to replicas (not the AOF), as Redis does, so that
    /// a replica's subscribers hear what is published on its master.
    static func publish(_ call: inout CommandCall) throws(CommandError) {
        call.client.integer(call.node.clients.pubsub.publish(call.bytes(1), call.bytes(2), shard: false, node: call.node))
        call.effect.forcesPropagation = true
        call.effect.propagation = .asSentToReplicas
    }

    /// SPUBLISH: the same (outside cluster mode Redis 7.0 propagates it to replicas too).
    static func spublish(_ call: inout CommandCall) throws(CommandError) {
        call.client.integer(call.node.clients.pubsub.publish(call.bytes(1), call.bytes(2), shard: true, node: call.node))
        call.effect.forcesPropagation = true
        call.effect.propagation = .asSentToReplicas
    }

    static func pubsubChannels(_ call: inout CommandCall) throws(CommandError) { try listChannels(call, kind: .channel) }
    static func pubsubShardChannels(_ call: inout CommandCall) throws(CommandError) { try listChannels(call, kind: .shardChannel) }

    private static func listChannels(_ call: CommandCall, kind: PubSubRegistry.Kind) throws(CommandError) {
        // At most one pattern (the table's arity, -2, allows more).
        guard call.count <= 3 else { throw CommandError(RedisErrors.subcommandSyntax(call.string(1), of: call.string(0))) }
        let pattern = call.count > 2 ? call.bytes(2) : nil
        let names = call.node.clients.pubsub.subscribers(kind).keys.filter { name in
            pattern.map { GlobMatch.matches($0, name) } ?? true
        }
        call.client.arrayHeader(names.count)
        for name in names { call.client.bulk(name) }
    }

    static func pubsubNumsub(_ call: inout CommandCall) throws(CommandError) { numsub(call, kind: .channel) }
    static func pubsubShardNumsub(_ call: inout CommandCall) throws(CommandError) { numsub(call, kind: .shardChannel) }

    /// A flat array of channel, count pairs (Redis 7.0 sends an array even in RESP3).
    private static func numsub(_ call: CommandCall, kind: PubSubRegistry.Kind) {
        let table = call.node.clients.pubsub.subscribers(kind)
        call.client.arrayHeader((call.count - 2) * 2)
        for index in 2..<call.count {
            let name = call.bytes(index)
            call.client.bulk(name)
            call.client.integer(table[name]?.count ?? 0)
        }
    }

    static func pubsubNumpat(_ call: inout CommandCall) throws(CommandError) {
        call.client.integer(call.node.clients.pubsub.patterns.count)
    }
}
