import Commands
import NIOCore
import Testing

@testable import ShardgateNode

/// Pure parts of pub/sub, blocking and MONITOR: timeout parsing and MONITOR's argument quoting.
@Suite struct NodeEventsUnitTests {
    enum Outcome: Equatable, Sendable {
        case success(Int64)
        case failure(String)
    }

    private func deadline(_ text: String, now: Int64 = 1_000_000) -> Outcome {
        var text = text
        return text.withUTF8 { bytes in
            do throws(CommandError) {
                return .success(try BlockingCommands.deadline(UnsafeRawBufferPointer(bytes), now: now))
            } catch {
                return .failure(error.message)
            }
        }
    }

    @Test(arguments: [
        // Seconds as a long double, times 1000 rounded up (Redis's ceill), added to now.
        ("0", Outcome.success(0)),
        ("1", .success(1_001_000)),
        ("0.5", .success(1_000_500)),
        ("0.0001", .success(1_000_001)),
        ("1e-300", .success(1_000_001)),
        ("0x10", .success(1_016_000)),
        ("-0", .success(0)),
        ("-1", .failure("ERR timeout is negative")),
        ("-0.0001", .success(0)),
        ("inf", .failure("ERR timeout is negative")),
        ("-inf", .failure("ERR timeout is negative")),
        ("1e400", .failure("ERR timeout is negative")),
        ("nan", .failure("ERR timeout is not a float or out of range")),
        ("abc", .failure("ERR timeout is not a float or out of range")),
        (" 1", .failure("ERR timeout is not a float or out of range")),
        ("1 ", .failure("ERR timeout is not a float or out of range")),
        ("", .failure("ERR timeout is not a float or out of range")),
    ])
    func timeoutsParseAsRedisDoes(_ text: String, _ expected: Outcome) {
        #expect(deadline(text) == expected)
    }

    @Test func aDeadlineBeyondInt64BlocksForever() {
        #expect(deadline("9223372036854775", now: Int64.max - 10) == .success(Int64.max))
    }

    private func quoted(_ bytes: [UInt8]) -> String {
        var buffer = ByteBuffer()
        bytes.withUnsafeBytes { MonitorLine.quote($0, into: &buffer) }
        return String(buffer: buffer)
    }

    @Test func monitorQuotesLikeSdscatrepr() {
        #expect(quoted(Array("plain text".utf8)) == "\"plain text\"")
        #expect(quoted(Array("a\"b\\c".utf8)) == "\"a\\\"b\\\\c\"")
        #expect(quoted([10, 13, 9, 7, 8]) == "\"\\n\\r\\t\\a\\b\"")
        #expect(quoted([0, 1, 0x1f, 0x7f, 0x80, 0xff]) == "\"\\x00\\x01\\x1f\\x7f\\x80\\xff\"")
        #expect(quoted([0x20, 0x7e]) == "\" ~\"")
        #expect(quoted([]) == "\"\"")
    }
}
