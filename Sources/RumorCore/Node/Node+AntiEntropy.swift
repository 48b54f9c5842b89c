/// Anti-entropy, which plain Plumtree lacks: neighbours compare compact digests of the message ids they hold
/// (ranges of sequence numbers per origin and epoch) and pull what they miss, so a node cut off for a
/// while, or a healed partition, gets every message still within the retention window.
extension Node {
    /// The most ids one digest exchange looks at, asks for or serves: a forged digest of huge ranges costs
    /// the sender, not us.
    static let maximumPulledPerExchange = 4096
    /// The most payload bytes one pull is answered with, well under a peer's write-queue limit; the rest is
    /// pulled again at the next exchange.
    static let maximumPullReplyBytes = 2 << 20

    mutating func antiEntropyRound() {
        plumtree.expireMessages(at: now)
        // A pull whose answer never came (lost with its link, or evicted at the peer) may be asked again.
        let patience = configuration.broadcast.antiEntropyInterval * 4
        for id in plumtree.pulled.filter({ now.since($0.value.at) > patience }).map(\.key) { plumtree.pulled[id] = nil }
        if let peer = active.randomPeer(using: &random) { sendDigest(to: peer.id) }
    }

    /// Sends this node's digest to `peer`, unless the peer already has a digest of everything held and has
    /// pulled nothing since: ids only leave the digest after that (so the peer cannot lack them from this
    /// node), a new link starts with none sent, and a pull asks for the next one.
    mutating func sendDigest(to peer: NodeID) {
        guard plumtree.cache.count > 0, plumtree.digestedInsertions[peer] != plumtree.cache.insertions else { return }
        plumtree.digestedInsertions[peer] = plumtree.cache.insertions
        var entries: [DigestEntry] = []
        var size = 0
        let budget = configuration.maximumFrameSize - WireFormat.bodyHeaderSize - 2
        for entry in plumtree.cache.digest(limit: min(configuration.broadcast.digestEntriesPerFrame, Int(UInt16.max))) {
            var trimmed = entry
            let fixed = 1 + entry.origin.rawValue.utf8.count + 8 + 2
            let room = max(0, (budget - size - fixed) / 16)
            if room == 0 { break }
            if trimmed.ranges.count > min(room, Int(UInt16.max)) { trimmed.ranges = Array(trimmed.ranges.prefix(min(room, Int(UInt16.max)))) }
            size += fixed + 16 * trimmed.ranges.count
            entries.append(trimmed)
        }
        send(.digest(Digest(entries: entries)), to: peer)
    }

    /// Asks the peer for every id its digest names that this node has never seen.
    mutating func receivedDigest(_ digest: Digest, from peer: PeerDescriptor) {
        var wanted: [DigestEntry] = []
        var pulledCount = 0
        // Every id looked at costs one unit, pulled or not, so no digest can make this loop long.
        var scanBudget = Self.maximumPulledPerExchange * 4
        // What our own cache holds is seen: only the rest needs looking at id by id. Neighbours hold much the
        // same messages, so this is usually nothing.
        for entry in plumtree.cache.unheldParts(of: digest.entries) where scanBudget > 0 {
            var sequences: [UInt64] = []
            for range in entry.ranges where scanBudget > 0 {
                var sequence = range.lowerBound
                while scanBudget > 0 {
                    scanBudget -= 1
                    let id = MessageID(origin: entry.origin, epoch: entry.epoch, sequence: sequence)
                    if !plumtree.seen.contains(id), plumtree.pulled[id] == nil, pulledCount < Self.maximumPulledPerExchange,
                       plumtree.pulled.count < configuration.broadcast.maximumPulled {
                        sequences.append(sequence)
                        plumtree.pulled[id] = (peer.id, now)
                        pulledCount += 1
                    }
                    if sequence == range.upperBound { break }
                    sequence += 1
                }
            }
            if !sequences.isEmpty {
                wanted.append(DigestEntry(origin: entry.origin, epoch: entry.epoch, ranges: sequences.map { $0...$0 }.coalesced()))
            }
        }
        guard !wanted.isEmpty else { return }
        counters.pulled += pulledCount
        send(.pull(Digest(entries: wanted)), to: peer.id)
    }

    /// Sends the payloads a peer asked for that this node still holds.
    mutating func receivedPull(_ pull: Digest, from peer: PeerDescriptor) {
        // A peer that pulls is catching up, perhaps beyond what one exchange serves: it gets the next tick's
        // digest even if nothing new came, until it pulls no more.
        if active.contains(peer.id) { plumtree.digestedInsertions[peer.id] = nil }
        var budget = Self.maximumPulledPerExchange
        var bytes = 0
        for entry in pull.entries {
            for range in entry.ranges {
                var sequence = range.lowerBound
                while budget > 0, bytes < Self.maximumPullReplyBytes {
                    budget -= 1
                    let id = MessageID(origin: entry.origin, epoch: entry.epoch, sequence: sequence)
                    // A peer of an older version asks for ids of topics its links cannot carry: it never gets them.
                    if let cached = plumtree.cache[id], carries(cached.topic, to: peer.id) {
                        bytes += cached.payload.count
                        counters.payloadBytesOut += cached.payload.count
                        send(.gossip(Gossip(id: id, round: cached.round &+ 1, payload: cached.payload, topic: cached.topic)), to: peer.id)
                    }
                    if sequence == range.upperBound { break }
                    sequence += 1
                }
            }
        }
    }
}

extension Array where Element == ClosedRange<UInt64> {
    /// Sorted single-point ranges merged where they touch.
    func coalesced() -> [ClosedRange<UInt64>] {
        var result: [ClosedRange<UInt64>] = []
        for range in self {
            if let last = result.last, last.upperBound &+ 1 == range.lowerBound {
                result[result.count - 1] = last.lowerBound...range.upperBound
            } else {
                result.append(range)
            }
        }
        return result
    }
}
