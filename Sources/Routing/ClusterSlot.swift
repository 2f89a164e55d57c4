/// Redis Cluster key slots: `CRC16-XMODEM(hashed part) mod 16384`, with the `{...}` hash-tag rule.

/// The Redis Cluster slot (0...16383) of `key`, applying the `{}` hash-tag rule as Redis does.
public func clusterSlot(of key: UnsafeRawBufferPointer) -> Int {
    slot(ofHashedPart: taggedPart(of: key, open: HashTag.braces.open, close: HashTag.braces.close))
}

/// The slot of bytes that have already been through hash-tag extraction.
@inline(__always)
func slot(ofHashedPart part: UnsafeRawBufferPointer) -> Int {
    var crc: UInt16 = 0
    crc16Table.withUnsafeBufferPointer { table in
        for byte in part {
            crc = (crc << 8) ^ table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)]
        }
    }
    return Int(crc & 0x3fff)
}
