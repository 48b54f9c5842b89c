/// Everything broadcast keeps: the tree's eager and lazy links, payloads and seen ids, payloads announced
/// but missing, IHAVEs waiting for their batch, and this node's own sequence counter.
struct PlumtreeState {
    /// A peer that announced a payload this node lacks: the hops it had taken there, and when the IHAVE came.
    struct Announcer: Equatable {
        var peer: NodeID
        var round: UInt32
        var heardAt: Timestamp
    }

    var eager: [NodeID] = []
    var lazy: [NodeID] = []
    var cache: PayloadCache
    var seen: SeenSet
    /// Announcers of each missing payload, in the order their IHAVEs arrived.
    var missing: [MessageID: [Announcer]] = [:]
    /// How long the tree's copy of a payload takes to come after its first IHAVE, when it comes unasked:
    /// the first GRAFT waits until that is out of character (B6). Nil until a copy is measured.
    var treeCopyLag: SmoothedDuration?
    /// When each missing payload is next asked for.
    var grafts = GraftSchedule()
    /// Duplicates in a row from each eager peer since its last first copy.
    var duplicateStreak: [NodeID: Int] = [:]
    var lazyQueue: [NodeID: [Announcement]] = [:]
    /// Peers sent a GRAFT and no PRUNE from them since: a PRUNE from one may have crossed the GRAFT.
    var graftedSincePrune: Set<NodeID> = []
    var batchArmed = false
    var nextSequence: UInt64 = 0
    /// Ids asked for by anti-entropy, from whom and when: the answer arrives off the tree and must not
    /// reshape it.
    var pulled: [MessageID: (peer: NodeID, at: Timestamp)] = [:]
    /// The cache's insertion count when each active peer last got a digest: a digest goes to a peer again
    /// only once something new is held (an idle cluster's digests would otherwise repeat every origin of the
    /// last `payloadRetention`, every tick, for nothing).
    var digestedInsertions: [NodeID: UInt64] = [:]

    init(_ configuration: BroadcastConfiguration) {
        cache = PayloadCache(maximumCount: configuration.payloadCacheCount, maximumBytes: configuration.payloadCacheBytes,
                             retention: configuration.payloadRetention)
        seen = SeenSet(maximumCount: configuration.seenCount, maximumBytes: configuration.seenBytes, retention: configuration.seenRetention)
    }

    /// Whether `id` was delivered here: its payload is cached, or its id is remembered after the payload left.
    func hasSeen(_ id: MessageID) -> Bool { cache[id] != nil || seen.contains(id) }

    /// Ids remembered as delivered, with or without their payloads.
    var seenCount: Int { cache.count + seen.count }

    /// Keeps a delivered payload; the ids of payloads pushed out to make room are remembered in `seen`.
    mutating func store(_ id: MessageID, _ entry: PayloadCache.Entry) {
        for departure in cache.insert(id, entry) { seen.insert(departure.id, at: departure.storedAt) }
    }

    /// Drops payloads past their retention (remembering their ids) and ids past theirs.
    mutating func expireMessages(at now: Timestamp) {
        for departure in cache.expire(at: now) { seen.insert(departure.id, at: departure.storedAt) }
        seen.expire(at: now)
    }

    mutating func makeEager(_ peer: NodeID) {
        lazy.removeAll { $0 == peer }
        if !eager.contains(peer) { eager.append(peer) }
    }

    mutating func makeLazy(_ peer: NodeID) {
        eager.removeAll { $0 == peer }
        if !lazy.contains(peer) { lazy.append(peer) }
    }

    /// One more measure of how late an unasked tree copy came after its first IHAVE.
    mutating func recordTreeCopyLag(_ lag: Duration) {
        if treeCopyLag == nil { treeCopyLag = SmoothedDuration(typical: lag) } else { treeCopyLag!.record(lag) }
    }

    /// Drops a queued IHAVE for `id` to `peer`, once the peer has shown it holds the payload (it announced it
    /// or pushed it): on a lazy link both ends would otherwise announce every message to each other.
    mutating func withdrawAnnouncement(of id: MessageID, to peer: NodeID) -> Bool {
        guard let position = lazyQueue[peer]?.firstIndex(where: { $0.id == id }) else { return false }
        lazyQueue[peer]!.remove(at: position)
        return true
    }

    mutating func remove(_ peer: NodeID) {
        eager.removeAll { $0 == peer }
        lazy.removeAll { $0 == peer }
        lazyQueue[peer] = nil
        duplicateStreak[peer] = nil
        graftedSincePrune.remove(peer)
        digestedInsertions[peer] = nil
        // Pulls it never answered may be asked of others at once: waiting out their patience can outlast
        // the retention of the payloads (or the life of a node that just joined through a busy peer).
        pulled = pulled.filter { $0.value.peer != peer }
    }
}
