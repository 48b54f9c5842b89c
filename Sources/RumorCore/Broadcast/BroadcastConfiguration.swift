/// Plumtree and anti-entropy parameters; `docs/broadcast.md` gives the reason for each default.
public struct BroadcastConfiguration: Sendable, Equatable {
    /// The largest payload `publish` accepts; it must fit a frame with its header.
    public var maximumPayloadSize = 256 << 10
    /// Wait after the first IHAVE for a missing payload before asking its announcer with GRAFT, at most: the
    /// wait is how late the tree's copy usually comes after its first IHAVE here, plus four deviations, within
    /// [`minimumGraftTimeout`, this].
    public var graftTimeout: Duration = .milliseconds(80)
    public var minimumGraftTimeout: Duration = .milliseconds(10)
    /// Wait before asking the next announcer, once a GRAFT went unanswered.
    public var secondGraftTimeout: Duration = .milliseconds(40)
    /// How long IHAVEs gather per peer before they go out as one frame.
    public var iHaveBatchInterval: Duration = .milliseconds(5)
    /// Duplicates in a row from one eager peer before its link is pruned. One is Plumtree's rule; under
    /// many concurrent senders a single duplicate often only means two messages crossed, and pruning on it
    /// keeps breaking the tree apart.
    public var pruneAfterDuplicates = 3
    /// A lazy link is swapped into the tree when it announces a message this many rounds sooner.
    public var optimizationThreshold: UInt32 = 7
    /// Payloads kept to answer GRAFTs and anti-entropy pulls: by count, bytes and age.
    public var payloadCacheCount = 20_000
    public var payloadCacheBytes = 64 << 20
    public var payloadRetention: Duration = .seconds(120)
    /// Message ids remembered for exactly-once delivery; they outlive the payloads.
    public var seenCount = 200_000
    public var seenBytes = 32 << 20
    public var seenRetention: Duration = .seconds(300)
    /// How often a node sends its digest to a random active peer.
    public var antiEntropyInterval: Duration = .seconds(2)
    /// Digest entries (origin and epoch, with ranges) per frame at most.
    public var digestEntriesPerFrame = 512
    /// Announcements taken from one IHAVE; the rest are ignored (a peer flooding announcements of ids it
    /// made up costs its own message, not our memory).
    public var maximumAnnouncementsPerIHave = 4096
    /// Payloads announced but not yet received, tracked at most (each holds a GRAFT timer).
    public var maximumMissing = 10_000
    /// Announcers remembered per missing payload (GRAFT asks them in turn).
    public var maximumAnnouncersPerMissing = 8
    /// Payloads asked for by anti-entropy and not yet received, tracked at most.
    public var maximumPulled = 10_000

    public init() {}
}

/// A broadcast message handed to the application.
public struct Delivery: Hashable, Sendable {
    public var id: MessageID
    /// Hops from the origin (0 on the origin itself).
    public var round: UInt32
    public var payload: [UInt8]

    public init(id: MessageID, round: UInt32, payload: [UInt8]) {
        self.id = id
        self.round = round
        self.payload = payload
    }
}

/// Why `publish` refused a payload.
public enum PublishError: Error, Equatable, CustomStringConvertible {
    case payloadTooLarge(size: Int, limit: Int)
    case stopping

    public var description: String {
        switch self {
        case .payloadTooLarge(let size, let limit): "payload of \(size) bytes exceeds the limit of \(limit) bytes"
        case .stopping: "the node is shutting down"
        }
    }
}
