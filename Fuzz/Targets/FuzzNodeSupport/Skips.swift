import RESP

/// Commands the target does not run: they end or block the process, fork, touch the filesystem or
/// the network, or change the node's settings; PFSELFTEST runs Redis's HyperLogLog self-test, which
/// takes seconds by design (over the fuzzer's timeout in a debug build). The network fuzzer
/// (scripts/netfuzz) sends them.
private let deniedCommands: Set<String> = [
    "shutdown", "debug", "save", "bgsave", "bgrewriteaof", "replicaof", "slaveof", "sync", "psync",
    "failover", "monitor", "pfselftest",
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
