import RESP

/// Commands the target does not run: they end or block the process, fork, touch the filesystem or
/// the network, or change the node's settings. The network fuzzer (scripts/netfuzz) sends them.
private let deniedCommands: Set<String> = [
    "shutdown", "debug", "save", "bgsave", "bgrewriteaof", "replicaof", "slaveof", "sync", "psync",
    "failover", "monitor",
]
/// Subcommands denied the same way (CONFIG SET can turn on appendonly, move the directory...).
private let deniedSubcommands: Set<String> = ["config set", "config rewrite", "client pause"]
/// Commands whose numeric arguments may legally ask for up to 4 GB (offsets in bits or bytes,
/// counts of random picks with repetition): values in `hugeButLegal` are skipped for them.
private let allocatingCommands: Set<String> = [
    "setrange", "setbit", "bitfield", "bitfield_ro", "srandmember", "zrandmember", "hrandfield",
]
private let hugeButLegal: ClosedRange<UInt64> = (1 << 20)...(1 << 40)

public func skipped(_ request: RESPRequest) -> Bool {
    let name = request.string(0).lowercased()
    if deniedCommands.contains(name) { return true }
    if request.argumentCount > 1 && deniedSubcommands.contains(name + " " + request.string(1).lowercased()) {
        return true
    }
    if allocatingCommands.contains(name) {
        for index in 1..<request.argumentCount {
            if let value = Int64(request.string(index)), hugeButLegal.contains(value.magnitude) {
                return true
            }
        }
    }
    return false
}
