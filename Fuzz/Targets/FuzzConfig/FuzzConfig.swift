import Config
import ShardgateNode

@testable import Config

/// The configuration loaders: proxy.yml (ProxyConfigLoader, through Yams), redis.conf text and a
/// redis-server command line (RedisConfFile) applied to the node's settings (NodeSettings.apply),
/// twemproxy `servers:` lines and `host:port` endpoints.
///
/// Input: one selector byte (which loader, modulo 5), then the text. Every loader must return or
/// throw its error; nothing may trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data + 1, count: size - 1), as: UTF8.self)
    switch data[0] % 5 {
    case 0:
        _ = try? ProxyConfigLoader.parse(text, file: "fuzz.yml")
    case 1:
        if let directives = try? RedisConfFile.parse(text, file: "fuzz.conf") {
            var settings = NodeSettings()
            try? settings.apply(directives)
        }
    case 2:
        // Words separated by NUL, as argv.
        let words = text.split(separator: "\u{0}", omittingEmptySubsequences: false).map(String.init)
        if let directives = try? RedisConfFile.parseCommandLine(words) {
            var settings = NodeSettings()
            try? settings.apply(directives)
        }
    case 3:
        for line in text.split(separator: "\n") { _ = TwemproxyServer.parse(String(line)) }
    default:
        for line in text.split(separator: "\n") { _ = Endpoint(parsing: String(line)) }
    }
    return 0
}
