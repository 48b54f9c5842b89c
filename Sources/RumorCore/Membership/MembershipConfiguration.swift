/// HyParView and shuffle parameters; `docs/membership.md` gives the reason for each default.
public struct MembershipConfiguration: Sendable, Equatable {
    /// Open links kept: log10(10,000) + 1 in the paper, enough for a broadcast tree with spare links.
    public var activeViewSize = 5
    /// Backup addresses: six times the active view, as in the paper.
    public var passiveViewSize = 30
    /// Seeds a newcomer links to: it joins through one, then asks this many more minus one to be neighbours
    /// at high priority. With one link each, nodes started together through different seeds can form
    /// separate overlays that never meet (a joins through b while b joins through a); with two, the
    /// "joined through" graph is a random 2-out graph, connected with high probability.
    public var seedLinks = 2
    /// The first probes of each seed (in the first shuffle round, about a second after start, then with
    /// doubling waits up to `healingProbeMaximumDelay`) that link to the seed if it is not yet a neighbour. Two overlays that
    /// formed apart at start-up know nothing of each other, and only a new active link joins them; after
    /// these probes a seed only trades shuffle samples, so a settled overlay sees no extra links.
    public var seedBridgingProbes = 2
    /// How often, on average, a node swaps one active peer for a passive one (a degree-preserving rotation,
    /// see `rotateActiveView`), so the overlay keeps mixing after the joins that shaped it; zero turns it off.
    /// Each rotation changes three links, so at 30 s a 64-node overlay sees about six link changes a second
    /// and the broadcast tree repairs them with its usual GRAFTs.
    public var activeRotationInterval: Duration = .seconds(30)
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
    /// Low-priority NEIGHBOR requests per shuffle round by a node whose active view is neither empty nor full,
    /// besides those replacing a peer just lost (which may go through the whole passive view, as in the
    /// paper). An overlay settles with some nodes a place short whose passive peers are all full; asking every
    /// one of them again each round cost a TCP connect, two handshakes and a refusal apiece, for nothing.
    public var neighborAttemptsPerRound = 1
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
