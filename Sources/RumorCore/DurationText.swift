/// Durations as people write them in topology files, checks and options (`--leave-timeout 2s`): `250ms`, `5s`, `1.5s`, `2m`, `1h`.
public enum DurationText {
    public static func parse(_ text: String) -> Duration? {
        let trimmed = text.trimmingWhitespace()
        let units: [(suffix: String, nanoseconds: Double)] = [
            ("ms", 1e6), ("us", 1e3), ("ns", 1), ("s", 1e9), ("m", 60e9), ("h", 3600e9),
        ]
        for unit in units where trimmed.hasSuffix(unit.suffix) {
            let number = trimmed.dropLast(unit.suffix.count).trimmingWhitespace()
            // At most about 292 years: anything longer is a typo, and must not overflow.
            guard let value = Double(String(number)), value.isFinite, value >= 0,
                  let nanoseconds = Int64(exactly: (value * unit.nanoseconds).rounded()) else { return nil }
            return .nanoseconds(nanoseconds)
        }
        return nil
    }

    /// The shortest way back to text: `250ms`, `5s`, `1.5s`.
    public static func format(_ duration: Duration) -> String {
        let nanoseconds = duration.nanosecondsRounded
        if nanoseconds % 1_000_000_000 == 0 { return "\(nanoseconds / 1_000_000_000)s" }
        if nanoseconds % 1_000_000 == 0 { return "\(nanoseconds / 1_000_000)ms" }
        return "\(Double(nanoseconds) / 1e9)s"
    }
}

extension Duration {
    public var seconds: Double { Double(nanosecondsRounded) / 1e9 }
}
