/// Which Rumor this is: the release (a semantic version, tagged in the repository) and the wire protocol
/// versions it speaks. `rumor --version`, `rumor-node --version` and `/status` all report these.
public enum RumorRelease {
    /// The release's semantic version; the repository's tag of the same name marks it.
    public static let version = "0.3.0"

    /// The wire protocol versions this build speaks, lowest to highest (a node may offer fewer).
    public static let wireVersions: ClosedRange<UInt8> = WireFormat.versions

    /// `0.3.0 (wire protocols 3-4)`, or `0.2.0 (wire protocol 2)` for a single version.
    public static var summary: String {
        let wire = wireVersions.count == 1
            ? "wire protocol \(wireVersions.lowerBound)"
            : "wire protocols \(wireVersions.lowerBound)-\(wireVersions.upperBound)"
        return "\(version) (\(wire))"
    }
}
