import NIOCore
import RESP

/// MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH password]
/// [AUTH2 username password] [KEYS key ...], as Redis 7.0 runs it: the keys go to the target as
/// RESTORE commands (DUMP payloads with their remaining TTL) over a cached connection
/// (`MigrateSockets`), and without COPY each key the target acknowledged is deleted here and
/// propagated as DEL. Synchronous, like Redis's: the node waits for the target, each step bounded by
/// `timeout` milliseconds.
enum MigrateCommand {
    static var all: [(String, CommandHandler)] {[("migrate", .init(migrate))]}

    private struct Options {
        var copy = false
        var replace = false
        var username: [UInt8]?
        var password: [UInt8]?
        var keyIndices: [Int] = [3]
    }

    static func migrate(_ call: inout CommandCall) throws(CommandError) {
        let options = try parseOptions(call)
        var timeout = try call.integer(5)
        let database = try call.integer(4)
        if timeout <= 0 { timeout = 1000 }
        // Only the keys that are here go; none at all is no error (they may just have expired).
        let present = options.keyIndices.filter { call.lookupRead($0) != nil }
        guard !present.isEmpty else { return call.client.simple("NOKEY") }

        let host = call.string(1), port = call.string(2)
        var mayRetry = true
        while true {
            guard let connection = call.node.migrateSockets.connection(host: host, port: port, timeout: timeout, now: call.now) else {
                throw CommandError("IOERR error or timeout connecting to the client")
            }
            guard let failure = exchange(&call, options: options, keys: present, database: database, over: connection, timeout: timeout)
            else { return }
            // A cached connection the target closed in the meantime is common: one retry on a fresh
            // one, unless the time ran out or a key already went.
            call.node.migrateSockets.close(host: host, port: port)
            if failure.kind != .timedOut && failure.retryable && mayRetry {
                mayRetry = false
                continue
            }
            throw CommandError("IOERR error or timeout \(failure.writing ? "writing" : "reading") to target instance")
        }
    }

    /// A socket failure with the target: whether it came while writing, and whether nothing moved
    /// yet, so that the whole exchange may run again.
    private struct Failure {
        var kind: MigrateSockets.Failure
        var writing: Bool
        var retryable: Bool
    }

    /// Sends AUTH, SELECT (when the connection has another database selected) and a RESTORE per
    /// live key in one write, then reads their replies; deletes (without COPY) every key the target
    /// acknowledged and replies, or returns the socket failure that stopped it.
    private static func exchange(
        _ call: inout CommandCall, options: Options, keys: [Int], database: Int, over connection: MigrateSockets.Connection, timeout: Int
    ) -> Failure? {
        var request = ByteBuffer()
        func command(_ arguments: [[UInt8]]) {
            request.writeRESPArrayHeader(arguments.count)
            for argument in arguments { request.writeRESPBulkString(argument) }
        }
        if let password = options.password {
            command([Array("AUTH".utf8)] + (options.username.map { [$0] } ?? []) + [password])
        }
        let select = connection.selectedDatabase != database
        if select { command([Array("SELECT".utf8), Array(String(database).utf8)]) }
        var sent: [Int] = []
        for index in keys {
            guard let slot = call.find(index) else { continue }
            var ttl: Int64 = 0
            let deadline = call.database.expireAt(slot: slot)
            if deadline != 0 {
                ttl = deadline - Clock.milliseconds()
                if ttl < 0 { continue }
                ttl = max(ttl, 1)
            }
            let payload = DumpRestoreCommands.payload(of: call.database.value(at: slot), compression: call.node.settings.rdbCompression)
            command([Array("RESTORE".utf8), call.bytes(index), Array(String(ttl).utf8), payload]
                + (options.replace ? [Array("REPLACE".utf8)] : []))
            sent.append(index)
        }
        if let failure = connection.write(Array(request.readableBytesView), timeout: timeout) {
            return Failure(kind: failure, writing: true, retryable: true)
        }

        // Replies: AUTH's and SELECT's (an error in either fails every key), then a RESTORE's per key.
        var setupError: [UInt8]?
        for expected in [options.password != nil, select] where expected {
            switch connection.readLine(timeout: timeout) {
            case .success(let line): if line.first == UInt8(ascii: "-") && setupError == nil { setupError = line }
            case .failure(let failure): return Failure(kind: failure, writing: false, retryable: true)
            }
        }
        var firstError = setupError
        var deleted: [[UInt8]] = []
        var socketFailure: MigrateSockets.Failure?
        for (position, index) in sent.enumerated() {
            let read = connection.readLine(timeout: timeout)
            guard case .success(let reply) = read else {
                if case .failure(let failure) = read { socketFailure = failure }
                // Before any RESTORE reply nothing moved: the exchange may run again.
                if position == 0 && firstError == nil { return Failure(kind: socketFailure!, writing: false, retryable: true) }
                break
            }
            if setupError != nil || reply.first == UInt8(ascii: "-") {
                if firstError == nil { firstError = reply }
                continue
            }
            guard !options.copy else { continue }
            deleted.append(call.bytes(index))
            call.delete(index)
            call.notify(.generic, "del", index)
        }
        if !options.copy {
            // Replicas and the AOF delete just the keys the target took.
            call.propagate { _ in deleted.isEmpty ? [] : [[Array("DEL".utf8)] + deleted] }
        }
        if let firstError {
            if socketFailure != nil { call.node.migrateSockets.close(host: call.string(1), port: call.string(2)) }
            connection.selectedDatabase = -1
            call.client.error("ERR Target instance replied with error: \(String(decoding: firstError.dropFirst(), as: UTF8.self))")
            return nil
        }
        if let socketFailure { return Failure(kind: socketFailure, writing: false, retryable: false) }
        connection.selectedDatabase = database
        call.client.ok()
        return nil
    }

    /// COPY, REPLACE, AUTH, AUTH2 and KEYS (which takes every argument after it), from argument 6.
    private static func parseOptions(_ call: CommandCall) throws(CommandError) -> Options {
        var options = Options()
        var index = 6
        while index < call.count {
            let more = call.count - 1 - index
            if call.matches(index, "copy") {
                options.copy = true
            } else if call.matches(index, "replace") {
                options.replace = true
            } else if call.matches(index, "auth") {
                guard more >= 1 else { throw .syntax }
                options.password = call.bytes(index + 1)
                index += 1
            } else if call.matches(index, "auth2") {
                guard more >= 2 else { throw .syntax }
                options.username = call.bytes(index + 1)
                options.password = call.bytes(index + 2)
                index += 2
            } else if call.matches(index, "keys") {
                guard call.argument(3, { $0.isEmpty }) else {
                    throw CommandError("ERR When using MIGRATE KEYS option, the key argument must be set to the empty string")
                }
                options.keyIndices = Array(index + 1..<call.count)
                break
            } else {
                throw .syntax
            }
            index += 1
        }
        return options
    }
}
