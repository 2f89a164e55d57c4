/// Redis's HELP replies (`addReplyHelp`): a header line, the subcommands' lines, then HELP itself.
/// Shared by the node and the proxy for the commands both answer.
public enum CommandHelp {
    public static func lines(_ command: String, _ body: [String]) -> [String] {
        ["\(command) <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"] + body + ["HELP", "    Prints this help."]
    }

    public static let slowlog = [
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
    ]
}
