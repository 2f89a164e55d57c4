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
/// the command (commandstats).
///
/// Where commands run back to back, the reading that ends one starts the next, so each costs one
/// clock read rather than two: within a client's pipelined batch (the next command's parsing counts
/// in its time), and within a script (the script's Lua code since its previous command counts in
/// that command's time).
struct CommandClock {
    private(set) var commandTime: Int64 = 0
    /// The monotonic microseconds the running command started at (a script's start, for its
    /// time limit, without another clock read).
    private(set) var commandStarted = 0
    /// Wall clock minus monotonic clock, in microseconds; re-read by the cron (`refresh`) so wall
    /// clock steps reach `commandTime` within a tick.
    private var wallClockOffset = Clock.wallClockOffset()
    /// The reading that ended the last command, while commands run back to back.
    private var carried: Int?
    private var inBatch = false
    /// A script is running: its commands keep its `commandTime` and `commandStarted`.
    private var frozen = false

    mutating func refresh() { wallClockOffset = Clock.wallClockOffset() }

    /// A command starts: sets `commandTime` (unless frozen), returns the monotonic microseconds to
    /// time it with.
    mutating func startCommand() -> Int {
        let started = carried ?? Clock.monotonicMicroseconds()
        guard !frozen else { return started }
        commandTime = (wallClockOffset + Int64(started)) / 1000
        commandStarted = started
        return started
    }

    /// A command ends: the monotonic microseconds now, which the next command starts at when they
    /// run back to back.
    mutating func endCommand() -> Int {
        let ended = Clock.monotonicMicroseconds()
        if inBatch || frozen { carried = ended }
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

    /// The running command starts a script: the commands it calls see the time it started, and
    /// the first of them starts at that reading.
    mutating func freeze() {
        frozen = true
        carried = commandStarted
    }

    /// The script ended: the command that ran it ends on a reading of its own.
    mutating func thaw() {
        frozen = false
        carried = nil
    }
}
