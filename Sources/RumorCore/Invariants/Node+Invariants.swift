/// The node checks itself: `invariantViolations()` after every event when `checksInvariants` is on (the
/// simulator, the fuzzers and the tests switch it on; a deployed node leaves it off), and
/// `deepInvariantViolations()` at quiet points. Each check is one `Invariant`, named in what it reports.
extension Node {
    /// The local invariants that do not hold now, in O(views + links + timers).
    public func invariantViolations() -> [InvariantViolation] { invariantViolations(unchangedSince: nil) }

    /// The revisions of the views and the sample reservoir when the checks last found nothing broken. The
    /// checks that read only a view (pairwise, so the costliest per event) are skipped while it is the same.
    struct CheckedRevisions: Equatable {
        var active: UInt64
        var passive: UInt64
        var samples: UInt64
    }

    var currentRevisions: CheckedRevisions {
        CheckedRevisions(active: active.revision, passive: passive.revision, samples: samplingState.reservoir.revision)
    }

    /// All local invariants but those of views unchanged since `checked`, which held then and hold now.
    func invariantViolations(unchangedSince checked: CheckedRevisions?) -> [InvariantViolation] {
        var found: [InvariantViolation] = []
        func broken(_ invariant: Invariant, _ detail: @autoclosure () -> String) {
            found.append(InvariantViolation(invariant, node: identity.id, detail: detail()))
        }
        // Small arrays scanned in place: this runs after every event, and sets built here cost more than the
        // event itself (10,000 simulated nodes took 3.5× as long with the checker on).
        let activeEntries = active.entries
        func isActive(_ id: NodeID) -> Bool { activeEntries.contains { $0.peer.id == id } }
        var activeIDs: [NodeID] { activeEntries.map(\.peer.id) }
        var passiveIDs: [NodeID] { passive.entries.map(\.peer.id) }

        let revisions = currentRevisions
        if checked?.active != revisions.active || checked?.passive != revisions.passive {
            if isActive(identity.id) || passive.entries.contains(where: { $0.peer.id == identity.id || $0.peer.address == identity.address }) {
                broken(.selfNotInViews, "active \(activeIDs), passive \(passiveIDs)")
            }

            let activeRepeats = activeEntries.indices.contains { index in
                activeEntries[..<index].contains { $0.peer.id == activeEntries[index].peer.id }
            }
            if activeRepeats || activeEntries.contains(where: { passive.contains($0.peer.id) }) {
                broken(.viewsDistinctAndDisjoint, "active \(activeIDs), passive \(passiveIDs)")
            }

            if active.count > membership.activeViewSize || passive.count > membership.passiveViewSize {
                broken(.viewsWithinBounds, "active \(active.count) of \(membership.activeViewSize), passive \(passive.count) of \(membership.passiveViewSize)")
            }
        }

        for entry in activeEntries where linkByPeer[entry.peer.id].flatMap({ links[$0]?.peer?.id }) != entry.peer.id {
            broken(.activePeersLinked, "active peer \(entry.peer.id) has no established link")
        }
        for (peer, link) in linkByPeer where links[link]?.peer?.id != peer {
            broken(.activePeersLinked, "the link index names \(link) for \(peer), which is not an established link to it")
        }

        let offered = wireVersions
        let probesFrom = MessageType.ping.introducedIn
        for (link, state) in zip(links.keys, links.values) {
            let settled = state.peer != nil
            if settled ? !offered.contains(state.wireVersion) : state.wireVersion != 0 {
                broken(.linkVersionsSettled, "\(link) (\(settled ? "established" : "in its handshake")) at version \(state.wireVersion), offered \(offered)")
            }
            if state.probe.outstandingToken != nil, state.wireVersion < probesFrom {
                broken(.linkVersionsSettled, "\(link) at version \(state.wireVersion) has a PING outstanding")
            }
        }

        let eager = plumtree.eager
        let lazy = plumtree.lazy
        let treeRepeats = eager.indices.contains { eager[..<$0].contains(eager[$0]) } || lazy.indices.contains { lazy[..<$0].contains(lazy[$0]) }
        let treeIsActiveView = eager.count + lazy.count == activeEntries.count && eager.allSatisfy(isActive) && lazy.allSatisfy(isActive)
            && !eager.contains(where: lazy.contains)
        if treeRepeats || !treeIsActiveView || !plumtree.duplicateStreak.keys.allSatisfy(isActive) || !plumtree.graftedSincePrune.allSatisfy(isActive)
            || !plumtree.digestedInsertions.keys.allSatisfy(isActive) {
            broken(.treeMatchesActiveView, "eager \(eager), lazy \(lazy), active \(activeIDs)")
        }

        if dialing.count != dialIntents.count || !dialIntents.allSatisfy({ dialing.contains($0.key) && !$0.value.isEmpty }) {
            broken(.dialsHaveIntents, "dialling \(dialing.sorted()), intents for \(dialIntents.keys.sorted())")
        }

        let watching = maintenanceArmed && armedTimers.contains(.linkMaintenance)
        if !stopping {
            for peer in outstanding.keys where linkByPeer[peer] == nil {
                broken(.requestsWatched, "a request to \(peer) is outstanding without a link to it")
            }
            if !outstanding.isEmpty, !watching {
                broken(.requestsWatched, "\(outstanding.count) requests outstanding, maintenance tick not armed")
            }
            if maintenanceArmed != armedTimers.contains(.linkMaintenance) {
                broken(.linksWatched, "maintenance flag \(maintenanceArmed), timer armed \(armedTimers.contains(.linkMaintenance))")
            } else if !links.isEmpty || lost.entries.contains(where: \.lostToFailure), !watching {
                broken(.linksWatched, "\(links.count) links, \(lost.entries.count) lost peers, maintenance tick not armed")
            }
            if started, !armedTimers.contains(.shuffle) || !armedTimers.contains(.antiEntropy) {
                broken(.periodicTimersArmed, "shuffle armed \(armedTimers.contains(.shuffle)), anti-entropy armed \(armedTimers.contains(.antiEntropy))")
            }
            if plumtree.grafts.count > 0, !armedTimers.contains(.graftDue) {
                broken(.graftsScheduled, "\(plumtree.grafts.count) GRAFT deadlines, timer not armed")
            }
            let waiting = plumtree.lazyQueue.contains { !$0.value.isEmpty }
            if waiting, !plumtree.batchArmed || !armedTimers.contains(.iHaveBatch) {
                broken(.announcementsBatched, "IHAVEs wait for \(plumtree.lazyQueue.filter { !$0.value.isEmpty }.keys.sorted()), batch timer not armed")
            }
            for peer in plumtree.lazyQueue.keys where !isActive(peer) {
                broken(.announcementsBatched, "IHAVEs wait for \(peer), which is not an active peer")
            }
        }
        if plumtree.missing.count != plumtree.grafts.count {
            broken(.graftsScheduled, "\(plumtree.missing.count) payloads missing, \(plumtree.grafts.count) GRAFT deadlines")
        }

        let limits = configuration.broadcast
        let cache = plumtree.cache
        let seen = plumtree.seen
        if cache.count > cache.maximumCount || cache.bytes > cache.maximumBytes || seen.count > seen.maximumCount
            || seen.bytes > seen.maximumBytes || plumtree.missing.count > limits.maximumMissing
            || plumtree.pulled.count > limits.maximumPulled {
            broken(.messageStateBounded, "cache \(cache.count) payloads / \(cache.bytes) B, seen \(seen.count) ids / \(seen.bytes) B, missing \(plumtree.missing.count), pulled \(plumtree.pulled.count)")
        }

        let samples = samplingState.reservoir.entries
        if checked?.samples != revisions.samples {
            let sampleRepeats = samples.indices.contains { index in
                samples[..<index].contains { $0.peer.id == samples[index].peer.id || $0.peer.address == samples[index].peer.address }
            }
            if sampleRepeats || samples.contains(where: { $0.peer.id == identity.id || $0.peer.address == identity.address }) {
                broken(.samplesDistinctNotSelf, "samples \(samples.map(\.peer.id))")
            }
        }
        if samples.count > sampling.reservoirSize || samplingState.outstanding.count > sampling.maximumOutstandingWalks {
            broken(.samplingBounded, "\(samples.count) samples of \(sampling.reservoirSize), \(samplingState.outstanding.count) walks in flight of \(sampling.maximumOutstandingWalks)")
        }
        return found
    }

    /// The costlier invariants, linear in the messages held: for quiet points, not every event.
    public func deepInvariantViolations() -> [InvariantViolation] {
        var found: [InvariantViolation] = []
        func broken(_ detail: String) {
            found.append(InvariantViolation(.messageStoreConsistent, node: identity.id, detail: detail))
        }
        let passiveIDs = passive.entries.map(\.peer.id)
        if Set(passiveIDs).count != passiveIDs.count || Set(passive.entries.map(\.peer.address)).count != passiveIDs.count {
            found.append(InvariantViolation(.viewsDistinctAndDisjoint, node: identity.id, detail: "passive view repeats a peer: \(passiveIDs)"))
        }
        for problem in plumtree.cache.consistencyProblems() { broken(problem) }
        for problem in plumtree.seen.consistencyProblems() { broken(problem) }
        if let both = plumtree.cache.ids.first(where: plumtree.seen.remembersExactly) {
            broken("\(both) is both cached and in the seen set")
        }
        for (id, announcers) in plumtree.missing {
            if !plumtree.grafts.isScheduled(id) { broken("missing \(id) has no GRAFT deadline") }
            if announcers.count > configuration.broadcast.maximumAnnouncersPerMissing {
                broken("missing \(id) has \(announcers.count) announcers")
            }
        }
        found += directoryViolations()
        return found
    }

    /// The directory's invariants (docs/directory.md): bucket hashes equal a recomputation, only this node
    /// raises its own version (its entry is its newest word), no entry sits at or below its id's epoch floor,
    /// and every suspect is failed in time by an armed timer.
    func directoryViolations() -> [InvariantViolation] {
        var found: [InvariantViolation] = []
        func broken(_ detail: String) {
            found.append(InvariantViolation(.directoryConsistent, node: identity.id, detail: detail))
        }
        if directory.recomputedBucketHashes() != directory.bucketHashes { broken("bucket hashes differ from a recomputation") }
        if started, configuration.directory.enabled {
            if let own = ownEntry {
                if own.epoch != configuration.epoch { broken("own entry of epoch \(own.epoch), not \(configuration.epoch)") }
                if !stopping, own.status != .alive { broken("own entry \(own.status) while running") }
            } else {
                broken("no entry of this node")
            }
        }
        for (id, floor) in directory.epochFloors {
            if let entry = directory[id]?.entry, entry.epoch <= floor.epoch { broken("\(id) of epoch \(entry.epoch) at or below its floor \(floor.epoch)") }
        }
        if directory.count > directory.limits.maximumEntries { broken("\(directory.count) entries, above the limit") }
        var recordCount = 0
        for record in directory.records {
            recordCount += 1
            let id = record.id
            if record.status == .removed { broken("\(id) is stored as removed") }
            // Every record is found where a lookup probes for it.
            if directory[id]?.stored != record.stored { broken("the record of \(id) is not found by its id") }
        }
        if recordCount != directory.count { broken("\(recordCount) records in the table, counted \(directory.count)") }
        for (id, suspicion) in directory.suspicions {
            guard let status = directory[id]?.status else {
                broken("\(id) is suspect and has no entry")
                continue
            }
            if status != .alive { broken("\(id) is suspect while \(status)") }
            if suspicion.reporters.isEmpty { broken("\(id) is suspect with no reporter") }
            if !stopping, !armedTimers.contains(.suspicion) { broken("\(id) is suspect and no suspicion timer is armed") }
        }
        return found
    }

    /// Runs the local checks after an event (when switched on), keeping the first violations found.
    mutating func checkInvariants(after event: @autoclosure () -> String) {
        invariantChecks += 1
        let violations = invariantViolations(unchangedSince: lastCleanRevisions)
        lastCleanRevisions = violations.isEmpty ? currentRevisions : nil
        guard !violations.isEmpty else { return }
        let cause = event()
        for violation in violations {
            logger.critical("invariant broken", metadata: ["invariant": "\(violation.invariant)", "after": "\(cause)", "detail": "\(violation.detail)"])
            if invariantViolationsFound.count < Self.violationsKept {
                invariantViolationsFound.append(InvariantViolation(violation.invariant, node: violation.node, detail: "\(violation.detail) (after \(cause))"))
            }
        }
    }

    /// The violations found since the last call, for a driver that gathers them (the simulator).
    public mutating func takeInvariantViolations() -> [InvariantViolation] {
        defer { invariantViolationsFound.removeAll() }
        return invariantViolationsFound
    }

    /// Enough to see what went wrong first without a broken node growing a list without end.
    static let violationsKept = 32
}

extension NodeEvent {
    /// The event's kind, for a violation report (not its payload).
    var kind: String {
        switch self {
        case .start: "start"
        case .linkOpened(let link, _): "link opened \(link)"
        case .connectFailed(let address, _, _): "connect to \(address) failed"
        case .linkClosed(let link, _): "link closed \(link)"
        case .received(let link, let message): "\(message.type) on \(link)"
        case .malformedFrame(let link, _): "malformed frame on \(link)"
        case .timerFired(let timer): "timer \(timer)"
        case .stop: "stop"
        }
    }
}

extension Node {
    /// The active peers, for checks across nodes.
    public var activePeers: [PeerDescriptor] { active.entries.map(\.peer) }
    /// The peers this node pushes payloads to (the tree's links at this end).
    public var eagerPeerIDs: [NodeID] { plumtree.eager }
}
