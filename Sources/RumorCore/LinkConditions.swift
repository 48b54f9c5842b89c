/// What a link adds on top of the real network, for test meshes and the simulator alike: a delay of
/// `latency ± jitter` (uniform) and a chance `loss` that a frame is dropped. `loss == 1` cuts the link
/// (a partition). Frames are never reordered: a frame is never delivered before the one sent ahead of it.
public struct LinkConditions: Hashable, Sendable, CustomStringConvertible {
    public var latency: Duration
    public var jitter: Duration
    public var loss: Double

    public init(latency: Duration = .zero, jitter: Duration = .zero, loss: Double = 0) {
        self.latency = latency
        self.jitter = jitter
        self.loss = loss
    }

    /// The real network unchanged.
    public static let unchanged = LinkConditions()
    /// Every frame dropped.
    public static let cut = LinkConditions(loss: 1)

    public var isUnchanged: Bool { self == .unchanged }

    /// One frame's extra delay, drawn from `latency ± jitter` and never negative.
    public func delay<G: RandomNumberGenerator>(using generator: inout G) -> Duration {
        guard jitter > .zero else { return latency }
        let spread = jitter.nanosecondsRounded
        let offset = Int64.random(in: -spread...spread, using: &generator)
        return .nanoseconds(max(0, latency.nanosecondsRounded + offset))
    }

    /// Whether one frame is lost.
    public func drops<G: RandomNumberGenerator>(using generator: inout G) -> Bool {
        loss > 0 && (loss >= 1 || Double.random(in: 0..<1, using: &generator) < loss)
    }

    public var description: String {
        if self == .cut { return "cut" }
        var parts: [String] = []
        if latency > .zero || jitter > .zero { parts.append("latency \(latency.millisecondsRounded)±\(jitter.millisecondsRounded) ms") }
        if loss > 0 { parts.append("loss \(loss)") }
        return parts.isEmpty ? "unchanged" : parts.joined(separator: ", ")
    }
}
