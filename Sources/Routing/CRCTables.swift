/// Lookup tables for the CRC-based hashes, generated from their polynomials at first use
/// (rather than pasted) so they are easy to audit.

/// CRC-16/XMODEM (polynomial 0x1021, MSB first): twemproxy's `crc16` and Redis Cluster's key slots.
let crc16Table: [UInt16] = (0..<256).map { byte in
    var crc = UInt16(byte) << 8
    for _ in 0..<8 {
        crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1
    }
    return crc
}

/// CRC-32 (IEEE, reflected polynomial 0xEDB88320): twemproxy's `crc32` and `crc32a`.
let crc32Table: [UInt32] = (0..<256).map { byte in
    var crc = UInt32(byte)
    for _ in 0..<8 {
        crc = crc & 1 != 0 ? (crc >> 1) ^ 0xedb8_8320 : crc >> 1
    }
    return crc
}
