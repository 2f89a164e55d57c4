import Commands

/// How data changes reach WATCH and blocked clients, and how a closing client leaves the event
/// registries (called from the hooks in Node+Hooks.swift).
extension Node {
    /// Command ids the change tracking treats specially.
    private enum Special {
        static let flushdb = id("flushdb")
        static let flushall = id("flushall")
        static let swapdb = id("swapdb")
        static let move = id("move")
        static let copy = id("copy")

        static func id(_ name: String) -> Int {
            var name = name
            return name.withUTF8 { CommandTable.redis.lookup(fullName: UnsafeRawBufferPointer($0))!.id }
        }
    }

    /// After a command changed data: touches watched keys and marks keys waited on as ready
    /// (then serves the waiters, unless an EXEC is still running).
    func trackChangedKeys(_ call: CommandCall) {
        if !watches.isEmpty || !blocking.waiters.isEmpty {
            let id = call.spec.id
            if id == Special.flushdb {
                watches.touchExisting(database: call.client.database)
            } else if id == Special.flushall {
                for index in databases.indices { watches.touchExisting(database: index) }
            } else if id == Special.swapdb {
                if let first = try? call.integer(1), let second = try? call.integer(2) {
                    let now = self.now
                    watches.touchSwapped(first, second) { index, key in databases[index].find(key, now: now) != nil }
                    blocking.signalAll(database: first)
                    blocking.signalAll(database: second)
                }
            } else if call.spec.isWrite {
                keyChanged(call)
            }
        }
        if !blocking.readyKeys.isEmpty { handleReadyKeys() }
    }

    private func keyChanged(_ call: CommandCall) {
        guard let keys = Self.writtenKeys(call) else { return }
        let database = call.client.database
        for index in keys { changed(database: database, key: call.bytes(index)) }
        // MOVE and COPY ... DB write a key of another database.
        if call.spec.id == Special.move, let target = try? call.integer(2) {
            changed(database: target, key: call.bytes(1))
        } else if call.spec.id == Special.copy {
            var index = 3
            while index + 1 < call.count {
                if call.matches(index, "db"), let target = try? call.integer(index + 1) {
                    changed(database: target, key: call.bytes(2))
                }
                index += 1
            }
        }
    }

    /// The key arguments a write command may have changed: its keys minus those it only reads
    /// (SINTERSTORE's sources, COPY's source...), as far as the key specs tell them apart.
    static func writtenKeys(_ call: CommandCall) -> [Int]? {
        let keys = call.request.frame.withUnsafeReadableBytes { bytes in
            try? call.spec.keyIndices(argumentCount: call.count, options: .partial) {
                UnsafeRawBufferPointer(rebasing: bytes[call.spans[$0].range])
            }
        }
        guard let keys, !keys.isEmpty else { return keys }
        // Specs naming one fixed position are attributed exactly; the others only as a whole.
        var readOnlyPositions: [Int] = []
        var writtenPositions: [Int] = []
        var otherSpecsWrite = false
        var anyReadOnly = false
        for spec in call.spec.keySpecs {
            let readOnly = spec.flags.contains(.readOnly)
            anyReadOnly = anyReadOnly || readOnly
            if case .index(let position) = spec.beginSearch, case .range(lastKey: 0, _, _) = spec.findKeys {
                if readOnly { readOnlyPositions.append(position) } else { writtenPositions.append(position) }
            } else if !readOnly {
                otherSpecsWrite = true
            }
        }
        if !anyReadOnly { return keys }
        if !otherSpecsWrite { return writtenPositions.filter { $0 < call.count } }
        return keys.filter { !readOnlyPositions.contains($0) }
    }

    private func changed(database: Int, key: [UInt8]) {
        if let watchers = watches.keys[WatchedKeys.Key(database: database, key: key)] {
            // A key missing when watched and still missing did not change (DEL of several keys,
            // some absent); anything else did.
            if watchers.existed || (database < databases.count && databases[database].find(key, now: now) != nil) {
                watches.touch(database: database, key: key)
            }
        }
        blocking.signal(database: database, key: key)
    }

    /// A key expired: it changed for its watchers.
    func watchedKeyExpired(_ database: Database, _ key: [UInt8]) {
        guard !watches.isEmpty, let index = databases.firstIndex(where: { $0 === database }) else { return }
        watches.touch(database: index, key: key)
    }

    /// Loading or replacing a database wholesale (full resync, DEBUG RELOAD): every watched key that
    /// existed changes.
    func touchAllWatchedKeys() {
        for index in databases.indices { watches.touchExisting(database: index) }
    }

    /// Drops the client from pub/sub, WATCH, blocking and MONITOR (disconnect or RESET).
    func removeFromEventRegistries(_ client: ClientConnection) {
        pubsub.removeAll(client)
        watches.unwatchAll(client)
        blocking.remove(client)
        if client.flags.isMonitor {
            monitors.removeAll { $0 === client }
            client.flags.isMonitor = false
        }
    }
}
