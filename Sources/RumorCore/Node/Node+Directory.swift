/// The cluster directory (docs/directory.md): every member's entry, spread on the broadcast tree's internal
/// directory topic (the fast path), reconciled by summaries with one active peer per anti-entropy tick (the
/// slow path), and failures judged from the reports of a member's neighbours, never by probing everyone.
extension Node {
    // MARK: This node's entry

    /// This node's first entry goes out as the node starts: into its own directory and onto the directory
    /// topic, which reaches the overlay as soon as a link does (anti-entropy carries what was published
    /// before any link was up).
    mutating func startDirectory() {
        guard configuration.directory.enabled else { return }
        applyOwn(MemberEntry.first(of: configuration))
    }

    /// This node's entry as it stands.
    public var ownEntry: MemberEntry? { directory[identity.id]?.entry }

    /// Sets and deletes tags of this node's entry, raising its version, and spreads the entry. Limits are
    /// checked before anything changes.
    public mutating func setTags(_ set: [String: String], deleting keys: [String] = [],
                                 at now: Timestamp) throws(DirectoryError) -> [NodeEffect] {
        guard !stopping, let current = ownEntry else { throw .stopping }
        var tags = current.tags.dictionary
        for key in keys { tags[key] = nil }
        tags.merge(set) { _, new in new }
        try configuration.directory.limits.validate(tags)
        var entry = current
        entry.tags = MemberTags(tags)
        entry.version += 1
        try configuration.directory.limits.validate(entry)
        effects.removeAll(keepingCapacity: true)
        self.now = max(self.now, now)
        applyOwn(entry)
        armedTimers.follow(effects)
        if checksInvariants { checkInvariants(after: "setTags") }
        return effects
    }

    /// A new version of this node's own entry: kept, announced as an event, and broadcast.
    /// The directory keeps the very payload that goes out: the nodes of one process share it.
    private mutating func applyOwn(_ entry: MemberEntry, toEveryPeer: Bool = false) {
        let stored = StoredEntry(entry)
        let outcome = directory.merge(stored, at: now)
        // Only a start into a preloaded directory finds its entry there already: whoever filled it spread it.
        guard outcome != .stale else { return }
        memberChanged(entry, outcome: outcome)
        counters.directoryEntriesPublished += 1
        if configuration.directory.broadcastsUpdates {
            publishInternal(stored.payload, topic: .directory, toEveryPeer: toEveryPeer)
        }
    }

    /// Graceful leave: `left` goes out eagerly to every active peer, ahead of the DISCONNECTs.
    mutating func announceLeaving() {
        guard var entry = ownEntry, entry.status == .alive else { return }
        entry.version += 1
        entry.status = .left
        applyOwn(entry, toEveryPeer: true)
    }

    /// Someone says this node failed, or holds an entry of it that outranks its own: it refutes by raising its
    /// version above what was said, as SWIM does with incarnations.
    private mutating func refute(version said: UInt64) {
        guard !stopping, var entry = ownEntry, entry.status == .alive else { return }
        entry.version = max(entry.version, said) + 1
        counters.directoryRefutations += 1
        logger.info("refuting a report of this node's failure", metadata: ["version": "\(entry.version)"])
        applyOwn(entry)
    }

    /// Takes `entries` as a reconciliation would, without events: for a simulator that starts a large run from
    /// a settled directory (so the experiment measures changes, not the mass join) and for measuring what the
    /// directory costs in memory. An entry that breaks a limit is refused and counted, as from the wire.
    public mutating func preloadDirectory(_ entries: [MemberEntry]) {
        guard configuration.directory.enabled else { return }
        let valid = entries.filter { entry in
            do throws(DirectoryError) {
                try directory.limits.validate(entry)
                return true
            } catch {
                counters.directoryUpdatesRejected += 1
                return false
            }
        }
        preloadDirectory(valid.map(StoredEntry.init))
    }

    /// The same with entries already stored, whose buffers the nodes of one process then share (a 10,000-node
    /// simulation holds 100 million records). The caller validated them against the directory's limits; here
    /// only the entry size is checked again.
    public mutating func preloadDirectory(_ entries: [StoredEntry]) {
        guard configuration.directory.enabled else { return }
        directory.reserveCapacity(directory.count + entries.count)
        for stored in entries {
            guard stored.encodedSize <= directory.limits.maximumEntryBytes else {
                counters.directoryUpdatesRejected += 1
                continue
            }
            if stored.isEntry(of: identity.id) {
                // Held as the settled directory has it, so that the start finds it there and publishes
                // nothing: whoever filled the directory spread it (`applyEntry` leaves this node's own alone).
                _ = directory.merge(stored, at: now)
                continue
            }
            applyEntry(stored)
        }
        effects.removeAll(keepingCapacity: false)
        if checksInvariants { checkInvariants(after: "preloadDirectory") }
    }

    // MARK: Updates from the overlay

    /// `payload` is the directory-topic payload `update` was decoded from: an entry is kept as it came.
    mutating func applyDirectoryUpdate(_ update: DirectoryUpdate, payload: [UInt8]) {
        guard configuration.directory.enabled else { return }
        switch update {
        case .entry(let entry):
            applyEntry(StoredEntry(sharing: payload), decoded: entry)
        case .report(let report):
            applyReport(report)
        }
    }

    /// Merges an entry from another node (D1). One about this node that outranks its own is refuted. Returns
    /// a removal notice when the entry belongs to an epoch removed here (D5), for whoever offered it.
    @discardableResult
    mutating func applyEntry(_ entry: MemberEntry) -> MemberEntry? {
        applyEntry(StoredEntry(entry))
    }

    /// `decoded` is `stored`'s entry when the caller has it decoded already (an update off the wire): the
    /// hot path then decodes each entry once.
    @discardableResult
    private mutating func applyEntry(_ stored: StoredEntry, decoded: MemberEntry? = nil) -> MemberEntry? {
        if stored.isEntry(of: identity.id) {
            let entry = decoded ?? stored.entry
            if entry.epoch == configuration.epoch, let own = ownEntry, entry.precedence > own.precedence {
                refute(version: entry.status == .removed ? own.version : entry.version)
            }
            return nil
        }
        let hadSuspects = !directory.suspicions.isEmpty
        let outcome = directory.merge(stored, at: now)
        switch outcome {
        case .stale:
            break
        case .belowEpochFloor:
            counters.directoryGhostsRefused += 1
            return directory.removalNotice(for: stored.entry)
        case .removed(let previous):
            effects.append(.memberEvent(MemberEvent(kind: .reaped, entry: previous)))
            if hadSuspects { armSuspicionTimer() }
        case .full:
            counters.directoryUpdatesRejected += 1
            logger.warning("directory full, entry refused", metadata: ["member": "\(stored.id)", "limit": "\(directory.limits.maximumEntries)"])
        case .added, .replaced:
            counters.directoryEntriesApplied += 1
            let entry = decoded ?? stored.entry
            if entry.status == .failed, case .replaced(let previous) = outcome, previous.status == .alive {
                logger.info("member failed by another node's verdict", metadata: ["member": "\(entry.peer)"])
            }
            memberChanged(entry, outcome: outcome)
            // A newer entry settles its member's suspicion: the timer follows the suspects left.
            if hadSuspects { armSuspicionTimer() }
        }
        return nil
    }

    /// A neighbour's report (D4): two distinct reporters with *closed* evidence mark the member failed at
    /// once; otherwise it is suspect and failed when the suspicion runs out unrefuted.
    private mutating func applyReport(_ report: FailureReport) {
        if report.subject == identity.id {
            if report.subjectEpoch == configuration.epoch { refute(version: report.subjectVersion) }
            return
        }
        let wasSuspect = directory.suspicions[report.subject] != nil
        guard let suspicion = directory.suspect(report, failsAt: now + configuration.directory.suspicionTimeout, at: now) else { return }
        if suspicion.closedReports >= 2 {
            let cause = "closed reports from " + Self.reporters(suspicion)
            markFailed(report.subject, because: cause)
        } else if !wasSuspect, let record = directory[report.subject] {
            effects.append(.memberEvent(MemberEvent(kind: .suspect, entry: record.entry)))
            armSuspicionTimer()
        }
    }

    /// `cause` goes to the log: a false failure in a live run is traced from the nodes that gave the verdict.
    private mutating func markFailed(_ id: NodeID, because cause: String) {
        let outcome = directory.markFailed(id, at: now)
        guard case .replaced(let previous) = outcome else { return }
        logger.info("member marked failed", metadata: ["member": "\(previous.peer)", "cause": "\(cause)"])
        var entry = previous
        entry.status = .failed
        counters.membersMarkedFailed += 1
        memberChanged(entry, outcome: outcome)
        armSuspicionTimer()
    }

    /// The event an applied entry makes, from what it replaced.
    private mutating func memberChanged(_ entry: MemberEntry, outcome: DirectoryState.MergeOutcome) {
        let kind: MemberEvent.Kind
        switch (outcome, entry.status) {
        case (.added, .alive): kind = .joined
        case (.replaced(let previous), .alive): kind = previous.status == .alive && previous.epoch == entry.epoch ? .updated : .alive
        case (.replaced(let previous), let status) where previous.status == status: kind = .updated
        case (_, .failed): kind = .failed
        case (_, .left): kind = .left
        case (.stale, _), (.belowEpochFloor, _), (.full, _), (.removed, _), (_, .removed): return
        }
        effects.append(.memberEvent(MemberEvent(kind: kind, entry: entry)))
    }

    // MARK: Failure detection

    /// An active peer's link failed: its neighbours are the first to know (D4). Nothing is reported while this
    /// node's own loop lags (the silence may be its own) or for a peer whose entry is not alive here.
    mutating func reportFailure(of peer: PeerDescriptor, evidence: FailureEvidence) {
        guard configuration.directory.enabled, !stopping, localHealth.score == 0, let record = directory[peer.id], record.status == .alive,
              directory.suspicions[peer.id]?.reporters[identity.id] == nil else { return }
        let report = FailureReport(subject: peer.id, subjectEpoch: record.epoch, subjectVersion: record.version,
                                   reporter: identity.id, evidence: evidence)
        counters.failureReportsSent += 1
        logger.info("reporting a member's failure", metadata: ["member": "\(peer)", "evidence": "\(evidence)"])
        if configuration.directory.broadcastsUpdates { publishInternal(DirectoryCodec.encode(.report(report)), topic: .directory) }
        applyReport(report)
    }

    /// A dial to a member's address was refused: nothing listens there any more. This is how the members whose
    /// neighbours all died with them are found (shuffles probe passive entries, healing probes lost peers).
    mutating func reportRefusedDial(to address: PeerAddress) {
        guard configuration.directory.enabled, address.isLiteral,
              let member = directory.records.lazy.filter({ $0.status == .alive }).map(\.entry).first(where: { $0.peer.address == address }),
              member.id != identity.id else { return }
        reportFailure(of: member.peer, evidence: .closed)
    }

    /// "id (evidence), ..." in id order, for the log.
    private static func reporters(_ suspicion: DirectoryState.Suspicion) -> String {
        suspicion.reporters.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value))" }.joined(separator: ", ")
    }

    mutating func suspicionsDue() {
        for id in directory.suspicionsDue(at: now) {
            let cause = "suspected by \(directory.suspicions[id].map(Self.reporters) ?? "nobody"), unrefuted for \(configuration.directory.suspicionTimeout)"
            markFailed(id, because: cause)
        }
        armSuspicionTimer()
    }

    private mutating func armSuspicionTimer() {
        guard let deadline = directory.earliestSuspicionDeadline else {
            if armedTimers.contains(.suspicion) { effects.append(.cancelTimer(.suspicion)) }
            return
        }
        effects.append(.armTimer(.suspicion, after: max(.zero, deadline.since(now))))
    }

    // MARK: Reconciliation

    /// The directory's share of the anti-entropy tick: tombstones past their time go, and one active peer
    /// that speaks the directory gets a summary.
    mutating func directoryRound() {
        guard configuration.directory.enabled else { return }
        for entry in directory.reap(at: now, configuration: configuration.directory) {
            effects.append(.memberEvent(MemberEvent(kind: .reaped, entry: entry)))
        }
        let speakers = active.ids.filter { carries(.directory, to: $0) }
        if let peer = speakers.randomElement(using: &random) { sendDirectorySummary(to: peer) }
    }

    /// A new neighbour compares directories at once: a joiner gets the whole directory from its contact.
    mutating func sendDirectorySummary(to peer: NodeID) {
        guard configuration.directory.enabled, carries(.directory, to: peer) else { return }
        counters.directoryExchanges += 1
        send(.directorySummary(DirectorySummary(count: UInt32(directory.count), rootHash: directory.rootHash)), to: peer)
    }

    mutating func receivedDirectorySummary(_ summary: DirectorySummary, from peer: PeerDescriptor) {
        guard configuration.directory.enabled, summary.count != UInt32(directory.count) || summary.rootHash != directory.rootHash else { return }
        send(.directoryBuckets(DirectoryBuckets(hashes: directory.bucketHashes)), to: peer.id)
    }

    mutating func receivedDirectoryBuckets(_ buckets: DirectoryBuckets, from peer: PeerDescriptor) {
        guard configuration.directory.enabled else { return }
        let differing = (0..<DirectoryState.bucketCount).filter { buckets.hashes[$0] != directory.bucketHashes[$0] }
        guard !differing.isEmpty else { return }
        let entries = directory.entries(inBuckets: Set(differing), byteBudget: entryBudget)
        send(.directoryEntries(DirectoryEntries(wanted: differing.map(UInt8.init), entries: entries)), to: peer.id)
    }

    mutating func receivedDirectoryEntries(_ message: DirectoryEntries, from peer: PeerDescriptor) {
        guard configuration.directory.enabled else { return }
        var notices: [MemberEntry] = []
        for entry in message.entries {
            do throws(DirectoryError) {
                try directory.limits.validate(entry)
            } catch {
                counters.directoryUpdatesRejected += 1
                continue
            }
            if let notice = applyEntry(entry) { notices.append(notice) }
        }
        // What the peer just sent needs no answer: only what this node holds newer or the peer lacks, and
        // notices of entries removed here that the peer still holds.
        let sent = Set(message.entries.map { EntryKey(id: $0.id, precedence: $0.precedence) })
        let answer = message.wanted.isEmpty ? [] : directory.entries(inBuckets: Set(message.wanted.map(Int.init)), byteBudget: entryBudget)
            .filter { !sent.contains(EntryKey(id: $0.id, precedence: $0.precedence)) }
        guard !answer.isEmpty || !notices.isEmpty else { return }
        send(.directoryEntries(DirectoryEntries(wanted: [], entries: notices + answer)), to: peer.id)
    }

    private struct EntryKey: Hashable {
        var id: NodeID
        var precedence: MemberEntry.Precedence
    }

    /// Entry bytes per reply: the configured cap, within a frame.
    private var entryBudget: Int {
        min(configuration.directory.maximumEntryBytesPerExchange, configuration.maximumFrameSize - WireFormat.bodyHeaderSize - 4 - 256)
    }

    // MARK: Reading

    /// Every member this node knows of, in id order.
    public func members() -> [Member] {
        directory.records.map { ($0.id, $0) }.sorted { $0.0 < $1.0 }.map { id, record in
            Member(entry: record.entry, isSuspect: directory.suspicions[id] != nil, lastSeen: record.lastSeen, since: record.since)
        }
    }

    public var memberCount: Int { directory.count }
}

/// A member as this node sees it: the entry, and what this node observed of it.
public struct Member: Hashable, Sendable {
    public var entry: MemberEntry
    /// Reported by a neighbour and not yet failed or refuted (a local view; suspicion is not spread).
    public var isSuspect: Bool
    /// When this node last had news of the member, on its driver's clock.
    public var lastSeen: Timestamp
    /// When its status last changed here.
    public var since: Timestamp

    /// `alive`, `suspect`, `failed` or `left`.
    public var statusName: String { isSuspect && entry.status == .alive ? "suspect" : entry.status.description }
}

/// A change to one member's entry as applied here.
public struct MemberEvent: Hashable, Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case joined, updated, suspect, alive, failed, left, reaped
    }

    public var kind: Kind
    public var entry: MemberEntry

    public init(kind: Kind, entry: MemberEntry) {
        self.kind = kind
        self.entry = entry
    }
}

extension MemberEntry {
    /// The entry a node configured so starts with: alive, its configured tags, version at least 1. The
    /// simulator builds the entries of a preloaded directory with it too.
    public static func first(of configuration: NodeConfiguration) -> MemberEntry {
        let settings = configuration.directory
        return MemberEntry(peer: configuration.identity, epoch: configuration.epoch, version: max(1, settings.initialVersion),
                           status: .alive, tags: MemberTags(settings.tags))
    }
}
