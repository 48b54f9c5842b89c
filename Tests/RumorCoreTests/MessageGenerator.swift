@testable import RumorCore

/// Random messages of every type from a seeded generator: the same seed gives the same messages.
struct MessageGenerator {
    var random: SeededRandom

    init(seed: UInt64) { random = SeededRandom(seed: seed) }

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &random) }
    mutating func bool() -> Bool { Bool.random(using: &random) }

    mutating func text(_ lengths: ClosedRange<Int>) -> String {
        // Mix ASCII with multi-byte scalars so lengths in bytes and characters differ.
        let pool: [Character] = Array("abcdefghijklmnopqrstuvwxyz0123456789-_.") + ["é", "ß", "漢", "🙂"]
        var result = ""
        let target = int(lengths)
        while result.utf8.count < target {
            let next = pool[int(0...pool.count - 1)]
            if result.utf8.count + String(next).utf8.count > lengths.upperBound { break }
            result.append(next)
        }
        return result.isEmpty ? "n" : result
    }

    mutating func nodeID() -> NodeID { NodeID(text(1...NodeID.maximumLength))! }

    mutating func address() -> PeerAddress {
        let host = bool() ? "127.0.\(int(0...255)).\(int(1...254))" : text(1...40)
        return PeerAddress(host: host, port: UInt16(int(1...65535)))
    }

    mutating func peer() -> PeerDescriptor { PeerDescriptor(id: nodeID(), address: address()) }

    mutating func messageID() -> MessageID {
        MessageID(origin: nodeID(), epoch: random.next(), sequence: random.next())
    }

    mutating func entries() -> [ShuffleEntry] {
        (0..<int(0...8)).map { _ in ShuffleEntry(peer: peer(), age: UInt16(int(0...65535))) }
    }

    mutating func digest() -> Digest {
        Digest(entries: (0..<int(0...5)).map { _ in
            var ranges: [ClosedRange<UInt64>] = []
            var next = UInt64(int(0...100))
            for _ in 0..<int(0...4) {
                let upper = next + UInt64(int(0...50))
                ranges.append(next...upper)
                next = upper + 2 + UInt64(int(0...10))
            }
            return DigestEntry(origin: nodeID(), epoch: random.next(), ranges: ranges)
        })
    }

    mutating func message(of type: MessageType) -> Message {
        switch type {
        case .handshake:
            .handshake(Handshake(version: UInt8(int(0...255)), sender: peer(), epoch: random.next()))
        case .handshakeRejected:
            .handshakeRejected(HandshakeRejection(
                reason: HandshakeRejection.Reason.allCases[int(0...HandshakeRejection.Reason.allCases.count - 1)],
                supportedVersion: UInt8(int(0...255)), detail: int(0...3) == 0 ? "" : text(1...200)))
        case .versions:
            .versions(VersionOffer(lowest: UInt8(int(0...100)), highest: UInt8(int(100...255)), extensions: (0..<int(0...3)).map { _ in
                WireExtension(tag: UInt8(int(0...255)), value: (0..<int(0...40)).map { _ in UInt8(int(0...255)) })
            }))
        case .ping: .ping(RoundTripProbe(token: random.next()))
        case .pong: .pong(RoundTripProbe(token: random.next()))
        case .join: .join
        case .forwardJoin: .forwardJoin(ForwardJoin(joiner: peer(), ttl: UInt8(int(0...255))))
        case .neighbor: .neighbor(NeighborRequest(priority: bool() ? .high : .low, handoff: bool() ? peer() : nil))
        case .neighborReply: .neighborReply(NeighborReply(accepted: bool()))
        case .disconnect: .disconnect(Disconnect(alive: bool(), handoff: bool() ? peer() : nil))
        case .shuffle: .shuffle(Shuffle(origin: peer(), ttl: UInt8(int(0...255)), entries: entries()))
        case .shuffleReply: .shuffleReply(ShuffleReply(entries: entries()))
        case .keepAlive: .keepAlive
        case .gossip:
            .gossip(Gossip(id: messageID(), round: UInt32(truncatingIfNeeded: random.next()),
                           payload: (0..<int(0...300)).map { _ in UInt8(int(0...255)) }))
        case .iHave:
            .iHave(IHave(announcements: (0..<int(0...20)).map { _ in
                Announcement(id: messageID(), round: UInt32(truncatingIfNeeded: random.next()))
            }))
        case .graft: .graft(Graft(id: bool() ? messageID() : nil, round: UInt32(truncatingIfNeeded: random.next())))
        case .prune: .prune
        case .digest: .digest(digest())
        case .pull: .pull(digest())
        case .sampleWalk: .sampleWalk(SampleWalk(origin: peer(), nonce: random.next(), ttl: UInt8(int(0...255))))
        case .sampleReply: .sampleReply(SampleReply(nonce: random.next()))
        case .topicGossip:
            .gossip(Gossip(id: messageID(), round: UInt32(truncatingIfNeeded: random.next()),
                           payload: (0..<int(0...300)).map { _ in UInt8(int(0...255)) }, topic: TopicID(high: random.next(), low: random.next())))
        case .directorySummary: .directorySummary(DirectorySummary(count: UInt32(truncatingIfNeeded: random.next()), rootHash: random.next()))
        case .directoryBuckets: .directoryBuckets(DirectoryBuckets(hashes: (0..<DirectoryState.bucketCount).map { _ in random.next() }))
        case .directoryEntries:
            .directoryEntries(DirectoryEntries(wanted: (0..<int(0...10)).map { _ in UInt8(int(0...255)) },
                                               entries: (0..<int(0...4)).map { _ in memberEntry() }))
        }
    }

    mutating func memberEntry() -> MemberEntry {
        var tags: [String: String] = [:]
        for _ in 0..<int(0...5) { tags[text(1...20)] = int(0...3) == 0 ? "" : text(1...60) }
        return MemberEntry(peer: peer(), epoch: random.next(), version: random.next(),
                           status: MemberStatus.allCases[int(0...MemberStatus.allCases.count - 1)], tags: MemberTags(tags))
    }

    mutating func anyMessage() -> Message {
        message(of: MessageType.allCases[int(0...MessageType.allCases.count - 1)])
    }
}
