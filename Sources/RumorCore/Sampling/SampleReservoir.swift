/// The validated samples a node holds (rule S3): distinct peers, each the endpoint of a walk that answered
/// over a link of its own, with when it answered and how often an application has been given it.
struct SampleReservoir: Equatable {
    struct Entry: Equatable {
        var peer: PeerDescriptor
        var validatedAt: Timestamp
        /// How many draws have returned this sample.
        var handedOut = 0
    }

    let capacity: Int
    /// Oldest validation first.
    private(set) var entries: [Entry] = []

    init(capacity: Int) { self.capacity = max(1, capacity) }

    /// Takes in a walk's answer. A peer already held is validated afresh and counts as a new sample (another
    /// walk ended there); a full reservoir drops its oldest sample.
    mutating func insert(_ peer: PeerDescriptor, at now: Timestamp) {
        entries.removeAll { $0.peer.id == peer.id || $0.peer.address == peer.address }
        entries.append(Entry(peer: peer, validatedAt: now))
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

    /// Samples no draw has returned yet, validated at or after `freshSince`.
    func unusedCount(freshSince: Timestamp) -> Int {
        entries.count { $0.handedOut == 0 && $0.validatedAt >= freshSince }
    }

    /// Up to `count` distinct samples validated at or after `since`, none in `excluded`, and marks them given
    /// out. Preferred: given out fewer times (each walk's answer is one independent draw, so a stream of draws
    /// repeats none while walks keep up), then validated later.
    mutating func take(_ count: Int, validatedSince since: Timestamp, excluding excluded: Set<NodeID> = []) -> [PeerSample] {
        guard count > 0, !entries.isEmpty else { return [] }
        let order = entries.indices.filter { entries[$0].validatedAt >= since && !excluded.contains(entries[$0].peer.id) }.sorted { left, right in
            let (a, b) = (entries[left], entries[right])
            if a.handedOut != b.handedOut { return a.handedOut < b.handedOut }
            return a.validatedAt > b.validatedAt
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
