/// A point in the node's time, in nanoseconds from an origin the driver chooses (the runtime's monotonic
/// clock, or the simulator's virtual time zero). The core never reads a clock: every event carries one.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var nanoseconds: UInt64

    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    public static let zero = Timestamp(nanoseconds: 0)

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    public static func + (lhs: Timestamp, rhs: Duration) -> Timestamp {
        Timestamp(nanoseconds: lhs.nanoseconds &+ UInt64(max(0, rhs.nanosecondsRounded)))
    }

    /// The time from `earlier` to `self`, zero if `earlier` is later.
    public func since(_ earlier: Timestamp) -> Duration {
        guard nanoseconds >= earlier.nanoseconds else { return .zero }
        return .nanoseconds(Int64(clamping: nanoseconds - earlier.nanoseconds))
    }

    public var description: String { "\(Double(nanoseconds) / 1e9)s" }
}

extension Duration {
    /// The whole duration in nanoseconds, saturating at Int64's range.
    public var nanosecondsRounded: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return scaled.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue
    }

    public var millisecondsRounded: Int64 { nanosecondsRounded / 1_000_000 }
}
