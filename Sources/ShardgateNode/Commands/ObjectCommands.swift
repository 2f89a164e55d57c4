/// OBJECT REFCOUNT, IDLETIME and FREQ (OBJECT ENCODING is with the key commands): what Redis 7.0
/// tells about a value's object, derived from what the node keeps.
///
/// Like Redis's `objectCommandLookup` they expire a key whose TTL passed but record no access, so
/// asking for the idle time does not reset it.
enum ObjectCommands {
    /// Redis's refcount of objects shared by every key that holds them (`OBJ_SHARED_REFCOUNT`).
    static let sharedRefcount = 2_147_483_647

    static func objectRefcount(_ call: inout CommandCall) throws(CommandError) {
        guard let slot = lookWithoutTouching(call) else { return call.client.null() }
        call.client.integer(refcount(call.database.value(at: slot), settings: call.node.settings))
    }

    static func objectIdletime(_ call: inout CommandCall) throws(CommandError) {
        guard let slot = lookWithoutTouching(call) else { return call.client.null() }
        guard EvictionPolicy(call.node.settings.maxMemoryPolicy).accessMode == .recency else {
            throw CommandError(
                "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
        }
        let database = call.database
        let idle = AccessWord.evictionScore(database.access(slot: slot), mode: .recency, now: database.clock)
        call.client.integer(Int(idle / 1000))
    }

    static func objectFreq(_ call: inout CommandCall) throws(CommandError) {
        guard let slot = lookWithoutTouching(call) else { return call.client.null() }
        guard EvictionPolicy(call.node.settings.maxMemoryPolicy).accessMode == .frequency else {
            throw CommandError(
                "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
        }
        let database = call.database
        call.client.integer(Int(AccessWord.decayedCounter(database.access(slot: slot), now: database.clock)))
    }

    /// What Redis reports as a value's refcount: small integers (0 to 9999) are one shared object
    /// unless an LRU or LFU policy needs per-key access words and a `maxmemory` is set; everything
    /// else has its own object, referenced once. The node stores strings by content and decides the
    /// same way from the content (as OBJECT ENCODING does).
    static func refcount(_ value: Value, settings: NodeSettings) -> Int {
        guard case .string(let bytes) = value, bytes.count <= 4,
            bytes.withUnsafeBytes({ RedisNumber.isCanonicalInteger($0) }), bytes.first != UInt8(ascii: "-")
        else { return 1 }
        switch EvictionPolicy(settings.maxMemoryPolicy) {
        case .allKeysLRU, .volatileLRU, .allKeysLFU, .volatileLFU: return settings.maxMemory == 0 ? sharedRefcount : 1
        default: return sharedRefcount
        }
    }

    /// The slot of the key in argument 2 if it is live; an expired one is deleted, as any lookup
    /// does. No access is recorded.
    private static func lookWithoutTouching(_ call: CommandCall) -> Int? {
        let database = call.database
        guard let slot = call.argument(2, { database.storedSlot($0) }) else { return nil }
        let deadline = database.expireAt(slot: slot)
        if deadline != 0 && deadline <= call.now {
            _ = call.find(2)  // deletes it (and propagates the deletion) as a read would
            return nil
        }
        return slot
    }
}
