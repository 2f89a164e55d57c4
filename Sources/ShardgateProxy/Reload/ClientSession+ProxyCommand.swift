import ACL
import Commands
import NIOCore
import RESP

/// `PROXY RELOAD [FORCE]` and `PROXY HELP`: the proxy's own admin command, which no Redis has (so
/// it is not in the command table, and a user needs every @admin command to run it). RELOAD re-reads proxy.yml (`ProxyServer.reloadFromFile`) and
/// answers `+OK reloaded: …` or an error saying why nothing changed.
extension ClientSession {
    static let proxyHelp = [
        "RELOAD [FORCE]",
        "    Re-read the configuration file and apply it without closing client connections.",
        "    FORCE also applies a change of where keys live (the data is not moved).",
    ]

    func proxyCommand(_ request: RESPRequest) {
        guard machine.isAuthenticated else { return respondError(RedisErrors.noAuth) }
        // No ACL rule can name PROXY: it takes a user allowed every @admin command (CONFIG SET, ACL LOAD…).
        guard machine.user.unrestricted || machine.user.allowsEvery(category: ACLCategory.bit("admin")!) else {
            return respondError("NOPERM this user has no permissions to run the 'proxy' command")
        }
        guard machine.transaction == nil else { return respondError("ERR PROXY is not allowed inside a transaction") }
        guard request.argumentCount >= 2 else { return respondError(RedisErrors.wrongArity("proxy")) }
        let sub = request.string(1).lowercased()
        switch sub {
        case "help" where request.argumentCount == 2:
            respondHelp("PROXY", Self.proxyHelp)
        case "reload" where request.argumentCount == 2
            || (request.argumentCount == 3 && request.string(2).lowercased() == "force"):
            guard let reloader = loop.pool.reloader.withLockedValue({ $0 }) else {
                return respondError("ERR shardgate: this proxy cannot reload")
            }
            let force = request.argumentCount == 3
            let sequence = reserveSlot()
            let bound = NIOLoopBound(self, eventLoop: loop.eventLoop)
            let eventLoop = loop.eventLoop
            Task {
                let outcome = await reloader(force)
                eventLoop.execute {
                    var reply = ByteBuffer()
                    if outcome.applied {
                        reply.writeRESPSimpleString("OK \(outcome.summary)")
                    } else {
                        reply.writeRESPError("ERR \(outcome.summary)")
                    }
                    bound.value.complete(sequence, with: reply)
                }
            }
        case "reload":
            respondError(RedisErrors.syntax)
        default:
            respondError(RedisErrors.unknownSubcommand(request.string(1), of: "proxy"))
        }
    }
}
