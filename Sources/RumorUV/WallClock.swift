import Glibc

/// The host's wall clock, for times that several processes on one host compare (delivery and member-event
/// records, benchmark marks) and for epochs. Protocol timing never reads it: the core gets the loop's
/// monotonic time.
public enum WallClock {
    /// Nanoseconds since the Unix epoch.
    public static func nanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}
