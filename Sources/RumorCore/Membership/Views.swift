/// The active view: peers with an open link, symmetric (each holds the other). Kept in an array so that
/// every choice among them is deterministic for a given random seed.
struct ActiveView {
    struct Entry {
        var peer: PeerDescriptor
        var epoch: Epoch
        var since: Timestamp
    }

    private(set) var entries: [Entry] = [] { didSet { revision &+= 1 } }
    /// Counts changes to `entries`: the invariant checker skips the view's own checks while it is unchanged.
    private(set) var revision: UInt64 = 0

    var count: Int { entries.count }
    var isEmpty: Bool { entries.isEmpty }
    var ids: [NodeID] { entries.map(\.peer.id) }

    func contains(_ id: NodeID) -> Bool { entries.contains { $0.peer.id == id } }
    func contains(address: PeerAddress) -> Bool { entries.contains { $0.peer.address == address } }

    mutating func add(_ entry: Entry) {
        entries.removeAll { $0.peer.id == entry.peer.id }
        entries.append(entry)
    }

    @discardableResult
    mutating func remove(_ id: NodeID) -> Entry? {
        guard let index = entries.firstIndex(where: { $0.peer.id == id }) else { return nil }
        return entries.remove(at: index)
    }

    func randomPeer<G: RandomNumberGenerator>(excluding excluded: Set<NodeID> = [], using random: inout G) -> PeerDescriptor? {
        entries.filter { !excluded.contains($0.peer.id) }.randomElement(using: &random)?.peer
    }
}

/// The passive view: addresses of peers believed alive, each with a Cyclon age that grows every shuffle
/// round. The oldest entry is the next to be probed, and (after the entries just sent away in a shuffle)
/// the first evicted when fresh entries arrive, so dead addresses drain out.
struct PassiveView {
    struct Entry: Equatable {
        var peer: PeerDescriptor
        var age: UInt16
    }

    let capacity: Int
    private(set) var entries: [Entry] = [] { didSet { revision &+= 1 } }
    /// Counts changes to `entries` (see `ActiveView.revision`).
    private(set) var revision: UInt64 = 0

    init(capacity: Int) { self.capacity = capacity }

    var count: Int { entries.count }
    var isEmpty: Bool { entries.isEmpty }

    func contains(_ id: NodeID) -> Bool { entries.contains { $0.peer.id == id } }

    @discardableResult
    mutating func remove(_ id: NodeID) -> Entry? {
        guard let index = entries.firstIndex(where: { $0.peer.id == id }) else { return nil }
        return entries.remove(at: index)
    }

    mutating func remove(address: PeerAddress) {
        entries.removeAll { $0.peer.address == address }
    }

    /// Adds or refreshes `peer`, keeping the younger age. When full, evicts first one of `preferredEvictions`
    /// (entries just sent to a shuffle partner, which now holds them), then the oldest.
    mutating func insert(_ peer: PeerDescriptor, age: UInt16, preferredEvictions: [NodeID] = []) {
        if let index = entries.firstIndex(where: { $0.peer.id == peer.id }) {
            entries[index].age = min(entries[index].age, age)
            entries[index].peer.address = peer.address
            return
        }
        entries.removeAll { $0.peer.address == peer.address }
        if entries.count >= capacity {
            if let sentAway = preferredEvictions.first(where: { contains($0) }) {
                remove(sentAway)
            } else if let oldest = oldestIndex {
                entries.remove(at: oldest)
            }
        }
        guard entries.count < capacity else { return }
        entries.append(Entry(peer: peer, age: age))
    }

    mutating func ageAll() {
        for index in entries.indices where entries[index].age < UInt16.max { entries[index].age += 1 }
    }

    mutating func resetAge(_ id: NodeID) {
        if let index = entries.firstIndex(where: { $0.peer.id == id }) { entries[index].age = 0 }
    }

    private var oldestIndex: Int? {
        entries.indices.max { entries[$0].age < entries[$1].age }
    }

    var oldest: Entry? { oldestIndex.map { entries[$0] } }

    func randomEntries<G: RandomNumberGenerator>(_ count: Int, excluding excluded: Set<NodeID> = [], using random: inout G) -> [Entry] {
        Array(entries.filter { !excluded.contains($0.peer.id) }.shuffled(using: &random).prefix(count))
    }
}

/// Peers lost to failure (and the seeds), probed now and then with backoff so that a healed partition or
/// a restarted peer is found again.
struct LostPeerMemory {
    struct Entry {
        var address: PeerAddress
        var id: NodeID?
        var isSeed: Bool
        /// Lost to failure (rather than only a seed): once it answers, it is linked to again.
        var lostToFailure: Bool
        var nextProbe: Timestamp
        var delay: Duration
        var failures: Int
        /// For a seed: how many more of its probes may link to it when it answers (see `seedBridgingProbes`).
        var bridges = 0
    }

    let capacity: Int
    private(set) var entries: [Entry] = []

    init(capacity: Int) { self.capacity = capacity }

    mutating func remember(_ address: PeerAddress, id: NodeID?, isSeed: Bool, lostToFailure: Bool, firstProbe: Timestamp, delay: Duration,
                           bridges: Int = 0) {
        if let index = entries.firstIndex(where: { $0.address == address }) {
            entries[index].id = id ?? entries[index].id
            entries[index].lostToFailure = entries[index].lostToFailure || lostToFailure
            entries[index].failures = 0
            entries[index].delay = delay
            entries[index].nextProbe = min(entries[index].nextProbe, firstProbe)
            return
        }
        if entries.count >= capacity, let victim = entries.indices.first(where: { !entries[$0].isSeed }) {
            entries.remove(at: victim)
        }
        guard entries.count < capacity else { return }
        entries.append(Entry(address: address, id: id, isSeed: isSeed, lostToFailure: lostToFailure, nextProbe: firstProbe, delay: delay,
                             failures: 0, bridges: bridges))
    }

    /// Entries whose probe is due, earliest first.
    func due(at now: Timestamp) -> [Entry] {
        entries.filter { $0.nextProbe <= now }.sorted { $0.nextProbe < $1.nextProbe }
    }

    mutating func update(_ address: PeerAddress, _ change: (inout Entry) -> Void) {
        if let index = entries.firstIndex(where: { $0.address == address }) { change(&entries[index]) }
    }

    /// Forgets a peer found again; a seed stays, as a seed only.
    mutating func forget(_ address: PeerAddress) {
        entries.removeAll { $0.address == address && !$0.isSeed }
        update(address) { $0.lostToFailure = false }
    }

    func entry(_ address: PeerAddress) -> Entry? { entries.first { $0.address == address } }
}
