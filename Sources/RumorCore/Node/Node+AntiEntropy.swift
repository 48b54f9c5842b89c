/// Anti-entropy, which plain Plumtree lacks: neighbours compare compact digests of the message ids they hold
/// (ranges of sequence numbers per origin and epoch) and pull what they miss, so a node cut off for a
/// while, or a healed partition, gets every message still within the retention window.
extension Node {
    /// The most ids one digest exchange asks for or serves: a forged digest of huge ranges costs the
    /// sender, not us.
    static let maximumPulledPerExchange = 4096

    mutating func antiEntropyRound() {
        plumtree.cache.expire(at: now)
        plumtree.seen.expire(at: now)
        if let peer = active.randomPeer(using: &random) { sendDigest(to: peer.id) }
    }

    mutating func sendDigest(to peer: NodeID) {
        guard plumtree.cache.count > 0 else { return }
        var entries: [DigestEntry] = []
        var size = 0
        let budget = configuration.maximumFrameSize - WireFormat.bodyHeaderSize - 2
        for entry in plumtree.cache.digest(limit: configuration.broadcast.digestEntriesPerFrame) {
            var trimmed = entry
            let fixed = 1 + entry.origin.rawValue.utf8.count + 8 + 2
            let room = max(0, (budget - size - fixed) / 16)
            if room == 0 { break }
            if trimmed.ranges.count > room { trimmed.ranges = Array(trimmed.ranges.prefix(room)) }
            size += fixed + 16 * trimmed.ranges.count
            entries.append(trimmed)
        }
        send(.digest(Digest(entries: entries)), to: peer)
    }

    /// Asks the peer for every id its digest names that this node has never seen.
    mutating func receivedDigest(_ digest: Digest, from peer: PeerDescriptor) {
        var wanted: [DigestEntry] = []
        var budget = Self.maximumPulledPerExchange
        for entry in digest.entries where budget > 0 {
            var sequences: [UInt64] = []
            for range in entry.ranges where budget > 0 {
                var sequence = range.lowerBound
                while budget > 0 {
                    let id = MessageID(origin: entry.origin, epoch: entry.epoch, sequence: sequence)
                    if !plumtree.seen.contains(id), plumtree.pulled.count < Self.maximumPulledPerExchange * 4 {
                        sequences.append(sequence)
                        plumtree.pulled.insert(id)
                        budget -= 1
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
        counters.pulled += Self.maximumPulledPerExchange - budget
        send(.pull(Digest(entries: wanted)), to: peer.id)
    }

    /// Sends the payloads a peer asked for that this node still holds.
    mutating func receivedPull(_ pull: Digest, from peer: PeerDescriptor) {
        var budget = Self.maximumPulledPerExchange
        for entry in pull.entries {
            for range in entry.ranges {
                var sequence = range.lowerBound
                while budget > 0 {
                    budget -= 1
                    let id = MessageID(origin: entry.origin, epoch: entry.epoch, sequence: sequence)
                    if let cached = plumtree.cache[id] {
                        counters.payloadBytesOut += cached.payload.count
                        send(.gossip(Gossip(id: id, round: cached.round &+ 1, payload: cached.payload)), to: peer.id)
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
