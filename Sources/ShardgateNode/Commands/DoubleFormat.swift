#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Redis 7.0's ways of printing doubles, which differ by command.
enum DoubleFormat {
    /// `addReplyDouble`: `%.17g`, with inf/-inf spelled out.
    static func reply(_ value: Double) -> String {
        if value.isInfinite { return value > 0 ? "inf" : "-inf" }
        return printf("%.17g", value)
    }

    /// `d2string`, used where Redis stores a score as text (ZINCRBY replies, listpack scores):
    /// integers in ±2^52 print without a fraction, everything else `%.17g`.
    static func storage(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value > 0 ? "inf" : "-inf" }
        if value == 0 { return value.sign == .minus ? "-0" : "0" }
        if value > -4_503_599_627_370_495 && value < 4_503_599_627_370_496 && value == value.rounded(.towardZero) {
            return String(Int64(value))
        }
        return printf("%.17g", value)
    }

    /// INCRBYFLOAT's `%.17Lf` with trailing zeros (and a trailing point) removed, computed in
    /// long double as Redis does.
    static func incrByFloat(_ value: Float80) -> String {
        var text = printf("%.17Lf", value)
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        if text == "-0" { text = "0" }
        return text
    }

    private static func printf(_ format: String, _ value: any CVarArg) -> String {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 128) { buffer in
            let length = withVaList([value]) { vsnprintf(buffer.baseAddress, 128, format, $0) }
            return String(decoding: UnsafeRawBufferPointer(start: buffer.baseAddress, count: Int(length)), as: UTF8.self)
        }
    }
}
