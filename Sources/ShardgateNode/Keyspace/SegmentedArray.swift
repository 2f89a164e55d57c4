/// A growable array kept in segments of `segmentSize` elements: appending never copies what is
/// already stored, and the capacity beyond `count` is less than one segment.
///
/// Why not `Array`: a key table's slot array holds millions of slots. Doubling a flat array holds
/// the old and the new storage at once (1.5x the slots for a moment) and leaves up to half of the
/// new one unused, and `maxmemory` counts both (the allocator's in-use bytes): a node under a
/// memory limit would evict keys to pay for capacity it does not use yet, and overshoot the limit
/// while it copies. The first segment still grows by doubling, so small tables stay small.
///
/// Value semantics as `Array`'s: copies share segments until one is written.
struct SegmentedArray<Element> {
    static var segmentShift: Int { 12 }
    static var segmentSize: Int { 1 << segmentShift }
    private static var offsetMask: Int { segmentSize - 1 }

    private var segments: [[Element]] = []
    private(set) var count = 0

    init() {}

    /// Elements the segments have room for (MEMORY STATS's table overhead).
    var capacity: Int { segments.reduce(0) { $0 + $1.capacity } }

    var indices: Range<Int> { 0..<count }

    /// (The two arrays' own bounds checks catch any index outside `0..<count`: a negative one
    /// shifts to a negative segment, and the last segment holds exactly its elements.)
    subscript(index: Int) -> Element {
        @inline(__always) get { segments[index >> Self.segmentShift][index & Self.offsetMask] }
        @inline(__always) _modify { yield &segments[index >> Self.segmentShift][index & Self.offsetMask] }
    }

    mutating func append(_ element: Element) {
        if count & Self.offsetMask == 0 && count > 0 {
            // Later segments are allocated whole, once: no regrowth, no spare half.
            var segment: [Element] = []
            segment.reserveCapacity(Self.segmentSize)
            segments.append(segment)
        } else if segments.isEmpty {
            segments.append([])
        }
        segments[segments.count - 1].append(element)
        count += 1
    }

    /// Room for `capacity` elements without reallocating the segments already needed for it.
    mutating func reserveCapacity(_ capacity: Int) {
        guard capacity > 0 else { return }
        if segments.isEmpty { segments.append([]) }
        segments[0].reserveCapacity(Swift.min(capacity, Self.segmentSize))
        segments.reserveCapacity((capacity + Self.offsetMask) >> Self.segmentShift)
    }

    /// Lends `body` a pointer to the element at `index`, valid only inside `body`; nothing is
    /// retained or copied (for prefetching and for reading a value in place).
    @inline(__always)
    func withUnsafeElementPointer<R>(at index: Int, _ body: (UnsafePointer<Element>) -> R) -> R {
        precondition(index >= 0 && index < count, "SegmentedArray index out of range")
        return segments.withUnsafeBufferPointer { segments in
            segments[index >> Self.segmentShift].withUnsafeBufferPointer { elements in
                body(elements.baseAddress! + (index & Self.offsetMask))
            }
        }
    }
}

extension SegmentedArray: Sequence {
    struct Iterator: IteratorProtocol {
        fileprivate let array: SegmentedArray
        fileprivate var index = 0

        mutating func next() -> Element? {
            guard index < array.count else { return nil }
            defer { index += 1 }
            return array[index]
        }
    }

    func makeIterator() -> Iterator { Iterator(array: self) }

    var underestimatedCount: Int { count }
}
