/// The validated samples a node holds (rule S3): distinct peers, each the endpoint of a walk that answered
/// over a link of its own, with when it answered and how often an application has been given it.
struct SampleReservoir: Equatable {
    struct Entry: Equatable {
        var peer: PeerDescriptor
        var validatedAt: Timestamp
        /// The walk that found it: when it started, and its nonce (random). Draws and evictions go by these,
        /// never by when the answer came: an answer's delay depends on where the walk ended (an endpoint
        /// already linked to the origin answers sooner than one that must dial), and an order by arrival
        /// would favour some endpoints over others.
        var walkStartedAt: Timestamp
        var walkNonce: UInt64
        /// How many draws have returned this sample.
        var handedOut = 0

        /// Whether this sample's walk started before `other`'s; walks started together are ordered by nonce.
        func startedBefore(_ other: Entry) -> Bool {
            walkStartedAt != other.walkStartedAt ? walkStartedAt < other.walkStartedAt : walkNonce < other.walkNonce
        }
    }

    let capacity: Int
    /// Oldest walk first.
    private(set) var entries: [Entry] = [] { didSet { revision &+= 1 } }
    /// Counts changes to `entries` (see `ActiveView.revision`).
    private(set) var revision: UInt64 = 0

    init(capacity: Int) { self.capacity = max(1, capacity) }

    /// Takes in the answer to `walk`. A peer already held is validated afresh and counts as a new sample
    /// (another walk ended there); a full reservoir drops the sample of its oldest walk.
    mutating func insert(_ peer: PeerDescriptor, at now: Timestamp, walk: SamplingState.Walk) {
        entries.removeAll { $0.peer.id == peer.id || $0.peer.address == peer.address }
        let entry = Entry(peer: peer, validatedAt: now, walkStartedAt: walk.startedAt, walkNonce: walk.nonce)
        entries.insert(entry, at: entries.firstIndex { entry.startedBefore($0) } ?? entries.endIndex)
        if entries.count > capacity { entries.removeFirst(entries.count - capacity) }
    }

    /// Drops the samples naming `id` or listening at `address`; whether there was one.
    @discardableResult
    mutating func remove(id: NodeID? = nil, address: PeerAddress? = nil) -> Bool {
        let before = entries.count
        entries.removeAll { $0.peer.id == id || $0.peer.address == address }
        return entries.count != before
    }

    /// Drops the samples validated more than `lifetime` before `now`.
    mutating func expire(olderThan lifetime: Duration, at now: Timestamp) {
        entries.removeAll { now.since($0.validatedAt) > lifetime }
    }

    /// Up to `count` distinct samples whose walks started at or after `since`, none in `excluded`, and marks them given
    /// out. Preferred: given out fewer times (each walk's answer is one independent draw, so a stream of draws
    /// repeats none while walks keep up), then from a later walk.
    mutating func take(_ count: Int, walkStartedSince since: Timestamp, excluding excluded: Set<NodeID> = []) -> [PeerSample] {
        guard count > 0, !entries.isEmpty else { return [] }
        let order = entries.indices.filter { entries[$0].walkStartedAt >= since && !excluded.contains(entries[$0].peer.id) }.sorted { left, right in
            let (a, b) = (entries[left], entries[right])
            if a.handedOut != b.handedOut { return a.handedOut < b.handedOut }
            return b.startedBefore(a)
        }
        let chosen = order.prefix(count)
        for index in chosen { entries[index].handedOut += 1 }
        return chosen.map { PeerSample(peer: entries[$0].peer, validatedAt: entries[$0].validatedAt) }
    }
}

/// A peer given to an application: a walk's endpoint and when it answered, or, with no time, an active peer
/// standing in while the reservoir is short (live, but not a uniform pick).
public struct PeerSample: Hashable, Sendable {
    public var peer: PeerDescriptor
    public var validatedAt: Timestamp?

    public init(peer: PeerDescriptor, validatedAt: Timestamp?) {
        self.peer = peer
        self.validatedAt = validatedAt
    }
}
