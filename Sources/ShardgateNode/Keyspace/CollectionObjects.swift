/// A Redis hash. (Filled in by the data-types work: small ordered encoding, large table.)
final class HashObject {
    func copy() -> HashObject { HashObject() }
}

/// A Redis set. (Filled in by the data-types work: intset and table encodings.)
final class SetObject {
    func copy() -> SetObject { SetObject() }
}

/// A Redis sorted set. (Filled in by the data-types work.)
final class SortedSetObject {
    func copy() -> SortedSetObject { SortedSetObject() }
}

extension HashObject { var encodingName: String { "hashtable" } }
extension SetObject { var encodingName: String { "hashtable" } }
extension SortedSetObject { var encodingName: String { "skiplist" } }
