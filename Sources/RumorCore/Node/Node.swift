import Logging

/// A Rumor node as a pure state machine: the driver (the libuv runtime, the simulator or a test) feeds it
/// events with the current time and carries out the effects it returns. It owns every protocol decision.
/// Where each part lives:
/// - here: events, links (opening, closing, one link per peer), keepalives and silence, leaving, status;
/// - `Node+Handshake`: the handshake, version negotiation, duplicate links; round-trip probes;
/// - `Node+Dialing`: outbound links and what to do once each is up;
/// - `Node+Membership`: HyParView's views, JOIN, FORWARDJOIN, NEIGHBOR, DISCONNECT, lost peers;
/// - `Node+Shuffle`: shuffles, passive-view probes and healing;
/// - `Node+Broadcast`, `Node+AntiEntropy`: Plumtree and digests; `Node+Sampling`: walks and validated samples;
/// - `Invariants/`: the checker run after every event when `checksInvariants` is on.
public struct Node {
    public let configuration: NodeConfiguration
    public var logger: Logger
    var random: SeededRandom
    var links = LinkTable<LinkState>()
    /// Established links by peer id: at most one per peer.
    var linkByPeer: [NodeID: LinkID] = [:]
    /// Links given up for a duplicate to the same peer, and since when. They stay open (and read) for a
    /// keepalive interval: what the peer sent on one before it learnt of the other (a DISCONNECT, a reply)
    /// still counts. Closed at once, they lost a DISCONNECT, and the two views disagreed until the link the
    /// peer thought temporary timed out.
    var supersededLinks: [LinkID: Timestamp] = [:]
    var counters = NodeStatus.Counters()
    var stopping = false
    var effects: [NodeEffect] = []
    var now = Timestamp.zero
    var started = false
    /// The timers this node has armed and not yet seen fire or cancelled, as it asked its driver.
    var armedTimers = ArmedTimers()

    /// Checks the local invariants after every event and publish (see `Invariant`): on in the simulator,
    /// the fuzzers and the tests, off in a deployed node.
    public var checksInvariants = false
    /// How many times the invariants were checked.
    public internal(set) var invariantChecks = 0
    /// The first violations found (at most `violationsKept`), each with the event after which it was seen.
    public internal(set) var invariantViolationsFound: [InvariantViolation] = []
    /// The views' revisions at the last check that found nothing broken (see `CheckedRevisions`).
    var lastCleanRevisions: CheckedRevisions?

    // Dialing: what to do with a peer once a link to its address is up.
    var dialIntents: [PeerAddress: [DialIntent]] = [:]
    var dialing: Set<PeerAddress> = []
    /// Literal addresses found to reach this node itself (besides its advertised one): never dialled again.
    var ownAddresses: Set<PeerAddress> = []

    // Membership.
    var active = ActiveView()
    var passive: PassiveView
    var outstanding: [NodeID: OutstandingRequest] = [:]
    var recentlyRefused: Set<PeerAddress> = []
    var lastShuffleSent: [NodeID] = []
    var lost: LostPeerMemory
    var joinQueue: [PeerAddress] = []
    var seedRetryDelay: Duration
    var maintenanceArmed = false
    /// When the armed maintenance tick is due, to tell how late it fires (L18).
    var maintenanceDueAt: Timestamp?
    var localHealth = LocalHealth()
    /// The last late maintenance tick: silence before it was this node's own (L18).
    var resumedAt: Timestamp?
    /// Low-priority NEIGHBOR requests left until the next shuffle round or the next lost peer.
    var neighborAttempts: Int

    // Broadcast.
    var plumtree: PlumtreeState

    // Sampling.
    var samplingState: SamplingState

    // Directory.
    var directory: DirectoryState

    struct LinkState {
        enum Phase {
            case awaitingHandshake
            /// The peer's handshake came; its VERSIONS frame, which follows it, settles the link's version.
            case awaitingVersions(Handshake)
            case established(peer: PeerDescriptor, epoch: Epoch)
        }

        var direction: LinkDirection
        var phase: Phase
        var openedAt: Timestamp
        var establishedAt: Timestamp = .zero
        var lastHeard: Timestamp
        var lastSent: Timestamp
        /// The version both ends speak best, once established.
        var wireVersion: UInt8 = 0
        var probe = RoundTripState()
        /// How regularly the peer is heard, once established (L17).
        var gaps: SmoothedDuration?
        /// Whether one end has said on this link, since the peer last became active here, that it is not in
        /// the other's active view (a DISCONNECT either way, a refused NEIGHBOR): a close on purpose then
        /// needs no DISCONNECT of its own first (`closeSayingDisconnect`).
        var departureSaid = false

        var peer: PeerDescriptor? {
            if case .established(let peer, _) = phase { return peer }
            return nil
        }
    }

    public init(configuration: NodeConfiguration, randomSeed: UInt64, logger: Logger = Logger(label: "rumor.node")) {
        self.configuration = configuration
        self.random = SeededRandom(seed: randomSeed)
        self.logger = logger
        self.logger[metadataKey: "node"] = "\(configuration.identity.id)"
        self.seedRetryDelay = configuration.seedRetryInitialDelay
        self.neighborAttempts = configuration.membership.neighborAttemptsPerRound
        self.passive = PassiveView(capacity: configuration.membership.passiveViewSize)
        self.lost = LostPeerMemory(capacity: configuration.membership.lostPeerMemory)
        self.plumtree = PlumtreeState(configuration.broadcast)
        self.samplingState = SamplingState(configuration.sampling)
        self.directory = DirectoryState(limits: configuration.directory.limits,
                                        epochFloorRetention: configuration.directory.epochFloorRetention)
    }

    public var identity: PeerDescriptor { configuration.identity }
    var membership: MembershipConfiguration { configuration.membership }

    // MARK: Events

    /// Feeds one event in at time `now`; returns what the driver must do, in order.
    public mutating func handle(_ event: NodeEvent, at now: Timestamp) -> [NodeEffect] {
        effects.removeAll(keepingCapacity: true)
        self.now = max(self.now, now)
        switch event {
        case .start:
            start()
        case .linkOpened(let link, let direction):
            linkOpened(link, direction: direction)
        case .connectFailed(let address, let reason, let refused):
            logger.debug("connect failed", metadata: ["address": "\(address)", "reason": "\(reason)"])
            dialFailed(address)
            if refused { reportRefusedDial(to: address) }
        case .linkClosed(let link, let reason):
            linkClosed(link, reason: reason)
        case .received(let link, let message):
            received(message, on: link)
        case .malformedFrame(let link, let error):
            counters.malformedFrames += 1
            logger.warning("malformed frame, closing link", metadata: ["link": "\(link)", "error": "\(error)"])
            closeLink(link, reason: "malformed frame: \(error)", failed: true, evidence: nil)
        case .timerFired(let timer):
            armedTimers.remove(timer)
            timerFired(timer)
        case .stop:
            stop()
        }
        armedTimers.follow(effects)
        if checksInvariants { checkInvariants(after: event.kind) }
        return effects
    }

    private mutating func start() {
        started = true
        // Seeds are probed early and then ever more rarely; the first probes may link to the seed, which ties
        // together overlays that formed apart when many nodes started at once through different seeds.
        for seed in configuration.seeds where seed != identity.address {
            let firstProbe = min(membership.shuffleInterval, .seconds(1))
            lost.remember(seed, id: nil, isSeed: true, lostToFailure: false, firstProbe: now + firstProbe,
                          delay: firstProbe * 2, bridges: membership.seedBridgingProbes)
        }
        // The first round comes early, to fill a newcomer's passive view before anything can fail.
        effects.append(.armTimer(.shuffle, after: jittered(min(membership.shuffleInterval, .seconds(1)))))
        effects.append(.armTimer(.antiEntropy, after: jittered(configuration.broadcast.antiEntropyInterval)))
        startDirectory()
        startJoin()
    }

    // MARK: Links

    private mutating func linkOpened(_ link: LinkID, direction: LinkDirection) {
        guard !stopping else {
            effects.append(.close(link, reason: "node is shutting down"))
            return
        }
        links[link] = LinkState(direction: direction, phase: .awaitingHandshake, openedAt: now, lastHeard: now, lastSent: now)
        // Both sides speak first: the handshake costs one trip, not two.
        send(.handshake(Handshake(version: wireVersions.upperBound, sender: identity, epoch: configuration.epoch)), on: link)
        send(.versions(versionOffer), on: link)
        // The maintenance tick enforces the handshake deadline: no timer per link.
        armMaintenance()
    }

    private mutating func linkClosed(_ link: LinkID, reason: String) {
        guard links[link] != nil else { return }
        forgetLink(link, reason: reason, failed: true)
    }

    /// Closes `link` on our side and forgets it. A failed link's `evidence` says what it tells of the peer's
    /// death (nil: nothing, as for a peer that sent garbage).
    mutating func closeLink(_ link: LinkID, reason: String, failed: Bool, evidence: FailureEvidence? = .closed) {
        guard links[link] != nil else { return }
        forgetLink(link, reason: reason, failed: failed, evidence: evidence)
        effects.append(.close(link, reason: reason))
    }

    /// Drops every trace of `link`; membership hears of an established peer's link going away.
    private mutating func forgetLink(_ link: LinkID, reason: String, failed: Bool, evidence: FailureEvidence? = .closed) {
        supersededLinks[link] = nil
        guard let state = links.removeValue(forKey: link) else { return }
        switch state.phase {
        case .awaitingHandshake, .awaitingVersions:
            if case .outbound(let address) = state.direction { dialFailed(address) }
        case .established(let peer, _):
            guard linkByPeer[peer.id] == link else { return }
            linkByPeer[peer.id] = nil
            peerLinkLost(peer, reason: reason, failed: failed, evidence: evidence)
        }
    }

    mutating func closeRejecting(_ link: LinkID, _ reason: HandshakeRejection.Reason, detail: String) {
        counters.handshakesRejected += 1
        send(.handshakeRejected(HandshakeRejection(reason: reason, supportedVersion: wireVersions.upperBound, detail: detail)), on: link)
        closeLink(link, reason: detail, failed: false)
    }

    mutating func send(_ message: Message, on link: LinkID) {
        let sentAt = now
        let departure = message.saysNotActive
        links.update(link) {
            $0.lastSent = sentAt
            if departure { $0.departureSaid = true }
        }
        effects.append(.send(link, message))
    }

    /// Sends to a peer over its link; false when there is none.
    @discardableResult
    mutating func send(_ message: Message, to peer: NodeID) -> Bool {
        guard let link = linkByPeer[peer] else { return false }
        send(message, on: link)
        return true
    }

    func peer(on link: LinkID) -> PeerDescriptor? { links[link]?.peer }

    /// The established link to whoever listens at `address` (at most one peer does), or that was dialled at
    /// it: a seed's name is never a peer's advertised address, yet it names the peer the link reached.
    func establishedLink(to address: PeerAddress) -> (LinkID, PeerDescriptor)? {
        for link in linkByPeer.values {
            guard let state = links[link], let peer = state.peer else { continue }
            if peer.address == address || state.direction == .outbound(address) { return (link, peer) }
        }
        return nil
    }

    /// Whether an active peer listens at `address`, or was reached by dialling it (a seed given by name).
    func isActive(at address: PeerAddress) -> Bool {
        if active.contains(address: address) { return true }
        guard !address.isLiteral, let (_, peer) = establishedLink(to: address) else { return false }
        return active.contains(peer.id)
    }

    // MARK: Messages

    private mutating func received(_ message: Message, on link: LinkID) {
        var heard: LinkState?
        let heardAt = now
        links.update(link) {
            $0.gaps?.record(heardAt.since($0.lastHeard))
            $0.lastHeard = heardAt
            heard = $0
        }
        guard let state = heard else { return }
        switch (state.phase, message) {
        case (.awaitingHandshake, .handshake(let handshake)):
            receivedHandshake(handshake, on: link)
        case (.awaitingVersions(let handshake), .versions(let offer)):
            receivedVersions(offer, after: handshake, on: link, state: state)
        case (_, .handshakeRejected(let rejection)):
            counters.handshakesRejected += 1
            let level: Logger.Level = rejection.reason == .connectedToSelf || rejection.reason == .duplicateLink ? .debug : .error
            logger.log(level: level, "peer refused the link", metadata: [
                "link": "\(link)", "reason": "\(rejection.reason)", "peer_version": "\(rejection.supportedVersion)",
                "detail": "\(rejection.detail)",
            ])
            closeLink(link, reason: "refused by peer: \(rejection.detail)", failed: false)
        case (.awaitingHandshake, _):
            closeRejecting(link, .protocolViolation, detail: "\(message.type) before the handshake")
        case (.awaitingVersions, _):
            closeRejecting(link, .protocolViolation, detail: "\(message.type) where the VERSIONS frame was due")
        case (.established, .handshake), (.established, .versions):
            closeRejecting(link, .protocolViolation, detail: "a second \(message.type) on one link")
        case (.established(let peer, _), _):
            guard linkByPeer[peer.id] == link || supersededLinks[link] != nil && linkByPeer[peer.id] != nil else { return }
            guard message.type.introducedIn <= state.wireVersion else {
                closeRejecting(link, .protocolViolation, detail: "\(message.type) on a link of version \(state.wireVersion)")
                return
            }
            receivedFromPeer(message, from: peer, on: link)
        }
    }

    private mutating func receivedFromPeer(_ message: Message, from peer: PeerDescriptor, on link: LinkID) {
        switch message {
        case .handshake, .handshakeRejected, .versions, .keepAlive:
            break
        case .ping(let probe):
            let heardAt = now
            links.update(link) { $0.probe.peerPingedAt = heardAt }
            send(.pong(probe), on: link)
        case .pong(let probe):
            receivedPong(probe, on: link)
        case .join:
            receivedJoin(from: peer)
        case .forwardJoin(let forward):
            receivedForwardJoin(forward, from: peer)
        case .neighbor(let request):
            receivedNeighborRequest(request, from: peer)
        case .neighborReply(let reply):
            receivedNeighborReply(reply, from: peer)
        case .disconnect(let disconnect):
            receivedDisconnect(disconnect, from: peer)
        case .shuffle(let shuffle):
            receivedShuffle(shuffle, from: peer)
        case .shuffleReply(let reply):
            receivedShuffleReply(reply, from: peer)
        case .gossip(let gossip):
            receivedGossip(gossip, from: peer)
        case .iHave(let iHave):
            receivedIHave(iHave, from: peer)
        case .graft(let graft):
            receivedGraft(graft, from: peer)
        case .prune:
            receivedPrune(from: peer)
        case .digest(let digest):
            receivedDigest(digest, from: peer)
        case .pull(let pull):
            receivedPull(pull, from: peer)
        case .sampleWalk(let walk):
            receivedSampleWalk(walk, from: peer)
        case .sampleReply(let reply):
            receivedSampleReply(reply, from: peer)
        case .directorySummary(let summary):
            receivedDirectorySummary(summary, from: peer)
        case .directoryBuckets(let buckets):
            receivedDirectoryBuckets(buckets, from: peer)
        case .directoryEntries(let entries):
            receivedDirectoryEntries(entries, from: peer)
        }
    }

    // MARK: Timers

    /// Half the shorter of the keepalive and probe intervals: 125 ms by default, so a silent peer is noticed
    /// within about that much of its threshold.
    var maintenancePeriod: Duration { min(configuration.keepAliveInterval, configuration.probeInterval) / 2 }

    private mutating func timerFired(_ timer: NodeTimer) {
        switch timer {
        case .linkMaintenance:
            maintainLinks()
        case .seedRetry:
            counters.seedRetries += 1
            startJoin()
        case .shuffle:
            shuffleRound()
            effects.append(.armTimer(.shuffle, after: jittered(membership.shuffleInterval)))
        case .graftDue:
            graftsDue()
        case .iHaveBatch:
            sendIHaveBatches()
        case .suspicion:
            suspicionsDue()
        case .antiEntropy:
            antiEntropyRound()
            directoryRound()
            effects.append(.armTimer(.antiEntropy, after: jittered(configuration.broadcast.antiEntropyInterval)))
        }
    }

    /// A delay of about `base`, ±25%, so that periodic work on many nodes does not line up.
    mutating func jittered(_ base: Duration) -> Duration {
        base * Double.random(in: 0.75...1.25, using: &random)
    }

    // MARK: Leaving

    private mutating func stop() {
        announceLeaving()
        for peer in active.entries.map(\.peer) {
            send(.disconnect(Disconnect(alive: false)), to: peer.id)
        }
        stopping = true
        for link in links.keys.sorted() {
            effects.append(.close(link, reason: "node is shutting down"))
        }
        links.removeAll()
        linkByPeer.removeAll()
        supersededLinks.removeAll()
        for peer in active.ids { plumtree.remove(peer) }
        active = ActiveView()
        for timer in NodeTimer.allCases { effects.append(.cancelTimer(timer)) }
    }

    // MARK: Status

    public func status(at now: Timestamp) -> NodeStatus {
        let activePeers = active.entries.compactMap { entry -> NodeStatus.ActivePeer? in
            guard let link = linkByPeer[entry.peer.id], let state = links[link] else { return nil }
            return NodeStatus.ActivePeer(id: entry.peer.id, address: entry.peer.address, epoch: entry.epoch, link: link,
                                         since: entry.since, lastHeard: state.lastHeard, wireVersion: state.wireVersion,
                                         roundTripTime: state.probe.smoothed, silenceThreshold: silenceThreshold(of: state))
        }
        let passivePeers = passive.entries.map { NodeStatus.PassivePeer(id: $0.peer.id, address: $0.peer.address, age: $0.age) }
        let pending = links.values.filter { $0.peer == nil }.count
        let broadcast = NodeStatus.Broadcast(eager: plumtree.eager, lazy: plumtree.lazy, cachedPayloads: plumtree.cache.count,
                                             cachedBytes: plumtree.cache.bytes, seenIDs: plumtree.seenCount)
        var counters = counters
        counters.cacheEvictionsForSpace = plumtree.cache.evictionsForSpace
        counters.seenEvictionsForSpace = plumtree.seen.evictionsForSpace
        var status = NodeStatus(identity: identity, epoch: configuration.epoch, wireVersions: wireVersions,
                                clusterName: configuration.clusterName, active: activePeers, passive: passivePeers,
                                pendingLinks: pending, broadcast: broadcast, counters: counters)
        status.localHealthScore = localHealth.score
        for record in directory.records {
            switch record.status {
            case .alive where !directory.suspicions.isEmpty && directory.suspicions[record.id] != nil: status.directory.suspect += 1
            case .alive: status.directory.alive += 1
            case .failed: status.directory.failed += 1
            case .left: status.directory.left += 1
            case .removed: break
            }
        }
        status.directory.ownVersion = ownEntry?.version ?? 0
        return status
    }

    /// The ids in the active view, for tests and the simulator.
    public var activePeerIDs: [NodeID] { active.ids }

    /// How many peers the active view holds: the runtime's readiness and isolation checks read it often.
    public var activePeerCount: Int { active.count }
}
