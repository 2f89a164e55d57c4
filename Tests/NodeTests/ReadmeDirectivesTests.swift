import Foundation
import Testing

@testable import ShardgateNode

/// README.md's list of the node's directives is the directive table itself.
@Suite struct ReadmeDirectivesTests {
    @Test func readmeListsEveryDirective() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        let begin = try #require(text.range(of: "<!-- BEGIN node-directives"), "README.md has no BEGIN node-directives marker")
        let afterBegin = try #require(text.range(of: "-->\n", range: begin.upperBound..<text.endIndex))
        let end = try #require(text.range(of: "<!-- END node-directives -->", range: afterBegin.upperBound..<text.endIndex))
        let documented = String(text[afterBegin.upperBound..<end.lowerBound])
        let rendered = NodeSettings.directivesMarkdown()
        let firstDifference = zip(documented.split(separator: "\n"), rendered.split(separator: "\n")).first { $0 != $1 }
        #expect(
            documented == rendered,
            """
            README.md's directive table differs from NodeSettings.parameters; paste \
            `swift run shardgate options --node` between its markers. First difference:
            README: \(firstDifference.map { String($0.0) } ?? "(line count differs)")
            table:  \(firstDifference.map { String($0.1) } ?? "")
            """)
    }
}
