import Testing
@testable import RumorCore

/// A node with one established peer, "peer", that joined through it: the peer is in its active view.
func nodeWithOnePeer(configure: (inout NodeConfiguration) -> Void = { _ in }) -> (node: Node, link: LinkID, peer: PeerDescriptor) {
    var settings = configuration(1, seeds: [])
    configure(&settings)
    var node = Node(configuration: settings, randomSeed: 1)
    let link = LinkID(1)
    let peer = PeerDescriptor(id: NodeID("peer")!, address: .init(host: "127.0.0.2", port: 7000))
    _ = node.handle(.linkOpened(link, .inbound(remote: "127.0.0.2:40000")), at: .zero)
    _ = node.handle(.received(link, .handshake(Handshake(sender: peer, epoch: 1))), at: .zero)
    _ = node.handle(.received(link, .versions(VersionOffer(WireFormat.versions))), at: .zero)
    _ = node.handle(.received(link, .join), at: .zero)
    return (node, link, peer)
}

@Suite("Limits: what a misbehaving peer can cost, and what it costs the peer")
struct LimitTests {
    @Test("A GOSSIP payload over the payload limit is dropped, neither delivered nor passed on, and counted")
    func oversizedPayload() {
        var (node, link, _) = nodeWithOnePeer { $0.broadcast.maximumPayloadSize = 100 }
        #expect(node.activePeerIDs == [NodeID("peer")!])
        let id = MessageID(origin: NodeID("peer")!, epoch: 1, sequence: 0)
        let effects = node.handle(.received(link, .gossip(Gossip(id: id, round: 0, payload: [UInt8](repeating: 1, count: 101)))), at: .zero)
        #expect(!effects.contains { if case .deliver = $0 { true } else { false } })
        #expect(node.status(at: .zero).counters.oversizedPayloadsDropped == 1)
        let fits = node.handle(.received(link, .gossip(Gossip(id: id, round: 0, payload: [UInt8](repeating: 1, count: 100)))), at: .zero)
        #expect(fits.contains { if case .deliver = $0 { true } else { false } })
    }

    @Test("An IHAVE naming more ids than the per-frame limit has the rest ignored, and missing ids stay bounded")
    func announcementFlood() {
        var (node, link, _) = nodeWithOnePeer {
            $0.broadcast.maximumAnnouncementsPerIHave = 1000
            $0.broadcast.maximumMissing = 300
        }
        let madeUp = (0..<5000).map { Announcement(id: MessageID(origin: NodeID("ghost")!, epoch: 1, sequence: UInt64($0)), round: 1) }
        let effects = node.handle(.received(link, .iHave(IHave(announcements: madeUp))), at: .zero)
        #expect(node.plumtree.missing.count == 300 && node.plumtree.grafts.count == 300)
        // One timer for all of them.
        #expect(effects.filter { if case .armTimer(.graftDue, _) = $0 { true } else { false } }.count == 1)
        #expect(node.status(at: .zero).counters.announcementsIgnored == 4000 + 700)
        // When the wait is over, each is asked of its announcer, and the schedule empties.
        let due = node.handle(.timerFired(.graftDue), at: Timestamp.zero + BroadcastConfiguration().graftTimeout)
        #expect(due.filter { if case .send(link, .graft) = $0 { true } else { false } }.count == 300)
        #expect(node.plumtree.grafts.count == 0)
    }

    @Test("A SHUFFLE carrying more entries than a shuffle holds has only a shuffle's worth taken into the passive view")
    func shuffleFlood() {
        var (node, link, peer) = nodeWithOnePeer()
        let entries = (0..<200).map {
            ShuffleEntry(peer: PeerDescriptor(id: NodeID("e\($0)")!, address: .init(host: "127.1.0.\($0 % 250 + 1)", port: 7000)), age: 0)
        }
        _ = node.handle(.received(link, .shuffle(Shuffle(origin: peer, ttl: 0, entries: entries))), at: .zero)
        let limit = node.shuffleEntryLimit
        #expect(limit == 10, "five active peers, four passive entries and the sender")
        #expect(node.status(at: .zero).counters.shuffleEntriesIgnored == 200 - limit)
        #expect(node.status(at: .zero).passive.count <= limit)
    }
}
