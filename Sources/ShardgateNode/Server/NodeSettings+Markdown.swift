/// The node's directive table as README.md shows it (`shardgate options --node --markdown`), read
/// from `NodeSettings.parameters`, the same table the config file, the command line and CONFIG
/// GET/SET/REWRITE use; a NodeTests test fails when README.md differs.
extension NodeSettings {
    public static func directivesMarkdown() -> String {
        let defaults = NodeSettings()
        var lines = ["| directive | default | CONFIG SET |", "|---|---|---|"]
        for parameter in parameters {
            let name = "`\(parameter.name)`" + (parameter.alias.map { " (`\($0)`)" } ?? "")
            let value = parameter.get(defaults)
            let shown = value.isEmpty ? "\"\"" : "`\(value.split(separator: "|", omittingEmptySubsequences: false).joined(separator: "\\|"))`"
            let runtime = !parameter.mutable ? "no (startup only)" : (parameter.isProtected ? "with `enable-protected-configs`" : "yes")
            lines.append("| \(name) | \(shown) | \(runtime) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
