import Foundation
import NIOConcurrencyHelpers

/// Clients writing unique keys through the proxy as fast as they can, each on its own thread,
/// recording when every write was sent and how it was answered. For failover tests.
final class WriteLoad: @unchecked Sendable {
    struct Write {
        let key: String
        let value: String
        let sentAt: ContinuousClock.Instant
        let answeredAt: ContinuousClock.Instant
        let acknowledged: Bool
    }

    private let running = NIOLockedValueBox(true)
    private let results = NIOLockedValueBox<[Write]>([])
    private var threads: [Thread] = []
    private let finished = DispatchGroup()

    /// `clients` threads writing `SET prefix:<client>:<n> <n>` to `port`.
    init(port: Int, clients: Int, prefix: String) {
        for clientIndex in 0..<clients {
            finished.enter()
            let thread = Thread { [self] in
                defer { finished.leave() }
                var connection: RedisTestClient?
                var number = 0
                var local: [Write] = []
                while running.withLockedValue({ $0 }) {
                    if connection == nil { connection = try? RedisTestClient(port: port, timeoutSeconds: 5) }
                    guard let client = connection else {
                        usleep(2_000)
                        continue
                    }
                    number += 1
                    let key = "\(prefix):\(clientIndex):\(number)"
                    let sentAt = ContinuousClock.now
                    let reply = try? client.command("SET", key, "\(number)")
                    let acknowledged = reply == .status("OK")
                    local.append(Write(key: key, value: "\(number)", sentAt: sentAt, answeredAt: .now, acknowledged: acknowledged))
                    if reply == nil { connection = nil }
                    if !acknowledged { usleep(1_000) }
                }
                results.withLockedValue { $0 += local }
            }
            threads.append(thread)
            thread.start()
        }
    }

    /// Stops every client (bounded) and returns all writes, sorted by send time.
    func stop() -> [Write] {
        running.withLockedValue { $0 = false }
        _ = finished.wait(timeout: .now() + 15)
        return results.withLockedValue { $0 }.sorted { $0.sentAt < $1.sentAt }
    }
}
