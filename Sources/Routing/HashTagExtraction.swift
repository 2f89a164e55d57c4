/// Which bytes of a key are hashed when a hash tag is configured.
///
/// twemproxy (`server_pool_idx` in `nc_server.c`): find the first `tag.open`; then the first
/// `tag.close` *after* it; if both exist and at least one byte lies between them, hash only those
/// bytes. Otherwise (no open, no close after it, or an empty tag such as `{}`) hash the whole key.
/// Redis Cluster (`keyHashSlot`) uses the same rule with `{` and `}`, so the two functions below
/// agree byte for byte; both exist so call sites say which semantics they rely on.
/// Because the close is searched from the byte after the open, a tag whose open and close bytes are
/// equal (twemproxy allows e.g. `hash_tag: "$$"`) works: in `a$bc$d` the hashed part is `bc`.

/// The bytes twemproxy would hash for `key` under `tag` (`nil` means no `hash_tag`: the whole key).
/// The result points into `key`'s memory.
public func hashedPart(of key: UnsafeRawBufferPointer, tag: HashTag?) -> UnsafeRawBufferPointer {
    guard let tag else { return key }
    return taggedPart(of: key, open: tag.open, close: tag.close)
}

/// The bytes Redis Cluster would hash for `key` (pass `.braces` for real Redis Cluster semantics).
/// The result points into `key`'s memory.
public func clusterHashedPart(of key: UnsafeRawBufferPointer, tag: HashTag) -> UnsafeRawBufferPointer {
    taggedPart(of: key, open: tag.open, close: tag.close)
}

/// The shared rule: first `open`, first `close` after it, non-empty in between; else the whole key.
@inline(__always)
func taggedPart(of key: UnsafeRawBufferPointer, open: UInt8, close: UInt8) -> UnsafeRawBufferPointer {
    let count = key.count
    var start = 0
    while start < count, key[start] != open { start &+= 1 }
    guard start < count else { return key }
    var end = start &+ 1
    while end < count, key[end] != close { end &+= 1 }
    guard end < count, end &- start > 1 else { return key }
    return UnsafeRawBufferPointer(rebasing: key[(start &+ 1)..<end])
}
