import RESP

/// Commands the target does not run: they end or block the process, fork, touch the filesystem or
/// the network, or change the node's settings. The network fuzzer (scripts/netfuzz) sends them.
private let deniedCommands: Set<String> = [
    "shutdown", "debug", "save", "bgsave", "bgrewriteaof", "replicaof", "slaveof", "sync", "psync",
    "failover", "monitor",
]
/// Subcommands denied the same way (CONFIG SET can turn on appendonly, move the directory...).
private let deniedSubcommands: Set<String> = ["config set", "config rewrite", "client pause"]
/// Commands whose offsets may legally ask for up to 4 GB (in bits or bytes): values in
/// `hugeButLegal` are skipped for them (larger ones must fail, and are sent).
private let allocatingCommands: Set<String> = ["setrange", "setbit", "bitfield", "bitfield_ro"]
private let hugeButLegal: ClosedRange<UInt64> = (1 << 20)...(1 << 40)
/// Random picks with repetition (a negative count): Redis 7.0 also replies with that many
/// elements, up to 2^63, so counts from 2^20 on are skipped (they only measure the reply's size).
private let repeatingCommands: Set<String> = ["srandmember", "zrandmember", "hrandfield"]

public func skipped(_ request: RESPRequest) -> Bool {
    let name = request.string(0).lowercased()
    let subcommand = request.argumentCount > 1 ? name + " " + request.string(1).lowercased() : name
    // Two exceptions for extreme arguments: DEBUG SLEEP with a time that must not sleep (not a
    // number, NaN, infinite, negative or tiny), and CONFIG SET maxmemory (FuzzNode resets it).
    if subcommand == "debug sleep" && request.argumentCount == 3 {
        guard let seconds = Double(request.string(2)) else { return false }
        return seconds.isFinite && seconds > 0.001
    }
    if subcommand == "config set" && request.argumentCount == 4 && request.string(2).lowercased() == "maxmemory" {
        return false
    }
    if deniedCommands.contains(name) || deniedSubcommands.contains(subcommand) { return true }
    if allocatingCommands.contains(name) {
        for index in 1..<request.argumentCount {
            if let value = Int64(request.string(index)), hugeButLegal.contains(value.magnitude) {
                return true
            }
        }
    }
    if repeatingCommands.contains(name) && request.argumentCount > 2,
        let count = Int64(request.string(2)), count.magnitude >= 1 << 20
    {
        return true
    }
    return false
}

/// Whether every header line of `request`'s frame ends in CRLF. The parser accepts a CR followed by
/// another byte at the end of a header line and `RESPRequest.collectSpans` then walks off the
/// frame (a known bug, which the resp-request target and scripts/netfuzz report); the node targets
/// skip such frames so they can look for other bugs.
public func wellFormed(_ request: RESPRequest) -> Bool {
    request.frame.withUnsafeReadableBytes { bytes in
        /// The number on the line at `position` after its type byte, and the index after its CRLF.
        func line(at position: Int) -> (value: Int, next: Int)? {
            var index = position + 1
            var value = 0
            while index < bytes.count, bytes[index] != UInt8(ascii: "\r") {
                let digit = Int(bytes[index]) - Int(UInt8(ascii: "0"))
                guard digit >= 0 && digit <= 9 && value < Int(Int32.max) else { return nil }
                value = value * 10 + digit
                index += 1
            }
            guard index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "\n") else { return nil }
            return (value, index + 2)
        }
        guard let header = line(at: 0), header.value == request.argumentCount else { return false }
        var position = header.next
        for _ in 0..<header.value {
            guard position < bytes.count, bytes[position] == UInt8(ascii: "$"), let bulk = line(at: position) else {
                return false
            }
            position = bulk.next + bulk.value + 2
        }
        return position == bytes.count
    }
}
