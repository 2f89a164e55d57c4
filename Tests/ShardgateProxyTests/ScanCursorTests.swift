import Testing

@testable import ShardgateProxy

/// The proxy's SCAN cursor: a group's cursor and the group number share one unsigned integer.
@Suite struct ScanCursorTests {
    @Test func decodesGroupAndBackendCursor() throws {
        let start = try #require(ScanCursor(Array("0".utf8), groupCount: 3))
        #expect(start == ScanCursor(group: 0, backend: 0))
        #expect(ScanCursor(Array("17".utf8), groupCount: 3) == ScanCursor(group: 2, backend: 5))
        #expect(ScanCursor(Array("18446744073709551615".utf8), groupCount: 1) == ScanCursor(group: 0, backend: .max))
    }

    @Test(arguments: ["", "-1", "1x", "18446744073709551616", " 1", "+1"])
    func rejectsWhatIsNotAnUnsignedDecimal(text: String) {
        #expect(ScanCursor(Array(text.utf8), groupCount: 2) == nil)
    }

    @Test func walksTheGroupsInTurnAndEnds() {
        #expect(ScanCursor.next(afterGroup: 0, answered: 0, groupCount: 3) == 1)
        #expect(ScanCursor.next(afterGroup: 1, answered: 0, groupCount: 3) == 2)
        #expect(ScanCursor.next(afterGroup: 2, answered: 0, groupCount: 3) == 0)
        #expect(ScanCursor.next(afterGroup: 1, answered: 6, groupCount: 3) == 19)
        #expect(ScanCursor(Array("19".utf8), groupCount: 3) == ScanCursor(group: 1, backend: 6))
    }

    @Test func aCursorTooLargeToCombineIsReported() {
        #expect(ScanCursor.next(afterGroup: 1, answered: .max / 2, groupCount: 3) == nil)
        #expect(ScanCursor.next(afterGroup: 0, answered: .max, groupCount: 1) == .max)
    }
}
