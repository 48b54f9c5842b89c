/// Peer sampling (docs/sampling.md, rules S1–S6): random walks over the active links, each corrected to the
/// maximum degree so that every node is equally likely to be an endpoint; the endpoint proves itself alive by
/// answering over a link of its own; answers wait in a small reservoir that applications draw from.
extension Node {
    var sampling: SamplingConfiguration { configuration.sampling }

    // MARK: Drawing

    /// Up to `count` distinct live peers, each the endpoint of a recent walk (S5), with the driver's effects:
    /// the walks that replace what was drawn. When the reservoir holds fewer than `count` samples from walks
    /// started since the last failure this node saw, active peers (live, but not a uniform pick) stand in
    /// before older samples, which may have died in that failure.
    public mutating func samplePeers(_ count: Int, at now: Timestamp) -> (samples: [PeerSample], effects: [NodeEffect]) {
        effects.removeAll(keepingCapacity: true)
        self.now = max(self.now, now)
        let wanted = max(0, count)
        var peers = samplingState.reservoir.take(wanted, walkStartedSince: samplingState.lastLossAt)
        if peers.count < wanted {
            let chosen = Set(peers.map(\.peer.id))
            let standIns = active.entries.map(\.peer).filter { !chosen.contains($0.id) }.shuffled(using: &random)
                .prefix(wanted - peers.count).map { PeerSample(peer: $0, validatedAt: nil) }
            counters.sampleStandIns += standIns.count
            peers += standIns
        }
        if peers.count < wanted {
            let chosen = Set(peers.map(\.peer.id))
            peers += samplingState.reservoir.take(wanted - peers.count, walkStartedSince: .zero, excluding: chosen)
        }
        counters.samplesDrawn += peers.count
        // Each sample asked for is replaced by a walk at once, so that the next draw finds its answer: a draw
        // that found no unseen sample would hand out one given before, and such repeats clump the draws.
        // What the in-flight limit holds back waits for the next round; no more than a reservoir's worth.
        samplingState.owedWalks = min(samplingState.owedWalks + wanted, sampling.reservoirSize)
        samplingState.owedWalks -= startSampleWalks(samplingState.owedWalks)
        armedTimers.follow(effects)
        if checksInvariants { checkInvariants(after: "samplePeers(\(count))") }
        return (peers, effects)
    }

    /// The bytes the sampling service's state takes (its reservoir at capacity, walks in flight, long ids).
    public var samplingFootprintBytes: Int { samplingState.footprintBytes }

    /// The samples held now, oldest first, without drawing them (the simulator reads what a cache holds).
    public var heldSamples: [PeerSample] {
        samplingState.reservoir.entries.map { PeerSample(peer: $0.peer, validatedAt: $0.validatedAt) }
    }

    /// Up to `count` distinct peers drawn uniformly from the active and passive views at this instant: the
    /// draw samples once were, kept as a diagnostic of view balance (a passive view is a repair backup, not
    /// a uniform sample; see docs/sampling.md).
    public mutating func viewDrawPeers(_ count: Int) -> [PeerDescriptor] {
        var pool = active.entries.map(\.peer)
        for entry in passive.entries where !active.contains(entry.peer.id) { pool.append(entry.peer) }
        pool.shuffle(using: &random)
        return Array(pool.prefix(max(0, count)))
    }

    // MARK: Walks

    /// One shuffle round's share of sampling (S4): forget what is too old, then start the walks draws still
    /// owe, or `walksPerRound` when the reservoir and the walks in flight fall short of a full reservoir (so
    /// that samples expiring unused are replaced, and a reservoir kept full by draws costs nothing more).
    mutating func samplingRound() {
        samplingState.reservoir.expire(olderThan: sampling.sampleLifetime, at: now)
        expireSampleWalks()
        let short = samplingState.reservoir.entries.count + samplingState.outstanding.count < samplingState.reservoir.capacity
        let walks = samplingState.owedWalks > 0 ? samplingState.owedWalks : (short ? sampling.walksPerRound : 0)
        samplingState.owedWalks -= min(samplingState.owedWalks, startSampleWalks(walks))
    }

    /// Starts up to `count` walks from this node, within the in-flight limit; returns how many.
    @discardableResult
    mutating func startSampleWalks(_ count: Int) -> Int {
        guard count > 0, !stopping else { return 0 }
        expireSampleWalks()
        let starting = samplingState.walksToStart(wanted: count, limit: sampling.maximumOutstandingWalks)
        for _ in 0..<starting {
            let nonce = random.next()
            samplingState.started(nonce, at: now)
            counters.sampleWalksStarted += 1
            continueWalk(SampleWalk(origin: identity, nonce: nonce, ttl: UInt8(clamping: sampling.walkLength)))
        }
        return starting
    }

    private mutating func expireSampleWalks() {
        counters.sampleWalksLost += samplingState.expireWalks(olderThan: sampling.walkTimeout, at: now)
    }

    mutating func receivedSampleWalk(_ walk: SampleWalk, from peer: PeerDescriptor) {
        counters.sampleWalksForwarded += 1
        var walk = walk
        walk.ttl = min(walk.ttl, UInt8(clamping: sampling.maximumWalkLength))
        continueWalk(walk)
    }

    /// Takes the walk's steps here (S1): each step moves to a uniformly chosen active peer with probability
    /// degree / maximum degree, and otherwise stays, so that every node is the endpoint equally often however
    /// many links it has. Steps that stay cost nothing; the first that moves sends the walk on.
    private mutating func continueWalk(_ walk: SampleWalk) {
        let next = walkCapablePeers()
        let maximumDegree = max(membership.activeViewSize, next.count)
        var ttl = walk.ttl
        while ttl > 0 {
            ttl -= 1
            if Int.random(in: 0..<maximumDegree, using: &random) < next.count {
                let peer = next[Int.random(in: 0..<next.count, using: &random)]
                send(.sampleWalk(SampleWalk(origin: walk.origin, nonce: walk.nonce, ttl: ttl)), to: peer.id)
                return
            }
        }
        walkEnded(walk)
    }

    /// Active peers whose links speak sampling walks. A peer of an older version is left out as if the link
    /// were not there: the walk stays uniform over the nodes that speak it.
    private func walkCapablePeers() -> [PeerDescriptor] {
        active.entries.map(\.peer).filter { speaksSampling(linkByPeer[$0.id]) }
    }

    /// Whether `link` is established at a version with the sampling messages.
    private func speaksSampling(_ link: LinkID?) -> Bool {
        link.flatMap { links[$0]?.wireVersion }.map { $0 >= MessageType.sampleWalk.introducedIn } ?? false
    }

    /// The walk ends here: answer its origin over a link (S2). A walk that came home is dropped: a node is
    /// never its own sample.
    private mutating func walkEnded(_ walk: SampleWalk) {
        if walk.origin.id == identity.id || walk.origin.address == identity.address {
            if samplingState.answered(walk.nonce) != nil { counters.sampleWalksEndedHome += 1 }
            return
        }
        counters.sampleWalksAnswered += 1
        if establishedLink(to: walk.origin.address) == nil { counters.sampleReplyLinksOpened += 1 }
        dial(walk.origin.address, .sampleReply(walk.nonce))
    }

    /// Sends the answer over an established link to the walk's origin, if it speaks sampling.
    mutating func sendSampleReply(_ nonce: UInt64, to peer: PeerDescriptor) {
        guard let link = linkByPeer[peer.id], speaksSampling(link) else { return }
        send(.sampleReply(SampleReply(nonce: nonce)), on: link)
    }

    /// A walk's endpoint answers (S3): it is alive, and it is this walk's sample.
    mutating func receivedSampleReply(_ reply: SampleReply, from peer: PeerDescriptor) {
        if let walk = samplingState.answered(reply.nonce) {
            counters.samplesValidated += 1
            samplingState.reservoir.insert(peer, at: now, walk: walk)
        } else {
            counters.sampleRepliesIgnored += 1
        }
        closeIfTemporary(peer.id)
    }

    // MARK: Evidence of death

    /// A peer shown dead (S6), by id or by the address that failed, leaves the reservoir at once.
    mutating func forgetSample(_ id: NodeID? = nil, at address: PeerAddress? = nil) {
        if samplingState.reservoir.remove(id: id, address: address) { counters.samplesEvicted += 1 }
    }

    /// An active peer failed (S6): samples from walks started before now may have failed with it (an answer
    /// sent just before its endpoint died can arrive after this), so they are served last, and a burst of
    /// walks brings fresh ones.
    mutating func samplingSawFailure(of peer: PeerDescriptor) {
        forgetSample(peer.id)
        samplingState.lastLossAt = now
        startSampleWalks(sampling.walksAfterLoss)
    }
}
