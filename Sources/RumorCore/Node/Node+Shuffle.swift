/// Cyclon-style shuffles over HyParView's random walks, passive-entry probes, and partition healing.
extension Node {
    /// One shuffle round: age the passive view, send a SHUFFLE walk, put the oldest passive entry to the
    /// test, probe one lost peer that is due, and fill any free place in the active view.
    mutating func shuffleRound() {
        guard !stopping else { return }
        passive.ageAll()
        recentlyRefused.removeAll()
        neighborAttempts = max(neighborAttempts, membership.neighborAttemptsPerRound)
        if let target = active.randomPeer(using: &random) {
            let entries = viewSample(includingSelf: true, activeCount: membership.shuffleActiveCount,
                                     passiveCount: membership.shufflePassiveCount, excluding: [target.id])
            lastShuffleSent = entries.map(\.peer.id).filter { passive.contains($0) }
            counters.shufflesSent += 1
            send(.shuffle(Shuffle(origin: identity, ttl: UInt8(clamping: membership.shuffleWalkLength), entries: entries)), to: target.id)
        }
        if let oldest = passive.oldest, oldest.age > 0 {
            dial(oldest.peer.address, .passiveCheck)
        }
        probeLostPeers(includingSeeds: true)
        fillActiveView()
        samplingRound()
        let rotationChance = membership.activeRotationInterval > .zero
            ? membership.shuffleInterval / membership.activeRotationInterval : 0
        if Double.random(in: 0..<1, using: &random) < rotationChance { rotateActiveView() }
    }

    /// Swaps one active peer for a passive one without changing anyone's view size: this node asks a passive
    /// peer in (NEIGHBOR high, naming the active peer it will drop); the passive peer, if full, drops a random
    /// member and points it at the peer this node drops, which has just freed a place. Without it the active
    /// view only changes on failures, and an overlay that formed with local structure (nodes started in a
    /// line, each knowing only the one before) would keep it forever.
    mutating func rotateActiveView() {
        guard active.count >= membership.activeViewSize,
              !outstanding.values.contains(where: { $0.kind.handoff != nil }),
              let leaving = active.randomPeer(using: &random) else { return }
        let busy = Set(dialIntents.keys).union(recentlyRefused)
        let candidates = passive.entries.map(\.peer).filter {
            !busy.contains($0.address) && outstanding[$0.id] == nil && !active.contains($0.id)
        }
        guard let incoming = candidates.randomElement(using: &random) else { return }
        dial(incoming.address, .rotate(handoff: leaving))
    }

    /// What this node tells a peer of its views: itself (when asked), up to `activeCount` random active
    /// peers (age 0: they are live) and up to `passiveCount` random passive entries with their ages, never
    /// naming the peers in `excluded`.
    mutating func viewSample(includingSelf: Bool, activeCount: Int, passiveCount: Int, excluding excluded: Set<NodeID>) -> [ShuffleEntry] {
        let activeSample = active.entries.map(\.peer).filter { !excluded.contains($0.id) }
            .shuffled(using: &random).prefix(activeCount).map { ShuffleEntry(peer: $0, age: 0) }
        let passiveSample = passive.randomEntries(passiveCount, excluding: excluded, using: &random)
            .map { ShuffleEntry(peer: $0.peer, age: $0.age) }
        return (includingSelf ? [ShuffleEntry(peer: identity, age: 0)] : []) + activeSample + passiveSample
    }

    mutating func receivedShuffle(_ shuffle: Shuffle, from sender: PeerDescriptor) {
        counters.shufflesReceived += 1
        guard shuffle.origin.id != identity.id else { return }
        let shuffle = Shuffle(origin: shuffle.origin, ttl: shuffle.ttl, entries: acceptedShuffleEntries(shuffle.entries))
        if shuffle.ttl > 0, active.count > 1,
           let next = active.randomPeer(excluding: [sender.id, shuffle.origin.id], using: &random) {
            send(.shuffle(Shuffle(origin: shuffle.origin, ttl: shuffle.ttl - 1, entries: shuffle.entries)), to: next.id)
            return
        }
        // The walk ends here: answer with as many of our own passive entries, then take theirs.
        let received = Set(shuffle.entries.map(\.peer.id))
        let reply = passive.randomEntries(shuffle.entries.count, excluding: received.union([shuffle.origin.id]), using: &random)
            .map { ShuffleEntry(peer: $0.peer, age: $0.age) }
        dial(shuffle.origin.address, .shuffleReply(reply))
        merge(shuffle.entries, preferredEvictions: reply.map(\.peer.id))
    }

    mutating func receivedShuffleReply(_ reply: ShuffleReply, from peer: PeerDescriptor) {
        merge(acceptedShuffleEntries(reply.entries), preferredEvictions: lastShuffleSent)
        lastShuffleSent = []
        closeIfTemporary(peer.id)
    }

    /// The most entries a shuffle carries: the sender, its active sample (a healing probe sends its whole active
    /// view) and its passive sample.
    var shuffleEntryLimit: Int { max(membership.shuffleActiveCount, membership.activeViewSize) + membership.shufflePassiveCount + 1 }

    /// More entries than a shuffle carries would let one peer replace most of our passive view at once.
    private mutating func acceptedShuffleEntries(_ entries: [ShuffleEntry]) -> [ShuffleEntry] {
        let limit = shuffleEntryLimit
        guard entries.count > limit else { return entries }
        counters.shuffleEntriesIgnored += entries.count - limit
        return Array(entries.prefix(limit))
    }

    /// Takes shuffle entries into the passive view: never this node or an active peer.
    private mutating func merge(_ entries: [ShuffleEntry], preferredEvictions: [NodeID]) {
        for entry in entries where entry.peer.id != identity.id && entry.peer.address != identity.address && !active.contains(entry.peer.id) {
            passive.insert(entry.peer, age: entry.age, preferredEvictions: preferredEvictions)
        }
    }

    // MARK: Healing

    /// Probes the lost peers whose turn has come (every maintenance tick) and, in shuffle rounds, the seeds
    /// (on the tick too while their early, bridging probes last); each failed probe doubles that entry's wait.
    mutating func probeLostPeers(includingSeeds: Bool) {
        for due in lost.due(at: now) where due.lostToFailure || due.bridges > 0 || includingSeeds {
            if isActive(at: due.address) {
                lost.forget(due.address)
                let next = now + membership.healingProbeMaximumDelay
                // Linked already: no bridge is needed, now or later.
                lost.update(due.address) { entry in
                    entry.nextProbe = next
                    entry.bridges = 0
                }
                continue
            }
            counters.healingProbes += 1
            let (current, ceiling) = (now, membership.healingProbeMaximumDelay)
            lost.update(due.address) { entry in
                entry.nextProbe = current + entry.delay
                entry.delay = min(entry.delay * 2, ceiling)
            }
            dial(due.address, .healingProbe)
        }
    }

    /// A lost peer answers: it may sit on the other side of a healed partition. A peer lost to failure is
    /// asked into the active view with high priority, which bridges the two sides with one link; a seed only
    /// trades a shuffle sample. Either way both sides learn of each other's peers and the next shuffles and
    /// repairs mix the overlay. A peer is bridged at most once per loss, so a healthy overlay sees at most
    /// one extra link per failure.
    /// `address` is the one probed: the peer's own, or the name of a seed that resolved to it.
    mutating func healingProbeAnswered(by peer: PeerDescriptor, dialledAt address: PeerAddress) {
        guard let entry = lost.entry(address) ?? lost.entry(peer.address) else { return }
        let probed = lost.entry(address) != nil ? address : peer.address
        if entry.lostToFailure {
            lost.forget(probed)
            bridge(to: peer, reason: "lost peer answers again: linking to it")
        } else if entry.isSeed, entry.bridges > 0 {
            lost.update(probed) { $0.bridges -= 1 }
            bridge(to: peer, reason: "early seed probe: linking to the seed")
        }
        let sample = viewSample(includingSelf: true, activeCount: Int.max, passiveCount: membership.shufflePassiveCount,
                                excluding: [peer.id])
        // A walk of length 0 ends at the peer, which answers over this same link.
        send(.shuffle(Shuffle(origin: identity, ttl: 0, entries: sample)), to: peer.id)
    }

    /// Asks `peer` into the active view at high priority, unless it is there already.
    private mutating func bridge(to peer: PeerDescriptor, reason: String) {
        guard !active.contains(peer.id) else { return }
        counters.healedLinks += 1
        logger.info("\(reason)", metadata: ["peer": "\(peer)"])
        // A JOIN waiting on this peer is answered by the NEIGHBOR reply just the same.
        if outstanding[peer.id]?.kind != .join {
            outstanding[peer.id] = OutstandingRequest(kind: .adoptJoiner, sentAt: now)
            send(.neighbor(NeighborRequest(priority: .high)), to: peer.id)
        }
    }

    mutating func healingProbeFailed(at address: PeerAddress) {
        lost.update(address) { $0.failures += 1 }
        if let entry = lost.entry(address), entry.lostToFailure, !entry.isSeed, entry.failures >= membership.healingProbeAttempts {
            lost.forget(address)
        }
    }
}
