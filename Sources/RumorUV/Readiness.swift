import RumorCore

/// Whether a node is ready to serve, as `GET /readyz` answers it: ready once it has an active peer, or
/// when it has nowhere to join (no seeds, or seeds that have led only to itself for a grace period: the
/// first pod of a new cluster, whose seed name lists only itself). Never while leaving.
public enum Readiness: Sendable, Equatable {
    case ready(reason: String)
    case notReady(reason: String)

    /// How long seeds must have led only to this node before it counts as the first of its cluster.
    public static let firstNodeGrace: Duration = .seconds(5)

    public static func evaluate(activePeers: Int, seeds: SeedReports, leaving: Bool, now: Timestamp) -> Readiness {
        if leaving { return .notReady(reason: "leaving the overlay") }
        if activePeers > 0 { return .ready(reason: "\(activePeers) active peer\(activePeers == 1 ? "" : "s")") }
        if seeds.isEmpty { return .ready(reason: "no seeds: the first node, waiting for others to join it") }
        if let since = seeds.allOnlySelfSince {
            let waited = now.since(since)
            if waited >= firstNodeGrace {
                return .ready(reason: "every seed has led only to this node for \(waited.millisecondsRounded / 1000) s: the first node of its cluster")
            }
            return .notReady(reason: "every seed leads only to this node; ready as the first node after \(firstNodeGrace) of that")
        }
        return .notReady(reason: "no active peer yet; seeds: \(seeds.story.joined(separator: " | "))")
    }

    public var isReady: Bool { if case .ready = self { true } else { false } }

    public var reason: String {
        switch self {
        case .ready(let reason), .notReady(let reason): reason
        }
    }
}

/// Tells when a node with seeds has been without an active peer long enough to say so loudly, and again
/// only when the story of what it tried changes; and when it is no longer alone.
public struct IsolationWatch: Sendable {
    public enum Report: Sendable, Equatable {
        /// Alone for `duration`; one line a seed of what was tried and how it failed.
        case isolated(for: Duration, story: [String])
        case rejoined(after: Duration)
    }

    /// How long without an active peer before the warning.
    public static let threshold: Duration = .seconds(10)

    private var aloneSince: Timestamp?
    private var storyTold: [String]?

    public init() {}

    public mutating func observe(activePeers: Int, seeds: SeedReports, now: Timestamp) -> Report? {
        guard !seeds.isEmpty else { return nil }
        guard activePeers == 0 else {
            defer { aloneSince = nil; storyTold = nil }
            if let since = aloneSince, storyTold != nil { return .rejoined(after: now.since(since)) }
            return nil
        }
        let since = aloneSince ?? now
        aloneSince = since
        let alone = now.since(since)
        guard alone >= Self.threshold else { return nil }
        let story = seeds.story
        guard story != storyTold else { return nil }
        storyTold = story
        return .isolated(for: alone, story: story)
    }
}
