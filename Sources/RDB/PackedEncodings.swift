import RedisText

/// Why a compact encoding (listpack, ziplist, intset, zipmap) did not parse; the reader turns it into
/// `RDBError.corrupt` with the file offset and key.
package struct RDBPackedError: Error, Equatable {
    package let reason: String
    package init(_ reason: String) { self.reason = reason }
}

/// Little-endian loads with the bounds already checked by the caller.
extension UnsafeRawBufferPointer {
    @inline(__always)
    fileprivate func uint16LE(_ at: Int) -> UInt16 { UInt16(self[at]) | UInt16(self[at + 1]) << 8 }
    @inline(__always)
    fileprivate func uint32LE(_ at: Int) -> UInt32 {
        UInt32(self[at]) | UInt32(self[at + 1]) << 8 | UInt32(self[at + 2]) << 16 | UInt32(self[at + 3]) << 24
    }
    @inline(__always)
    fileprivate func uint64LE(_ at: Int) -> UInt64 { UInt64(uint32LE(at)) | UInt64(uint32LE(at + 4)) << 32 }

    /// A copy of `count` bytes at `start` (one `memcpy`, not a byte-by-byte iteration).
    @inline(__always)
    func copyBytes(_ start: Int, _ count: Int) -> [UInt8] {
        guard count > 0, let base = baseAddress else { return [] }
        return [UInt8](UnsafeBufferPointer(start: (base + start).assumingMemoryBound(to: UInt8.self), count: count))
    }
}

/// Listpack (Redis 7's compact encoding for small hashes, sorted sets, sets and list nodes):
/// `<total u32><count u16><entry>...<0xFF>`, each entry `<encoding+data><backlen>`.
package enum RDBListpack {
    package static let headerSize = 6
    package static let end: UInt8 = 0xFF
    package static let unknownCount = 65535

    /// Bytes the back-length field takes for an entry of `length` bytes (encoding plus data).
    @inline(__always)
    package static func backlenSize(_ length: Int) -> Int {
        if length <= 127 { return 1 }
        if length < 16383 { return 2 }
        if length < 2_097_151 { return 3 }
        if length < 268_435_455 { return 4 }
        return 5
    }

    /// Every entry as bytes (integers in decimal), validating structure, back lengths and the count.
    package static func entries(_ listpack: UnsafeRawBufferPointer) throws(RDBPackedError) -> [[UInt8]] {
        let size = listpack.count
        guard size >= headerSize + 1 else { throw RDBPackedError("listpack of \(size) bytes is shorter than its header") }
        let total = Int(listpack.uint32LE(0))
        guard total == size else { throw RDBPackedError("listpack header says \(total) bytes, the blob has \(size)") }
        let declared = Int(listpack.uint16LE(4))
        guard listpack[size - 1] == end else { throw RDBPackedError("listpack does not end with 0xFF") }
        var result: [[UInt8]] = []
        result.reserveCapacity(declared == unknownCount ? 16 : Swift.min(declared, size))
        var position = headerSize
        let last = size - 1
        /// The entry at `position` has room for `bytes` before the end marker.
        func fits(_ bytes: Int) throws(RDBPackedError) {
            guard position + bytes <= last else { throw RDBPackedError("listpack entry at \(position) runs past the end") }
        }
        while position < last {
            let first = listpack[position]
            var header = 1
            var stringLength = -1
            var integer: Int64 = 0
            switch first {
            case 0x00...0x7F:
                integer = Int64(first)
            case 0x80...0xBF:
                stringLength = Int(first & 0x3F)
            case 0xC0...0xDF:
                try fits(2)
                let raw = Int64(first & 0x1F) << 8 | Int64(listpack[position + 1])
                integer = raw >= 4096 ? raw - 8192 : raw
                header = 2
            case 0xE0...0xEF:
                try fits(2)
                stringLength = Int(first & 0x0F) << 8 | Int(listpack[position + 1])
                header = 2
            case 0xF0:
                try fits(5)
                stringLength = Int(listpack.uint32LE(position + 1))
                header = 5
            case 0xF1:
                try fits(3)
                integer = Int64(Int16(bitPattern: listpack.uint16LE(position + 1)))
                header = 3
            case 0xF2:
                try fits(4)
                let raw = Int32(bitPattern: UInt32(listpack.uint16LE(position + 1)) << 8 | UInt32(listpack[position + 3]) << 24)
                integer = Int64(raw >> 8)
                header = 4
            case 0xF3:
                try fits(5)
                integer = Int64(Int32(bitPattern: listpack.uint32LE(position + 1)))
                header = 5
            case 0xF4:
                try fits(9)
                integer = Int64(bitPattern: listpack.uint64LE(position + 1))
                header = 9
            default:
                throw RDBPackedError("listpack entry at \(position) has invalid encoding byte \(first)")
            }
            let entryLength = header + Swift.max(stringLength, 0)
            let backlen = backlenSize(entryLength)
            try fits(entryLength + backlen)
            // The back length is written most significant group first, each byte but the first with bit 7 set.
            var decoded = 0
            for index in 0..<backlen {
                let byte = listpack[position + entryLength + index]
                guard (byte & 0x80 != 0) == (index != 0) else {
                    throw RDBPackedError("listpack entry at \(position) has a bad back length")
                }
                decoded = decoded << 7 | Int(byte & 0x7F)
            }
            guard decoded == entryLength else { throw RDBPackedError("listpack entry at \(position) has a bad back length") }
            if stringLength >= 0 {
                result.append(listpack.copyBytes(position + header, stringLength))
            } else {
                result.append(RDBNumber.bytes(integer))
            }
            position += entryLength + backlen
        }
        guard declared == unknownCount || declared == result.count else {
            throw RDBPackedError("listpack header says \(declared) entries, found \(result.count)")
        }
        return result
    }

    /// Bytes one entry takes in a listpack (encoding, data, back length).
    @inline(__always)
    package static func entrySize(_ element: UnsafeRawBufferPointer) -> Int {
        let length: Int
        if element.count <= 20, let value = RedisInteger.parse(element) {
            length = integerEncodingSize(value)
        } else if element.count < 64 {
            length = 1 + element.count
        } else if element.count < 4096 {
            length = 2 + element.count
        } else {
            length = 5 + element.count
        }
        return length + backlenSize(length)
    }

    @inline(__always)
    package static func integerEncodingSize(_ value: Int64) -> Int {
        switch value {
        case 0...127: return 1
        case -4096...4095: return 2
        case -32768...32767: return 3
        case -8_388_608...8_388_607: return 4
        case -2_147_483_648...2_147_483_647: return 5
        default: return 9
        }
    }

    /// Appends one entry, integer-encoded when the bytes are a canonical integer (as `lpAppend` does).
    package static func append(_ element: UnsafeRawBufferPointer, to listpack: inout [UInt8]) {
        let start = listpack.count
        if element.count <= 20, let value = RedisInteger.parse(element) {
            let bits = UInt64(bitPattern: value)
            switch integerEncodingSize(value) {
            case 1:
                listpack.append(UInt8(value))
            case 2:
                let raw = UInt64(bitPattern: value) & 0x1FFF
                listpack.append(0xC0 | UInt8(raw >> 8))
                listpack.append(UInt8(raw & 0xFF))
            case 3:
                listpack.append(0xF1)
                for shift in stride(from: 0, to: 16, by: 8) { listpack.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
            case 4:
                listpack.append(0xF2)
                for shift in stride(from: 0, to: 24, by: 8) { listpack.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
            case 5:
                listpack.append(0xF3)
                for shift in stride(from: 0, to: 32, by: 8) { listpack.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
            default:
                listpack.append(0xF4)
                for shift in stride(from: 0, to: 64, by: 8) { listpack.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
            }
        } else {
            let count = element.count
            if count < 64 {
                listpack.append(0x80 | UInt8(count))
            } else if count < 4096 {
                listpack.append(0xE0 | UInt8(count >> 8))
                listpack.append(UInt8(count & 0xFF))
            } else {
                listpack.append(0xF0)
                for shift in stride(from: 0, to: 32, by: 8) { listpack.append(UInt8(truncatingIfNeeded: count >> shift)) }
            }
            listpack.append(contentsOf: element.bindMemory(to: UInt8.self))
        }
        let length = listpack.count - start
        let backlen = backlenSize(length)
        for index in 0..<backlen {
            let group = UInt8(truncatingIfNeeded: length >> (7 * (backlen - 1 - index))) & 0x7F
            listpack.append(index == 0 ? group : group | 0x80)
        }
    }

    /// Starts a listpack in `buffer` (cleared); finish with `finish(_:count:)`.
    package static func begin(_ buffer: inout [UInt8]) {
        buffer.removeAll(keepingCapacity: true)
        buffer.append(contentsOf: [0, 0, 0, 0, 0, 0] as [UInt8])
    }

    /// Writes the end marker and the header.
    package static func finish(_ buffer: inout [UInt8], count: Int) {
        buffer.append(end)
        let total = UInt32(truncatingIfNeeded: buffer.count)
        for index in 0..<4 { buffer[index] = UInt8(truncatingIfNeeded: total >> (8 * UInt32(index))) }
        let declared = UInt16(Swift.min(count, unknownCount))
        buffer[4] = UInt8(declared & 0xFF)
        buffer[5] = UInt8(declared >> 8)
    }
}

/// Ziplist (Redis before 7.0): `<zlbytes u32><zltail u32><zllen u16><entry>...<0xFF>`, each entry
/// `<prevlen 1|5><encoding><data>`. Read only: Redis 7 converts ziplists to listpacks when loading.
package enum RDBZiplist {
    package static func entries(_ ziplist: UnsafeRawBufferPointer) throws(RDBPackedError) -> [[UInt8]] {
        let size = ziplist.count
        guard size >= 11 else { throw RDBPackedError("ziplist of \(size) bytes is shorter than its header") }
        let total = Int(ziplist.uint32LE(0))
        guard total == size else { throw RDBPackedError("ziplist header says \(total) bytes, the blob has \(size)") }
        let tail = Int(ziplist.uint32LE(4))
        let declared = Int(ziplist.uint16LE(8))
        guard ziplist[size - 1] == 0xFF else { throw RDBPackedError("ziplist does not end with 0xFF") }
        var result: [[UInt8]] = []
        result.reserveCapacity(declared == 65535 ? 16 : Swift.min(declared, size))
        var position = 10
        var previousLength = 0
        var lastEntry = 10
        let last = size - 1
        while position < last {
            let start = position
            var previous: Int
            if ziplist[position] < 254 {
                previous = Int(ziplist[position])
                position += 1
            } else {
                guard ziplist[position] == 254, position + 5 <= last else {
                    throw RDBPackedError("ziplist entry at \(start) has a bad previous-length field")
                }
                previous = Int(ziplist.uint32LE(position + 1))
                position += 5
            }
            guard previous == previousLength else {
                throw RDBPackedError("ziplist entry at \(start) says the previous entry has \(previous) bytes, it has \(previousLength)")
            }
            guard position < last else { throw RDBPackedError("ziplist entry at \(start) runs past the end") }
            let encoding = ziplist[position]
            var stringLength = -1
            var integer: Int64 = 0
            var dataStart = position + 1
            var dataLength = 0
            switch encoding >> 6 {
            case 0:
                stringLength = Int(encoding & 0x3F)
            case 1:
                guard position + 2 <= last else { throw RDBPackedError("ziplist entry at \(start) runs past the end") }
                stringLength = Int(encoding & 0x3F) << 8 | Int(ziplist[position + 1])
                dataStart = position + 2
            case 2:
                guard position + 5 <= last else { throw RDBPackedError("ziplist entry at \(start) runs past the end") }
                stringLength = Int(ziplist[position + 1]) << 24 | Int(ziplist[position + 2]) << 16
                    | Int(ziplist[position + 3]) << 8 | Int(ziplist[position + 4])
                dataStart = position + 5
            default:
                switch encoding {
                case 0xC0: dataLength = 2
                case 0xD0: dataLength = 4
                case 0xE0: dataLength = 8
                case 0xF0: dataLength = 3
                case 0xFE: dataLength = 1
                case 0xF1...0xFD: integer = Int64(encoding & 0x0F) - 1
                default: throw RDBPackedError("ziplist entry at \(start) has invalid encoding byte \(encoding)")
                }
            }
            if stringLength >= 0 { dataLength = stringLength }
            guard dataLength <= last - dataStart else { throw RDBPackedError("ziplist entry at \(start) runs past the end") }
            if stringLength >= 0 {
                result.append(ziplist.copyBytes(dataStart, stringLength))
            } else {
                switch dataLength {
                case 1: integer = Int64(Int8(bitPattern: ziplist[dataStart]))
                case 2: integer = Int64(Int16(bitPattern: ziplist.uint16LE(dataStart)))
                case 3:
                    let raw = UInt32(ziplist.uint16LE(dataStart)) << 8 | UInt32(ziplist[dataStart + 2]) << 24
                    integer = Int64(Int32(bitPattern: raw) >> 8)
                case 4: integer = Int64(Int32(bitPattern: ziplist.uint32LE(dataStart)))
                case 8: integer = Int64(bitPattern: ziplist.uint64LE(dataStart))
                default: break
                }
                result.append(RDBNumber.bytes(integer))
            }
            position = dataStart + dataLength
            previousLength = position - start
            lastEntry = start
        }
        guard declared == 65535 || declared == result.count else {
            throw RDBPackedError("ziplist header says \(declared) entries, found \(result.count)")
        }
        guard tail == lastEntry else { throw RDBPackedError("ziplist tail offset \(tail) does not point at the last entry") }
        return result
    }
}

/// Intset (sets of integers): `<width u32: 2|4|8><count u32><sorted little-endian integers>`.
package enum RDBIntset {
    package static func members(_ intset: UnsafeRawBufferPointer) throws(RDBPackedError) -> [[UInt8]] {
        guard intset.count >= 8 else { throw RDBPackedError("intset of \(intset.count) bytes is shorter than its header") }
        let width = Int(intset.uint32LE(0))
        let count = Int(intset.uint32LE(4))
        guard width == 2 || width == 4 || width == 8 else { throw RDBPackedError("intset has invalid width \(width)") }
        guard count.multipliedReportingOverflow(by: width).partialValue == intset.count - 8, count <= intset.count else {
            throw RDBPackedError("intset says \(count) members of \(width) bytes, the blob has \(intset.count - 8) bytes")
        }
        var result: [[UInt8]] = []
        result.reserveCapacity(count)
        var position = 8
        for _ in 0..<count {
            let value: Int64
            switch width {
            case 2: value = Int64(Int16(bitPattern: intset.uint16LE(position)))
            case 4: value = Int64(Int32(bitPattern: intset.uint32LE(position)))
            default: value = Int64(bitPattern: intset.uint64LE(position))
            }
            result.append(RDBNumber.bytes(value))
            position += width
        }
        return result
    }

    /// The intset blob for `values` (sorted here; the caller guarantees they are distinct).
    package static func encode(_ values: [Int64]) -> [UInt8] {
        let sorted = values.sorted()
        let smallest = sorted.first ?? 0
        let largest = sorted.last ?? 0
        let width: Int
        if smallest >= Int64(Int16.min) && largest <= Int64(Int16.max) {
            width = 2
        } else if smallest >= Int64(Int32.min) && largest <= Int64(Int32.max) {
            width = 4
        } else {
            width = 8
        }
        var blob: [UInt8] = []
        blob.reserveCapacity(8 + width * sorted.count)
        for shift in stride(from: 0, to: 32, by: 8) { blob.append(UInt8(truncatingIfNeeded: width >> shift)) }
        for shift in stride(from: 0, to: 32, by: 8) { blob.append(UInt8(truncatingIfNeeded: sorted.count >> shift)) }
        for value in sorted {
            let bits = UInt64(bitPattern: value)
            for shift in stride(from: 0, to: width * 8, by: 8) { blob.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
        }
        return blob
    }
}

/// Zipmap (hashes in Redis 2.4 and older): `<count><len>field<len><free>value[free bytes]...<0xFF>`,
/// lengths one byte below 254, or 254 and a little-endian u32.
package enum RDBZipmap {
    package static func pairs(_ zipmap: UnsafeRawBufferPointer) throws(RDBPackedError) -> [(field: [UInt8], value: [UInt8])] {
        let size = zipmap.count
        guard size >= 2 else { throw RDBPackedError("zipmap of \(size) bytes is too short") }
        guard zipmap[size - 1] == 0xFF else { throw RDBPackedError("zipmap does not end with 0xFF") }
        let last = size - 1
        var position = 1
        func length() throws(RDBPackedError) -> Int {
            guard position < last else { throw RDBPackedError("zipmap entry at \(position) runs past the end") }
            let first = zipmap[position]
            if first < 254 {
                position += 1
                return Int(first)
            }
            guard first == 254, position + 5 <= last else { throw RDBPackedError("zipmap has a bad length at \(position)") }
            let value = Int(zipmap.uint32LE(position + 1))
            position += 5
            return value
        }
        var result: [(field: [UInt8], value: [UInt8])] = []
        while position < last {
            let fieldLength = try length()
            guard fieldLength <= last - position else { throw RDBPackedError("zipmap field at \(position) runs past the end") }
            let field = zipmap.copyBytes(position, fieldLength)
            position += fieldLength
            let valueLength = try length()
            guard position < last else { throw RDBPackedError("zipmap value at \(position) runs past the end") }
            let free = Int(zipmap[position])
            position += 1
            guard valueLength + free <= last - position else { throw RDBPackedError("zipmap value at \(position) runs past the end") }
            result.append((field, zipmap.copyBytes(position, valueLength)))
            position += valueLength + free
        }
        let declared = Int(zipmap[0])
        guard declared >= 254 || declared == result.count else {
            throw RDBPackedError("zipmap header says \(declared) pairs, found \(result.count)")
        }
        return result
    }
}
