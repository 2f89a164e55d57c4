import Commands

/// CLIENT REPLY, CLIENT PAUSE/UNPAUSE, CLIENT NO-EVICT and client-side caching (TRACKING, CACHING,
/// GETREDIR, TRACKINGINFO: `TrackingCommands.swift`) (the other CLIENT subcommands are in
/// `ConnectionCommands`).
enum ClientCommands {
    static var all: [(String, CommandHandler)] {[
        ("client|reply", .init(reply)), ("client|pause", .init(pause)), ("client|unpause", .init(unpause)), ("client|no-evict", .init(noEvict)),
        ("client|tracking", .init(tracking)), ("client|caching", .init(caching)), ("client|getredir", .init(getRedirect)),
        ("client|trackinginfo", .init(trackingInfo)),
    ]}

    /// CLIENT REPLY ON|OFF|SKIP: OFF and SKIP answer nothing themselves (`Node.process` drops replies).
    static func reply(_ call: inout CommandCall) throws(CommandError) {
        let client = call.client
        if call.matches(2, "on") {
            client.flags.replyMode = .on
            client.ok()
        } else if call.matches(2, "off") {
            client.flags.replyMode = .off
        } else if call.matches(2, "skip") {
            if client.flags.replyMode != .off { client.flags.replyMode = .skipNext }
        } else {
            throw .syntax
        }
    }

    /// CLIENT PAUSE timeout [WRITE|ALL].
    static func pause(_ call: inout CommandCall) throws(CommandError) {
        guard call.count == 3 || call.count == 4 else { throw .syntax }
        var writesOnly = false
        if call.count == 4 {
            if call.matches(3, "write") {
                writesOnly = true
            } else if !call.matches(3, "all") {
                throw CommandError("ERR CLIENT PAUSE mode must be WRITE or ALL")
            }
        }
        let timeout = try call.integer(2, error: CommandError("ERR timeout is not an integer or out of range"))
        guard timeout >= 0 else { throw CommandError("ERR timeout is negative") }
        let (end, overflow) = call.now.addingReportingOverflow(Int64(timeout))
        call.node.pauseClients(until: overflow ? .max : end, writesOnly: writesOnly)
        call.client.ok()
    }

    static func unpause(_ call: inout CommandCall) throws(CommandError) {
        call.node.unpauseClients()
        call.client.ok()
    }

    static func noEvict(_ call: inout CommandCall) throws(CommandError) {
        if call.matches(2, "on") {
            call.client.noEvict = true
        } else if call.matches(2, "off") {
            call.client.noEvict = false
        } else {
            throw .syntax
        }
        call.client.ok()
    }
}
