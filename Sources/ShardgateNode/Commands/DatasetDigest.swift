/// DEBUG DIGEST and DEBUG DIGEST-VALUE: a 160-bit fingerprint of the dataset or of single values,
/// built the way Redis 7.0 builds it, so both servers print the same hex for the same data.
///
/// The scheme is SHA-1 based and order-aware only where the data type is ordered:
/// - "add" (`xor`) folds SHA-1(bytes) into the digest: the order of such additions does not matter,
///   which suits sets, hash fields and sorted-set members, and the keys of a database;
/// - "mix" folds SHA-1(bytes) in, then replaces the digest by SHA-1(digest): a list's elements (and
///   the parts of one key/value pair) give a different result in a different order.
/// A value digest mixes the type number (big-endian 32 bits), then its contents, then adds the
/// marker `!!expire!!` when the key has a TTL. The dataset digest mixes each non-empty database's
/// number and adds, for every key, the digest of the key mixed with its value's digest. An empty
/// dataset, and a missing key, give 40 zeros.
///
/// The test suite compares digests before and after a reload, a copy or a rewrite, so what matters
/// is that equal data gives equal digests and changed data a different one; matching Redis's
/// numbers as well lets the node be checked against redis-server directly.
struct DatasetDigest {
    private(set) var bytes = [UInt8](repeating: 0, count: 20)

    /// Forty hex digits, as DEBUG prints it.
    var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(40)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Folds SHA-1(`data`) into the digest; commutative.
    mutating func add(_ data: UnsafeRawBufferPointer) {
        let hash = SHA1.hash(data)
        for index in 0..<20 { bytes[index] ^= hash[index] }
    }

    mutating func add(_ data: [UInt8]) { data.withUnsafeBytes { add($0) } }

    /// Adds, then hashes the digest itself, so what comes next depends on what came before.
    mutating func mix(_ data: UnsafeRawBufferPointer) {
        add(data)
        bytes = bytes.withUnsafeBytes { SHA1.hash($0) }
    }

    mutating func mix(_ data: [UInt8]) { data.withUnsafeBytes { mix($0) } }
    mutating func mix(_ text: String) { mix(Array(text.utf8)) }

    /// Redis's type numbers (string 0, list 1, set 2, sorted set 3, hash 4).
    private static func typeNumber(_ value: Value) -> UInt32 {
        switch value {
        case .string: 0
        case .list: 1
        case .set: 2
        case .sortedSet: 3
        case .hash: 4
        case .stream: 6
        }
    }

    /// Folds in one value as DEBUG DIGEST-VALUE reports it.
    mutating func addValue(_ value: Value, expires: Bool) {
        let type = Self.typeNumber(value).bigEndian
        withUnsafeBytes(of: type) { mix($0) }
        switch value {
        case .string(let bytes):
            mix(bytes)
        case .list(let list):
            for element in list.elements { mix(element) }
        case .set(let set):
            set.forEach { add($0) }
        case .sortedSet(let sortedSet):
            sortedSet.forEach(ranks: 0..<sortedSet.count, reverse: false) { member, score in
                var element = DatasetDigest()
                element.mix(member)
                element.mix(DoubleFormat.reply(score))
                add(element.bytes)
            }
        case .hash(let hash):
            hash.forEach { field, value in
                var pair = DatasetDigest()
                pair.mix(field)
                pair.mix(value)
                add(pair.bytes)
            }
        case .stream(let stream):
            // Entries only, in order, each ID as `ms.seq` (consumer groups are not digested).
            stream.forward(from: .zero, to: .max) { node, entry in
                mix("\(entry.id.ms).\(entry.id.seq)")
                node.forEachPair(entry) { field, value in
                    mix(field)
                    mix(value)
                }
                return true
            }
        }
        if expires { add(Array("!!expire!!".utf8)) }
    }

    /// The digest of one key's value (DEBUG DIGEST-VALUE); zeros when there is no such key.
    /// Logically expired keys still count, as in Redis (a debugging view of what is stored).
    static func value(in database: Database, key: UnsafeRawBufferPointer) -> DatasetDigest {
        var digest = DatasetDigest()
        if let slot = database.storedSlot(key) {
            digest.addValue(database.value(at: slot), expires: database.expireAt(slot: slot) != 0)
        }
        return digest
    }

    /// The digest of every database (DEBUG DIGEST).
    static func dataset(_ databases: [Database]) -> DatasetDigest {
        var digest = DatasetDigest()
        for (number, database) in databases.enumerated() where database.count > 0 {
            withUnsafeBytes(of: UInt32(truncatingIfNeeded: number).bigEndian) { digest.mix($0) }
            for slot in database.slots {
                var pair = DatasetDigest()
                pair.mix(database.key(at: slot))
                pair.addValue(database.value(at: slot), expires: database.expireAt(slot: slot) != 0)
                digest.add(pair.bytes)
            }
        }
        return digest
    }
}

/// SHA-1 (FIPS 180-4), for the digests above and script names: not used for anything that needs security.
enum SHA1 {
    static func hash(_ data: UnsafeRawBufferPointer) -> [UInt8] {
        var state: (UInt32, UInt32, UInt32, UInt32, UInt32) = (0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0)
        var words = [UInt32](repeating: 0, count: 80)

        func compress(_ block: UnsafeRawBufferPointer) {
            for index in 0..<16 {
                let base = index * 4
                words[index] = UInt32(block[base]) << 24 | UInt32(block[base + 1]) << 16
                    | UInt32(block[base + 2]) << 8 | UInt32(block[base + 3])
            }
            for index in 16..<80 {
                let value = words[index - 3] ^ words[index - 8] ^ words[index - 14] ^ words[index - 16]
                words[index] = value << 1 | value >> 31
            }
            var (a, b, c, d, e) = state
            for index in 0..<80 {
                let f: UInt32
                let k: UInt32
                switch index {
                case 0..<20: (f, k) = ((b & c) | (~b & d), 0x5A82_7999)
                case 20..<40: (f, k) = (b ^ c ^ d, 0x6ED9_EBA1)
                case 40..<60: (f, k) = ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC)
                default: (f, k) = (b ^ c ^ d, 0xCA62_C1D6)
                }
                let next = (a << 5 | a >> 27) &+ f &+ e &+ k &+ words[index]
                e = d
                d = c
                c = b << 30 | b >> 2
                b = a
                a = next
            }
            state = (state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d, state.4 &+ e)
        }

        let whole = data.count / 64 * 64
        var offset = 0
        while offset < whole {
            compress(UnsafeRawBufferPointer(rebasing: data[offset..<(offset + 64)]))
            offset += 64
        }
        // The tail, the 0x80 marker, zeros, and the message length in bits (big-endian 64 bits).
        var tail = Array(data[whole...])
        tail.append(0x80)
        while tail.count % 64 != 56 { tail.append(0) }
        let bits = UInt64(data.count) &* 8
        for shift in stride(from: 56, through: 0, by: -8) { tail.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
        tail.withUnsafeBytes { buffer in
            for start in stride(from: 0, to: buffer.count, by: 64) {
                compress(UnsafeRawBufferPointer(rebasing: buffer[start..<(start + 64)]))
            }
        }
        var result: [UInt8] = []
        result.reserveCapacity(20)
        for word in [state.0, state.1, state.2, state.3, state.4] {
            for shift in stride(from: 24, through: 0, by: -8) { result.append(UInt8(truncatingIfNeeded: word >> UInt32(shift))) }
        }
        return result
    }
}
