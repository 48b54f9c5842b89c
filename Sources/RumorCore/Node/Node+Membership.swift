/// HyParView: joining, the active view and its repair.
extension Node {
    // MARK: Joining

    /// Asks the seeds, one at a time in random order, to take this node in; retried with backoff while the
    /// node has no active peer.
    mutating func startJoin() {
        guard !stopping, active.isEmpty, !joinInProgress else { return }
        joinQueue = configuration.seeds.filter { $0 != identity.address }.shuffled(using: &random)
        tryNextSeed()
    }

    /// A JOIN waits for its link or its answer.
    var joinInProgress: Bool {
        outstanding.values.contains { $0.kind == .join } || dialIntents.values.contains { $0.contains(.join) }
    }

    mutating func tryNextSeed() {
        guard !stopping, active.isEmpty else { return }
        guard !joinQueue.isEmpty else {
            scheduleSeedRetry()
            return
        }
        dial(joinQueue.removeFirst(), .join)
    }

    /// The seeds are tried again after a delay that doubles up to a ceiling, with jitter so that a restarted
    /// cluster does not dial in lockstep.
    private mutating func scheduleSeedRetry() {
        guard !configuration.seeds.filter({ $0 != identity.address }).isEmpty else { return }
        let jitter = Double.random(in: 0.5...1.0, using: &random)
        effects.append(.armTimer(.seedRetry, after: seedRetryDelay * jitter))
        seedRetryDelay = min(seedRetryDelay * 2, configuration.seedRetryMaximumDelay)
    }

    /// After a JOIN succeeds, asks other seeds to be neighbours too (`seedLinks`), so that a mesh started all
    /// at once cannot settle as several overlays, each joined through its own seeds.
    private mutating func linkToMoreSeeds(joinedThrough contact: PeerAddress) {
        let others = configuration.seeds.filter { $0 != identity.address && $0 != contact && !isActive(at: $0) }
        for seed in others.shuffled(using: &random).prefix(max(0, membership.seedLinks - 1)) {
            dial(seed, .neighbor(.high))
        }
    }

    /// A contact takes the joiner in at once and spreads the news with FORWARDJOIN walks.
    mutating func receivedJoin(from joiner: PeerDescriptor) {
        counters.joins += 1
        guard !active.contains(joiner.id) else {
            send(.neighborReply(NeighborReply(accepted: true)), to: joiner.id)
            return
        }
        addToActive(joiner)
        send(.neighborReply(NeighborReply(accepted: true)), to: joiner.id)
        // A newcomer knows nobody: hand it a sample of our views at once, so that a failure before its first
        // shuffle still leaves it backups to turn to.
        let sample = viewSample(includingSelf: false, activeCount: Int.max, passiveCount: membership.shufflePassiveCount * 2,
                                excluding: [joiner.id])
        if !sample.isEmpty { send(.shuffleReply(ShuffleReply(entries: sample)), to: joiner.id) }
        for peer in active.entries.map(\.peer) where peer.id != joiner.id {
            send(.forwardJoin(ForwardJoin(joiner: joiner, ttl: UInt8(clamping: membership.activeRandomWalkLength))), to: peer.id)
        }
    }

    mutating func receivedForwardJoin(_ forward: ForwardJoin, from sender: PeerDescriptor) {
        counters.forwardJoins += 1
        let joiner = forward.joiner
        guard joiner.id != identity.id, !active.contains(joiner.id) else { return }
        if forward.ttl == 0 || active.count <= 1 {
            dial(joiner.address, .adoptJoiner)
            return
        }
        if Int(forward.ttl) == membership.passiveRandomWalkLength {
            passive.insert(joiner, age: 0)
        }
        if let next = active.randomPeer(excluding: [sender.id, joiner.id], using: &random) {
            send(.forwardJoin(ForwardJoin(joiner: joiner, ttl: forward.ttl - 1)), to: next.id)
        } else {
            dial(joiner.address, .adoptJoiner)
        }
    }

    // MARK: Neighbours

    mutating func receivedNeighborRequest(_ request: NeighborRequest, from peer: PeerDescriptor) {
        let accept = active.contains(peer.id) || request.priority == .high || active.count < membership.activeViewSize
        if accept {
            addToActive(peer, handoff: request.handoff)
            outstanding[peer.id] = nil
        }
        send(.neighborReply(NeighborReply(accepted: accept)), to: peer.id)
        if !accept { closeIfTemporary(peer.id) }
    }

    mutating func receivedNeighborReply(_ reply: NeighborReply, from peer: PeerDescriptor) {
        guard let request = outstanding.removeValue(forKey: peer.id) else {
            // An answer we no longer wait for: keep the views symmetric by declining politely.
            if reply.accepted, !active.contains(peer.id) {
                send(.disconnect(Disconnect(alive: true)), to: peer.id)
                closeIfTemporary(peer.id)
            }
            return
        }
        if reply.accepted {
            if let handoff = request.kind.handoff, active.contains(handoff.id) {
                // The rotation's other half: the peer handed off leaves, so the view stays at its size.
                counters.rotations += 1
                removeFromActive(handoff.id)
                send(.disconnect(Disconnect(alive: true)), to: handoff.id)
                passive.insert(handoff, age: 0)
                closeIfTemporary(handoff.id)
                addToActive(peer)
                // If the peer could not be added after all (its link went), the place freed is filled as usual.
                fillActiveView()
                return
            }
            addToActive(peer)
            if case .neighbor = request.kind { counters.replacements += 1 }
            seedRetryDelay = configuration.seedRetryInitialDelay
            if request.kind == .join { linkToMoreSeeds(joinedThrough: peer.address) }
        } else {
            heardDeparture(of: peer.id)
            recentlyRefused.insert(peer.address)
            closeIfTemporary(peer.id)
            if request.kind == .join { tryNextSeed() } else { fillActiveView() }
        }
    }

    mutating func receivedDisconnect(_ disconnect: Disconnect, from peer: PeerDescriptor) {
        heardDeparture(of: peer.id)
        if outstanding.removeValue(forKey: peer.id)?.kind == .join { tryNextSeed() }
        guard removeFromActive(peer.id) else {
            closeIfTemporary(peer.id)
            return
        }
        // It made room for a newcomer: one request may fill the place now (see `allowReplacementAttempts`).
        neighborAttempts = max(neighborAttempts, 1)
        if disconnect.alive {
            passive.insert(peer, age: 0)
        } else {
            counters.departures += 1
            forgetSample(peer.id)
            passive.remove(peer.id)
        }
        logger.debug("peer left the active view", metadata: ["peer": "\(peer)", "alive": "\(disconnect.alive)"])
        closeIfTemporary(peer.id)
        // Evicted for a rotation: the peer named has just freed a place, so it is asked first.
        if let handoff = disconnect.handoff, handoff.id != identity.id, !active.contains(handoff.id), outstanding[handoff.id] == nil {
            dial(handoff.address, .neighbor(.low))
        }
        fillActiveView()
    }

    /// The peer said on its link that this node is not in its active view: closing the link needs no word.
    private mutating func heardDeparture(of peer: NodeID) {
        guard let link = linkByPeer[peer] else { return }
        links.update(link) { $0.departureSaid = true }
    }

    /// The link to an established peer is gone: a failure unless the peer said DISCONNECT first.
    mutating func peerLinkLost(_ peer: PeerDescriptor, reason: String, failed: Bool, evidence: FailureEvidence? = .closed) {
        if let request = outstanding.removeValue(forKey: peer.id), request.kind == .join {
            tryNextSeed()
        }
        guard removeFromActive(peer.id, failed: failed) else { return }
        logger.info("active peer lost", metadata: ["peer": "\(peer)", "reason": "\(reason)"])
        allowReplacementAttempts()
        if failed {
            counters.failedLinks += 1
            samplingSawFailure(of: peer)
            if let evidence { reportFailure(of: peer, evidence: evidence) }
            passive.remove(peer.id)
            lost.remember(peer.address, id: peer.id, isSeed: configuration.seeds.contains(peer.address), lostToFailure: true,
                          firstProbe: now + membership.healingProbeInitialDelay, delay: membership.healingProbeInitialDelay)
            armMaintenance()
        } else {
            passive.insert(peer, age: 0)
        }
        fillActiveView()
    }

    // MARK: The active view

    /// Takes `peer` into the active view; a full view first drops a random member, which is told with
    /// DISCONNECT(alive) and kept as a passive peer. When `peer` comes in a rotation, the member dropped is
    /// pointed at the peer the rotation frees (`handoff`).
    mutating func addToActive(_ peer: PeerDescriptor, handoff: PeerDescriptor? = nil) {
        guard !active.contains(peer.id), let link = linkByPeer[peer.id], let state = links[link],
              case .established(_, let epoch) = state.phase else { return }
        if active.count >= membership.activeViewSize,
           let victim = active.randomPeer(excluding: [peer.id], using: &random) {
            removeFromActive(victim.id)
            send(.disconnect(Disconnect(alive: true, handoff: handoff?.id == victim.id ? nil : handoff)), to: victim.id)
            passive.insert(victim, age: 0)
            closeIfTemporary(victim.id)
        }
        active.add(ActiveView.Entry(peer: peer, epoch: epoch, since: now))
        links.update(link) { $0.departureSaid = false }
        broadcastPeerUp(peer.id)
        passive.remove(peer.id)
        lost.forget(peer.address)
        joinQueue.removeAll()
        effects.append(.cancelTimer(.seedRetry))
        logger.debug("active peer added", metadata: ["peer": "\(peer)", "active": "\(active.count)"])
    }

    /// Takes `peer` out of the active view (and so out of the broadcast tree); false if it was not there.
    /// `failed`: the link failed (see `broadcastPeerDown`).
    @discardableResult
    mutating func removeFromActive(_ peer: NodeID, failed: Bool = false) -> Bool {
        guard active.remove(peer) != nil else { return false }
        broadcastPeerDown(peer, failed: failed)
        return true
    }

    /// Asks passive peers, at random, to fill the active view's free places: with high priority when the
    /// view is empty (they must accept), low otherwise (a full peer may refuse). A node with no active peer
    /// and no passive candidate goes back to its seeds.
    mutating func fillActiveView() {
        guard !stopping else { return }
        let pendingNeighbors = outstanding.values.filter { if case .neighbor = $0.kind { true } else { false } }.count
            + dialIntents.values.reduce(0) { $0 + $1.filter { if case .neighbor = $0 { true } else { false } }.count }
        var wanted = membership.activeViewSize - active.count - pendingNeighbors
        guard wanted > 0 else { return }
        // A refusal answered a low-priority request. Once the view is empty the request is high priority and
        // must be accepted, so the peers that refused are asked again: skipping them left a node whose last
        // neighbours died (and whose live passive peers were all full) alone until the next shuffle round.
        let busy = Set(dialIntents.keys).union(active.isEmpty ? [] : recentlyRefused)
        var candidates = passive.entries.map(\.peer).filter { !busy.contains($0.address) && outstanding[$0.id] == nil && !active.contains($0.id) }
        candidates.shuffle(using: &random)
        let priority: NeighborRequest.Priority = active.isEmpty && pendingNeighbors == 0 ? .high : .low
        if priority == .low { wanted = min(wanted, neighborAttempts) }
        while wanted > 0, let candidate = candidates.popLast() {
            wanted -= 1
            if priority == .low { neighborAttempts -= 1 }
            dial(candidate.address, .neighbor(priority))
        }
        if active.isEmpty, pendingNeighbors == 0 {
            startJoin()
        }
    }

    /// An active peer was lost: its replacement may be asked of every passive peer in turn (HyParView's rule).
    /// A peer that said DISCONNECT does not count: it made room for a newcomer, the overlay lost no link, and
    /// the place is filled by the few requests of each shuffle round; asking every passive peer after each
    /// displacement sent half a million refused requests while 10,000 nodes joined.
    mutating func allowReplacementAttempts() {
        neighborAttempts = max(neighborAttempts, membership.passiveViewSize)
    }

    /// Requests on a link that was replaced by a duplicate were lost with it: send them again.
    mutating func resendOutstanding(to peer: NodeID) {
        guard let request = outstanding[peer] else { return }
        if let priority = request.kind.priority {
            send(.neighbor(NeighborRequest(priority: priority, handoff: request.kind.handoff)), to: peer)
        } else {
            send(.join, to: peer)
        }
    }

    /// A request unanswered for too long counts as refused.
    mutating func expireOutstandingRequests() {
        let expired = outstanding.filter { now.since($0.value.sentAt) > membership.requestTimeout }
        guard !expired.isEmpty else { return }
        for (peer, request) in expired.sorted(by: { $0.key < $1.key }) {
            outstanding[peer] = nil
            if let link = linkByPeer[peer], let address = links[link]?.peer?.address { recentlyRefused.insert(address) }
            closeIfTemporary(peer)
            if request.kind == .join { tryNextSeed() } else { fillActiveView() }
        }
    }
}
