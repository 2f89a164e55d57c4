#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Number parsing with exactly Redis's acceptance rules (`string2ll`, `string2ld`, `strtod`).
enum RedisNumber {
    /// `string2ll`: optional `-`, digits, no leading zeros (except "0"), within Int64.
    static func parseInteger(_ bytes: UnsafeRawBufferPointer) -> Int? {
        let count = bytes.count
        guard count > 0, count <= 20 else { return nil }
        if count == 1 && bytes[0] == UInt8(ascii: "0") { return 0 }
        var index = 0
        let negative = bytes[0] == UInt8(ascii: "-")
        if negative {
            index = 1
            guard count > 1 else { return nil }
        }
        guard bytes[index] >= UInt8(ascii: "1") && bytes[index] <= UInt8(ascii: "9") else { return nil }
        var magnitude: UInt64 = 0
        while index < count {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit))
            guard !overflow1 && !overflow2 else { return nil }
            magnitude = sum
            index += 1
        }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? Int.min : -Int(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int(magnitude)
    }

    /// `getDoubleFromObject`: strtod over the whole argument, no leading space, not NaN.
    static func parseDouble(_ bytes: UnsafeRawBufferPointer) -> Double? {
        guard bytes.count > 0, bytes.count < 256 else { return nil }
        if isspace(Int32(bytes[0])) != 0 { return nil }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: bytes.count + 1) { buffer -> Double? in
            for i in 0..<bytes.count { buffer[i] = CChar(bitPattern: bytes[i]) }
            buffer[bytes.count] = 0
            var end: UnsafeMutablePointer<CChar>?
            errno = 0
            let value = strtod(buffer.baseAddress!, &end)
            guard let end, end - buffer.baseAddress! == bytes.count else { return nil }
            if errno == ERANGE && (value == .infinity || value == -.infinity || value == 0) { return nil }
            if value.isNaN { return nil }
            return value
        }
    }

    #if arch(x86_64) || arch(i386)
    typealias LongDouble = Float80
    #else
    typealias LongDouble = Double
    #endif

    /// `string2ld` (INCRBYFLOAT, HINCRBYFLOAT): strtold over the whole argument, no spaces, finite.
    static func parseLongDouble(_ bytes: UnsafeRawBufferPointer) -> LongDouble? {
        guard bytes.count > 0, bytes.count < 5120 else { return nil }
        if isspace(Int32(bytes[0])) != 0 { return nil }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: bytes.count + 1) { buffer -> LongDouble? in
            for i in 0..<bytes.count { buffer[i] = CChar(bitPattern: bytes[i]) }
            buffer[bytes.count] = 0
            var end: UnsafeMutablePointer<CChar>?
            errno = 0
            #if arch(x86_64) || arch(i386)
            let value = strtold(buffer.baseAddress!, &end)
            #else
            let value = strtod(buffer.baseAddress!, &end)
            #endif
            guard let end, end - buffer.baseAddress! == bytes.count else { return nil }
            if errno == ERANGE || value.isNaN { return nil }
            return value
        }
    }

    /// Whether `bytes` are the canonical decimal form of an Int64 (Redis stores those as integers).
    static func isCanonicalInteger(_ bytes: UnsafeRawBufferPointer) -> Bool {
        parseInteger(bytes) != nil
    }
}
