import Config
import NIOSSL

/// A pool's TLS, set up once when the proxy starts from the files `tls` and `backend_tls` name. A
/// NIOSSLContext is thread-safe, so every connection on every event loop shares these: nothing is
/// read from disk per connection.
struct PoolTLS: Sendable {
    /// Wraps every accepted client (`tls`); nil: plain TCP.
    var listener: NIOSSLContext?
    /// Wraps every connection to a backend or a Sentinel (`backend_tls`); nil: plain TCP.
    var backend: TLSConnector?

    static let plain = PoolTLS()

    /// Loads `pool`'s certificates and keys. Every file it cannot use is one issue naming the key
    /// (`alpha.tls.cert`) and the file, so `shardgate check` and the start say what to fix.
    static func load(_ pool: PoolConfig, configFile: String) throws(ConfigError) -> PoolTLS {
        var files = TLSFileLoader(configFile: configFile, pool: pool.name)
        var loaded = PoolTLS()
        if let tls = pool.tls { loaded.listener = files.listenerContext(tls) }
        if let tls = pool.backendTLS, let context = files.connectorContext(tls) {
            loaded.backend = TLSConnector(context: context, serverName: tls.serverName)
        }
        if !files.issues.isEmpty { throw ConfigError(issues: files.issues) }
        return loaded
    }
}

/// The TLS files of a whole configuration, checked as the proxy would load them (for `shardgate
/// check`, and before the start so a bad file stops it with the file named).
public enum ProxyTLSFiles {
    public static func check(_ config: ProxyConfig, configFile: String) throws(ConfigError) {
        var issues: [ConfigIssue] = []
        for pool in config.pools {
            do throws(ConfigError) {
                _ = try PoolTLS.load(pool, configFile: configFile)
            } catch {
                issues += error.issues
            }
        }
        if !issues.isEmpty { throw ConfigError(issues: issues) }
    }
}
