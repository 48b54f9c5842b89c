import ArgumentParser
import RumorCore

/// A duration option as people write it: `2s`, `500ms`, `1.5s`, `1m`.
public struct DurationArgument: ExpressibleByArgument, Sendable, Equatable {
    public var duration: Duration

    public init(_ duration: Duration) { self.duration = duration }

    public init?(argument: String) {
        guard let duration = DurationText.parse(argument) else { return nil }
        self.duration = duration
    }

    public var defaultValueDescription: String { DurationText.format(duration) }
}
