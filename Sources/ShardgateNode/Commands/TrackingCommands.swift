import Commands

/// Client-side caching: CLIENT TRACKING, CACHING, GETREDIR and TRACKINGINFO (the tracking table
/// and the invalidations are in `Server/Node+Tracking.swift`).
extension ClientCommands {
    /// CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX prefix ...] [BCAST] [OPTIN] [OPTOUT] [NOLOOP].
    static func tracking(_ call: inout CommandCall) throws(CommandError) {
        let client = call.client
        var mode = TrackingMode()
        var prefixes: [[UInt8]] = []
        var index = 3
        while index < call.count {
            let more = index + 1 < call.count
            if call.matches(index, "redirect") && more {
                index += 1
                if mode.redirect != 0 { throw CommandError("ERR A client can only redirect to a single other client") }
                let id = try call.integer(index, error: CommandError("ERR value is not an integer or out of range"))
                guard call.node.clients.connected[id] != nil else {
                    throw CommandError("ERR The client ID you want redirect to does not exist")
                }
                mode.redirect = id
            } else if call.matches(index, "bcast") {
                mode.broadcast = true
            } else if call.matches(index, "optin") {
                mode.optIn = true
            } else if call.matches(index, "optout") {
                mode.optOut = true
            } else if call.matches(index, "noloop") {
                mode.noLoop = true
            } else if call.matches(index, "prefix") && more {
                index += 1
                prefixes.append(call.bytes(index))
            } else {
                throw .syntax
            }
            index += 1
        }
        if call.matches(2, "on") {
            if !mode.broadcast && !prefixes.isEmpty {
                throw CommandError("ERR PREFIX option requires BCAST mode to be enabled")
            }
            if let current = client.flags.tracking, current.broadcast != mode.broadcast {
                throw CommandError(
                    "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.")
            }
            if mode.broadcast && (mode.optIn || mode.optOut) {
                throw CommandError("ERR OPTIN and OPTOUT are not compatible with BCAST")
            }
            if mode.optIn && mode.optOut { throw CommandError("ERR You can't specify both OPTIN mode and OPTOUT mode") }
            if let current = client.flags.tracking, (mode.optIn && current.optOut) || (mode.optOut && current.optIn) {
                throw CommandError(
                    "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.")
            }
            if mode.broadcast { try checkPrefixOverlaps(prefixes, existing: client.flags.tracking?.prefixes ?? []) }
            call.node.enableTracking(client, mode: mode, prefixes: prefixes)
        } else if call.matches(2, "off") {
            call.node.disableTracking(client)
        } else {
            throw .syntax
        }
        client.ok()
    }

    /// A client's prefixes must not overlap (one a prefix of another), neither with those it has
    /// nor among themselves: Redis's errors, first overlap found.
    private static func checkPrefixOverlaps(_ prefixes: [[UInt8]], existing: [[UInt8]]) throws(CommandError) {
        func overlap(_ a: [UInt8], _ b: [UInt8]) -> Bool { a.starts(with: b) || b.starts(with: a) }
        func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
        for (position, prefix) in prefixes.enumerated() {
            if let collision = existing.first(where: { overlap($0, prefix) }) {
                throw CommandError(
                    "ERR Prefix '\(text(prefix))' overlaps with an existing prefix '\(text(collision))'. Prefixes for a single client must not overlap.")
            }
            if let other = prefixes[(position + 1)...].first(where: { overlap(prefix, $0) }) {
                throw CommandError(
                    "ERR Prefix '\(text(prefix))' overlaps with another provided prefix '\(text(other))'. Prefixes for a single client must not overlap.")
            }
        }
    }

    /// CLIENT CACHING YES|NO: whether the next command's reads are tracked (OPTIN / OPTOUT).
    static func caching(_ call: inout CommandCall) throws(CommandError) {
        let client = call.client
        guard let mode = client.flags.tracking else {
            throw CommandError(
                "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled")
        }
        if call.matches(2, "yes") {
            guard mode.optIn else {
                throw CommandError("ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.")
            }
        } else if call.matches(2, "no") {
            guard mode.optOut else {
                throw CommandError("ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.")
            }
        } else {
            throw .syntax
        }
        client.flags.tracking!.caching = true
        client.ok()
    }

    /// CLIENT GETREDIR: the redirect id, 0 when tracking without one, -1 when not tracking.
    static func getRedirect(_ call: inout CommandCall) throws(CommandError) {
        call.client.integer(call.client.flags.tracking?.redirect ?? -1)
    }

    /// CLIENT TRACKINGINFO: flags, redirect and prefixes.
    static func trackingInfo(_ call: inout CommandCall) throws(CommandError) {
        let client = call.client
        let mode = client.flags.tracking
        var flags: [String] = []
        if let mode {
            flags.append("on")
            if mode.broadcast { flags.append("bcast") }
            if mode.optIn { flags.append("optin") }
            if mode.optOut { flags.append("optout") }
            if mode.caching && mode.optIn { flags.append("caching-yes") }
            if mode.caching && mode.optOut { flags.append("caching-no") }
            if mode.noLoop { flags.append("noloop") }
            if mode.brokenRedirect { flags.append("broken_redirect") }
        } else {
            flags.append("off")
        }
        client.mapHeader(3)
        client.bulk("flags")
        client.setHeader(flags.count)
        for flag in flags { client.bulk(flag) }
        client.bulk("redirect")
        client.integer(mode?.redirect ?? -1)
        client.bulk("prefixes")
        let prefixes = mode?.prefixes ?? []
        client.arrayHeader(prefixes.count)
        for prefix in prefixes { client.bulk(prefix) }
    }
}
