/// Plumtree (Leitão, Pereira, Rodrigues, SRDS 2007): payloads go eagerly along a spanning tree of the
/// active view, the other links carry batched IHAVEs, a missing payload is pulled with GRAFT, and a
/// duplicate prunes the link it came on.
extension Node {
    // MARK: Publishing

    /// Broadcasts `payload` to every live node, this one included; returns its id and the driver's effects.
    public mutating func publish(_ payload: [UInt8], at now: Timestamp) throws(PublishError) -> (id: MessageID, effects: [NodeEffect]) {
        guard !stopping else { throw .stopping }
        let limit = configuration.broadcast.maximumPayloadSize
        guard payload.count <= limit else { throw .payloadTooLarge(size: payload.count, limit: limit) }
        effects.removeAll(keepingCapacity: true)
        self.now = max(self.now, now)
        let id = MessageID(origin: identity.id, epoch: configuration.epoch, sequence: plumtree.nextSequence)
        plumtree.nextSequence += 1
        accept(Gossip(id: id, round: 0, payload: payload), from: nil)
        armedTimers.follow(effects)
        if checksInvariants { checkInvariants(after: "publish \(id)") }
        return (id, effects)
    }

    /// Broadcasts a payload of one of the node's internal topics (the directory's). `toEveryPeer` pushes it
    /// eagerly over every active link, for the last words of a leaving node, which cannot wait for IHAVEs.
    @discardableResult
    mutating func publishInternal(_ payload: [UInt8], topic: TopicID, toEveryPeer: Bool = false) -> MessageID {
        let id = MessageID(origin: identity.id, epoch: configuration.epoch, sequence: plumtree.nextSequence)
        plumtree.nextSequence += 1
        accept(Gossip(id: id, round: 0, payload: payload, topic: topic), from: nil, pushToAll: toEveryPeer)
        return id
    }

    /// Whether `peer`'s link can carry a payload of `topic`: the global broadcast goes everywhere, other
    /// topics only over links of version 6 or later.
    func carries(_ topic: TopicID?, to peer: NodeID) -> Bool {
        guard topic != nil else { return true }
        guard let link = linkByPeer[peer], let state = links[link] else { return false }
        return state.wireVersion >= MessageType.topicGossip.introducedIn
    }

    // MARK: Membership feeds the tree

    /// A new neighbour starts eager, and the two compare what they hold.
    mutating func broadcastPeerUp(_ peer: NodeID) {
        plumtree.makeEager(peer)
        sendDigest(to: peer)
        sendDirectorySummary(to: peer)
    }

    /// A tree link given up on purpose (DISCONNECT, eviction, rotation: the overlay's churn while nodes join
    /// and its rotations later) is bridged at once. After a failed link the GRAFTs of the next messages
    /// repair the tree: bridging failed links too added duplicates right after a mass failure in the
    /// simulator (1,000 nodes, 50% killed, seeds 1–4: RMR 0.32–0.38 against 0.22–0.30 without bridges)
    /// for no gain in latency there, and live repairs after kill -9 showed no GRAFT-timeout outliers.
    mutating func broadcastPeerDown(_ peer: NodeID, failed: Bool) {
        let wasEager = plumtree.eager.contains(peer)
        plumtree.remove(peer)
        if wasEager, !failed { bridgeLostTreeLink() }
    }

    /// A tree link is gone: the tree may now be cut in two, and until an IHAVE and the GRAFT timeout repair
    /// it, every message would reach the far side a GRAFT timeout late (80 ms where the tree takes 2 on
    /// loopback: the outliers of the Serf benchmark's steady state). Pulling one lazy link into the tree at
    /// once usually bridges the cut; if it was not needed, its duplicates prune it again.
    private mutating func bridgeLostTreeLink() {
        guard !stopping else { return }
        let candidates = plumtree.lazy.filter { active.contains($0) }
        guard let bridge = candidates.randomElement(using: &random) else { return }
        plumtree.makeEager(bridge)
        counters.graftsSent += 1
        counters.treeBridges += 1
        sendGraft(Graft(id: nil, round: 0), to: bridge)
    }

    // MARK: Payloads

    mutating func receivedGossip(_ gossip: Gossip, from sender: PeerDescriptor) {
        counters.payloadsReceived += 1
        guard gossip.payload.count <= configuration.broadcast.maximumPayloadSize else {
            // Larger than any node here may publish: not ours to deliver or pass on.
            counters.oversizedPayloadsDropped += 1
            return
        }
        // A payload of another topic is checked before it is relayed: a malformed one goes no further.
        var update: DirectoryUpdate?
        if let topic = gossip.topic {
            guard topic == .directory else {
                counters.unknownTopicPayloads += 1
                return
            }
            do {
                update = try DirectoryCodec.decodeUpdate(gossip.payload, limits: configuration.directory.limits)
            } catch {
                counters.directoryUpdatesRejected += 1
                logger.debug("malformed directory update", metadata: ["peer": "\(sender)", "error": "\(error)"])
                return
            }
        }
        // Only the answer from the peer asked is off the tree; a tree copy arriving first is a tree copy.
        let wasPulled = plumtree.pulled[gossip.id]?.peer == sender.id
        if wasPulled { plumtree.pulled[gossip.id] = nil }
        if plumtree.hasSeen(gossip.id) {
            counters.duplicates += 1
            if plumtree.withdrawAnnouncement(of: gossip.id, to: sender.id) { counters.iHavesWithdrawn += 1 }
            // A duplicate means two tree paths reach here: the later one becomes lazy. PRUNE goes out even when
            // the sender is lazy already: it still pushed, so it missed our earlier PRUNE (crossed with a GRAFT)
            // and would go on sending duplicates.
            if !wasPulled, active.contains(sender.id) {
                let streak = (plumtree.duplicateStreak[sender.id] ?? 0) + 1
                plumtree.duplicateStreak[sender.id] = streak
                if streak >= configuration.broadcast.pruneAfterDuplicates || !plumtree.eager.contains(sender.id) {
                    plumtree.duplicateStreak[sender.id] = nil
                    plumtree.makeLazy(sender.id)
                    counters.prunesSent += 1
                    send(.prune, to: sender.id)
                }
            }
            return
        }
        if !wasPulled, active.contains(sender.id) {
            plumtree.duplicateStreak[sender.id] = nil
            // A first copy from a peer we had made lazy means our PRUNE crossed its push: it is about to make
            // us lazy too, and then neither side would push. Say we want its pushes (GRAFT without an id), so
            // both ends agree the link is in the tree.
            if plumtree.lazy.contains(sender.id) {
                counters.graftsSent += 1
                sendGraft(Graft(id: nil, round: gossip.round), to: sender.id)
            }
            plumtree.makeEager(sender.id)
        }
        accept(gossip, from: sender.id, offTree: wasPulled, update: update)
    }

    /// Delivers a new payload, keeps it for GRAFTs, and passes it on: eagerly to eager peers and as an IHAVE
    /// to lazy ones (only as IHAVEs when it came off the tree, from anti-entropy). An origin whose eager set
    /// is empty (every link pruned by other senders' trees) pushes to all its active peers: until a copy
    /// leaves the origin, the origin's death loses the message.
    private mutating func accept(_ gossip: Gossip, from sender: NodeID?, offTree: Bool = false, pushToAll: Bool = false,
                                 update: DirectoryUpdate? = nil) {
        let pushToAll = pushToAll || sender == nil && !plumtree.eager.contains(where: active.contains)
        plumtree.store(gossip.id, PayloadCache.Entry(payload: gossip.payload, round: gossip.round, sender: sender, storedAt: now,
                                                     topic: gossip.topic))
        // A copy that came after our GRAFT came late because we waited: only unasked tree copies are measured.
        if sender != nil, !offTree, plumtree.grafts.awaitsFirstGraft(gossip.id), let first = plumtree.missing[gossip.id]?.first {
            plumtree.recordTreeCopyLag(now.since(first.heardAt))
        }
        plumtree.missing[gossip.id] = nil
        plumtree.grafts.cancel(gossip.id)
        if gossip.topic == nil {
            counters.delivered += 1
            effects.append(.deliver(Delivery(id: gossip.id, round: gossip.round, payload: gossip.payload)))
        }
        let next = Gossip(id: gossip.id, round: gossip.round &+ 1, payload: gossip.payload, topic: gossip.topic)
        for peer in active.ids where peer != sender && carries(gossip.topic, to: peer) {
            if !offTree, pushToAll || plumtree.eager.contains(peer) {
                counters.payloadBytesOut += gossip.payload.count
                send(.gossip(next), to: peer)
            } else {
                announce(Announcement(id: gossip.id, round: next.round), to: peer)
            }
        }
        // Applied after the relay: a refutation it triggers is a message of its own.
        if let update, sender != nil { applyDirectoryUpdate(update, payload: gossip.payload) }
    }

    // MARK: Lazy announcements

    private mutating func announce(_ announcement: Announcement, to peer: NodeID) {
        plumtree.lazyQueue[peer, default: []].append(announcement)
        if !plumtree.batchArmed {
            plumtree.batchArmed = true
            effects.append(.armTimer(.iHaveBatch, after: configuration.broadcast.iHaveBatchInterval))
        }
    }

    /// Sends each peer its gathered IHAVEs, cut into frames that fit the frame limit.
    mutating func sendIHaveBatches() {
        plumtree.batchArmed = false
        let budget = configuration.maximumFrameSize - WireFormat.bodyHeaderSize - 2
        for peer in plumtree.lazyQueue.keys.sorted() {
            let announcements = plumtree.lazyQueue.removeValue(forKey: peer) ?? []
            var batch: [Announcement] = []
            var size = 0
            for announcement in announcements {
                let entrySize = 1 + announcement.id.origin.rawValue.utf8.count + 16 + 4
                if !batch.isEmpty, size + entrySize > budget || batch.count == Int(UInt16.max) {
                    flushIHave(batch, to: peer)
                    batch = []
                    size = 0
                }
                batch.append(announcement)
                size += entrySize
            }
            if !batch.isEmpty { flushIHave(batch, to: peer) }
        }
    }

    private mutating func flushIHave(_ batch: [Announcement], to peer: NodeID) {
        counters.iHavesSent += batch.count
        send(.iHave(IHave(announcements: batch)), to: peer)
    }

    mutating func receivedIHave(_ iHave: IHave, from peer: PeerDescriptor) {
        counters.iHavesReceived += iHave.announcements.count
        let announcerIsLazy = plumtree.lazy.contains(peer.id)
        let announcementsQueuedForPeer = plumtree.lazyQueue[peer.id].map { !$0.isEmpty } ?? false
        let limit = configuration.broadcast.maximumAnnouncementsPerIHave
        if iHave.announcements.count > limit { counters.announcementsIgnored += iHave.announcements.count - limit }
        for announcement in iHave.announcements.prefix(limit) {
            let id = announcement.id
            // One lookup for the common case: a payload still cached has been seen.
            let cached = plumtree.cache[id]
            if cached != nil || plumtree.seen.contains(id) {
                // The peer holds it: an IHAVE of ours still waiting for the batch would tell it nothing.
                if announcementsQueuedForPeer, plumtree.withdrawAnnouncement(of: id, to: peer.id) { counters.iHavesWithdrawn += 1 }
                if announcerIsLazy, let cached { optimize(id, cached: cached, announcedRound: announcement.round, by: peer.id) }
                continue
            }
            if plumtree.missing[id] == nil, plumtree.missing.count >= configuration.broadcast.maximumMissing {
                counters.announcementsIgnored += 1
                continue
            }
            if plumtree.missing[id]?.count ?? 0 >= configuration.broadcast.maximumAnnouncersPerMissing {
                counters.announcementsIgnored += 1
                continue
            }
            plumtree.missing[id, default: []].append(.init(peer: peer.id, round: announcement.round, heardAt: now))
            if !plumtree.grafts.isScheduled(id) { scheduleGraft(id, firstWait: true) }
        }
    }

    /// Plumtree's optimisation: when a lazy link would have brought a payload several rounds sooner than the
    /// tree did, the lazy link joins the tree and the slow one leaves it.
    private mutating func optimize(_ id: MessageID, cached entry: PayloadCache.Entry, announcedRound: UInt32, by announcer: NodeID) {
        guard announcedRound &+ configuration.broadcast.optimizationThreshold < entry.round, let via = entry.sender,
              via != announcer, active.contains(announcer), plumtree.lazy.contains(announcer), plumtree.eager.contains(via) else { return }
        plumtree.makeEager(announcer)
        plumtree.makeLazy(via)
        counters.treeOptimizations += 1
        counters.graftsSent += 1
        counters.prunesSent += 1
        sendGraft(Graft(id: nil, round: announcedRound), to: announcer)
        send(.prune, to: via)
    }

    /// Asks for `id` after the first wait (its first announcement) or the shorter wait for the next
    /// announcer, moving the GRAFT timer earlier if this is now the first due.
    private mutating func scheduleGraft(_ id: MessageID, firstWait: Bool) {
        let delay = firstWait ? firstGraftWait : configuration.broadcast.secondGraftTimeout
        if let deadline = plumtree.grafts.schedule(id, at: now + delay, firstTimeout: firstWait) {
            effects.append(.armTimer(.graftDue, after: deadline.since(now)))
        }
    }

    /// How long a missing payload waits for the tree's copy after its first IHAVE: the copy's usual lag here
    /// and four deviations, within the configured bounds. A cut in the tree then costs about what the tree's
    /// copies usually take, not a fixed 80 ms.
    var firstGraftWait: Duration {
        let settings = configuration.broadcast
        return plumtree.treeCopyLag?.threshold(minimum: settings.minimumGraftTimeout, maximum: settings.graftTimeout) ?? settings.graftTimeout
    }

    /// The GRAFT timer fired: every payload whose time has come is asked for, then the timer is armed for the
    /// next one.
    mutating func graftsDue() {
        for id in plumtree.grafts.takeDue(at: now) { graftTimerFired(for: id) }
        if let next = plumtree.grafts.armForEarliest() { effects.append(.armTimer(.graftDue, after: max(.zero, next.since(now)))) }
    }

    /// The payload did not come: ask the first announcer still linked, and give the next one less time.
    private mutating func graftTimerFired(for id: MessageID) {
        guard !plumtree.hasSeen(id), var announcers = plumtree.missing[id] else {
            plumtree.missing[id] = nil
            return
        }
        while !announcers.isEmpty {
            let announcer = announcers.removeFirst()
            guard linkByPeer[announcer.peer] != nil else { continue }
            if active.contains(announcer.peer) { plumtree.makeEager(announcer.peer) }
            counters.graftsSent += 1
            counters.graftTimeouts += 1
            sendGraft(Graft(id: id, round: announcer.round), to: announcer.peer)
            break
        }
        if announcers.isEmpty {
            // Nobody else to ask now: a later IHAVE or anti-entropy will bring it.
            plumtree.missing[id] = nil
        } else {
            plumtree.missing[id] = announcers
            scheduleGraft(id, firstWait: false)
        }
    }

    /// A GRAFT goes out: until the peer's next PRUNE, that PRUNE may have crossed it (see `receivedPrune`).
    private mutating func sendGraft(_ graft: Graft, to peer: NodeID) {
        if active.contains(peer) { plumtree.graftedSincePrune.insert(peer) }
        send(.graft(graft), to: peer)
    }

    mutating func receivedGraft(_ graft: Graft, from peer: PeerDescriptor) {
        counters.graftsReceived += 1
        plumtree.graftedSincePrune.remove(peer.id)
        if active.contains(peer.id) { plumtree.makeEager(peer.id) }
        guard let id = graft.id, let entry = plumtree.cache[id], carries(entry.topic, to: peer.id) else { return }
        counters.payloadBytesOut += entry.payload.count
        send(.gossip(Gossip(id: id, round: entry.round &+ 1, payload: entry.payload, topic: entry.topic)), to: peer.id)
    }

    /// The peer stops pushing to us; we stop pushing to it. If we sent it a GRAFT since its last PRUNE, the two
    /// may have crossed: then the peer took our GRAFT after sending this PRUNE and now pushes to us while we
    /// only announce to it, until a payload happens to cross the link (the invariant checker found such
    /// halves of tree links at quiet points). Pruning it back makes both ends lazy, crossed or not: if the
    /// peer had read our GRAFT before it pruned, it is lazy already and the PRUNE changes nothing.
    mutating func receivedPrune(from peer: PeerDescriptor) {
        counters.prunesReceived += 1
        guard active.contains(peer.id) else { return }
        plumtree.makeLazy(peer.id)
        if plumtree.graftedSincePrune.remove(peer.id) != nil {
            counters.prunesSent += 1
            send(.prune, to: peer.id)
        }
    }
}
