import Commands
import NIOCore
import RESP
import Routing

/// SORT and SORT_RO across groups. Their BY and GET patterns name keys the server forms from each
/// element, which the key specs cannot locate; as in Redis Cluster, a pattern with `*` is allowed
/// only when every key it can form lives in the sorted key's group (its hash tag holds no `*` and
/// places it there), and STORE's key must live there too.
extension ClientSession {
    func sortGroups(_ request: RESPRequest, spec: CommandSpec) -> KeyGroups {
        guard request.argumentCount >= 2, let keyGroup = request.withArgument(1, { loop.group(forKey: $0) }) else {
            return .failed(ProxyErrors.noGroup(spec.name))
        }
        var groups = [keyGroup]
        var index = 2
        while index < request.argumentCount {
            let word = request.string(index).lowercased()
            let hasValue = index + 1 < request.argumentCount
            switch word {
            case "by" where hasValue, "get" where hasValue:
                let pattern = request.withArgument(index + 1) { Array($0) }
                let special = word == "get" && pattern == Array("#".utf8)
                if !special && pattern.contains(UInt8(ascii: "*")) && patternGroup(pattern) != keyGroup {
                    return .failed("ERR \(word.uppercased()) option of SORT denied in Cluster mode when keys formed by the pattern may be in different slots.")
                }
                index += 2
            case "limit" where index + 2 < request.argumentCount:
                index += 3
            case "store" where hasValue && spec.isNamed("sort"):
                guard let group = request.withArgument(index + 1, { loop.group(forKey: $0) }) else {
                    return .failed(ProxyErrors.noGroup(spec.name))
                }
                groups.append(group)
                index += 2
            default:
                index += 1  // ASC, DESC, ALPHA; anything else is the server's syntax error
            }
        }
        return .groups(groups)
    }

    /// The one group every key `pattern` can form (its `*` replaced by anything) lives in, or nil
    /// when that cannot be known: the pool's hash tag must enclose a part of the pattern without
    /// `*`, and no prefix route may split what the pattern forms.
    private func patternGroup(_ pattern: [UInt8]) -> Int? {
        let config = runtime.config
        guard let tag = config.distribution == .slots ? (config.hashTag ?? .braces) : config.hashTag else { return nil }
        let star = pattern.firstIndex(of: UInt8(ascii: "*"))!
        let confined: Bool = pattern.withUnsafeBytes { bytes in
            let part = hashedPart(of: bytes, tag: tag)
            guard part.count < bytes.count, let base = bytes.baseAddress, let start = part.baseAddress else { return false }
            let offset = start - base
            return !(offset...(offset + part.count)).contains(star)
        }
        guard confined else { return nil }
        let fixedPrefix = pattern[..<star]
        if config.routes.routes.contains(where: { $0.prefix.count > fixedPrefix.count && $0.prefix.starts(with: fixedPrefix) }) {
            return nil
        }
        return pattern.withUnsafeBytes { loop.group(forKey: $0) }
    }
}
