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

    /// `vsnprintf` into a buffer as long as the text needs (a long double printed with `%.17Lf`
    /// takes up to ~4950 bytes); never reads past what was written.
    private static func printf(_ format: String, _ value: any CVarArg) -> String {
        var capacity = 128
        while true {
            let text = withUnsafeTemporaryAllocation(of: CChar.self, capacity: capacity) { buffer -> String? in
                let length = Int(withVaList([value]) { vsnprintf(buffer.baseAddress, capacity, format, $0) })
                guard length >= 0 else { return "" }
                guard length < capacity else {
                    capacity = length + 1
                    return nil
                }
                return String(decoding: UnsafeRawBufferPointer(start: buffer.baseAddress, count: length), as: UTF8.self)
            }
            if let text { return text }
        }
    }
}
