import Commands
import NIOCore
import RESP
import RedisText

/// SLOWLOG GET/LEN/RESET/HELP at the proxy, over every event loop's part of the pool's slow log
/// (`SlowLog`), with Redis 7.0's replies and errors.
extension ClientSession {
    func slowlogCommand(_ request: RESPRequest) {
        guard request.argumentCount >= 2 else { return respondError(RedisErrors.wrongArity("slowlog")) }
        let sub = request.string(1).lowercased()
        let fixedArity = ["help": 2, "reset": 2, "len": 2]
        if let arity = fixedArity[sub], request.argumentCount != arity {
            return respondError(RedisErrors.wrongArity("slowlog|\(sub)"))
        }
        switch sub {
        case "help":
            respondHelp("SLOWLOG", CommandHelp.slowlog)
        case "reset":
            let sequence = reserveSlot()
            let bound = NIOLoopBound(self, eventLoop: loop.eventLoop)
            loop.pool.onEveryLoop(deliveredOn: loop.eventLoop) { $0.slowLog.reset() }.whenComplete { _ in
                bound.value.complete(sequence) { $0.writeStaticString("+OK\r\n") }
            }
        case "len":
            let sequence = reserveSlot()
            let bound = NIOLoopBound(self, eventLoop: loop.eventLoop)
            loop.pool.onEveryLoop(deliveredOn: loop.eventLoop) { $0.slowLog.entries.count }.whenComplete { result in
                let total = ((try? result.get()) ?? []).reduce(0, +)
                bound.value.complete(sequence) { $0.writeRESPInteger(total) }
            }
        case "get" where request.argumentCount <= 3
            || (request.argumentCount == 4 && request.string(3).lowercased() == "details"):
            // `DETAILS` (the proxy's own) adds where each request went and the backend's part.
            let details = request.argumentCount > 2 && request.string(request.argumentCount - 1).lowercased() == "details"
            var count = 10
            if request.argumentCount - (details ? 1 : 0) == 3 {
                guard let given = request.withArgument(2, { RedisInteger.parse($0) }).map({ Int($0) }), given >= -1 else {
                    return respondError("ERR count should be greater than or equal to -1")
                }
                count = given == -1 ? Int.max : given
            }
            let sequence = reserveSlot()
            let bound = NIOLoopBound(self, eventLoop: loop.eventLoop)
            let wanted = count
            loop.pool.onEveryLoop(deliveredOn: loop.eventLoop) { loop in Array(loop.slowLog.entries.prefix(wanted)) }
                .whenComplete { result in
                    // Newest first across loops: ids are the pool's, given in order.
                    let entries = ((try? result.get()) ?? []).flatMap { $0 }.sorted { $0.id > $1.id }.prefix(wanted)
                    bound.value.complete(sequence) { SlowLog.write(Array(entries), details: details, into: &$0) }
                }
        case "get":
            respondError(RedisErrors.subcommandSyntax("get", of: "slowlog"))
        default:
            respondError(RedisErrors.unknownSubcommand(request.string(1), of: "slowlog"))
        }
    }
}
