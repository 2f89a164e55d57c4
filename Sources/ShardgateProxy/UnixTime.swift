#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// The wall clock in Unix microseconds, without Foundation: MONITOR lines, SLOWLOG entries,
/// LATENCY samples and TIME read it.
enum UnixTime {
    static func microseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec / 1000)
    }
}
