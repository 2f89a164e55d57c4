import RedisText

/// Why `CommandSpec.keyIndices` could not produce the keys of a request.
///
/// A typed error (no allocation) rather than `nil`, because the proxy needs
/// to tell "Redis will reject this request" from "this command's keys cannot
/// be found from key specs".
public enum KeyExtractionError: Error, Sendable, Equatable {
    /// The arguments do not fit the key specs: the numkeys argument is missing,
    /// not an integer or negative, or the keys would run past the last
    /// argument. Redis rejects such a request with an error.
    case invalidArguments
    /// A key spec is `unknown` or flagged `incomplete` (SORT, SORT_RO, MIGRATE),
    /// so key specs cannot find every key; Redis uses a hand-written getkeys
    /// function instead. Pass `.partial` to get the keys the specs do find.
    case incompleteKeySpecs
}

/// Options of `CommandSpec.keyIndices`, mirroring Redis's `GET_KEYSPEC_*` search flags.
public struct KeyExtractionOptions: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8

    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    /// `GET_KEYSPEC_RETURN_PARTIAL`: skip failing or incomplete specs and return
    /// the keys found by the others instead of throwing.
    public static let partial = KeyExtractionOptions(rawValue: 1 << 0)
    /// `GET_KEYSPEC_INCLUDE_NOT_KEYS`: also return `not_key` arguments (the
    /// channels of SPUBLISH / SSUBSCRIBE / SUNSUBSCRIBE, which hash to slots like keys).
    public static let includeNotKeys = KeyExtractionOptions(rawValue: 1 << 1)
}

extension CommandSpec {
    /// Argument indices (0 = command name) of all keys of a request, in key-spec
    /// order, found exactly like Redis 7's `getKeysUsingKeySpecs` (db.c):
    ///
    /// - begin search `index(pos)` starts at `pos`; `keyword(kw, startFrom)`
    ///   starts after the first case-insensitive match of `kw`, searching
    ///   forward from `startFrom` (last argument excluded) or backward from
    ///   `argc + startFrom` down to 2; a spec whose keyword is absent yields no keys;
    /// - find keys `range(lastKey, keyStep, limit)` ends at `start + lastKey`,
    ///   `argc + lastKey`, or with a limit at `start + (argc - start) / limit + lastKey`;
    ///   `keyNum(idx, firstKey, keyStep)` reads the key count at `start + idx`
    ///   (Redis's strict integer syntax) and takes that many keys from `start + firstKey`;
    /// - keys that would fall outside the arguments make the request invalid.
    ///
    /// One deliberate difference: a numkeys of 0 (`EVAL script 0`) yields no keys
    /// from that spec instead of failing; Redis reaches the same answer through
    /// its fallback getkeys functions (`COMMAND GETKEYS EVAL s 0` returns `[]`).
    ///
    /// Call after the arity check, with the arguments of the command itself (for
    /// a subcommand, the full request: index 0 is the container name). Allocates
    /// the result; use `singleKeyIndex` first for the common fixed-key case.
    ///
    /// - Parameters:
    ///   - argumentCount: number of arguments including the command name.
    ///   - options: see `KeyExtractionOptions`.
    ///   - argument: the bytes of argument `i`; only called for keyword and
    ///     numkeys arguments, never retained.
    /// - Throws: `KeyExtractionError` (never with `.partial`).
    public func keyIndices(
        argumentCount argc: Int,
        options: KeyExtractionOptions = [],
        argument: (Int) -> UnsafeRawBufferPointer
    ) throws(KeyExtractionError) -> [Int] {
        var keys: [Int] = []
        try forEachKey(argumentCount: argc, options: options, argument: argument) { index, _ in keys.append(index) }
        return keys
    }

    /// `keyIndices` with each key's spec flags (RW, access, …), for COMMAND GETKEYSANDFLAGS.
    public func keyIndicesAndFlags(
        argumentCount argc: Int,
        options: KeyExtractionOptions = [],
        argument: (Int) -> UnsafeRawBufferPointer
    ) throws(KeyExtractionError) -> [(index: Int, flags: KeySpec.Flags)] {
        var keys: [(index: Int, flags: KeySpec.Flags)] = []
        try forEachKey(argumentCount: argc, options: options, argument: argument) { keys.append(($0, $1)) }
        return keys
    }

    /// Calls `body` with each key's argument index and its spec's flags, in spec order.
    private func forEachKey(
        argumentCount argc: Int,
        options: KeyExtractionOptions,
        argument: (Int) -> UnsafeRawBufferPointer,
        _ body: (Int, KeySpec.Flags) -> Void
    ) throws(KeyExtractionError) {
        guard keySpecEnd > keySpecStart else { return }
        for specIndex in Int(keySpecStart)..<Int(keySpecEnd) {
            let spec = CommandTable.redis.keySpecStorage[specIndex]
            if spec.flags.contains(.notKey) && !options.contains(.includeNotKeys) { continue }
            switch Self.locate(spec, argc: argc, argument: argument) {
            case .keys(let first, let last, let step):
                var i = first
                while i <= last {
                    body(i, spec.flags)
                    i += step
                }
                if spec.flags.contains(.incomplete) && !options.contains(.partial) {
                    throw .incompleteKeySpecs
                }
            case .none:
                continue
            case .failure(let error):
                if options.contains(.partial) { continue }
                throw error
            }
        }
    }

    /// Outcome of one key spec for one request.
    enum SpecKeys {
        /// Keys at `first...last` every `step` arguments (all within bounds).
        case keys(first: Int, last: Int, step: Int)
        /// The spec contributes no keys (keyword absent, numkeys 0).
        case none
        case failure(KeyExtractionError)
    }

    @inline(__always)
    static func locate(_ spec: KeySpec, argc: Int, argument: (Int) -> UnsafeRawBufferPointer) -> SpecKeys {
        var first = 0
        switch spec.beginSearch {
        case .index(let pos):
            first = pos
        case .keyword(let keyword, let startFrom):
            let start = startFrom > 0 ? startFrom : argc + startFrom
            let end = startFrom > 0 ? argc - 1 : 1
            var i = start
            while i != end {
                if i >= argc || i < 1 { break }
                if ASCII.equalsIgnoringCase(argument(i), keyword) {
                    first = i + 1
                    break
                }
                i = start <= end ? i + 1 : i - 1
            }
            if first == 0 { return .none }
        case .unknown:
            return .failure(.incompleteKeySpecs)
        }

        let last: Int
        let step: Int
        switch spec.findKeys {
        case let .range(lastKey, keyStep, limit):
            step = keyStep
            if lastKey >= 0 {
                last = first + lastKey
            } else if limit == 0 {
                last = argc + lastKey
            } else {
                last = first + ((argc - first) / limit + lastKey)
            }
        case let .keyNum(keyNumIndex, firstKey, keyStep):
            step = keyStep
            let countIndex = first + keyNumIndex
            guard countIndex >= 0, countIndex < argc,
                  let count = RedisInteger.parse(argument(countIndex)), count >= 0
            else { return .failure(.invalidArguments) }
            if count == 0 { return .none }
            // A count beyond the arguments fails the bounds check below; clamp
            // first so the arithmetic cannot overflow.
            first += firstKey
            last = first + Int(min(count, Int64(argc))) - 1
        case .unknown:
            return .failure(.incompleteKeySpecs)
        }
        guard step > 0, first >= 1, first < argc, last >= first, last < argc else {
            return .failure(.invalidArguments)
        }
        return .keys(first: first, last: last, step: step)
    }

    /// `singleKeyIndex` for a spec list and arity: exactly one spec (ignoring
    /// `not_key` ones), found at a fixed index, covering one key, complete, and
    /// guaranteed to exist by the arity check.
    static func computeSingleKeyIndex(keySpecs: ArraySlice<KeySpec>, arity: Int) -> Int? {
        let keySpecs = keySpecs.filter { !$0.flags.contains(.notKey) }
        guard keySpecs.count == 1, let spec = keySpecs.first, !spec.isIncomplete,
              case .index(let pos) = spec.beginSearch,
              case .range(lastKey: 0, keyStep: let step, limit: _) = spec.findKeys, step > 0
        else { return nil }
        let minimumArguments = arity >= 0 ? arity : -arity
        return pos >= 1 && pos < minimumArguments ? pos : nil
    }
}
