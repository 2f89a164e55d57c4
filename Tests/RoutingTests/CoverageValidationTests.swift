import Routing
import Testing

@Suite("slot coverage validation")
struct SlotCoverageTests {
    static func r(_ lower: Int, _ upper: Int) -> SlotRange { SlotRange(lower: lower, upper: upper) }

    @Test(
        "reports gaps, overlaps and bad ranges",
        arguments: [
            ([[r(0, 5460)], [r(5461, 10922)], [r(10923, 16383)]], []),
            ([[r(0, 16383)]], []),
            ([[r(0, 100), r(101, 16383)]], []),
            (
                [[r(0, 5460)], [r(5471, 10922)], [r(10923, 16383)]],
                ["slots 5461-5470 are not assigned to any group"]
            ),
            ([[r(0, 16382)]], ["slot 16383 is not assigned to any group"]),
            (
                [[r(0, 5460)], [r(5461, 16383)], [r(100, 100)]],
                ["slot 100 is assigned to both group 0 and group 2"]
            ),
            (
                [[r(0, 200)], [r(150, 16383)]],
                ["slots 150-200 are assigned to both group 0 and group 1"]
            ),
            ([[r(0, 16383), r(10, 12)]], ["slots 10-12 are assigned to group 0 more than once"]),
            (
                [[r(0, 16383)], [r(16000, 16400)]],
                [
                    "group 1 has slot range 16000-16400 outside the valid slots 0-16383",
                    "slots 16000-16383 are assigned to both group 0 and group 1",
                ]
            ),
            (
                [[r(10, 5), r(0, 16383)]],
                ["group 0 has an inverted slot range 10-5"]
            ),
            ([], ["slots 0-16383 are not assigned to any group"]),
            (
                [[r(-5, 10)], [r(11, 99)]],
                [
                    "group 0 has slot range -5-10 outside the valid slots 0-16383",
                    "slots 100-16383 are not assigned to any group",
                ]
            ),
            (
                [[r(0, 9), r(20, 16383)], [r(5, 14)]],
                [
                    "slots 5-9 are assigned to both group 0 and group 1",
                    "slots 15-19 are not assigned to any group",
                ]
            ),
        ] as [([[SlotRange]], [String])]
    )
    func problems(assignments: [[SlotRange]], expected: [String]) {
        #expect(slotCoverageProblems(assignments) == expected)
    }

    @Test("uses group names when given")
    func names() {
        let problems = slotCoverageProblems(
            [[Self.r(0, 5460)], [Self.r(5461, 16383)], [Self.r(7, 7)]],
            groupNames: ["alpha", "beta", "gamma"]
        )
        #expect(problems == ["slot 7 is assigned to both group \"alpha\" and group \"gamma\""])
    }
}

@Suite("range coverage validation")
struct RangeCoverageTests {
    static func k(_ text: String?) -> [UInt8]? { text.map { Array($0.utf8) } }
    static func r(_ from: String?, _ to: String?) -> KeyRange { KeyRange(from: k(from), to: k(to)) }

    @Test(
        "reports tiling problems",
        arguments: [
            ([r(nil, nil)], []),
            ([r(nil, "m"), r("m", nil)], []),
            ([r("m", nil), r("g", "m"), r(nil, "g")], []),  // any order
            ([], ["no key ranges are defined"]),
            (
                [r("a", "m"), r("m", nil)],
                ["no range starts at the beginning of the key space (exactly one needs an open `from`)"]
            ),
            (
                [r(nil, "m"), r("m", "z")],
                ["no range extends to the end of the key space (exactly one needs an open `to`)"]
            ),
            (
                [r(nil, "g"), r("h", nil)],
                ["keys from \"g\" up to \"h\" are not assigned to any group"]
            ),
            (
                [r(nil, "m"), r("g", nil)],
                ["keys from \"g\" up to \"m\" are assigned to both group 0 and group 1"]
            ),
            (
                [r(nil, "z"), r("c", "d"), r("z", nil)],
                ["keys from \"c\" up to \"d\" are assigned to both group 0 and group 1"]
            ),
            (
                [r(nil, "m"), r(nil, "n"), r("n", nil)],
                [
                    "group 0 and group 1 both start at the beginning of the key space (open `from`)"
                ]
            ),
            (
                [r(nil, nil), r("m", nil)],
                [
                    "group 0 and group 1 both extend to the end of the key space (open `to`)",
                    "keys from \"m\" onwards are assigned to both group 0 and group 1",
                ]
            ),
            (
                [r(nil, "m"), r("m", "m"), r("m", nil)],
                [
                    "group 1 has an empty key range: from \"m\" is not below to \"m\"",
                ]
            ),
        ] as [([KeyRange], [String])]
    )
    func problems(ranges: [KeyRange], expected: [String]) {
        #expect(rangeCoverageProblems(ranges) == expected)
    }

    @Test("binary bounds are shown escaped, and names are used when given")
    func binaryAndNames() {
        let ranges = [
            KeyRange(from: nil, to: [0x61, 0x80]),
            KeyRange(from: [0x61, 0xff, 0x22], to: nil),
        ]
        #expect(
            rangeCoverageProblems(ranges, groupNames: ["low", "high"])
                == ["keys from \"a\\x80\" up to \"a\\xff\\\"\" are not assigned to any group"]
        )
        let overlapping = [KeyRange(from: nil, to: [0xff]), KeyRange(from: [0x80], to: nil)]
        #expect(
            rangeCoverageProblems(overlapping, groupNames: ["low", "high"])
                == ["keys from \"\\x80\" up to \"\\xff\" are assigned to both group \"low\" and group \"high\""]
        )
    }
}
