/// What a node means to do with a peer once a link to its address is up.
enum DialIntent: Equatable {
    /// Ask a seed to take this node into the overlay.
    case join
    /// Ask the peer into the active view, to fill a free place.
    case neighbor(NeighborRequest.Priority)
    /// Take a joiner into the active view at the end of its FORWARDJOIN walk (a high-priority NEIGHBOR).
    case adoptJoiner
    /// Answer a shuffle whose origin is not linked to this node.
    case shuffleReply([ShuffleEntry])
    /// Prove a passive entry alive.
    case passiveCheck
    /// Probe a peer lost to failure (or a seed), to heal a partition.
    case healingProbe
    /// Take the peer into a full active view in place of `handoff` (a rotation: NEIGHBOR(high, handoff)).
    case rotate(handoff: PeerDescriptor)
    /// Answer the sampling walk `nonce` that ended here (rule S2).
    case sampleReply(UInt64)
}

/// A request sent to a peer and not answered yet.
struct OutstandingRequest {
    enum Kind: Equatable {
        case join
        case neighbor(NeighborRequest.Priority)
        case adoptJoiner
        /// A rotation: on acceptance, `handoff` leaves the active view.
        case rotation(handoff: PeerDescriptor)

        var priority: NeighborRequest.Priority? {
            switch self {
            case .join: nil
            case .neighbor(let priority): priority
            case .adoptJoiner, .rotation: .high
            }
        }

        var handoff: PeerDescriptor? {
            if case .rotation(let handoff) = self { return handoff }
            return nil
        }
    }

    var kind: Kind
    var sentAt: Timestamp
}

extension Node {
    /// Carries out `intent` with whoever listens at `address`: at once over an existing link, or after the
    /// link this opens (or one already opening) completes its handshake.
    mutating func dial(_ address: PeerAddress, _ intent: DialIntent) {
        guard address != identity.address, !ownAddresses.contains(address), !stopping else {
            intentFailed(intent, at: address)
            return
        }
        if let (_, peer) = establishedLink(to: address) {
            if run(intent, with: peer, dialledAt: address) { closeIfTemporary(peer.id) }
            return
        }
        dialIntents[address, default: []].append(intent)
        if dialing.insert(address).inserted {
            effects.append(.connect(address))
        }
    }

    /// Carries out everything that waited for a link to `address`, then closes the link if it was only for
    /// that: closing after the first intent sent the later ones' requests into a link already gone (a
    /// NEIGHBOR request waiting behind a shuffle reply was lost, and its place filled only after the request
    /// timed out).
    ///
    /// `addresses` are every address the peer was dialled at: the one this link was opened to and, when the
    /// peer advertises another (behind a NAT, or bound to 0.0.0.0), that one too. All their intents run
    /// before the close: closing after the first address's shuffle reply lost the second's NEIGHBOR request
    /// to a joiner, which then stayed outstanding with no link (found by the node fuzz target).
    mutating func runDialIntents(for addresses: [PeerAddress], with peer: PeerDescriptor) {
        var mayClose = true
        for address in addresses {
            dialing.remove(address)
            for intent in dialIntents.removeValue(forKey: address) ?? [] {
                mayClose = run(intent, with: peer, dialledAt: address) && mayClose
            }
        }
        if mayClose { closeIfTemporary(peer.id) }
    }

    /// The connect to `address` failed, or its link closed before the handshake.
    mutating func dialFailed(_ address: PeerAddress) {
        dialing.remove(address)
        forgetSample(at: address)
        for intent in dialIntents.removeValue(forKey: address) ?? [] {
            intentFailed(intent, at: address)
        }
    }

    /// Carries out `intent` over the link to `peer`, dialled at `address` (its own, or a seed's name); false
    /// when the link must stay open for an answer that does not make the peer active or outstanding (a
    /// healing probe's shuffle).
    private mutating func run(_ intent: DialIntent, with peer: PeerDescriptor, dialledAt address: PeerAddress) -> Bool {
        switch intent {
        case .join:
            outstanding[peer.id] = OutstandingRequest(kind: .join, sentAt: now)
            send(.join, to: peer.id)
        case .neighbor(let priority):
            guard !active.contains(peer.id) else { return true }
            outstanding[peer.id] = OutstandingRequest(kind: .neighbor(priority), sentAt: now)
            send(.neighbor(NeighborRequest(priority: priority)), to: peer.id)
        case .adoptJoiner:
            guard !active.contains(peer.id) else { return true }
            outstanding[peer.id] = OutstandingRequest(kind: .adoptJoiner, sentAt: now)
            send(.neighbor(NeighborRequest(priority: .high)), to: peer.id)
        case .rotate(let handoff):
            guard !active.contains(peer.id), active.contains(handoff.id) else { return true }
            outstanding[peer.id] = OutstandingRequest(kind: .rotation(handoff: handoff), sentAt: now)
            send(.neighbor(NeighborRequest(priority: .high, handoff: handoff)), to: peer.id)
        case .shuffleReply(let entries):
            send(.shuffleReply(ShuffleReply(entries: entries)), to: peer.id)
        case .sampleReply(let nonce):
            sendSampleReply(nonce, to: peer)
        case .passiveCheck:
            passive.resetAge(peer.id)
        case .healingProbe:
            // The peer answers the shuffle sample over this link: the reply, or the temporary-link timeout,
            // closes it.
            healingProbeAnswered(by: peer, dialledAt: address)
            return false
        }
        return true
    }

    private mutating func intentFailed(_ intent: DialIntent, at address: PeerAddress) {
        switch intent {
        case .join:
            tryNextSeed()
        case .neighbor:
            passive.remove(address: address)
            fillActiveView()
        case .adoptJoiner, .sampleReply:
            break
        case .shuffleReply, .passiveCheck, .rotate:
            passive.remove(address: address)
        case .healingProbe:
            healingProbeFailed(at: address)
        }
    }

    /// A linked peer that is neither in the active view nor part of a pending exchange.
    func isTemporary(_ peer: NodeID) -> Bool {
        !active.contains(peer) && outstanding[peer] == nil
    }

    /// Closes the link to `peer` once it has no further use. Its queued frames still go out first.
    mutating func closeIfTemporary(_ peer: NodeID) {
        guard isTemporary(peer), let link = linkByPeer[peer] else { return }
        // The peer may still answer us (a NEIGHBOR reply in flight) only if we asked; we did not.
        closeSayingDisconnect(link, reason: "exchange done")
    }

    /// Closes an established link on purpose while this node lives on. A DISCONNECT (alive) goes first: the
    /// peer may hold the link in its active view (it adopted this node over it, or accepted a NEIGHBOR request
    /// that crossed the close), and a bare close would look like this node's crash, reported with closed
    /// evidence (D4; two such reports mark a live node failed at once). Read before the close, it is a departure.
    mutating func closeSayingDisconnect(_ link: LinkID, reason: String, failed: Bool = false, evidence: FailureEvidence? = .closed) {
        if links[link]?.departureSaid == false { send(.disconnect(Disconnect(alive: true)), on: link) }
        closeLink(link, reason: reason, failed: failed, evidence: evidence)
    }
}

extension Message {
    /// Whether sending this tells the peer that it is not in the sender's active view.
    var saysNotActive: Bool {
        if case .disconnect = self { return true }
        if case .neighborReply(let reply) = self { return !reply.accepted }
        return false
    }
}
