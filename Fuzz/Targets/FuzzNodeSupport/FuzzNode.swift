import Foundation
import Logging
import NIOCore
import NIOEmbedded
import RESP

@testable import ShardgateNode

/// One in-process data node for the command-layer and AOF targets: no sockets, no persistence
/// (no save points, appendonly off, files in a temporary directory), logs dropped. Clients are
/// registered with a detached channel (the AOF loader's "fake client"), so replies only fill
/// `client.reply`.
public final class FuzzNode {
    public let loop = EmbeddedEventLoop()
    let node: Node

    public init() {
        var settings = NodeSettings()
        settings.savePoints = []
        settings.appendOnly = false
        settings.port = 0
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("shardgate-fuzz-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        settings.directory = directory
        node = Node(settings: settings, configFile: nil, loop: loop,
                    logger: Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    /// Runs `requests` as one client would, then closes the client and empties the keyspace, so
    /// inputs do not depend on each other.
    public func run(_ requests: [RESPRequest]) {
        let client = node.register(channel: DetachedChannel(eventLoop: loop))
        for request in requests {
            node.execute(request, from: client)
            client.reply.clear()
            if client.closeAfterReply { break }
        }
        finish(client)
    }

    /// Replays `bytes` as an append-only file (an RDB preamble first when it starts with `REDIS`),
    /// as the node does at startup.
    public func replayAOF(_ bytes: [UInt8]) {
        let client = node.register(channel: DetachedChannel(eventLoop: loop))
        do {
            var offset = 0
            if bytes.starts(with: Array("REDIS".utf8)) {
                let result = try bytes.withUnsafeBytes {
                    try Snapshot.load($0, into: node.keyspace.databases, settings: node.settings, now: node.now, dropExpired: false)
                }
                offset = result.length
            }
            let replay = try node.replayAOF(bytes, from: offset, client: client, path: "fuzz.aof")
            precondition(replay.valid >= offset && replay.valid <= bytes.count, "the valid prefix is outside the file")
        } catch {}
        finish(client)
    }

    /// Parses a manifest; the loader must return or throw.
    public static func parseManifest(_ text: String) {
        _ = try? AOFManifest.parse(text)
    }

    private func finish(_ client: ClientConnection) {
        // Timers (blocking timeouts) fire, queued flushes run.
        loop.advanceTime(by: .seconds(3600))
        client.reply.clear()
        node.unregister(client)
        let cleaner = node.register(channel: DetachedChannel(eventLoop: loop))
        node.execute(RESPRequest(arguments: [Array("FLUSHALL".utf8)]), from: cleaner)
        node.settings.maxMemory = 0
        node.unregister(cleaner)
        loop.run()
    }
}
