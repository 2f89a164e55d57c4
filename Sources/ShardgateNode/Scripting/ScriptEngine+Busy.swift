#if canImport(Glibc)
import Glibc
#endif
import CLua
import CLuaShim
import Commands
import NIOCore
import RESP

/// A script running past `busy-reply-threshold` (Redis's `lua-time-limit`): the node keeps
/// answering the other clients while it runs, as Redis's `processEventsWhileBlocked` does, so
/// they get `-BUSY` and can stop it with SCRIPT KILL, FUNCTION KILL or SHUTDOWN NOSAVE.
///
/// The node's one event loop is busy running the script, and SwiftNIO cannot run its loop from
/// inside one of its own callbacks. So the Lua hook does the loop's work for the connected clients
/// itself: it finds each client's socket (by its addresses, in `/proc/self/fd`), polls them, peeks
/// at the bytes waiting there, runs every complete request through `Node.execute` (which refuses
/// what a busy node refuses) and notes how many bytes it ran, for the client's handler to drop
/// when SwiftNIO reads them after the script (the bytes stay on the socket); the reply is
/// written to the socket at once, after the replies the client was still waiting for (unless
/// writes wait to be propagated: that client then waits for the script's end, so that replies stay
/// in order). New connections wait for the script's end.
extension ScriptEngine {
    /// Every 100 000 instructions while a script runs (every instruction once it is killed).
    static let hookInstructions: Int32 = 100_000

    func startHook() {
        killRequested = false
        sg_lua_sethook(state, scriptHook, Self.hookInstructions)
    }

    func stopHook() {
        sg_lua_sethook(state, nil, 0)
        if busy {
            busy = false
            node.busyScript = nil
        }
    }

    /// From the hook: true (with the error pushed) to stop the script.
    fileprivate func hookTick() -> Bool {
        if loading != nil {
            // FUNCTION LOAD's time limit for a library's code.
            guard Clock.monotonicMicroseconds() > loadDeadline else { return false }
            lua_pushstring(state, "FUNCTION LOAD timeout")
            return true
        }
        guard let run = running else { return false }
        if !killRequested {
            let threshold = node.settings.busyReplyThreshold
            guard threshold > 0, Clock.monotonicMicroseconds() - run.startedAt >= threshold * 1000 else { return false }
            if !busy {
                busy = true
                node.busyScript = self
                node.logger.warning(
                    "Slow script detected: still in execution after \(threshold) milliseconds. You can try killing the script using the \(isFunctionEngine ? "FUNCTION KILL" : "SCRIPT KILL") command.",
                    metadata: ["script": "\(run.name)"])
            }
            node.serveClientsWhileBusy(except: run.caller)
            guard killRequested else { return false }
        }
        // Raised at every instruction from now on, so that a pcall in the script cannot keep it going.
        sg_lua_sethook(state, scriptHook, 1)
        sg_lua_newtable(state)
        lua_pushstring(state, "ERR Script killed by user with \(isFunctionEngine ? "FUNCTION" : "SCRIPT") KILL...")
        lua_setfield(state, -2, "err")
        return true
    }

    var isFunctionEngine: Bool { chunkName == "user_function" }

    /// The error a busy node gives commands it does not run.
    var busyError: String {
        "BUSY Redis is busy running a script. You can only call \(isFunctionEngine ? "FUNCTION KILL" : "SCRIPT KILL") or SHUTDOWN NOSAVE."
    }

    /// SCRIPT KILL / FUNCTION KILL (`other`: the engine the other command kills).
    func kill(other: ScriptEngine) throws(CommandError) {
        guard let run = running else {
            if other.running != nil { throw CommandError(other.busyError) }
            throw CommandError("NOTBUSY No scripts in execution right now.")
        }
        if run.wrote {
            throw CommandError(
                "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.")
        }
        killRequested = true
    }
}

extension Node {
    /// Runs the complete requests the connected clients sent while a script is busy (see
    /// `ScriptEngine+Busy.swift`).
    func serveClientsWhileBusy(except caller: ClientConnection) {
        var candidates: [(ClientConnection, Int32)] = []
        for client in clients.connected.values where client !== caller {
            if client.flags.isReplica || client.flags.isMaster || client.flags.isBlocked || client.closeAfterReply { continue }
            if client.reply.readableBytes > 0 || client.flushQueued {
                // Replies from before the script go first, as the end of the tick would send them;
                // not while writes wait for the AOF and replicas (they cannot go out before the
                // script's own, which must stay one unit).
                guard propagation.pending.readableBytes == 0 else { continue }
                client.flush()
            }
            // Replies the channel still holds (a client not reading) must leave before any written
            // here: that client waits for the script's end.
            if !client.channel.isWritable || unsentReplyBytes(client) > 0 { continue }
            guard let fd = socket(of: client) else { continue }
            candidates.append((client, fd))
        }
        guard !candidates.isEmpty else { return }
        var polls = candidates.map { pollfd(fd: $0.1, events: Int16(POLLIN), revents: 0) }
        guard poll(&polls, nfds_t(polls.count), 0) > 0 else { return }
        for (index, entry) in polls.enumerated() where entry.revents & Int16(POLLIN) != 0 {
            serveWhileBusy(candidates[index].0, fd: candidates[index].1)
        }
    }

    private func serveWhileBusy(_ client: ClientConnection, fd: Int32) {
        // The bytes stay on the socket for SwiftNIO (which expects to find what epoll announced);
        // the client's handler drops those already run here when they arrive.
        let served = client.flags.servedWhileBusy
        var peeked = [UInt8](repeating: 0, count: served + 64 * 1024)
        let count = peeked.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_PEEK | MSG_DONTWAIT)) }
        guard count > served else { return }
        var buffer = ByteBuffer(bytes: peeked[served..<count])
        var parser = RESPRequestParser(authenticated: client.authenticated)
        // Each complete request and where it ends in the peeked bytes.
        var requests: [(request: RESPRequest, end: Int)] = []
        while true {
            let before = buffer.readerIndex
            guard let request = try? parser.next(from: &buffer) else {
                buffer.moveReaderIndex(to: before)
                break
            }
            requests.append((request, buffer.readerIndex))
        }
        var ranUpTo = 0
        for (request, end) in requests {
            // Counted before running it: the handler drops it when SwiftNIO reads it later.
            client.flags.servedWhileBusy += end - ranUpTo
            ranUpTo = end
            execute(request, from: client)
            var reply = client.reply
            client.reply.clear()
            while reply.readableBytes > 0 {
                let sent = reply.withUnsafeReadableBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
                if sent > 0 {
                    reply.moveReaderIndex(forwardBy: sent)
                } else if sent < 0 && errno == EINTR {
                    continue
                } else {
                    break
                }
            }
            if reply.readableBytes > 0 {
                // The socket is full (or failed): the rest, and the replies to the requests after
                // it, go out through the channel after the script, in order (this client is not
                // served here again while the channel holds them). Never wait on a client here.
                client.reply = reply
                scheduleFlush(client)
            }
            if client.closeAfterReply || client.reply.readableBytes > 0 { break }
        }
    }

    /// The socket of a connected client: the descriptor whose two ends have its addresses.
    private func socket(of client: ClientConnection) -> Int32? {
        if let fd = client.flags.socketDescriptor { return fd >= 0 ? fd : nil }
        // Looked up once per client (-1 remembers a socket not found).
        client.flags.socketDescriptor = -1
        guard let directory = opendir("/proc/self/fd") else { return nil }
        defer { closedir(directory) }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let fd = Int32(name) else { continue }
            if Self.address(of: fd, peer: true) == client.remoteAddress && Self.address(of: fd, peer: false) == client.localAddress {
                client.flags.socketDescriptor = fd
                return fd
            }
        }
        return nil
    }

    private static func text(_ characters: [CChar]) -> String {
        String(decoding: characters.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `ip:port` of one end of a socket, as `ClientConnection` spells its addresses.
    private static func address(of fd: Int32, peer: Bool) -> String? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { peer ? getpeername(fd, $0, &length) : getsockname(fd, $0, &length) }
        }
        guard status == 0 else { return nil }
        var text = [CChar](repeating: 0, count: 64)
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                    var ip = address.pointee.sin_addr
                    inet_ntop(AF_INET, &ip, &text, socklen_t(text.count))
                    return "\(Self.text(text)):\(UInt16(bigEndian: address.pointee.sin_port))"
                }
            }
        case AF_INET6:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                    var ip = address.pointee.sin6_addr
                    inet_ntop(AF_INET6, &ip, &text, socklen_t(text.count))
                    return "\(Self.text(text)):\(UInt16(bigEndian: address.pointee.sin6_port))"
                }
            }
        default:
            return nil
        }
    }
}

/// The Lua hook of running scripts and of library code FUNCTION LOAD runs (one function for
/// every state: the shim keeps one).
let scriptHook: sg_lua_hook = { state in
    guard let state else { return 0 }
    return ScriptEngine.withEngine(of: state) { $0.hookTick() ? 1 : 0 } ?? 0
}
