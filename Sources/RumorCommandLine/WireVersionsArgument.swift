import ArgumentParser
import RumorCore

/// `--wire-versions 3-4` or `--wire-versions 3`: the protocol versions a node offers.
public struct WireVersionsArgument: ExpressibleByArgument, Sendable {
    public var versions: ClosedRange<UInt8>

    public init(_ versions: ClosedRange<UInt8>) { self.versions = versions }

    /// Nil for anything but one version or an ascending `LOW-HIGH` pair.
    public init?(argument: String) {
        guard let versions = WireFormat.parseVersions(argument) else { return nil }
        self.versions = versions
    }

    public var defaultValueDescription: String { "\(versions.lowerBound)-\(versions.upperBound)" }

    /// The versions, or why this build cannot offer them.
    public func validated() throws -> ClosedRange<UInt8> {
        guard WireFormat.speaks(versions) else {
            throw ValidationError("--wire-versions \(defaultValueDescription): this build speaks \(WireFormat.describe(WireFormat.versions))")
        }
        return versions
    }
}
