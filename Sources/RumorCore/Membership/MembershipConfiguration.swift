/// HyParView and shuffle parameters; `docs/membership.md` gives the reason for each default.
public struct MembershipConfiguration: Sendable, Equatable {
    /// Open links kept: log10(10,000) + 1 in the paper, enough for a broadcast tree with spare links.
    public var activeViewSize = 5
    /// Backup addresses: six times the active view, as in the paper.
    public var passiveViewSize = 30
    /// Hops a FORWARDJOIN walks before the last node takes the joiner into its active view.
    public var activeRandomWalkLength = 6
    /// The hop at which a FORWARDJOIN also drops the joiner into the passive view.
    public var passiveRandomWalkLength = 3
    /// How often a node shuffles (with ±25% jitter so nodes drift apart).
    public var shuffleInterval: Duration = .seconds(5)
    /// Hops a SHUFFLE walks.
    public var shuffleWalkLength = 3
    /// Active and passive entries a SHUFFLE carries, besides the sender itself.
    public var shuffleActiveCount = 3
    public var shufflePassiveCount = 4
    /// A NEIGHBOR or JOIN with no reply by then counts as refused.
    public var requestTimeout: Duration = .seconds(2)
    /// An established link that is not in the active view (a shuffle reply, a probe) closes after this.
    public var temporaryLinkTimeout: Duration = .seconds(5)
    /// Peers lost to failure remembered for healing probes, at most.
    public var lostPeerMemory = 32
    /// The first wait before probing a lost peer, doubled after each failed probe.
    public var healingProbeInitialDelay: Duration = .seconds(1)
    public var healingProbeMaximumDelay: Duration = .seconds(60)
    /// A lost peer whose probes fail this many times in a row is forgotten.
    public var healingProbeAttempts = 12

    public init() {}
}
