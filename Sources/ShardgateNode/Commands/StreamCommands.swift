#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import Commands

/// XADD and the rest of the stream family, consumer groups included, with Redis 7.0's replies,
/// error texts and propagation.
enum StreamCommands {
    static var all: [(String, CommandHandler)] {[
        ("xadd", .init(xadd)), ("xrange", .init(xrange)), ("xrevrange", .init(xrevrange)), ("xlen", .init(xlen)), ("xdel", .init(xdel)),
        ("xtrim", .init(xtrim)), ("xsetid", .init(xsetid)), ("xread", .init(xread)), ("xreadgroup", .init(xreadgroup)), ("xack", .init(xack)),
        ("xpending", .init(xpending)), ("xclaim", .init(xclaim)), ("xautoclaim", .init(xautoclaim)),
        ("xgroup|create", .init(xgroup)), ("xgroup|setid", .init(xgroup)), ("xgroup|destroy", .init(xgroup)),
        ("xgroup|createconsumer", .init(xgroup)), ("xgroup|delconsumer", .init(xgroup)), ("xgroup|help", .init(xgroupHelp)),
        ("xinfo|stream", .init(xinfoStream)), ("xinfo|groups", .init(xinfoGroups)), ("xinfo|consumers", .init(xinfoConsumers)),
        ("xinfo|help", .init(xinfoHelp)),
    ]}

    static let invalidID = CommandError("ERR Invalid stream ID specified as stream command argument")

    // MARK: - Lookups

    static func read(_ call: CommandCall, _ index: Int = 1) throws(CommandError) -> StreamObject? {
        try call.typedValue(index, forWrite: false, \.asStream)
    }

    static func write(_ call: CommandCall, _ index: Int = 1) throws(CommandError) -> StreamObject? {
        try call.typedValue(index, forWrite: true, \.asStream)
    }

    static func settings(_ call: CommandCall) -> (entries: Int, bytes: Int) {
        (call.node.settings.streamNodeMaxEntries, call.node.settings.streamNodeMaxBytes)
    }

    /// Commands from the master or the AOF are obeyed as sent (no LIMIT on trimming).
    static func mustObey(_ call: CommandCall) -> Bool {
        call.client.flags.isMaster || call.client.id == 0
    }

    // MARK: - IDs

    /// `string2ull`: a strict integer, else `strtoull`'s looser reading.
    static func parseUnsigned(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
        if let value = RedisNumber.parseInteger(bytes) { return value >= 0 ? UInt64(value) : nil }
        guard !bytes.isEmpty, bytes.count < 128 else { return nil }
        var text = [CChar](repeating: 0, count: bytes.count + 1)
        for index in 0..<bytes.count { text[index] = CChar(bitPattern: bytes[index]) }
        if text.contains(0) && text.firstIndex(of: 0)! < bytes.count { return nil }
        return text.withUnsafeBufferPointer { buffer -> UInt64? in
            errno = 0
            var end: UnsafeMutablePointer<CChar>?
            let value = strtoull(buffer.baseAddress!, &end, 10)
            if errno == EINVAL || errno == ERANGE { return nil }
            guard let end, end.pointee == 0 else { return nil }
            return UInt64(value)
        }
    }

    /// An ID as Redis parses it: `-` and `+` unless strict, `ms` alone (seq = `missingSeq`),
    /// `ms-seq`, and with `allowAutoSeq` `ms-*` (returned with `seqGiven` false).
    static func parseID(
        _ bytes: UnsafeRawBufferPointer, missingSeq: UInt64 = 0, strict: Bool, allowAutoSeq: Bool = false
    ) -> (id: StreamID, seqGiven: Bool)? {
        guard bytes.count <= 127 else { return nil }
        if bytes.count == 1 && (bytes[0] == UInt8(ascii: "-") || bytes[0] == UInt8(ascii: "+")) {
            if strict { return nil }
            return (bytes[0] == UInt8(ascii: "-") ? .zero : .max, true)
        }
        guard let dash = bytes.firstIndex(of: UInt8(ascii: "-")) else {
            guard let ms = parseUnsigned(bytes) else { return nil }
            return (StreamID(ms: ms, seq: missingSeq), true)
        }
        guard let ms = parseUnsigned(UnsafeRawBufferPointer(rebasing: bytes[..<dash])) else { return nil }
        let rest = UnsafeRawBufferPointer(rebasing: bytes[(dash + 1)...])
        if allowAutoSeq && rest.count == 1 && rest[0] == UInt8(ascii: "*") {
            return (StreamID(ms: ms, seq: 0), false)
        }
        guard let seq = parseUnsigned(rest) else { return nil }
        return (StreamID(ms: ms, seq: seq), true)
    }

    static func id(_ call: CommandCall, _ index: Int, missingSeq: UInt64 = 0, strict: Bool = true) throws(CommandError) -> StreamID {
        guard let parsed = call.argument(index, { parseID($0, missingSeq: missingSeq, strict: strict) }) else { throw invalidID }
        return parsed.id
    }

    /// A range bound: `(` makes it exclusive (then strict).
    static func intervalID(_ call: CommandCall, _ index: Int, missingSeq: UInt64) throws(CommandError) -> (StreamID, Bool) {
        let parsed: (StreamID, Bool)? = call.argument(index) { bytes in
            if bytes.count > 1 && bytes[0] == UInt8(ascii: "(") {
                return parseID(UnsafeRawBufferPointer(rebasing: bytes[1...]), missingSeq: missingSeq, strict: true).map { ($0.id, true) }
            }
            return parseID(bytes, missingSeq: missingSeq, strict: false).map { ($0.id, false) }
        }
        guard let parsed else { throw invalidID }
        return parsed
    }

    static func bounds(_ call: CommandCall, start startIndex: Int, end endIndex: Int) throws(CommandError) -> (StreamID, StreamID) {
        var (start, startExclusive) = try intervalID(call, startIndex, missingSeq: 0)
        if startExclusive {
            guard let next = start.incremented else { throw CommandError("ERR invalid start ID for the interval") }
            start = next
        }
        var (end, endExclusive) = try intervalID(call, endIndex, missingSeq: .max)
        if endExclusive {
            guard let previous = end.decremented else { throw CommandError("ERR invalid end ID for the interval") }
            end = previous
        }
        return (start, end)
    }

    // MARK: - Replies

    static func replyID(_ call: CommandCall, _ id: StreamID) { id.withText { call.client.bulk($0) } }

    static func replyEntry(_ call: CommandCall, _ node: StreamNode, _ entry: StreamNode.Entry) {
        call.client.arrayHeader(2)
        replyID(call, entry.id)
        call.client.arrayHeader(node.pairCount(entry) * 2)
        node.forEachPair(entry) { field, value in
            call.client.bulk(field)
            call.client.bulk(value)
        }
    }

    /// Entries from `start` to `end` (reversed: from `end` down), at most `count` (0: all), as an array.
    @discardableResult
    static func replyRange(
        _ call: CommandCall, _ stream: StreamObject, start: StreamID, end: StreamID, count: Int, reverse: Bool
    ) -> Int {
        var entries: [(StreamNode, StreamNode.Entry)] = []
        let collect: (StreamNode, StreamNode.Entry) -> Bool = { node, entry in
            entries.append((node, entry))
            return count == 0 || entries.count < count
        }
        if reverse { stream.backward(from: end, to: start, collect) } else { stream.forward(from: start, to: end, collect) }
        call.client.arrayHeader(entries.count)
        for (node, entry) in entries { replyEntry(call, node, entry) }
        return entries.count
    }

    // MARK: - XADD, XTRIM

    struct TrimArguments {
        var strategy: StreamObject.TrimStrategy?
        var approximate = false
        var limit = 0
        /// The argument holding the threshold (rewritten for propagation after `~` trimming).
        var thresholdIndex = 0
        var noMakeStream = false
        var id: StreamID?
        var seqGiven = true
        var idIndex = 0
    }

    /// Redis's `streamParseAddOrTrimArgsOrReply`; returns the index where it stopped.
    static func parseTrimArguments(_ call: CommandCall, xadd: Bool, into arguments: inout TrimArguments) throws(CommandError) -> Int {
        var limitGiven = false
        var i = 2
        while i < call.count {
            let more = call.count - 1 - i
            let isStar = call.argument(i) { $0.count == 1 && $0[0] == UInt8(ascii: "*") }
            if xadd && isStar {
                arguments.idIndex = i
                break
            } else if call.matches(i, "maxlen") && more > 0 || call.matches(i, "minid") && more > 0 {
                let isMaxLength = call.matches(i, "maxlen")
                if arguments.strategy != nil {
                    throw CommandError("ERR syntax error, MAXLEN and MINID options at the same time are not compatible")
                }
                arguments.approximate = false
                let next = call.argument(i + 1) { $0.count == 1 ? $0[0] : 0 }
                if more >= 2 && next == UInt8(ascii: "~") {
                    arguments.approximate = true
                    i += 1
                } else if more >= 2 && next == UInt8(ascii: "=") {
                    i += 1
                }
                if isMaxLength {
                    let value = try call.integer(i + 1)
                    guard value >= 0 else { throw CommandError("ERR The MAXLEN argument must be >= 0.") }
                    arguments.strategy = .maxLength(value)
                } else {
                    arguments.strategy = .minID(try id(call, i + 1))
                }
                i += 1
                arguments.thresholdIndex = i
            } else if call.matches(i, "limit") && more > 0 {
                let value = try call.integer(i + 1)
                guard value >= 0 else { throw CommandError("ERR The LIMIT argument must be >= 0.") }
                arguments.limit = value
                limitGiven = true
                i += 1
            } else if xadd && call.matches(i, "nomkstream") {
                arguments.noMakeStream = true
            } else if xadd {
                guard let parsed = call.argument(i, { parseID($0, strict: true, allowAutoSeq: true) }) else { throw invalidID }
                arguments.id = parsed.id
                arguments.seqGiven = parsed.seqGiven
                arguments.idIndex = i
                break
            } else {
                throw .syntax
            }
            i += 1
        }
        if arguments.limit > 0 && arguments.strategy == nil {
            throw CommandError("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy")
        }
        if !xadd && arguments.strategy == nil {
            throw CommandError("ERR syntax error, XTRIM must be called with a trimming strategy")
        }
        if mustObey(call) {
            arguments.limit = 0
        } else if limitGiven {
            if !arguments.approximate {
                throw CommandError("ERR syntax error, LIMIT cannot be used without the special ~ option")
            }
        } else if arguments.approximate {
            var limit = 100 * call.node.settings.streamNodeMaxEntries
            if limit <= 0 || limit > 1_000_000 { limit = 10000 }
            arguments.limit = limit
        } else {
            arguments.limit = 0
        }
        return i
    }

    /// The request with `~` trimming rewritten exact, and the ID as generated.
    static func rewritten(_ call: CommandCall, _ arguments: TrimArguments, stream: StreamObject, id: StreamID?) -> [[UInt8]] {
        var argv = (0..<call.count).map { call.bytes($0) }
        if arguments.approximate, arguments.strategy != nil {
            argv[arguments.thresholdIndex - 1] = Array("=".utf8)
            switch arguments.strategy! {
            case .maxLength: argv[arguments.thresholdIndex] = Array(String(stream.length).utf8)
            // The first entry, deleted or not; the highest ID when the stream is empty (so that
            // the replica trims everything too).
            case .minID: argv[arguments.thresholdIndex] = (stream.nodes.first.map { $0.entry(at: 0).id } ?? .max).bytes
            }
        }
        if let id { argv[arguments.idIndex] = id.bytes }
        return argv
    }

    static func xadd(_ call: inout CommandCall) throws(CommandError) {
        var arguments = TrimArguments()
        let idIndex = try parseTrimArguments(call, xadd: true, into: &arguments)
        let fieldIndex = idIndex + 1
        guard call.count - fieldIndex >= 2, (call.count - fieldIndex) % 2 == 0 else {
            throw CommandError(RedisErrors.wrongArity("xadd"))
        }
        if let given = arguments.id, arguments.seqGiven, given.isZero {
            throw CommandError("ERR The ID specified in XADD must be greater than 0-0")
        }
        var stream = try write(call)
        if stream == nil {
            if arguments.noMakeStream { return call.client.null() }
        }
        if let stream, stream.lastID == .max {
            throw CommandError("ERR The stream has exhausted the last possible ID, unable to add more items")
        }
        let lastID = stream?.lastID ?? .zero
        var newID: StreamID
        if let given = arguments.id {
            if arguments.seqGiven {
                newID = given
            } else if lastID.ms == given.ms {
                guard lastID.seq != .max else {
                    throw CommandError("ERR The ID specified in XADD is equal or smaller than the target stream top item")
                }
                newID = StreamID(ms: lastID.ms, seq: lastID.seq + 1)
            } else {
                newID = given
            }
        } else {
            let now = UInt64(max(0, call.node.now))
            if now > lastID.ms {
                newID = StreamID(ms: now, seq: 0)
            } else {
                guard let next = lastID.incremented else {
                    throw CommandError("ERR The ID specified in XADD is equal or smaller than the target stream top item")
                }
                newID = next
            }
        }
        guard newID > lastID else {
            throw CommandError("ERR The ID specified in XADD is equal or smaller than the target stream top item")
        }
        var total = 0
        for index in fieldIndex..<call.count { total += Int(call.spans[index].length) }
        guard total <= 1 << 30 else { throw CommandError("ERR Elements are too large to be stored") }
        if stream == nil {
            let created = StreamObject()
            call.database.add(call.bytes(1), .stream(created))
            stream = created
        }
        let target = stream!
        let pairs = (fieldIndex..<call.count).map { call.bytes($0) }
        let limits = settings(call)
        target.append(newID, pairs: pairs, maxEntries: limits.entries, maxBytes: limits.bytes)
        replyID(call, newID)
        call.effect.dirty += 1
        call.notify(.stream, "xadd", 1)
        if let strategy = arguments.strategy,
            target.trim(strategy, approximate: arguments.approximate, limit: arguments.limit) > 0
        {
            call.notify(.stream, "xtrim", 1)
        }
        let generated = arguments.id == nil || !arguments.seqGiven
        if generated || arguments.approximate {
            let args = arguments
            call.propagate { call in [rewritten(call, args, stream: target, id: generated ? newID : nil)] }
        }
    }

    static func xtrim(_ call: inout CommandCall) throws(CommandError) {
        guard let stream = try write(call) else { return call.client.integer(0) }
        var arguments = TrimArguments()
        let index = try parseTrimArguments(call, xadd: false, into: &arguments)
        guard index >= call.count else { throw .syntax }
        let removed = stream.trim(arguments.strategy!, approximate: arguments.approximate, limit: arguments.limit)
        if removed > 0 {
            call.effect.dirty += removed
            call.notify(.stream, "xtrim", 1)
            if arguments.approximate {
                let args = arguments
                call.propagate { call in [rewritten(call, args, stream: stream, id: nil)] }
            }
        }
        call.client.integer(removed)
    }

    // MARK: - Reading

    static func xrange(_ call: inout CommandCall) throws(CommandError) { try range(&call, reverse: false) }
    static func xrevrange(_ call: inout CommandCall) throws(CommandError) { try range(&call, reverse: true) }

    private static func range(_ call: inout CommandCall, reverse: Bool) throws(CommandError) {
        let (start, end) = try bounds(call, start: reverse ? 3 : 2, end: reverse ? 2 : 3)
        var count = -1
        var index = 4
        while index < call.count {
            guard call.matches(index, "count"), index + 1 < call.count else { throw .syntax }
            count = max(0, try call.integer(index + 1))
            index += 2
        }
        guard let stream = try read(call) else { return call.client.arrayHeader(0) }
        if count == 0 { return call.client.nullArray() }
        replyRange(call, stream, start: start, end: end, count: count == -1 ? 0 : count, reverse: reverse)
    }

    static func xlen(_ call: inout CommandCall) throws(CommandError) {
        call.client.integer(try read(call)?.length ?? 0)
    }

    static func xdel(_ call: inout CommandCall) throws(CommandError) {
        guard let stream = try write(call) else { return call.client.integer(0) }
        var ids: [StreamID] = []
        for index in 2..<call.count { ids.append(try id(call, index)) }
        var deleted = 0
        var firstDeleted = false
        for id in ids where stream.delete(id) {
            if id == stream.firstID { firstDeleted = true }
            if id > stream.maxDeletedID { stream.maxDeletedID = id }
            deleted += 1
        }
        if deleted > 0 {
            if stream.length == 0 {
                stream.firstID = .zero
            } else if firstDeleted {
                stream.firstID = stream.edgeID(first: true) ?? .zero
            }
            call.effect.dirty += deleted
            call.notify(.stream, "xdel", 1)
        }
        call.client.integer(deleted)
    }

    static func xsetid(_ call: inout CommandCall) throws(CommandError) {
        let newID = try id(call, 2)
        var maxDeleted = StreamID.zero
        var entriesAdded: Int64 = -1
        var index = 3
        while index < call.count {
            let more = call.count - 1 - index
            if call.matches(index, "entriesadded") && more > 0 {
                let value = try call.integer(index + 1)
                guard value >= 0 else { throw CommandError("ERR entries_added must be positive") }
                entriesAdded = Int64(value)
            } else if call.matches(index, "maxdeletedid") && more > 0 {
                maxDeleted = try id(call, index + 1)
                guard newID >= maxDeleted else {
                    throw CommandError("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id")
                }
            } else {
                throw .syntax
            }
            index += 2
        }
        guard let stream = try write(call) else { throw .noSuchKey }
        if stream.length > 0 {
            let top = stream.edgeID(first: false) ?? .zero
            guard newID >= top else {
                throw CommandError("ERR The ID specified in XSETID is smaller than the target stream top item")
            }
            if entriesAdded != -1 && Int64(stream.length) > entriesAdded {
                throw CommandError("ERR The entries_added specified in XSETID is smaller than the target stream length")
            }
        }
        stream.lastID = newID
        if entriesAdded != -1 { stream.entriesAdded = UInt64(entriesAdded) }
        if !maxDeleted.isZero { stream.maxDeletedID = maxDeleted }
        call.effect.dirty += 1
        call.notify(.stream, "xsetid", 1)
        call.client.ok()
    }

    // MARK: - XREAD, XREADGROUP

    static func xread(_ call: inout CommandCall) throws(CommandError) { try readStreams(&call, group: false) }
    static func xreadgroup(_ call: inout CommandCall) throws(CommandError) { try readStreams(&call, group: true) }

    private static func readStreams(_ call: inout CommandCall, group isGroup: Bool) throws(CommandError) {
        var deadline: Int64 = -1
        var count = 0
        var streamsIndex = 0
        var groupIndex = 0
        var noAck = false
        var index = 1
        while index < call.count {
            let more = call.count - index - 1
            if call.matches(index, "block") && more > 0 {
                index += 1
                guard let timeout = call.argument(index, { RedisNumber.parseInteger($0) }) else {
                    throw CommandError("ERR timeout is not an integer or out of range")
                }
                guard timeout >= 0 else { throw CommandError("ERR timeout is negative") }
                if timeout == 0 {
                    deadline = 0
                } else {
                    let (sum, overflow) = Int64(timeout).addingReportingOverflow(call.now)
                    guard !overflow else { throw CommandError("ERR timeout is out of range") }
                    deadline = sum
                }
            } else if call.matches(index, "count") && more > 0 {
                index += 1
                count = max(0, try call.integer(index))
            } else if call.matches(index, "streams") && more > 0 {
                streamsIndex = index + 1
                guard (call.count - streamsIndex) % 2 == 0 else {
                    let name = isGroup ? "xreadgroup" : "xread"
                    let symbol = isGroup ? ">" : "$"
                    throw CommandError("ERR Unbalanced '\(name)' list of streams: for each stream key an ID or '\(symbol)' must be specified.")
                }
                break
            } else if call.matches(index, "group") && more >= 2 {
                guard isGroup else {
                    throw CommandError("ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.")
                }
                groupIndex = index + 1
                index += 2
            } else if call.matches(index, "noack") {
                guard isGroup else {
                    throw CommandError("ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.")
                }
                noAck = true
            } else {
                throw .syntax
            }
            index += 1
        }
        guard streamsIndex != 0 else { throw .syntax }
        if isGroup && groupIndex == 0 { throw CommandError("ERR Missing GROUP option for XREADGROUP") }
        let streamCount = (call.count - streamsIndex) / 2
        let serving = call.node.clients.blocking.serving
        // A blocked client is answered with the one stream that woke it, as in Redis: its other
        // keys are not looked at again.
        var wakingKeyIndex: Int?
        if let serving {
            wakingKeyIndex = (streamsIndex..<(streamsIndex + streamCount)).first { index in
                call.argument(index) { $0.elementsEqual(serving.key) }
            }
        }
        var ids: [StreamID] = []
        var groups: [StreamGroup?] = []
        let groupName = groupIndex == 0 ? [] : call.bytes(groupIndex)
        for position in 0..<streamCount {
            let keyIndex = streamsIndex + position
            let idIndex = keyIndex + streamCount
            if let wakingKeyIndex, keyIndex != wakingKeyIndex {
                ids.append(serving?.streamIDs.flatMap { position < $0.count ? $0[position] : nil } ?? .max)
                groups.append(nil)
                continue
            }
            let stream = try call.typedValue(keyIndex, forWrite: false, \.asStream)
            if isGroup {
                guard let stream, let group = stream.groups[groupName] else {
                    if serving != nil {
                        throw CommandError("NOGROUP the consumer group this client was blocked on no longer exists")
                    }
                    throw CommandError("NOGROUP No such key '\(call.string(keyIndex))' or consumer group '\(call.string(groupIndex))' in XREADGROUP with GROUP option")
                }
                groups.append(group)
            }
            if let stored = serving?.streamIDs, position < stored.count {
                ids.append(stored[position])
                continue
            }
            let special = call.argument(idIndex) { $0.count == 1 ? $0[0] : 0 }
            if special == UInt8(ascii: "$") {
                if isGroup {
                    throw CommandError("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.")
                }
                ids.append(stream?.lastID ?? .zero)
            } else if special == UInt8(ascii: ">") {
                guard isGroup else {
                    throw CommandError("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.")
                }
                ids.append(.max)
            } else {
                ids.append(try id(call, idIndex))
            }
        }
        // A client served after blocking gets at most 1000 entries per stream without COUNT.
        if serving != nil && count == 0 { count = 1000 }
        var served: [(Int, StreamObject, StreamID, Bool)] = []
        for position in 0..<streamCount {
            let keyIndex = streamsIndex + position
            if let wakingKeyIndex, keyIndex != wakingKeyIndex { continue }
            guard let slot = call.find(keyIndex), let stream = call.database.value(at: slot).asStream else { continue }
            var after = ids[position]
            var history = false
            var serve = false
            if isGroup {
                if after != .max {
                    serve = true
                    history = true
                } else if stream.length > 0, let top = stream.edgeID(first: false), top > groups[position]!.lastID {
                    serve = true
                    after = groups[position]!.lastID
                }
            } else if stream.length > 0, let top = stream.edgeID(first: false), top > after {
                serve = true
            }
            if serve { served.append((keyIndex, stream, after, history)) }
        }
        if !served.isEmpty {
            let resp3 = call.client.protocolVersion == 3
            if resp3 { call.client.mapHeader(served.count) } else { call.client.arrayHeader(served.count) }
            var propagated: [[[UInt8]]] = []
            let consumerName = isGroup ? call.bytes(groupIndex + 1) : []
            for (keyIndex, stream, after, history) in served {
                let position = keyIndex - streamsIndex
                if !resp3 { call.client.arrayHeader(2) }
                call.argument(keyIndex) { call.client.bulk($0) }
                guard isGroup, let group = groups[position] else {
                    if let start = after.incremented {
                        replyRange(call, stream, start: start, end: .max, count: count, reverse: false)
                    } else {
                        call.client.arrayHeader(0)
                    }
                    continue
                }
                var consumer = group.consumer(consumerName)
                if consumer == nil {
                    consumer = group.createConsumer(consumerName, now: call.now)
                    call.effect.dirty += 1
                    call.notify(.stream, "xgroup-createconsumer", keyIndex)
                    if noAck {
                        propagated.append([Array("XGROUP".utf8), Array("CREATECONSUMER".utf8), call.bytes(keyIndex), groupName, consumerName])
                    }
                }
                consumer!.seenTime = call.now
                let key = call.bytes(keyIndex)
                if history {
                    replyHistory(call, stream, consumer: consumer!, after: after, count: count)
                } else {
                    readNew(&call, stream, group: group, groupName: groupName, consumer: consumer!, key: key,
                            after: after, count: count, noAck: noAck, propagated: &propagated)
                }
                call.effect.dirty += 1
            }
            if !propagated.isEmpty || isGroup {
                let commands = propagated
                call.propagate { _ in commands }
            }
            return
        }
        if deadline != -1 {
            let kind: BlockedClients.Kind = isGroup ? .streamGroup : .stream
            let keys = Array(streamsIndex..<(streamsIndex + streamCount))
            call.node.block(call, keys: keys, kind: kind, deadline: deadline, streamIDs: ids) { call.client.nullArray() }
            return
        }
        call.client.nullArray()
    }

    /// A consumer's own pending entries after `after` (XREADGROUP with an ID): deleted entries
    /// show as [id, nil].
    static func replyHistory(_ call: CommandCall, _ stream: StreamObject, consumer: StreamConsumer, after: StreamID, count: Int) {
        guard let start = after.incremented else { return call.client.arrayHeader(0) }
        let ids = consumer.pending.entries(from: start, limit: count).map(\.0)
        call.client.arrayHeader(ids.count)
        for id in ids {
            if let (node, entry) = stream.lookup(id) {
                replyEntry(call, node, entry)
                // Delivered again (Redis does not propagate this).
                if let nack = consumer.pending[id] {
                    nack.deliveryTime = call.now
                    nack.deliveryCount += 1
                }
            } else {
                call.client.arrayHeader(2)
                replyID(call, id)
                call.client.nullArray()
            }
        }
    }

    /// New entries for a group (`>`): they enter the PELs unless NOACK; the group's last ID moves.
    static func readNew(
        _ call: inout CommandCall, _ stream: StreamObject, group: StreamGroup, groupName: [UInt8],
        consumer: StreamConsumer, key: [UInt8], after: StreamID, count: Int, noAck: Bool,
        propagated: inout [[[UInt8]]]
    ) {
        guard let start = after.incremented else { return call.client.arrayHeader(0) }
        var entries: [(StreamNode, StreamNode.Entry)] = []
        stream.forward(from: start, to: .max) { node, entry in
            entries.append((node, entry))
            return count == 0 || entries.count < count
        }
        call.client.arrayHeader(entries.count)
        var moved = false
        for (node, entry) in entries {
            let id = entry.id
            if id > group.lastID {
                if group.entriesRead != StreamGroup.invalidEntriesRead && !stream.rangeHasTombstones(from: id) {
                    group.entriesRead += 1
                } else if stream.entriesAdded > 0 {
                    group.entriesRead = stream.estimatedEntriesRead(upTo: id)
                }
                group.lastID = id
                moved = true
            }
            replyEntry(call, node, entry)
            if !noAck {
                let nack: StreamNACK
                if let existing = group.pending[id] {
                    // An entry delivered again after XGROUP SETID moved back: it changes owner.
                    existing.consumer.pending.remove(id)
                    existing.consumer = consumer
                    existing.deliveryTime = call.now
                    existing.deliveryCount = 1
                    nack = existing
                } else {
                    nack = StreamNACK(deliveryTime: call.now, deliveryCount: 1, consumer: consumer)
                    group.pending.insert(id, nack)
                }
                consumer.pending.insert(id, nack)
                if call.node.isPropagating {
                    propagated.append(claimCommand(key: key, groupName: groupName, group: group, id: id.bytes, nack: nack))
                }
            }
        }
        // Without NOACK the XCLAIMs carry the last ID (LASTID) and, as in Redis 7.0, nothing carries
        // entries-read: a replica's counter stays unknown until its next XGROUP SETID.
        if moved && noAck && call.node.isPropagating {
            propagated.append(setIDCommand(key: key, groupName: groupName, group: group))
        }
    }

    /// What replicas run for a delivered or claimed entry (Redis's `streamPropagateXCLAIM`).
    static func claimCommand(key: [UInt8], groupName: [UInt8], group: StreamGroup, id: [UInt8], nack: StreamNACK) -> [[UInt8]] {
        [Array("XCLAIM".utf8), key, groupName, nack.consumer.name, Array("0".utf8), id,
         Array("TIME".utf8), Array(String(nack.deliveryTime).utf8), Array("RETRYCOUNT".utf8),
         Array(String(nack.deliveryCount).utf8), Array("FORCE".utf8), Array("JUSTID".utf8),
         Array("LASTID".utf8), group.lastID.bytes]
    }

    static func setIDCommand(key: [UInt8], groupName: [UInt8], group: StreamGroup) -> [[UInt8]] {
        [Array("XGROUP".utf8), Array("SETID".utf8), key, groupName, group.lastID.bytes,
         Array("ENTRIESREAD".utf8), Array(String(group.entriesRead).utf8)]
    }

    // MARK: - Groups

    static func noGroup(_ call: CommandCall) -> CommandError {
        CommandError("NOGROUP No such key '\(call.string(1))' or consumer group '\(call.string(2))'")
    }

    static func xack(_ call: inout CommandCall) throws(CommandError) {
        guard let stream = try read(call), let group = stream.groups[call.bytes(2)] else {
            return call.client.integer(0)
        }
        var ids: [StreamID] = []
        for index in 3..<call.count { ids.append(try id(call, index)) }
        var acknowledged = 0
        for id in ids {
            guard let nack = group.pending.remove(id) else { continue }
            nack.consumer.pending.remove(id)
            acknowledged += 1
        }
        call.effect.dirty += acknowledged
        call.client.integer(acknowledged)
    }

    static func xpending(_ call: inout CommandCall) throws(CommandError) {
        let summary = call.count == 3
        guard summary || (call.count >= 6 && call.count <= 9) else { throw .syntax }
        var start = StreamID.zero, end = StreamID.max
        var count = 0
        var minIdle = 0
        var consumerIndex: Int?
        if call.count >= 6 {
            var startIndex = 3
            if call.matches(3, "idle") {
                minIdle = try call.integer(4)
                guard call.count >= 8 else { throw .syntax }
                startIndex += 2
            }
            count = max(0, try call.integer(startIndex + 2))
            (start, end) = try bounds(call, start: startIndex, end: startIndex + 1)
            if startIndex + 3 < call.count { consumerIndex = startIndex + 3 }
        }
        guard let stream = try read(call), let group = stream.groups[call.bytes(2)] else { throw noGroup(call) }
        if summary {
            call.client.arrayHeader(4)
            call.client.integer(group.pending.count)
            guard let first = group.pending.first, let last = group.pending.last else {
                call.client.null()
                call.client.null()
                call.client.nullArray()
                return
            }
            replyID(call, first)
            replyID(call, last)
            let owners = group.sortedConsumers.filter { !$0.pending.isEmpty }
            call.client.arrayHeader(owners.count)
            for consumer in owners {
                call.client.arrayHeader(2)
                call.client.bulk(consumer.name)
                call.client.bulk(String(consumer.pending.count))
            }
            return
        }
        let pending: StreamIDMap<StreamNACK>
        if let consumerIndex {
            guard let consumer = group.consumer(call.bytes(consumerIndex)) else { return call.client.arrayHeader(0) }
            pending = consumer.pending
        } else {
            pending = group.pending
        }
        let now = call.now
        var rows: [(StreamID, StreamNACK)] = []
        pending.forEach(from: start) { id, nack in
            guard count > 0 && id <= end else { return false }
            if minIdle != 0 && now - nack.deliveryTime < Int64(minIdle) { return true }
            rows.append((id, nack))
            count -= 1
            return true
        }
        call.client.arrayHeader(rows.count)
        for (id, nack) in rows {
            call.client.arrayHeader(4)
            replyID(call, id)
            call.client.bulk(nack.consumer.name)
            call.client.integer(Int(max(0, now - nack.deliveryTime)))
            call.client.integer(nack.deliveryCount)
        }
    }

    static func xclaim(_ call: inout CommandCall) throws(CommandError) {
        let stream = try read(call)
        guard let stream, let group = stream.groups[call.bytes(2)] else { throw noGroup(call) }
        var minIdle = Int64(try call.integer(4, error: CommandError("ERR Invalid min-idle-time argument for XCLAIM")))
        if minIdle < 0 { minIdle = 0 }
        var index = 5
        var ids: [StreamID] = []
        while index < call.count, let parsed = call.argument(index, { parseID($0, strict: true) }) {
            ids.append(parsed.id)
            index += 1
        }
        let now = call.now
        var deliveryTime: Int64 = -1
        var retryCount = -1
        var force = false, justID = false
        var lastID = StreamID.zero
        while index < call.count {
            let more = call.count - 1 - index
            if call.matches(index, "force") {
                force = true
            } else if call.matches(index, "justid") {
                justID = true
            } else if call.matches(index, "idle") && more > 0 {
                index += 1
                deliveryTime = now - Int64(try call.integer(index, error: CommandError("ERR Invalid IDLE option argument for XCLAIM")))
            } else if call.matches(index, "time") && more > 0 {
                index += 1
                deliveryTime = Int64(try call.integer(index, error: CommandError("ERR Invalid TIME option argument for XCLAIM")))
            } else if call.matches(index, "retrycount") && more > 0 {
                index += 1
                retryCount = try call.integer(index, error: CommandError("ERR Invalid RETRYCOUNT option argument for XCLAIM"))
            } else if call.matches(index, "lastid") && more > 0 {
                index += 1
                lastID = try id(call, index)
            } else {
                throw CommandError("ERR Unrecognized XCLAIM option '\(call.string(index))'")
            }
            index += 1
        }
        var propagateLastID = false
        if lastID > group.lastID {
            group.lastID = lastID
            propagateLastID = true
        }
        if deliveryTime != -1 {
            if deliveryTime < 0 || deliveryTime > now { deliveryTime = now }
        } else {
            deliveryTime = now
        }
        let key = call.bytes(1)
        let groupName = call.bytes(2)
        let name = call.bytes(3)
        var consumer: StreamConsumer?
        var replies: [(StreamID, (StreamNode, StreamNode.Entry)?)] = []
        var propagated: [[[UInt8]]] = []
        for id in ids {
            let existing = group.pending[id]
            guard let found = stream.lookup(id) else {
                if let existing {
                    propagated.append(claimCommand(key: key, groupName: groupName, group: group, id: id.bytes, nack: existing))
                    propagateLastID = false
                    call.effect.dirty += 1
                    group.pending.remove(id)
                    existing.consumer.pending.remove(id)
                }
                continue
            }
            var nack = existing
            var fresh = false
            if force && nack == nil {
                fresh = true
            }
            guard nack != nil || fresh else { continue }
            if !fresh, minIdle > 0, let nack, now - nack.deliveryTime < minIdle { continue }
            if consumer == nil {
                if let known = group.consumer(name) {
                    consumer = known
                    known.seenTime = now
                } else {
                    consumer = group.createConsumer(name, now: now)
                    call.notify(.stream, "xgroup-createconsumer", 1)
                }
            }
            if fresh {
                let created = StreamNACK(deliveryTime: deliveryTime, deliveryCount: 0, consumer: consumer!)
                group.pending.insert(id, created)
                consumer!.pending.insert(id, created)
                nack = created
            } else if nack!.consumer !== consumer! {
                nack!.consumer.pending.remove(id)
                nack!.consumer = consumer!
                consumer!.pending.insert(id, nack!)
            }
            nack!.deliveryTime = deliveryTime
            if retryCount >= 0 {
                nack!.deliveryCount = retryCount
            } else if !justID {
                nack!.deliveryCount += 1
            }
            replies.append((id, justID ? nil : found))
            propagated.append(claimCommand(key: key, groupName: groupName, group: group, id: id.bytes, nack: nack!))
            propagateLastID = false
            call.effect.dirty += 1
        }
        if propagateLastID {
            propagated.append(setIDCommand(key: key, groupName: groupName, group: group))
            call.effect.dirty += 1
        }
        call.client.arrayHeader(replies.count)
        for (id, found) in replies {
            if let (node, entry) = found { replyEntry(call, node, entry) } else { replyID(call, id) }
        }
        let commands = propagated
        call.propagate { _ in commands }
    }

    static func xautoclaim(_ call: inout CommandCall) throws(CommandError) {
        var minIdle = Int64(try call.integer(4, error: CommandError("ERR Invalid min-idle-time argument for XAUTOCLAIM")))
        if minIdle < 0 { minIdle = 0 }
        var (start, exclusive) = try intervalID(call, 5, missingSeq: 0)
        if exclusive {
            guard let next = start.incremented else { throw CommandError("ERR invalid start ID for the interval") }
            start = next
        }
        var count = 100
        var justID = false
        var index = 6
        while index < call.count {
            let more = call.count - 1 - index
            if call.matches(index, "count") && more > 0 {
                count = try call.rangeInteger(index + 1, min: 1, max: Int.max / 16, message: "COUNT must be > 0")
                index += 2
            } else if call.matches(index, "justid") {
                justID = true
                index += 1
            } else {
                throw .syntax
            }
        }
        guard let stream = try read(call), let group = stream.groups[call.bytes(2)] else { throw noGroup(call) }
        var attempts = count * 10
        let now = call.now
        let key = call.bytes(1)
        let groupName = call.bytes(2)
        let name = call.bytes(3)
        var consumer: StreamConsumer?
        var claimed: [(StreamID, (StreamNode, StreamNode.Entry)?)] = []
        var deleted: [StreamID] = []
        var propagated: [[[UInt8]]] = []
        // The entries the loop may visit, and the one after them (the next cursor).
        let candidates = group.pending.entries(from: start, limit: attempts + 1)
        var position = 0
        while attempts > 0 && count > 0 && position < candidates.count {
            attempts -= 1
            let (id, nack) = candidates[position]
            guard let found = stream.lookup(id) else {
                position += 1
                propagated.append(claimCommand(key: key, groupName: groupName, group: group, id: id.bytes, nack: nack))
                call.effect.dirty += 1
                group.pending.remove(id)
                nack.consumer.pending.remove(id)
                deleted.append(id)
                count -= 1
                continue
            }
            position += 1
            if minIdle > 0 && now - nack.deliveryTime < minIdle { continue }
            if consumer == nil {
                if let known = group.consumer(name) {
                    consumer = known
                    known.seenTime = now
                } else {
                    consumer = group.createConsumer(name, now: now)
                    call.notify(.stream, "xgroup-createconsumer", 1)
                }
            }
            if nack.consumer !== consumer! {
                nack.consumer.pending.remove(id)
                nack.consumer = consumer!
                consumer!.pending.insert(id, nack)
            }
            nack.deliveryTime = now
            if !justID { nack.deliveryCount += 1 }
            claimed.append((id, justID ? nil : found))
            count -= 1
            propagated.append(claimCommand(key: key, groupName: groupName, group: group, id: id.bytes, nack: nack))
            call.effect.dirty += 1
        }
        let next = position < candidates.count ? candidates[position].0 : StreamID.zero
        call.client.arrayHeader(3)
        replyID(call, next)
        call.client.arrayHeader(claimed.count)
        for (id, found) in claimed {
            if let (node, entry) = found { replyEntry(call, node, entry) } else { replyID(call, id) }
        }
        call.client.arrayHeader(deleted.count)
        for id in deleted { replyID(call, id) }
        let commands = propagated
        call.propagate { _ in commands }
    }

    static func xgroup(_ call: inout CommandCall) throws(CommandError) {
        let isCreate = call.matches(1, "create")
        let isSetID = call.matches(1, "setid")
        var makeStream = false
        var entriesRead = StreamGroup.invalidEntriesRead
        let subcommandError = CommandError(RedisErrors.subcommandSyntax(call.string(1), of: "xgroup"))
        if isCreate || isSetID {
            var index = 5
            while index < call.count {
                if isCreate && call.matches(index, "mkstream") {
                    makeStream = true
                    index += 1
                } else if call.matches(index, "entriesread") && index + 1 < call.count {
                    let value = try call.integer(index + 1)
                    guard value >= 0 || value == -1 else {
                        throw CommandError("ERR value for ENTRIESREAD must be positive or -1")
                    }
                    entriesRead = Int64(value)
                    index += 2
                } else {
                    throw subcommandError
                }
            }
        }
        var stream = try write(call, 2)
        let groupName = call.bytes(3)
        var group: StreamGroup?
        if !makeStream {
            guard let stream else {
                throw CommandError("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.")
            }
            group = stream.groups[groupName]
            if group == nil && !isCreate && !call.matches(1, "destroy") {
                throw CommandError("NOGROUP No such consumer group '\(call.string(3))' for key name '\(call.string(2))'")
            }
        }
        if isCreate {
            guard call.count >= 5 && call.count <= 8 else { throw subcommandError }
            let isDollar = call.argument(4) { $0.count == 1 && $0[0] == UInt8(ascii: "$") }
            let start = isDollar ? (stream?.lastID ?? .zero) : try id(call, 4)
            if stream == nil {
                let created = StreamObject()
                call.database.add(call.bytes(2), .stream(created))
                stream = created
                call.effect.dirty += 1
            }
            guard stream!.groups[groupName] == nil else {
                throw CommandError("BUSYGROUP Consumer Group name already exists")
            }
            stream!.groups[groupName] = StreamGroup(lastID: start, entriesRead: entriesRead)
            call.effect.dirty += 1
            call.notify(.stream, "xgroup-create", 2)
            call.client.ok()
        } else if isSetID {
            guard call.count == 5 || call.count == 7 else { throw subcommandError }
            let isDollar = call.argument(4) { $0.count == 1 && $0[0] == UInt8(ascii: "$") }
            let newID = isDollar ? stream!.lastID : try id(call, 4, strict: false)
            group!.lastID = newID
            group!.entriesRead = entriesRead
            call.effect.dirty += 1
            call.notify(.stream, "xgroup-setid", 2)
            call.client.ok()
        } else if call.matches(1, "destroy") {
            guard call.count == 4 else { throw subcommandError }
            if group != nil {
                stream!.groups[groupName] = nil
                call.effect.dirty += 1
                call.notify(.stream, "xgroup-destroy", 2)
                call.client.integer(1)
            } else {
                call.client.integer(0)
            }
        } else if call.matches(1, "createconsumer") {
            guard call.count == 5 else { throw subcommandError }
            let name = call.bytes(4)
            if group!.consumer(name) != nil { return call.client.integer(0) }
            group!.createConsumer(name, now: call.now)
            call.effect.dirty += 1
            call.notify(.stream, "xgroup-createconsumer", 2)
            call.client.integer(1)
        } else if call.matches(1, "delconsumer") {
            guard call.count == 5 else { throw subcommandError }
            var pending = 0
            if let consumer = group!.consumer(call.bytes(4)) {
                pending = consumer.pending.count
                for id in consumer.pending.ids { group!.pending.remove(id) }
                group!.consumers[consumer.name] = nil
                call.notify(.stream, "xgroup-delconsumer", 2)
            }
            call.effect.dirty += 1
            call.client.integer(pending)
        } else {
            throw subcommandError
        }
    }


    static func xgroupHelp(_ call: inout CommandCall) throws(CommandError) {
        call.client.helpReply("XGROUP", [
            "CREATE <key> <groupname> <id|$> [option]",
            "    Create a new consumer group. Options are:",
            "    * MKSTREAM",
            "      Create the empty stream if it does not exist.",
            "    * ENTRIESREAD entries_read",
            "      Set the group's entries_read counter (internal use).",
            "CREATECONSUMER <key> <groupname> <consumer>",
            "    Create a new consumer in the specified group.",
            "DELCONSUMER <key> <groupname> <consumer>",
            "    Remove the specified consumer.",
            "DESTROY <key> <groupname>",
            "    Remove the specified group.",
            "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
            "    Set the current group ID and entries_read counter.",
        ])
    }

    static func xinfoHelp(_ call: inout CommandCall) throws(CommandError) {
        call.client.helpReply("XINFO", [
            "CONSUMERS <key> <groupname>",
            "    Show consumers of <groupname>.",
            "GROUPS <key>",
            "    Show the stream consumer groups.",
            "STREAM <key> [FULL [COUNT <count>]",
            "    Show information about the stream.",
        ])
    }

    // MARK: - XINFO

    static func streamForInfo(_ call: CommandCall, _ index: Int) throws(CommandError) -> StreamObject {
        guard let slot = call.lookupRead(index) else { throw .noSuchKey }
        guard let stream = call.database.value(at: slot).asStream else { throw .wrongType }
        return stream
    }

    static func xinfoConsumers(_ call: inout CommandCall) throws(CommandError) {
        let stream = try streamForInfo(call, 2)
        guard let group = stream.groups[call.bytes(3)] else {
            throw CommandError("NOGROUP No such consumer group '\(call.string(3))' for key name '\(call.string(2))'")
        }
        let consumers = group.sortedConsumers
        call.client.arrayHeader(consumers.count)
        for consumer in consumers {
            call.client.mapHeader(3)
            call.client.bulk("name")
            call.client.bulk(consumer.name)
            call.client.bulk("pending")
            call.client.integer(consumer.pending.count)
            call.client.bulk("idle")
            call.client.integer(Int(max(0, call.now - consumer.seenTime)))
        }
    }

    static func replyEntriesRead(_ call: CommandCall, _ stream: StreamObject, _ group: StreamGroup) {
        call.client.bulk("entries-read")
        if group.entriesRead != StreamGroup.invalidEntriesRead { call.client.integer(Int(group.entriesRead)) } else { call.client.null() }
        call.client.bulk("lag")
        if let lag = stream.lag(of: group) { call.client.integer(Int(lag)) } else { call.client.null() }
    }

    static func xinfoGroups(_ call: inout CommandCall) throws(CommandError) {
        let stream = try streamForInfo(call, 2)
        let groups = stream.sortedGroups
        call.client.arrayHeader(groups.count)
        for (name, group) in groups {
            call.client.mapHeader(6)
            call.client.bulk("name")
            call.client.bulk(name)
            call.client.bulk("consumers")
            call.client.integer(group.consumers.count)
            call.client.bulk("pending")
            call.client.integer(group.pending.count)
            call.client.bulk("last-delivered-id")
            replyID(call, group.lastID)
            replyEntriesRead(call, stream, group)
        }
    }

    static func xinfoStream(_ call: inout CommandCall) throws(CommandError) {
        let stream = try streamForInfo(call, 2)
        var full = false
        var count = 10
        let syntax = CommandError(RedisErrors.subcommandSyntax(call.string(1), of: "xinfo"))
        if call.count > 3 {
            guard call.matches(3, "full") else { throw syntax }
            full = true
            if call.count > 4 {
                guard call.count == 6, call.matches(4, "count") else { throw syntax }
                count = max(0, try call.integer(5))
            }
        }
        call.client.mapHeader(full ? 9 : 10)
        call.client.bulk("length")
        call.client.integer(stream.length)
        call.client.bulk("radix-tree-keys")
        call.client.integer(stream.nodes.count)
        call.client.bulk("radix-tree-nodes")
        call.client.integer(stream.radixTreeNodes)
        call.client.bulk("last-generated-id")
        replyID(call, stream.lastID)
        call.client.bulk("max-deleted-entry-id")
        replyID(call, stream.maxDeletedID)
        call.client.bulk("entries-added")
        call.client.integer(Int(stream.entriesAdded))
        call.client.bulk("recorded-first-entry-id")
        replyID(call, stream.firstID)
        if !full {
            call.client.bulk("groups")
            call.client.integer(stream.groups.count)
            for first in [true, false] {
                call.client.bulk(first ? "first-entry" : "last-entry")
                var found: (StreamNode, StreamNode.Entry)?
                if first {
                    stream.forward(from: .zero, to: .max) { node, entry in found = (node, entry); return false }
                } else {
                    stream.backward(from: .max, to: .zero) { node, entry in found = (node, entry); return false }
                }
                if let (node, entry) = found { replyEntry(call, node, entry) } else { call.client.null() }
            }
            return
        }
        call.client.bulk("entries")
        replyRange(call, stream, start: .zero, end: .max, count: count, reverse: false)
        call.client.bulk("groups")
        let groups = stream.sortedGroups
        call.client.arrayHeader(groups.count)
        for (name, group) in groups {
            call.client.mapHeader(7)
            call.client.bulk("name")
            call.client.bulk(name)
            call.client.bulk("last-delivered-id")
            replyID(call, group.lastID)
            replyEntriesRead(call, stream, group)
            call.client.bulk("pel-count")
            call.client.integer(group.pending.count)
            call.client.bulk("pending")
            let shown = group.pending.entries(limit: count)
            call.client.arrayHeader(shown.count)
            for (id, nack) in shown {
                call.client.arrayHeader(4)
                replyID(call, id)
                call.client.bulk(nack.consumer.name)
                call.client.integer(Int(nack.deliveryTime))
                call.client.integer(nack.deliveryCount)
            }
            call.client.bulk("consumers")
            let consumers = group.sortedConsumers
            call.client.arrayHeader(consumers.count)
            for consumer in consumers {
                call.client.mapHeader(4)
                call.client.bulk("name")
                call.client.bulk(consumer.name)
                call.client.bulk("seen-time")
                call.client.integer(Int(consumer.seenTime))
                call.client.bulk("pel-count")
                call.client.integer(consumer.pending.count)
                call.client.bulk("pending")
                let shownOwn = consumer.pending.entries(limit: count)
                call.client.arrayHeader(shownOwn.count)
                for (id, nack) in shownOwn {
                    call.client.arrayHeader(3)
                    replyID(call, id)
                    call.client.integer(Int(nack.deliveryTime))
                    call.client.integer(nack.deliveryCount)
                }
            }
        }
    }
}
