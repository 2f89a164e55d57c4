/// Redis's RDB persistence format (version 10, as written by Redis 7.0).
///
/// The numbers below are the on-disk contract (`src/rdb.h` in Redis); they never change meaning
/// between versions, new ones are only added.
public enum RDBFormat {
    /// The RDB version this module writes.
    public static let version = 10

    /// The newest version the reader accepts (Redis 7.4). Values of types newer than 7.0 that this
    /// module cannot represent (streams, hashes with field expiry) are reported as unsupported.
    public static let newestReadableVersion = 12
}

/// Object type bytes (`RDB_TYPE_*`).
enum RDBType {
    static let string: UInt8 = 0
    static let list: UInt8 = 1
    static let set: UInt8 = 2
    static let zset: UInt8 = 3
    static let hash: UInt8 = 4
    static let zset2: UInt8 = 5
    static let modulePreGA: UInt8 = 6
    static let module2: UInt8 = 7
    static let hashZipmap: UInt8 = 9
    static let listZiplist: UInt8 = 10
    static let setIntset: UInt8 = 11
    static let zsetZiplist: UInt8 = 12
    static let hashZiplist: UInt8 = 13
    static let listQuicklist: UInt8 = 14
    static let streamListpacks: UInt8 = 15
    static let hashListpack: UInt8 = 16
    static let zsetListpack: UInt8 = 17
    static let listQuicklist2: UInt8 = 18
    static let streamListpacks2: UInt8 = 19
    static let setListpack: UInt8 = 20
    static let streamListpacks3: UInt8 = 21
    static let hashMetadataPreGA: UInt8 = 22
    static let hashListpackExPreGA: UInt8 = 23
    static let hashMetadata: UInt8 = 24
    static let hashListpackEx: UInt8 = 25

    /// A name for types this module reads only to report them.
    static func unsupportedName(_ type: UInt8) -> String? {
        switch type {
        case modulePreGA, module2: return "module"
        case hashMetadataPreGA, hashListpackExPreGA, hashMetadata, hashListpackEx: return "hash with field expiration"
        default: return nil
        }
    }
}

/// Opcode bytes that are not object types (`RDB_OPCODE_*`).
enum RDBOpcode {
    static let slotInfo: UInt8 = 244
    static let function2: UInt8 = 245
    static let functionPreGA: UInt8 = 246
    static let moduleAux: UInt8 = 247
    static let idle: UInt8 = 248
    static let freq: UInt8 = 249
    static let aux: UInt8 = 250
    static let resizeDB: UInt8 = 251
    static let expireTimeMilliseconds: UInt8 = 252
    static let expireTime: UInt8 = 253
    static let selectDB: UInt8 = 254
    static let eof: UInt8 = 255
}

/// Special string encodings after a length byte of the form `11xxxxxx` (`RDB_ENC_*`).
enum RDBStringEncoding {
    static let int8: UInt8 = 0
    static let int16: UInt8 = 1
    static let int32: UInt8 = 2
    static let lzf: UInt8 = 3
}

/// Redis 7.0's defaults for the compact encodings (`list-max-listpack-size -2`,
/// `set-max-intset-entries`, `hash-max-listpack-*`, `zset-max-listpack-*`).
enum RDBLimits {
    static let listNodeBytes = 8192
    static let plainListElementBytes = 1 << 30
    static let intsetEntries = 512
    static let hashListpackEntries = 512
    static let hashListpackValue = 64
    static let zsetListpackEntries = 128
    static let zsetListpackValue = 64
}
