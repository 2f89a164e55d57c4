#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import Commands
import RDB

/// DEBUG, allowed only as `enable-debug-command` says (checked before dispatch): the subcommands
/// Redis's own test suite relies on, with Redis 7.0's replies. The ones about Redis's internals
/// that the node does not share (allocator, crash helpers, cluster links) answer that shardgate
/// does not support them; an unknown name or a wrong argument count gets Redis's error.
enum DebugCommands {
    static func run(_ call: inout CommandCall) throws(CommandError) {
        guard call.count >= 2 else { throw CommandError(RedisErrors.wrongArity("debug")) }
        let name = call.string(1).lowercased()
        let count = call.count
        switch name {
        case "help" where count == 2: help(call)
        case "sleep" where count == 3: sleep(call)
        case "set-active-expire" where count == 3:
            call.node.keyspace.activeExpiry = cAtoi(call.string(2)) != 0
            call.client.ok()
        case "pause-cron" where count == 3:
            // The cron's work stops (expiry cycle, tracking table limit, ...) until 0 is given.
            call.node.cronPaused = cAtoi(call.string(2)) != 0
            call.client.ok()
        case "set-disable-deny-scripts" where count == 3:
            // Scripts may run commands flagged noscript (Redis's test hook).
            call.node.scripts.allowsDeniedCommands = cAtoi(call.string(2)) != 0
            call.node.functions.allowsDeniedCommands = call.node.scripts.allowsDeniedCommands
            call.client.ok()
        case "quicklist-packed-threshold" where count == 3: try quicklistPackedThreshold(call)
        case "reload": try reload(call)
        case "loadaof":
            if let failure = call.node.debugLoadAOF() { throw CommandError(failure) }
            call.client.ok()
        case "object" where count == 3: try object(call)
        case "listpack" where count == 3: try describeEncoding(call, expected: "listpack")
        case "quicklist" where count == 3 || count == 4: try describeEncoding(call, expected: "quicklist")
        case "digest" where count == 2:
            call.client.simple(DatasetDigest.dataset(call.node.keyspace.databases).hex)
        case "digest-value":
            call.client.arrayHeader(count - 2)
            for index in 2..<count {
                let database = call.database
                call.client.simple(call.argument(index) { DatasetDigest.value(in: database, key: $0) }.hex)
            }
        case "protocol" where count == 3: try sampleReply(call)
        case "populate" where count >= 3 && count <= 5: try populate(call)
        case "change-repl-id" where count == 2:
            call.node.logger.warning("Changing replication IDs after receiving DEBUG change-repl-id")
            call.node.replication.identity = ReplicationIdentity(offset: call.node.replication.identity.offset)
            call.client.ok()
        case "error" where count == 3:
            // The text as given, newlines flattened so it stays one error line.
            let text = call.string(2).map { $0 == "\r" || $0 == "\n" ? " " : $0 }
            call.client.error(String(text))
        case "log" where count == 3:
            call.node.logger.warning("DEBUG LOG: \(call.string(2))")
            call.client.ok()
        case "stringmatch-test" where count == 2:
            call.client.simple("Apparently Redis did not crash: test passed")
        default:
            if redisOnly.contains(name) {
                throw CommandError("ERR DEBUG subcommand '\(call.string(1))' is not supported by shardgate")
            }
            throw CommandError(RedisErrors.subcommandSyntax(call.string(1), of: "debug"))
        }
    }

    /// Subcommands of Redis 7.0 about its own internals, which the node refuses by name.
    static let redisOnly: Set<String> = [
        "segfault", "panic", "restart", "crash-and-recover", "oom", "assert", "leak", "drop-cluster-packet-filter",
        "sdslen", "set-skip-checksum-validation", "aof-flush-sleep", "replicate", "structsize", "htstats",
        "htstats-key", "mallctl", "mallctl-str", "client-eviction", "replybuffer", "clusterlink",
        "config-rewrite-force-all", "set-disable-deny-scripts",
    ]

    static let helpLines = [
        "CHANGE-REPL-ID",
        "    Change the replication IDs of the instance.",
        "DIGEST",
        "    Output a hex signature representing the current DB content.",
        "DIGEST-VALUE <key> [<key> ...]",
        "    Output a hex signature of the values of all the specified keys.",
        "ERROR <string>",
        "    Return a Redis protocol error with <string> as message.",
        "LOG <message>",
        "    Write <message> to the server log.",
        "LOADAOF",
        "    Flush the AOF buffers on disk and reload the AOF in memory.",
        "OBJECT <key>",
        "    Show low level info about `key` and associated value.",
        "POPULATE <count> [<prefix>] [<size>]",
        "    Create <count> string keys named key:<num> (or <prefix>:<num>), not propagated.",
        "PROTOCOL <type>",
        "    Reply with a test value of the specified type. <type> can be: string,",
        "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
        "    true, false.",
        "RELOAD [option ...]",
        "    Save the RDB on disk and reload it back to memory. Options: MERGE, NOFLUSH, NOSAVE.",
        "SET-ACTIVE-EXPIRE <0|1>",
        "    0 stops expiring keys in the background (they still expire when accessed); 1 restores it.",
        "QUICKLIST-PACKED-THRESHOLD <size>",
        "    Checked as Redis checks it; the node keeps every list element the same way.",
        "SLEEP <seconds>",
        "    Stop the server for <seconds>. Decimals allowed.",
        "LISTPACK <key>",
        "    Check that <key> is listpack encoded.",
        "QUICKLIST <key> [<0|1>]",
        "    Check that <key> is quicklist encoded.",
    ]

    static func help(_ call: CommandCall) { call.client.helpReply("DEBUG", helpLines) }

    /// Blocks the node, as in Redis.
    static func sleep(_ call: CommandCall) {
        if let duration = sleepDuration(call.string(2)) {
            var request = duration
            var remaining = timespec()
            while nanosleep(&request, &remaining) == -1 && errno == EINTR { request = remaining }
        }
        call.client.ok()
    }

    /// DEBUG SLEEP's argument as Redis reads it (`strtod` of its leading number, no error; seconds
    /// to whole microseconds): nil for no sleep at all (negative, NaN, or beyond what a
    /// microsecond count holds, where Redis's conversion yields a negative time `nanosleep` refuses).
    static func sleepDuration(_ text: String) -> timespec? {
        let seconds = text.withCString { strtod($0, nil) }
        let micros = seconds * 1_000_000
        guard micros.isFinite, micros >= 0, micros < 9.2e18 else { return nil }
        let whole = Int(micros)
        return timespec(tv_sec: whole / 1_000_000, tv_nsec: (whole % 1_000_000) * 1000)
    }

    /// C's `atoi`, as Redis reads DEBUG's 0/1 switches: leading blanks, a sign, digits; 0 otherwise.
    static func cAtoi(_ text: String) -> Int {
        text.withCString { Int(atoi($0)) }
    }

    /// Redis stores list elements of this size or more in nodes of their own ("plain" nodes). The
    /// node keeps every element the same way whatever its size, so there is nothing to switch; the
    /// argument is checked as Redis checks it (a memory value, at most 4 GB less 1 MB; 0 restores the
    /// default) so the suite's tests see the same replies.
    static func quicklistPackedThreshold(_ call: CommandCall) throws(CommandError) {
        guard let size = NodeSettings.parseMemory(call.string(2)), size <= (1 << 32) - (1 << 20) else {
            throw CommandError("ERR argument must be a memory value bigger than 1 and smaller than 4gb")
        }
        call.client.ok()
    }

    /// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE].
    static func reload(_ call: CommandCall) throws(CommandError) {
        var save = true, flush = true, merge = false
        for index in 2..<call.count {
            if call.matches(index, "merge") {
                // The node's load always lets the dump's keys replace those in memory; MERGE lets
                // its function libraries replace those loaded.
                merge = true
            } else if call.matches(index, "noflush") {
                flush = false
            } else if call.matches(index, "nosave") {
                save = false
            } else {
                throw CommandError("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.")
            }
        }
        if let failure = call.node.debugReload(save: save, flush: flush, merge: merge) { throw CommandError(failure) }
        call.client.ok()
    }

    /// DEBUG OBJECT key: Redis's one-line description of a stored value (logically expired keys
    /// included). `at:` is the value's identity: the object of an aggregate, the key's slot for a
    /// string (stored inline there), so it stays the same while the value is modified in place;
    /// `serializedlength` is the value's length in an RDB written with the node's settings.
    static func object(_ call: CommandCall) throws(CommandError) {
        let database = call.database
        guard let slot = call.argument(2, { database.storedSlot($0) }) else { throw .noSuchKey }
        let value = database.value(at: slot)
        let settings = call.node.settings
        let identity: UInt
        switch value {
        case .string: identity = UInt(bitPattern: ObjectIdentifier(database)) &+ UInt(slot) &* 48
        case .list(let list): identity = UInt(bitPattern: ObjectIdentifier(list))
        case .hash(let hash): identity = UInt(bitPattern: ObjectIdentifier(hash))
        case .set(let set): identity = UInt(bitPattern: ObjectIdentifier(set))
        case .sortedSet(let sortedSet): identity = UInt(bitPattern: ObjectIdentifier(sortedSet))
        case .stream(let stream): identity = UInt(bitPattern: ObjectIdentifier(stream))
        }
        let access = database.access(slot: slot)
        let lru: UInt32
        let idleSeconds: UInt64
        switch database.accessMode {
        case .recency:
            lru = (access / 1000) & 0xFF_FFFF
            idleSeconds = AccessWord.evictionScore(access, mode: .recency, now: database.clock) / 1000
        case .frequency:
            lru = access & 0xFF_FFFF
            idleSeconds = 0
        }
        var text = "Value at:0x\(String(identity, radix: 16)) refcount:\(ObjectCommands.refcount(value, settings: settings))"
            + " encoding:\(value.encodingName) serializedlength:\(serializedLength(value, compression: settings.rdbCompression))"
            + " lru:\(lru) lru_seconds_idle:\(idleSeconds)"
        if case .list(let list) = value {
            let shape = MemoryUsage.quicklistShape(list, fill: settings.listMaxListpackSize)
            let average = shape.nodes == 0 ? 0 : Double(list.elements.count) / Double(shape.nodes)
            text += " ql_nodes:\(shape.nodes) ql_avg_node:\(formatTwoDecimals(average))"
                + " ql_listpack_max:\(settings.listMaxListpackSize)"
                + " ql_compressed:\(settings.listCompressDepth != 0 ? 1 : 0)"
                + " ql_uncompressed_size:\(shape.listpackBytes)"
        }
        call.client.simple(text)
    }

    private static func formatTwoDecimals(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    /// The bytes the value takes in an RDB (its type byte and key excluded), as Redis's
    /// `rdbSavedObjectLen` reports it.
    static func serializedLength(_ value: Value, compression: Bool) -> Int {
        var writer = RDBWriter(compression: compression)
        let before = writer.byteCount
        let key: [UInt8] = []
        switch value {
        case .string(let bytes): writer.writeString(key: key, value: bytes)
        case .list(let list): writer.writeList(key: key, elements: list.elements)
        case .set(let set): writer.writeSet(key: key, members: set.members)
        case .hash(let hash): writer.writeHash(key: key, pairs: hash.pairs.lazy.map { (field: $0.0, value: $0.1) })
        case .sortedSet(let sortedSet):
            writer.writeSortedSet(key: key, pairs: sortedSet.entries.lazy.map { (member: $0.0, score: $0.1) })
        case .stream(let stream): writer.writeStream(key: key, stream: stream)
        }
        // Less the type byte and the empty key's length byte.
        return max(0, writer.byteCount - before - 2)
    }

    /// DEBUG LISTPACK / DEBUG QUICKLIST: Redis prints the structure on its standard output; the
    /// node has no such structure to print, and only confirms the encoding as Redis would.
    static func describeEncoding(_ call: CommandCall, expected: String) throws(CommandError) {
        guard let slot = call.find(2) else { throw .noSuchKey }
        let encoding = call.database.value(at: slot).encodingName
        if expected == "listpack" {
            guard encoding == "listpack" else { throw CommandError("ERR Not a listpack encoded object.") }
            call.client.simple("Listpack structure printed on stdout")
        } else {
            guard encoding == "quicklist" else { throw CommandError("ERR Not a quicklist encoded object.") }
            call.client.simple("Quicklist structure printed on stdout")
        }
    }

    /// DEBUG PROTOCOL type: one sample reply of each RESP3 type (RESP2's nearest form for RESP2 clients).
    static func sampleReply(_ call: CommandCall) throws(CommandError) {
        let client = call.client
        let resp3 = client.protocolVersion == 3
        switch call.string(2).lowercased() {
        case "string": client.bulk("Hello World")
        case "integer": client.integer(12345)
        case "double": client.double(3.141)
        case "bignum":
            if resp3 { client.reply.writeString("(1234567999999999999999999999999999999\r\n") } else { client.bulk("1234567999999999999999999999999999999") }
        case "null": client.null()
        case "array":
            client.arrayHeader(3)
            for value in 0..<3 { client.integer(value) }
        case "set":
            client.setHeader(3)
            for value in 0..<3 { client.integer(value) }
        case "map":
            client.mapHeader(3)
            for value in 0..<3 {
                client.integer(value)
                client.boolean(value == 1)
            }
        case "attrib":
            if resp3 {
                client.reply.writeString("|1\r\n")
                client.bulk("key-popularity")
                client.arrayHeader(2)
                client.bulk("key:123")
                client.integer(90)
            }
            client.bulk("Some real reply following the attribute")
        case "push":
            guard resp3 else { throw CommandError("ERR RESP2 is not supported by this command") }
            client.pushHeader(2)
            client.bulk("server-cpu-usage")
            client.integer(42)
            client.bulk("Some real reply following the push reply")
        case "true": client.boolean(true)
        case "false": client.boolean(false)
        case "verbatim": client.verbatim("This is a verbatim\nstring")
        default:
            throw CommandError(
                "ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false")
        }
    }

    /// DEBUG POPULATE count [prefix] [size]: string keys `prefix:n` holding `value:n` (cut or
    /// zero-padded to `size` bytes when given); keys that exist are left alone. Not propagated and
    /// not counted as changes, as in Redis; WATCH sees them.
    static func populate(_ call: CommandCall) throws(CommandError) {
        let positive = CommandError("ERR value is out of range, must be positive")
        let count = try call.integer(2)
        guard count >= 0 else { throw positive }
        var size = 0
        if call.count == 5 {
            size = try call.integer(4)
            guard size >= 0 else { throw positive }
        }
        let prefix = call.count >= 4 ? call.bytes(3) : Array("key".utf8)
        let database = call.database
        let node = call.node
        for number in 0..<count {
            let key = prefix + Array(":\(number)".utf8)
            if database.find(key, now: call.now) != nil { continue }
            var value = Array("value:\(number)".utf8)
            if size > 0 {
                value = Array(value.prefix(size))
                value += [UInt8](repeating: 0, count: size - value.count)
            }
            database.add(key, .string(value))
            if !node.clients.watches.isEmpty { node.clients.watches.touch(database: call.client.database, key: key) }
        }
        call.client.ok()
    }
}

extension Database {
    /// The slot of a stored key, expired or not, without recording an access (Redis's `dictFind`,
    /// which DEBUG and MEMORY use to look at what is stored).
    func storedSlot(_ key: UnsafeRawBufferPointer) -> Int? {
        table.find(key, hash: KeyTable<Entry>.hash(key))
    }

    /// Lends the bytes of the key in `slot`.
    func withKey<R>(slot: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        table.withKey(at: slot, body)
    }
}
