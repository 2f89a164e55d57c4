/// ACL GENPASS: random passwords as Redis makes them, hex digits of random bits.
package enum ACLPasswords {
    package static let badBits =
        "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096"

    /// A password of `bits` random bits (256 when nil) in hex; nil when `bits` is not an integer in 1...4096.
    package static func generate(bits text: String?) -> [UInt8]? {
        var bits = 256
        if let text {
            guard let value = Int(text), value > 0, value <= 4096 else { return nil }
            bits = value
        }
        let characters = (bits + 3) / 4
        // The system generator reads the kernel's (getrandom), as Redis's /dev/urandom.
        let bytes = (0..<(characters + 1) / 2).map { _ in UInt8.random(in: 0...255) }
        let digits = Array("0123456789abcdef".utf8)
        var password: [UInt8] = []
        for byte in bytes {
            password.append(digits[Int(byte >> 4)])
            password.append(digits[Int(byte & 15)])
        }
        return Array(password.prefix(characters))
    }
}
