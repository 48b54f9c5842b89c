/// The sampling service's parameters; `docs/sampling.md` gives the reason for each default.
public struct SamplingConfiguration: Sendable, Equatable {
    /// Steps a sampling walk takes, lazy steps included. Each move is one small frame, and the answer's link
    /// costs seven more with a cluster key, so 14 keeps a node's walks within 25 frames a period; docs/sampling.md
    /// gives the locality measured at 1,000 and 10,000 nodes.
    public var walkLength = 14
    /// Validated samples a node keeps.
    public var reservoirSize = 8
    /// Walks a shuffle round starts when the reservoir (with the walks in flight) is short of full: samples
    /// that expire unused are replaced, one a round. Drawn samples are replaced by walks of their own.
    public var walksPerRound = 1
    /// Walks started when an active peer is lost to failure: a failure may have taken samples with it, and
    /// new ones arrive within a walk's time instead of rounds later.
    public var walksAfterLoss = 4
    /// Walks in flight at most; a burst or a demand beyond it waits for the next round.
    public var maximumOutstandingWalks = 8
    /// A walk not answered by then is counted lost (it crossed a dead node, or its endpoint could not dial
    /// back) and frees its place.
    public var walkTimeout: Duration = .seconds(2)
    /// A sample validated longer ago than this is dropped: a dead node then leaves every reservoir within
    /// this time even if nothing shows it dead.
    public var sampleLifetime: Duration = .seconds(40)
    /// The most steps a received walk may still take: a longer TTL is cut to this, so a hostile walk
    /// cannot circle the overlay for long.
    public var maximumWalkLength = 64

    public init() {}
}
