import Commands

/// How data changes reach WATCH and blocked clients, and how a closing client leaves the event
/// registries (called from the hooks in Node+Hooks.swift).
extension Node {
    /// A command changed data: the keys it modified change for their watchers and become ready for
    /// the clients blocked on them (served by `apply(_:of:)` once the command is propagated).
    /// `apply` calls it only when some client watches or blocks.
    func touchModifiedKeys(_ effect: CommandEffect, of call: CommandCall) {
        switch effect.modifiedKeys {
        case .flushed(let flushed):
            for index in flushed {
                clients.watches.touchExisting(database: index)
                // XREADGROUP clients fail when their stream goes.
                clients.blocking.signalAll(database: index)
            }
        case .swapped(let first, let second):
            let now = self.now
            clients.watches.touchSwapped(first, second) { index, key in keyspace.databases[index].find(key, now: now) != nil }
            clients.blocking.signalAll(database: first)
            clients.blocking.signalAll(database: second)
        case .writtenArguments:
            guard call.spec.isWrite, let keys = Self.writtenKeys(call) else { break }
            let database = call.client.database
            for index in keys { changed(database: database, key: call.bytes(index)) }
        }
        for other in effect.otherModifiedKeys { changed(database: other.database, key: other.key) }
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
        if let watchers = clients.watches.keys[WatchedKeys.Key(database: database, key: key)] {
            // A key missing when watched and still missing did not change (DEL of several keys,
            // some absent); anything else did.
            if watchers.existed || (database < keyspace.databases.count && keyspace.databases[database].find(key, now: now) != nil) {
                clients.watches.touch(database: database, key: key)
            }
        }
        clients.blocking.signal(database: database, key: key)
    }

    /// A key expired: it changed for its watchers.
    func watchedKeyExpired(_ database: Database, _ key: [UInt8]) {
        guard !clients.watches.isEmpty, let index = keyspace.number(of: database) else { return }
        // A key that was already missing (expired) when watched, and that SWAPDB may have brought
        // back as a stale key, changes nothing by expiring (Redis's watched `expired` flag).
        clients.watches.touch(database: index, key: key, onlyIfExisted: true)
    }

    /// Loading or replacing a database wholesale (full resync, DEBUG RELOAD): every watched key that
    /// existed changes.
    func touchAllWatchedKeys() {
        invalidateAllTrackedKeys()
        for index in keyspace.databases.indices { clients.watches.touchExisting(database: index) }
    }
}
