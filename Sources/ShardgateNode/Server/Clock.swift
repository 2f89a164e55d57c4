#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Wall and monotonic clocks without Foundation.
enum Clock {
    static func milliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
    static func microseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1000
    }
    /// Unix microseconds minus monotonic microseconds: added to a `monotonicMicroseconds()` reading,
    /// the wall time without a second clock read.
    static func wallClockOffset() -> Int64 {
        microseconds() - Int64(monotonicMicroseconds())
    }

    static func monotonicMicroseconds() -> Int {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return spec.tv_sec * 1_000_000 + spec.tv_nsec / 1000
    }
}

/// The time a command runs at: Unix milliseconds read once when it starts, which its expiry checks
/// compare with (Redis's cached command time). Derived from the monotonic reading that also times
/// the command (commandstats). Within a client's pipelined batch the reading that ends one command
/// starts the next, so a command there costs one clock read rather than two.
struct CommandClock {
    private(set) var commandTime: Int64 = 0
    /// The monotonic microseconds the running command started at (a script's start, for its
    /// time limit, without another clock read).
    private(set) var commandStarted = 0
    /// Wall clock minus monotonic clock, in microseconds; re-read by the cron (`refresh`) so wall
    /// clock steps reach `commandTime` within a tick.
    private var wallClockOffset = Clock.wallClockOffset()
    /// The reading that ended the batch's last command, while a batch runs (`beginBatch`).
    private var carried: Int?
    private var inBatch = false

    mutating func refresh() { wallClockOffset = Clock.wallClockOffset() }

    /// A command starts: sets `commandTime`, returns the monotonic microseconds to time it with.
    mutating func startCommand() -> Int {
        let started = carried ?? Clock.monotonicMicroseconds()
        commandTime = (wallClockOffset + Int64(started)) / 1000
        commandStarted = started
        return started
    }

    /// A command ends: the monotonic microseconds now, which the batch's next command starts at.
    mutating func endCommand() -> Int {
        let ended = Clock.monotonicMicroseconds()
        if inBatch { carried = ended }
        return ended
    }

    /// Commands run back to back from here until `endBatch` (a client handler's loop over its
    /// parsed requests); nothing else runs between them.
    mutating func beginBatch() {
        inBatch = true
        carried = nil
    }

    mutating func endBatch() {
        inBatch = false
        carried = nil
    }
}
