extension SHA1 {
    /// The digest of `bytes` as 40 lowercase hex digits (script names: EVALSHA, SCRIPT LOAD,
    /// redis.sha1hex).
    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(40)
        for byte in bytes.withUnsafeBytes({ hash($0) }) {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 15)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
