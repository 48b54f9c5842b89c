/// A duration that varies, smoothed the way TCP smooths round trips (RFC 6298): the mean moves by 1/8 of each
/// difference, the deviation by 1/4. It tells how long is out of character: how regularly a link's peer is
/// heard, so that a peer that stops answering is noticed as soon as its silence is unusual for the link,
/// not after a fixed 3 s (rule L17); how long the tree's copy of a payload takes after its first IHAVE, so
/// that a cut in the tree is repaired as soon as the copy is unusually late (B6).
struct SmoothedDuration {
    var mean: Duration
    var deviation: Duration

    /// From a first measurement (or a guess): about `typical`, give or take half of it, as RFC 6298 starts.
    init(typical: Duration) {
        mean = typical
        deviation = typical / 2
    }

    mutating func record(_ gap: Duration) {
        let difference = gap - mean
        mean += difference / 8
        let magnitude = difference < .zero ? .zero - difference : difference
        deviation += (magnitude - deviation) / 4
    }

    /// Beyond this is out of character: the mean and four deviations, within [`minimum`, `maximum`]. A quiet
    /// link's gaps already hold its probe interval (it is PINGed once quiet that long).
    func threshold(minimum: Duration, maximum: Duration) -> Duration {
        min(maximum, max(minimum, mean + deviation * 4))
    }
}

/// Lifeguard's local health, for this node's own loop: a maintenance tick that fires late means this node
/// was not running (a loaded host, a pause), and the silence of its peers may be its own fault. Each late
/// tick widens every silence threshold by one more multiple, up to `maximum`; each `recovery` of ticks on
/// time narrows it by one again (rule L18).
struct LocalHealth {
    static let maximum = 4
    static let recovery: Duration = .seconds(2)

    /// 0: healthy; the silence thresholds are multiplied by 1 + this.
    private(set) var score = 0
    /// Since when the ticks have come on time, while the score is above 0.
    private var onTimeSince: Timestamp?

    /// Records one maintenance tick; true when it came late, so that it must not judge silence itself.
    mutating func tick(at now: Timestamp, lateness: Duration, tolerance: Duration) -> Bool {
        if lateness > tolerance {
            score = min(Self.maximum, score + 1)
            onTimeSince = nil
            return true
        }
        guard score > 0 else { return false }
        guard let since = onTimeSince else {
            onTimeSince = now
            return false
        }
        if now.since(since) >= Self.recovery {
            score -= 1
            onTimeSince = score > 0 ? now : nil
        }
        return false
    }

    var multiplier: Int { 1 + score }
}
