import RedisText

#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import RDB

/// Number parsing with exactly Redis's acceptance rules (`string2ll`, `string2ld`, `strtod`).
enum RedisNumber {
    /// `string2ll`: optional `-`, digits, no leading zeros (except "0"), within Int64 (the same
    /// rule the RDB module applies to integer-encoded strings).
    static func parseInteger(_ bytes: UnsafeRawBufferPointer) -> Int? {
        RedisInteger.parse(bytes).map(Int.init)
    }

    /// `getDoubleFromObject`: strtod over the whole argument, no leading space, not NaN. Redis 7.0
    /// sets no length limit (a 309-digit DBL_MAX written out in full is a valid score); a longer
    /// number overflows and is refused as overflow.
    static func parseDouble(_ bytes: UnsafeRawBufferPointer) -> Double? {
        wholeNumber(bytes, strtod) { value in
            // Overflow to ±inf or underflow to 0 is an error; a literal "inf" is not.
            !(errno == ERANGE && (value.isInfinite || value == 0)) && !value.isNaN
        }
    }

    #if arch(x86_64) || arch(i386)
    typealias LongDouble = Float80
    private static func parseLong(_ text: UnsafePointer<CChar>, _ end: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> LongDouble {
        strtold(text, end)
    }
    #else
    typealias LongDouble = Double
    private static func parseLong(_ text: UnsafePointer<CChar>, _ end: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> LongDouble {
        strtod(text, end)
    }
    #endif

    /// `string2ld` (INCRBYFLOAT, HINCRBYFLOAT): strtold over the whole argument, no spaces, finite.
    static func parseLongDouble(_ bytes: UnsafeRawBufferPointer) -> LongDouble? {
        guard bytes.count < 5120 else { return nil }
        return wholeNumber(bytes, parseLong) { value in errno != ERANGE && !value.isNaN }
    }

    /// Runs a C `strto*` over all of `bytes` (copied into a NUL-terminated buffer): nil when the
    /// argument is empty, starts with a space, has bytes the parser did not take, or `accept` says no.
    private static func wholeNumber<T>(
        _ bytes: UnsafeRawBufferPointer,
        _ parse: (UnsafePointer<CChar>, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> T,
        accept: (T) -> Bool
    ) -> T? {
        guard bytes.count > 0, isspace(Int32(bytes[0])) == 0 else { return nil }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: bytes.count + 1) { buffer -> T? in
            for i in 0..<bytes.count { buffer[i] = CChar(bitPattern: bytes[i]) }
            buffer[bytes.count] = 0
            var end: UnsafeMutablePointer<CChar>?
            errno = 0
            let value = parse(buffer.baseAddress!, &end)
            guard let end, end - buffer.baseAddress! == bytes.count, accept(value) else { return nil }
            return value
        }
    }

    /// Whether `bytes` are the canonical decimal form of an Int64 (Redis stores those as integers).
    static func isCanonicalInteger(_ bytes: UnsafeRawBufferPointer) -> Bool {
        parseInteger(bytes) != nil
    }
}
