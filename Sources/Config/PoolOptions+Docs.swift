/// The option table as documentation: README's proxy.yml reference (`shardgate options --markdown`),
/// the terminal listing (`shardgate options`), and a pool's settings as `shardgate check` shows them.
extension PoolOptions {
    /// The README's key reference: one Markdown table for pool keys, one for group keys.
    /// README.md holds exactly this text between its `options` markers (a ConfigTests test checks it).
    public static func markdown() -> String {
        var lines = [
            "| key | pools | value | default | what it does |",
            "|---|---|---|---|---|",
        ]
        for option in all {
            lines.append(
                row([
                    "`\(option.name)`", poolsText(option), option.value, markdownDefault(option), option.doc,
                ]))
        }
        lines += [
            "",
            "Each entry of `groups:` takes:",
            "",
            "| key | value | default | what it does |",
            "|---|---|---|---|",
        ]
        for key in groupKeys {
            lines.append(row(["`\(key.name)`", key.value, key.defaultText, key.doc]))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The table for a terminal: each key with its value and default, then its doc, indented.
    public static func text() -> String {
        var out = ""
        for option in all {
            out += "\(option.name) (\(poolsText(option)) pools): \(option.value); default: \(plainDefault(option))\n"
            out += "    \(option.doc)\n"
        }
        out += "\ngroup keys:\n"
        for key in groupKeys {
            out += "\(key.name): \(key.value); default: \(key.defaultText)\n    \(key.doc)\n"
        }
        return out
    }

    /// The keys `pool` sets to something other than the default of its kind, as `key: value`, in
    /// table order (secrets shown as `(set)`; `listen` and the groups left out).
    public static func changedSettings(of pool: PoolConfig) -> [(key: String, value: String)] {
        let defaults = PoolConfig(name: pool.name, listen: pool.listen, groups: pool.groups, kind: pool.kind)
        return all.compactMap { option in
            guard option.pools.accept(pool.kind), !option.isRequired, !isAlias(option, in: pool.kind),
                let value = option.setting(in: pool), value != option.setting(in: defaults)
            else { return nil }
            return (option.name, value)
        }
    }

    /// `option` is a second name for a key this kind of pool also takes (`redis_db` in a native pool).
    private static func isAlias(_ option: PoolOption, in kind: PoolKind) -> Bool {
        guard let target = option.sameAs.flatMap({ byName[$0] }) else { return false }
        return target.pools.accept(kind)
    }

    private static func poolsText(_ option: PoolOption) -> String {
        option.needsSentinels ? "native, with `sentinels`" : option.pools.rawValue
    }

    /// The default in both kinds of pool when they differ (`timeout`).
    private static func plainDefault(_ option: PoolOption) -> String {
        let native = option.defaultText(in: .native)
        let twemproxy = option.defaultText(in: .twemproxy)
        switch option.pools {
        case .any where native != twemproxy: return "\(native) (twemproxy pools: \(twemproxy))"
        case .twemproxy: return twemproxy
        default: return native
        }
    }

    /// Values in code style, words ("required", "none", "the first group") as they are.
    private static func markdownDefault(_ option: PoolOption) -> String {
        func styled(_ text: String) -> String {
            option.isRequired || option.defaultNote != nil || text == "none" ? text : "`\(text)`"
        }
        let native = styled(option.defaultText(in: .native))
        let twemproxy = styled(option.defaultText(in: .twemproxy))
        switch option.pools {
        case .any where native != twemproxy: return "\(native) (twemproxy pools: \(twemproxy))"
        case .twemproxy: return twemproxy
        default: return native
        }
    }

    private static func row(_ cells: [String]) -> String {
        "| " + cells.map { $0.split(separator: "|", omittingEmptySubsequences: false).joined(separator: "\\|") }.joined(separator: " | ") + " |"
    }
}
