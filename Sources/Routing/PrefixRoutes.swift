/// Key prefixes pinned to groups (a pool's `routes:`), checked before the shard map: the longest
/// matching prefix wins, and a key that matches none is placed as before. Keeps the keys of an app
/// that moves items between names it picks itself (rq's `rq:queue:…` lists) in one group.
public struct PrefixRoutes: Sendable, Hashable {
    public struct Route: Sendable, Hashable {
        public var prefix: [UInt8]
        public var group: Int

        public init(prefix: [UInt8], group: Int) {
            self.prefix = prefix
            self.group = group
        }
    }

    /// Longest prefix first, so the first match is the longest.
    public let routes: [Route]

    public init(_ routes: [Route]) {
        self.routes = routes.sorted { $0.prefix.count > $1.prefix.count }
    }

    public var isEmpty: Bool { routes.isEmpty }

    /// The group of the longest prefix `key` starts with, or nil.
    public func group(forKey key: UnsafeRawBufferPointer) -> Int? {
        for route in routes where route.prefix.count <= key.count {
            var matches = true
            for index in route.prefix.indices where key[index] != route.prefix[index] {
                matches = false
                break
            }
            if matches { return route.group }
        }
        return nil
    }
}
