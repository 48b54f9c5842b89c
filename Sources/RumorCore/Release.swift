/// Which Rumor this is: the release (a semantic version, tagged in the repository) and the wire protocol
/// versions it speaks. `rumor --version`, `rumor-node --version` and `/status` all report these.
public enum RumorRelease {
    /// The release's semantic version; the repository's tag of the same name marks it.
    public static let version = "0.2.0"

    /// The wire protocol versions this node speaks, lowest to highest. Built from `WireFormat` alone, so
    /// that when nodes come to speak a range of versions only `WireFormat` changes (and this line with it).
    public static let wireVersions: ClosedRange<UInt8> = WireFormat.protocolVersion...WireFormat.protocolVersion

    /// `0.2.0 (wire protocol 2)`, or `0.3.0 (wire protocols 2-3)` once there is a range.
    public static var summary: String {
        let wire = wireVersions.count == 1
            ? "wire protocol \(wireVersions.lowerBound)"
            : "wire protocols \(wireVersions.lowerBound)-\(wireVersions.upperBound)"
        return "\(version) (\(wire))"
    }
}
