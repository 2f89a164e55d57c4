import Config
import Logging

/// What a reload did: applied to every pool, or refused (nothing changed), and why.
public struct ReloadOutcome: Sendable, Equatable {
    public var applied: Bool
    /// One line per pool that changed, or each reason for refusing.
    public var lines: [String]

    /// The outcome as one reply line (`PROXY RELOAD`) or log message.
    public var summary: String {
        let text = (applied ? "reloaded" : "reload refused") + (lines.isEmpty ? "" : ": " + lines.joined(separator: "; "))
        return String(text.map { $0 == "\r" || $0 == "\n" || $0 == "\r\n" ? " " : $0 })
    }
}

extension ProxyServer {
    /// Re-reads the configuration file the proxy started from and applies it (`reload(to:force:)`).
    /// A file that fails validation is refused with its errors (file and line), and the running
    /// configuration stays.
    public func reloadFromFile(force: Bool) async -> ReloadOutcome {
        guard let configPath else { return refused(["the proxy was not started from a file"]) }
        let config: ProxyConfig
        do {
            config = try ProxyConfigLoader.load(path: configPath)
        } catch {
            return refused(error.issues.map(\.description))
        }
        return await reload(to: config, force: force)
    }

    /// Applies `config` to the running pools, all or none: refused while any pool has a change only
    /// a restart can make, or would place keys in other groups and `force` is false (saying how
    /// many of 10,000 sample keys would move). Client connections stay open throughout.
    public func reload(to config: ProxyConfig, force: Bool) async -> ReloadOutcome {
        guard reloading.withLockedValue({ running in
            defer { running = true }
            return !running
        }) else { return refused(["another reload is running"]) }
        defer { reloading.withLockedValue { $0 = false } }

        let running = Set(pools.map { $0.runtime.config.name })
        let wanted = Set(config.pools.map(\.name))
        if running != wanted {
            let added = wanted.subtracting(running).sorted(), removed = running.subtracting(wanted).sorted()
            return refused([
                "pools can only be added or removed by a restart"
                    + (added.isEmpty ? "" : " (added: \(added.joined(separator: ", ")))")
                    + (removed.isEmpty ? "" : " (removed: \(removed.joined(separator: ", ")))")
            ])
        }
        var problems: [String] = []
        var plan: [(ProxyPool, PoolRuntime, [String])] = []
        for pool in pools {
            let old = pool.runtime.config
            // A pool with TLS reloads even unchanged: its certificate files may have been replaced.
            guard let new = config.pools.first(where: { $0.name == old.name }),
                new != old || new.tls != nil || new.backendTLS != nil
            else { continue }
            let check = PoolReloadCheck(old: old, new: new)
            for change in check.restartOnlyChanges { problems.append("pool '\(old.name)': \(change); that needs a restart") }
            var notes = Self.changedSettings(old, new)
            if new.tls != nil || new.backendTLS != nil { notes.append("TLS files re-read") }
            if check.movesKeys {
                let moved = check.sampledMoves()
                let text = "\(moved) of 10000 sampled keys would move to another group"
                if force {
                    notes.append("placement changed (forced): \(text)")
                } else {
                    problems.append("pool '\(old.name)': \(text); reload with force to apply (the data is not moved)")
                }
            }
            // Certificates are read again: a reload also rotates them (for new connections).
            do throws(ConfigError) {
                let tls = try PoolTLS.load(new, configFile: configPath ?? "proxy.yml")
                plan.append((pool, PoolRuntime(config: new, tls: tls), notes))
            } catch {
                problems += error.issues.map(\.description)
            }
        }
        guard problems.isEmpty else { return refused(problems) }
        var lines: [String] = []
        for (pool, runtime, notes) in plan {
            let new = runtime.config
            pool.replaceRuntime(with: runtime)
            // Reads turning to replicas: the watcher vets them before any read can go there.
            let watching = ReplicaWatcher.isNeeded(for: new)
            if watching && pool.replicaWatcher.withLockedValue({ $0 == nil }) {
                await startWatchingReplicas(of: pool)
            } else if !watching, let task = pool.replicaWatcher.withLockedValue({ $0 }) {
                task.cancel()
                await task.value
                pool.replicaWatcher.withLockedValue { $0 = nil }
            }
            await pool.reloadLoops(to: runtime)
            lines.append("pool '\(new.name)': \(notes.joined(separator: ", "))")
        }
        let outcome = ReloadOutcome(applied: true, lines: lines.isEmpty ? ["nothing changed"] : lines)
        logger.notice("configuration reloaded", metadata: ["changes": "\(outcome.lines.joined(separator: "; "))"])
        return outcome
    }

    private func refused(_ reasons: [String]) -> ReloadOutcome {
        let outcome = ReloadOutcome(applied: false, lines: reasons)
        logger.error("configuration reload refused", metadata: ["reasons": "\(reasons.joined(separator: "; "))"])
        return outcome
    }

    /// The names of the settings that differ (never their values: passwords are among them).
    static func changedSettings(_ old: PoolConfig, _ new: PoolConfig) -> [String] {
        let before = Mirror(reflecting: old).children, after = Mirror(reflecting: new).children
        return zip(before, after).compactMap { pair in
            guard let name = pair.0.label else { return nil }
            return String(describing: pair.0.value) == String(describing: pair.1.value) ? nil : name
        }
    }
}
