import Logging

/// A Rumor node as a pure state machine: the driver (the libuv runtime, the simulator or a test) feeds it
/// events with the current time and carries out the effects it returns. It owns every protocol decision.
public struct Node {
    public let configuration: NodeConfiguration
    public var logger: Logger
    private var random: SeededRandom
    private var links: [LinkID: LinkState] = [:]
    /// Established links by peer id: at most one per peer.
    private var linkByPeer: [NodeID: LinkID] = [:]
    private var counters = NodeStatus.Counters()
    private var seedRetryDelay: Duration
    private var seedsInFlight: Set<PeerAddress> = []
    private var maintenanceArmed = false
    private var stopping = false
    private var effects: [NodeEffect] = []

    private struct LinkState {
        enum Phase {
            case awaitingHandshake
            case established(peer: PeerDescriptor, epoch: Epoch)
        }

        var direction: LinkDirection
        var phase: Phase
        var openedAt: Timestamp
        var establishedAt: Timestamp = .zero
        var lastHeard: Timestamp
        var lastSent: Timestamp
    }

    public init(configuration: NodeConfiguration, randomSeed: UInt64, logger: Logger = Logger(label: "rumor.node")) {
        self.configuration = configuration
        self.random = SeededRandom(seed: randomSeed)
        self.logger = logger
        self.logger[metadataKey: "node"] = "\(configuration.identity.id)"
        self.seedRetryDelay = configuration.seedRetryInitialDelay
    }

    public var identity: PeerDescriptor { configuration.identity }

    // MARK: Events

    /// Feeds one event in at time `now`; returns what the driver must do, in order.
    public mutating func handle(_ event: NodeEvent, at now: Timestamp) -> [NodeEffect] {
        effects.removeAll(keepingCapacity: true)
        switch event {
        case .start:
            contactSeeds()
        case .linkOpened(let link, let direction):
            linkOpened(link, direction: direction, at: now)
        case .connectFailed(let address, let reason):
            seedsInFlight.remove(address)
            logger.debug("connect failed", metadata: ["address": "\(address)", "reason": "\(reason)"])
            scheduleSeedRetryIfIsolated()
        case .linkClosed(let link, let reason):
            linkClosed(link, reason: reason)
        case .received(let link, let message):
            received(message, on: link, at: now)
        case .malformedFrame(let link, let error):
            counters.malformedFrames += 1
            logger.warning("malformed frame, closing link", metadata: ["link": "\(link)", "error": "\(error)"])
            forget(link)
            effects.append(.close(link, reason: "malformed frame: \(error)"))
            scheduleSeedRetryIfIsolated()
        case .timerFired(let timer):
            timerFired(timer, at: now)
        case .stop:
            stop()
        }
        return effects
    }

    // MARK: Links

    private mutating func linkOpened(_ link: LinkID, direction: LinkDirection, at now: Timestamp) {
        if case .outbound(let address) = direction { seedsInFlight.remove(address) }
        guard !stopping else {
            effects.append(.close(link, reason: "node is shutting down"))
            return
        }
        links[link] = LinkState(direction: direction, phase: .awaitingHandshake, openedAt: now, lastHeard: now, lastSent: now)
        // Both sides speak first: the handshake costs one trip, not two.
        send(.handshake(Handshake(sender: identity, epoch: configuration.epoch)), on: link, at: now)
        effects.append(.armTimer(.handshakeDeadline(link), after: configuration.handshakeTimeout))
    }

    private mutating func linkClosed(_ link: LinkID, reason: String) {
        guard let state = links[link] else { return }
        if case .established(let peer, _) = state.phase {
            logger.info("peer link closed", metadata: ["peer": "\(peer)", "reason": "\(reason)"])
        }
        forget(link)
        scheduleSeedRetryIfIsolated()
    }

    private mutating func forget(_ link: LinkID) {
        guard let state = links.removeValue(forKey: link) else { return }
        switch state.phase {
        case .awaitingHandshake:
            effects.append(.cancelTimer(.handshakeDeadline(link)))
        case .established(let peer, _):
            if linkByPeer[peer.id] == link { linkByPeer[peer.id] = nil }
        }
    }

    private mutating func close(_ link: LinkID, rejecting reason: HandshakeRejection.Reason, detail: String, at now: Timestamp) {
        counters.handshakesRejected += 1
        send(.handshakeRejected(HandshakeRejection(reason: reason, detail: detail)), on: link, at: now)
        forget(link)
        effects.append(.close(link, reason: detail))
    }

    private mutating func send(_ message: Message, on link: LinkID, at now: Timestamp) {
        links[link]?.lastSent = now
        effects.append(.send(link, message))
    }

    // MARK: Messages

    private mutating func received(_ message: Message, on link: LinkID, at now: Timestamp) {
        guard var state = links[link] else { return }
        state.lastHeard = now
        links[link] = state
        switch (state.phase, message) {
        case (.awaitingHandshake, .handshake(let handshake)):
            completeHandshake(handshake, on: link, state: state, at: now)
        case (_, .handshakeRejected(let rejection)):
            counters.handshakesRejected += 1
            logger.error("peer refused the link", metadata: [
                "link": "\(link)", "reason": "\(rejection.reason)", "peer_version": "\(rejection.supportedVersion)",
                "detail": "\(rejection.detail)",
            ])
            forget(link)
            effects.append(.close(link, reason: "refused by peer: \(rejection.detail)"))
        case (.awaitingHandshake, _):
            close(link, rejecting: .protocolViolation, detail: "\(message.type) before the handshake", at: now)
        case (.established, .handshake):
            close(link, rejecting: .protocolViolation, detail: "a second handshake on one link", at: now)
        case (.established, .keepAlive):
            break
        case (.established, _):
            // Membership and broadcast take these; until they do, an established link only keeps itself alive.
            logger.trace("message with no handler yet", metadata: ["type": "\(message.type)"])
        }
    }

    private mutating func completeHandshake(_ handshake: Handshake, on link: LinkID, state: LinkState, at now: Timestamp) {
        guard handshake.version == WireFormat.protocolVersion else {
            let detail = "peer \(handshake.sender) speaks protocol version \(handshake.version), this node speaks version \(WireFormat.protocolVersion)"
            logger.error("protocol version mismatch", metadata: ["link": "\(link)", "detail": "\(detail)"])
            close(link, rejecting: .unsupportedVersion, detail: detail, at: now)
            return
        }
        let peer = handshake.sender
        guard peer.id != identity.id else {
            // A seed list that names this node itself: harmless, and worth remembering so we stop dialling it.
            close(link, rejecting: .connectedToSelf, detail: "connected to itself at \(peer.address)", at: now)
            return
        }
        if let existing = linkByPeer[peer.id], let existingState = links[existing],
           case .established(_, let existingEpoch) = existingState.phase {
            if handshake.epoch > existingEpoch {
                // The peer restarted: its old link is from a previous life.
                forget(existing)
                effects.append(.close(existing, reason: "\(peer.id) restarted with epoch \(handshake.epoch)"))
            } else if handshake.epoch < existingEpoch {
                close(link, rejecting: .duplicateLink, detail: "stale epoch \(handshake.epoch) for \(peer.id)", at: now)
                return
            } else if keepsNewLink(state.direction, peer: peer.id) {
                forget(existing)
                effects.append(.close(existing, reason: "duplicate link to \(peer.id)"))
            } else {
                close(link, rejecting: .duplicateLink, detail: "already linked to \(identity.id)", at: now)
                return
            }
        }
        var established = state
        established.phase = .established(peer: peer, epoch: handshake.epoch)
        established.establishedAt = now
        links[link] = established
        linkByPeer[peer.id] = link
        counters.handshakesCompleted += 1
        seedRetryDelay = configuration.seedRetryInitialDelay
        effects.append(.cancelTimer(.handshakeDeadline(link)))
        logger.info("peer link up", metadata: ["peer": "\(peer)", "epoch": "\(handshake.epoch)"])
        if !maintenanceArmed {
            maintenanceArmed = true
            effects.append(.armTimer(.linkMaintenance, after: maintenancePeriod))
        }
    }

    /// When two nodes dial each other at once, both must keep the same link: the one opened by the node with
    /// the smaller id.
    private func keepsNewLink(_ direction: LinkDirection, peer: NodeID) -> Bool {
        switch direction {
        case .outbound: identity.id < peer
        case .inbound: peer < identity.id
        }
    }

    // MARK: Timers

    private var maintenancePeriod: Duration { configuration.keepAliveInterval / 2 }

    private mutating func timerFired(_ timer: NodeTimer, at now: Timestamp) {
        switch timer {
        case .handshakeDeadline(let link):
            guard let state = links[link], case .awaitingHandshake = state.phase else { return }
            logger.warning("handshake timed out", metadata: ["link": "\(link)"])
            forget(link)
            effects.append(.close(link, reason: "no handshake within \(configuration.handshakeTimeout)"))
        case .linkMaintenance:
            maintainLinks(at: now)
        case .seedRetry:
            counters.seedRetries += 1
            contactSeeds()
        }
    }

    private mutating func maintainLinks(at now: Timestamp) {
        for (link, state) in links.sorted(by: { $0.key < $1.key }) {
            guard case .established(let peer, _) = state.phase else { continue }
            if now.since(state.lastHeard) > configuration.silenceTimeout {
                counters.silentLinksClosed += 1
                logger.warning("peer silent, closing link", metadata: ["peer": "\(peer)"])
                forget(link)
                effects.append(.close(link, reason: "silent for more than \(configuration.silenceTimeout)"))
            } else if now.since(state.lastSent) >= configuration.keepAliveInterval {
                send(.keepAlive, on: link, at: now)
            }
        }
        if linkByPeer.isEmpty {
            maintenanceArmed = false
            scheduleSeedRetryIfIsolated()
        } else {
            effects.append(.armTimer(.linkMaintenance, after: maintenancePeriod))
        }
    }

    // MARK: Seeds

    private mutating func contactSeeds() {
        guard !stopping else { return }
        let connected = Set(links.values.compactMap { state -> PeerAddress? in
            if case .outbound(let address) = state.direction { return address }
            if case .established(let peer, _) = state.phase { return peer.address }
            return nil
        })
        var order = configuration.seeds.filter { $0 != identity.address && !connected.contains($0) && !seedsInFlight.contains($0) }
        order.shuffle(using: &random)
        for seed in order {
            seedsInFlight.insert(seed)
            effects.append(.connect(seed))
        }
        scheduleSeedRetryIfIsolated()
    }

    /// While no peer is linked, the seeds are tried again after a delay that doubles up to a ceiling, with
    /// jitter so that a restarted cluster does not dial in lockstep.
    private mutating func scheduleSeedRetryIfIsolated() {
        guard !stopping, linkByPeer.isEmpty, !configuration.seeds.isEmpty else { return }
        let jitter = Double.random(in: 0.5...1.0, using: &random)
        effects.append(.armTimer(.seedRetry, after: seedRetryDelay * jitter))
        seedRetryDelay = min(seedRetryDelay * 2, configuration.seedRetryMaximumDelay)
    }

    // MARK: Leaving

    private mutating func stop() {
        stopping = true
        for link in links.keys.sorted() {
            if case .established = links[link]?.phase {
                effects.append(.send(link, .disconnect(Disconnect(alive: false))))
            }
            effects.append(.close(link, reason: "node is shutting down"))
        }
        links.removeAll()
        linkByPeer.removeAll()
        effects.append(.cancelTimer(.linkMaintenance))
        effects.append(.cancelTimer(.seedRetry))
    }

    // MARK: Status

    public func status(at now: Timestamp) -> NodeStatus {
        let active = linkByPeer.values.sorted().compactMap { link -> NodeStatus.ActivePeer? in
            guard let state = links[link], case .established(let peer, let epoch) = state.phase else { return nil }
            return NodeStatus.ActivePeer(id: peer.id, address: peer.address, epoch: epoch, link: link,
                                         since: state.establishedAt, lastHeard: state.lastHeard)
        }
        let pending = links.values.filter { if case .awaitingHandshake = $0.phase { true } else { false } }.count
        return NodeStatus(identity: identity, epoch: configuration.epoch, active: active, passive: [],
                          pendingLinks: pending, counters: counters)
    }
}
