import Foundation
import Testing

/// `/metrics`: scraped over HTTP, parsed by Prometheus's own Python parser (prometheus_client),
/// and checked to move by exactly what was sent between two scrapes.
@Suite(.serialized, .enabled(if: TestEnvironment.canRun("redis-server", "python3")))
struct ProxyMetricsTests {
    /// Every sample of one scrape, as `name{label=value,...}` (labels sorted) -> value.
    typealias Samples = [String: Double]

    /// The raw HTTP response to `request` on `port` (the server answers and closes).
    static func http(_ port: Int, _ request: String) throws -> String {
        let client = try RedisTestClient(port: port, timeoutSeconds: 5)
        try client.sendRaw(Array(request.utf8))
        return String(decoding: try client.readToEnd(), as: UTF8.self)
    }

    /// GET /metrics, its body parsed by prometheus_client.
    static func scrape(_ port: Int) throws -> Samples {
        let response = try http(port, "GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n")
        #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(response.contains("Content-Type: text/plain; version=0.0.4"))
        let body = try #require(response.range(of: "\r\n\r\n")).upperBound
        let python = try #require(TestEnvironment.python)
        let script = """
            import sys, json
            from prometheus_client.parser import text_string_to_metric_families
            out = {}
            for family in text_string_to_metric_families(sys.stdin.read()):
                for s in family.samples:
                    out[s.name + "{" + ",".join("%s=%s" % kv for kv in sorted(s.labels.items())) + "}"] = s.value
            print(json.dumps(out))
            """
        let result = try run(python, ["-c", script], input: Data(response[body...].utf8))
        guard result.status == 0, let samples = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Double]
        else { throw TestFailure("prometheus_client refused the metrics: \(result.output)") }
        return samples
    }

    /// The sum of every sample of `name` whose labels include all of `labels`.
    static func total(_ samples: Samples, _ name: String, _ labels: [String] = []) -> Double {
        samples.filter { key, _ in
            key.hasPrefix(name + "{") && labels.allSatisfy { key.contains($0) }
        }.values.reduce(0, +)
    }

    @Test func countersMoveByWhatWasSent() async throws {
        let servers = try await ShardGroups(groups: 2).masters
        defer { servers.forEach { $0.stop() } }
        let proxy = try await ProxyUnderTest(
            yaml: """
                alpha:
                  listen: LISTEN
                  redis: true
                  hash: fnv1a_64
                  distribution: ketama
                  servers:
                    - \(servers[0].address):1 one
                    - \(servers[1].address):1 two
                """, threads: 2, metrics: true)
        let port = try #require(proxy.metricsPort)
        let before = try Self.scrape(port)

        let client = try proxy.client()
        let keys = (0..<50).map { "key:\($0)" }
        let replies = try client.pipeline(
            keys.map { ["SET", $0, "v"] } + keys.map { ["GET", $0] } + [["LPUSH", "list", "a"], ["INCR", "key:0"], ["NOSUCH", "x"]]
                + [["MGET"] + keys, ["PING"]])
        #expect(replies.count == 105)
        let after = try Self.scrape(port)
        func delta(_ name: String, _ labels: [String] = []) -> Double {
            Self.total(after, name, labels) - Self.total(before, name, labels)
        }

        // Requests by category: 100 SET/GET + INCR + MGET are strings; LPUSH a list; PING connection.
        #expect(delta("shardgate_commands_total", ["category=string"]) == 102)
        #expect(delta("shardgate_commands_total", ["category=list"]) == 1)
        #expect(delta("shardgate_commands_total", ["category=connection"]) == 1)
        #expect(delta("shardgate_commands_total", ["category=unknown"]) == 1)
        // Errors: INCR of a non-integer (from the backend), the unknown command (from the proxy).
        #expect(delta("shardgate_command_errors_total", ["category=string"]) == 1)
        #expect(delta("shardgate_command_errors_total", ["category=unknown"]) == 1)
        #expect(delta("shardgate_command_errors_total") == 2)
        // Every answered request is timed once.
        #expect(delta("shardgate_request_duration_seconds_count") == 105)
        #expect(delta("shardgate_request_duration_seconds_bucket", ["le=+Inf"]) == 105)
        // Backends: 100 + LPUSH + INCR forwarded, the MGET split in two parts (one per group).
        #expect(delta("shardgate_backend_requests_total") == 104)
        #expect(delta("shardgate_backend_responses_total") == 104)
        #expect(delta("shardgate_backend_error_replies_total") == 1)
        #expect(delta("shardgate_backend_request_duration_seconds_count") == 104)
        #expect(delta("shardgate_split_commands_total") == 1)
        #expect(delta("shardgate_fragments_total") == 2)
        #expect(delta("shardgate_backend_sent_bytes_total") > 0)
        #expect(Self.total(after, "shardgate_backend_up") == 2)
        #expect(Self.total(after, "shardgate_client_connections") == 1)
        // Cumulative buckets never decrease, and end at the count.
        let bounds = after.keys.filter { $0.hasPrefix("shardgate_request_duration_seconds_bucket{") }
            .compactMap { key -> (Double, Double)? in
                guard let start = key.range(of: "le=")?.upperBound else { return nil }
                let le = key[start...].prefix { $0 != "," && $0 != "}" }
                return (le == "+Inf" ? .infinity : Double(le) ?? -1, after[key]!)
            }
            .sorted { $0.0 < $1.0 }
        #expect(bounds.count == 18)
        #expect(zip(bounds, bounds.dropFirst()).allSatisfy { $0.1 <= $1.1 })
        #expect(bounds.last?.1 == Self.total(after, "shardgate_request_duration_seconds_count"))
        client.disconnect()
        await proxy.stop()
    }

    /// A backend that is gone: its requests fail, and it shows as down.
    @Test func deadBackendShowsDown() async throws {
        let servers = try await ShardGroups(groups: 1).masters
        let proxy = try await ProxyUnderTest(
            yaml: """
                alpha:
                  listen: LISTEN
                  redis: true
                  servers:
                    - \(servers[0].address):1 one
                """, threads: 1, metrics: true)
        let port = try #require(proxy.metricsPort)
        let client = try proxy.client()
        #expect(try client.command("SET", "k", "v") == .status("OK"))
        servers[0].stop()
        guard case .error = try client.command("GET", "k") else { throw TestFailure("GET on a dead backend did not fail") }
        let samples = try Self.scrape(port)
        #expect(Self.total(samples, "shardgate_backend_up") == 0)
        #expect(Self.total(samples, "shardgate_backend_failed_requests_total") >= 1)
        #expect(Self.total(samples, "shardgate_command_errors_total", ["category=string"]) == 1)
        client.disconnect()
        await proxy.stop()
    }

    @Test func otherPathsAndMethods() async throws {
        let servers = try await ShardGroups(groups: 1).masters
        defer { servers.forEach { $0.stop() } }
        let proxy = try await ProxyUnderTest(
            yaml: "alpha:\n  listen: LISTEN\n  redis: true\n  servers:\n    - \(servers[0].address):1 one\n", threads: 1, metrics: true)
        let port = try #require(proxy.metricsPort)
        #expect(try Self.http(port, "GET / HTTP/1.1\r\nHost: t\r\n\r\n").hasPrefix("HTTP/1.1 404 Not Found\r\n"))
        #expect(try Self.http(port, "POST /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n").hasPrefix("HTTP/1.1 405 Method Not Allowed\r\n"))
        let head = try Self.http(port, "HEAD /metrics HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(head.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(head.hasSuffix("\r\n\r\n"))
        await proxy.stop()
    }
}
