import Commands
import RESP

/// A request's arguments for the ACL check, copied once (only for restricted users).
package struct ACLArguments {
    package let values: [[UInt8]]

    package init(_ request: RESPRequest) {
        values = (0..<request.argumentCount).map { index in request.withArgument(index) { Array($0) } }
    }

    package init(_ values: [[UInt8]]) { self.values = values }

    package var count: Int { values.count }
    package func bytes(_ index: Int) -> [UInt8] { values[index] }
    package func string(_ index: Int) -> String { String(decoding: values[index], as: UTF8.self) }

    /// The command's keys with their key-spec flags; for the commands whose flags depend on
    /// their arguments (SET with or without GET, BITFIELD with only GETs, SORT ... STORE), the
    /// flags those arguments give, as Redis's own key finders report them.
    package func keys(of spec: CommandSpec) -> [(index: Int, flags: KeySpec.Flags)] {
        var keys = withPointers { pointers in
            (try? spec.keyIndicesAndFlags(argumentCount: values.count, options: .partial) { pointers[$0] }) ?? []
        }
        let words = values.dropFirst(2).map { String(decoding: $0, as: UTF8.self).lowercased() }
        switch spec {
        case "set":
            // Options follow the value (argument 3 on).
            if !words.dropFirst().contains("get") { keys = keys.map { ($0.index, [.overwrite, .update]) } }
        case "bitfield":
            let writes = words.contains("set") || words.contains("incrby")
            keys = keys.map { ($0.index, writes ? [.readWrite, .access, .update] : [.readOnly, .access]) }
        case "sort":
            if let store = words.firstIndex(of: "store"), store + 3 < values.count {
                keys.append((store + 3, [.overwrite, .update]))
            }
        case "migrate":
            keys = migrateKeyIndices().map { ($0, [.readWrite, .access, .delete]) }
        default:
            break
        }
        return keys
    }

    /// MIGRATE's keys, which its key specs leave incomplete (Redis finds them by hand too):
    /// argument 3, or, when that is empty, every argument after the KEYS option. AUTH's password
    /// and AUTH2's user and password are skipped while looking for it; with a key given as
    /// well, KEYS names none.
    private func migrateKeyIndices() -> Range<Int> {
        guard values.count > 3 else { return 0..<0 }
        var index = 6
        while index < values.count {
            switch string(index).lowercased() {
            case "keys": return values[3].isEmpty ? index + 1..<values.count : 0..<0
            case "auth": index += 2
            case "auth2": index += 3
            default: index += 1
            }
        }
        return 3..<4
    }

    private func withPointers<T>(_ body: ([UnsafeRawBufferPointer]) -> T) -> T {
        let joined = values.flatMap { $0 }
        return joined.withUnsafeBytes { all in
            var offset = 0
            var pointers: [UnsafeRawBufferPointer] = []
            for value in values {
                pointers.append(UnsafeRawBufferPointer(rebasing: all[offset..<offset + value.count]))
                offset += value.count
            }
            return body(pointers)
        }
    }

    /// Channels a pub/sub command publishes or subscribes to (patterns marked).
    package func channels(of spec: CommandSpec) -> [(index: Int, isPattern: Bool)] {
        switch spec {
        case "publish", "spublish":
            return count > 1 ? [(1, false)] : []
        case "subscribe", "ssubscribe":
            return (1..<max(1, count)).map { ($0, false) }
        case "psubscribe":
            return (1..<max(1, count)).map { ($0, true) }
        default:
            return []
        }
    }
}
