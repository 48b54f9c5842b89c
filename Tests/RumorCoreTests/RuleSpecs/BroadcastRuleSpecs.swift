import Testing
@testable import RumorCore

/// The broadcast rules of `docs/broadcast.md` (B1–B18), one node driven by hand-made frames.
@Suite("Rule specs: broadcast")
struct BroadcastRuleSpecs {
    let me = NodeHarness.peer("me")
    func id(_ origin: String, _ sequence: UInt64) -> MessageID { NodeHarness.messageID(origin, sequence) }
    func gossip(_ origin: String, _ sequence: UInt64, round: UInt32) -> Message { NodeHarness.gossip(origin, sequence, round: round) }

    @Test("B1: a peer entering the active view is eager, and is sent a DIGEST of the payload cache when it holds any")
    func newPeerIsEager() {
        var harness = NodeHarness()
        harness.publish()
        harness.publish()
        harness.connect("a")
        harness.take()
        harness.receive(.request(.high), from: "a")
        #expect(harness.sent(to: "a") == [.digest("me", [0...1]), .accepted])
        #expect(harness.eager == ["a"])

        var empty = NodeHarness()
        empty.connect("a")
        empty.take()
        empty.receive(.request(.high), from: "a")
        #expect(empty.sent(to: "a") == [.accepted], "nothing held, no digest")
    }

    @Test("B2: a new payload is delivered once and pushed as GOSSIP(round + 1) to the eager peers but its sender; lazy peers get it announced")
    func eagerPush() {
        var harness = NodeHarness(active: ["a", "b", "c"])
        harness.makeLazy("c")
        harness.receive(gossip("o", 0, round: 2), from: "a")
        #expect(harness.delivered == [Delivery(id: id("o", 0), round: 2, payload: [7])])
        #expect(harness.sent.map(\.description) == ["gossip to b"])
        #expect(harness.sent(to: "b") == [gossip("o", 0, round: 3)])
        #expect(harness.armed(.iHaveBatch) == [.milliseconds(5)], "c's announcement waits for the batch")
        #expect(harness.eager == ["a", "b"] && harness.lazy == ["c"])
        harness.take()
        harness.receive(gossip("o", 0, round: 2), from: "b")
        #expect(harness.delivered.isEmpty, "exactly once")

        var origin = NodeHarness(active: ["a"])
        let published = origin.publish([9])
        #expect(published == id("me", 0))
        #expect(origin.delivered == [Delivery(id: published, round: 0, payload: [9])])
        #expect(origin.sent(to: "a") == [.gossip(Gossip(id: published, round: 1, payload: [9]))])
        #expect(origin.publish([9]) == id("me", 1))
    }

    @Test("B3: an origin with no eager peer pushes its message to every active peer")
    func originWithoutEagerPeers() {
        var harness = NodeHarness(active: ["a", "b"])
        harness.makeLazy("a")
        harness.makeLazy("b")
        let published = harness.publish([4])
        #expect(harness.sent(to: "a") == [.gossip(Gossip(id: published, round: 1, payload: [4]))])
        #expect(harness.sent(to: "b") == [.gossip(Gossip(id: published, round: 1, payload: [4]))])
        #expect(harness.armed(.iHaveBatch).isEmpty)
    }

    @Test("B4: announcements gather per lazy peer behind one 5 ms timer and go out as one IHAVE per peer")
    func iHaveBatch() {
        var harness = NodeHarness(active: ["a", "b", "c"])
        harness.makeLazy("a")
        harness.makeLazy("b")
        harness.receive(gossip("o", 0, round: 1), from: "c")
        harness.receive(gossip("o", 1, round: 1), from: "c")
        #expect(harness.armed(.iHaveBatch) == [.milliseconds(5)], "armed once, by the first")
        #expect(harness.sent(ofType: .iHave).isEmpty)
        harness.take()
        harness.fire(.iHaveBatch)
        #expect(harness.now == NodeHarness.at(.milliseconds(5)))
        #expect(harness.sent.map(\.description) == ["iHave to a", "iHave to b"])
        #expect(harness.sent(to: "a") == [.announcing("o", [0, 1], round: 2)])
        #expect(harness.sent(to: "b") == [.announcing("o", [0, 1], round: 2)])
    }

    @Test("B4: a batch larger than the frame limit is cut into several IHAVE frames")
    func iHaveBatchCut() {
        // An announcement of origin "o" takes 22 bytes: two fit the frame.
        var harness = NodeHarness(active: ["a", "c"]) { $0.maximumFrameSize = WireFormat.bodyHeaderSize + 2 + 44 }
        harness.makeLazy("a")
        for sequence in 0..<5 { harness.receive(gossip("o", UInt64(sequence), round: 1), from: "c") }
        harness.take()
        harness.fire(.iHaveBatch)
        #expect(harness.sent(to: "a") == [.announcing("o", [0, 1], round: 2), .announcing("o", [2, 3], round: 2), .announcing("o", [4], round: 2)])
    }

    @Test("B5: an announcement waiting for its batch is withdrawn when the peer shows it holds the message")
    func announcementWithdrawn() {
        var harness = NodeHarness(active: ["a", "b", "c"])
        harness.makeLazy("a")
        harness.makeLazy("b")
        harness.receive(gossip("o", 0, round: 1), from: "c")
        harness.receive(.announcing("o", [0], round: 3), from: "a")
        harness.receive(gossip("o", 0, round: 1), from: "b")
        harness.take()
        harness.fire(.iHaveBatch)
        #expect(harness.sent.isEmpty)
        #expect(harness.counters.iHavesWithdrawn == 2)
    }

    @Test("B6: an IHAVE for a payload not seen arms the GRAFT timer for 80 ms; a later one does not move it")
    func graftTimerArmed() {
        var harness = NodeHarness(active: ["a"])
        harness.receive(.announcing("o", [0], round: 3), from: "a")
        #expect(harness.sent.isEmpty)
        #expect(harness.armed(.graftDue) == [.milliseconds(80)])
        harness.take()
        harness.advance(by: .milliseconds(10))
        harness.receive(.announcing("o", [1], round: 3), from: "a")
        #expect(harness.armed(.graftDue).isEmpty)
        #expect(harness.node.plumtree.missing.count == 2)
    }

    @Test("B6: the first wait learns how late the tree's copies come after their first IHAVE: copies 4 ms behind shrink it from 80 ms towards the 10 ms floor, and a cut is asked for sooner")
    func graftWaitLearnsTheTreeLag() {
        var harness = NodeHarness(active: ["a", "b"])
        harness.makeLazy("b")
        for sequence in UInt64(0)..<40 {
            harness.receive(.announcing("o", [sequence], round: 2), from: "b")
            harness.advance(by: .milliseconds(4))
            harness.receive(gossip("o", sequence, round: 3), from: "a")
            harness.advance(by: .milliseconds(20))
        }
        harness.fire(.graftDue)  // the first timer, long due: every payload came, nothing to ask
        harness.take()
        let wait = harness.node.firstGraftWait
        #expect(wait < .milliseconds(20) && wait >= .milliseconds(10), "learned wait \(wait)")
        harness.receive(.announcing("o", [40], round: 2), from: "b")
        #expect(harness.armed(.graftDue) == [wait])

        // A copy that came only because it was asked for says nothing about the tree: the wait stays.
        var asked = NodeHarness(active: ["a", "b"])
        asked.makeLazy("b")
        for sequence in UInt64(0)..<10 {
            asked.receive(.announcing("o", [sequence], round: 2), from: "b")
            asked.fire(.graftDue)
            asked.receive(gossip("o", sequence, round: 3), from: "b")
        }
        #expect(asked.node.firstGraftWait == .milliseconds(80))
    }

    @Test("B7: when the GRAFT timer fires, the first announcer gets GRAFT(id, round) and turns eager; the next has 40 ms more")
    func graftAnnouncersInTurn() {
        var harness = NodeHarness(active: ["a", "b"])
        harness.makeLazy("a")
        harness.makeLazy("b")
        harness.receive(.announcing("o", [0], round: 2), from: "a")
        harness.advance(by: .milliseconds(10))
        harness.receive(.announcing("o", [0], round: 4), from: "b")
        harness.take()
        harness.fire(.graftDue)
        #expect(harness.now == NodeHarness.at(.milliseconds(80)))
        #expect(harness.sent.map(\.description) == ["graft to a"])
        #expect(harness.sent(to: "a") == [.graft(Graft(id: id("o", 0), round: 2))])
        #expect(harness.eager == ["a"])
        #expect(harness.armedTimers[.graftDue] == NodeHarness.at(.milliseconds(120)))
        harness.take()
        harness.fire(.graftDue)
        #expect(harness.now == NodeHarness.at(.milliseconds(120)))
        #expect(harness.sent(to: "b") == [.graft(Graft(id: id("o", 0), round: 4))])
        #expect(harness.armed(.graftDue).isEmpty, "nobody left to ask")
        #expect(harness.node.plumtree.missing.isEmpty)
    }

    @Test("B7: a payload that arrives before the GRAFT timer is not asked for")
    func noGraftWhenPayloadArrives() {
        var harness = NodeHarness(active: ["a", "b"])
        harness.makeLazy("a")
        harness.receive(.announcing("o", [0], round: 2), from: "a")
        harness.receive(gossip("o", 0, round: 1), from: "b")
        harness.take()
        harness.fire(.graftDue)
        #expect(harness.sent.isEmpty)
    }

    @Test("B8: a GRAFT makes its sender eager and, with the id of a cached payload, is answered with GOSSIP(cached round + 1)")
    func graftAnswered() {
        var harness = NodeHarness(active: ["a", "b"])
        harness.makeLazy("a")
        let published = harness.publish([5])
        harness.take()
        harness.receive(.graft(Graft(id: published, round: 1)), from: "a")
        #expect(harness.sent(to: "a") == [.gossip(Gossip(id: published, round: 1, payload: [5]))])
        #expect(harness.eager == ["b", "a"])
        harness.makeLazy("a")
        harness.receive(.graft(Graft(id: nil, round: 3)), from: "a")
        harness.receive(.graft(Graft(id: id("o", 9), round: 3)), from: "b")
        #expect(harness.sent.isEmpty, "no id, or one not cached: nothing to send")
        #expect(Set(harness.eager) == ["a", "b"])
    }

    @Test("B9: three duplicates in a row from an eager peer make it lazy with PRUNE; a first copy in between resets the count")
    func duplicatesPrune() {
        var harness = NodeHarness(active: ["a", "b"])
        for sequence in UInt64(0)..<3 {
            harness.receive(gossip("o", sequence, round: 1), from: "a")
            harness.take()
            harness.receive(gossip("o", sequence, round: 1), from: "b")
            #expect(harness.delivered.isEmpty)
            if sequence < 2 {
                #expect(harness.sent.isEmpty, "duplicate \(sequence + 1) of 3")
            } else {
                #expect(harness.sent.map(\.description) == ["prune to b"])
            }
            harness.take()
        }
        #expect(harness.lazy == ["b"] && harness.eager == ["a"])

        var reset = NodeHarness(active: ["a", "b"])
        for sequence in UInt64(0)..<2 {
            reset.receive(gossip("o", sequence, round: 1), from: "a")
            reset.receive(gossip("o", sequence, round: 1), from: "b")
        }
        reset.receive(gossip("o", 5, round: 1), from: "b")
        reset.receive(gossip("o", 5, round: 1), from: "a")
        reset.receive(gossip("o", 6, round: 1), from: "a")
        reset.receive(gossip("o", 6, round: 1), from: "b")
        #expect(reset.sent(ofType: .prune).isEmpty, "b: two, a first copy, one; a: one, then a first copy")
        #expect(reset.eager == ["a", "b"])
    }

    @Test("B9: a duplicate from a lazy peer that still pushes is answered with PRUNE at once")
    func lazyPusherPruned() {
        var harness = NodeHarness(active: ["a", "b"])
        harness.makeLazy("b")
        harness.receive(gossip("o", 0, round: 1), from: "a")
        harness.take()
        harness.receive(gossip("o", 0, round: 1), from: "b")
        #expect(harness.sent(to: "b") == [.prune])
        #expect(harness.sent.count == 1)
    }

    @Test("B10: a first copy from a peer this node made lazy means PRUNE and push crossed: GRAFT without an id, and the link is eager")
    func crossedPruneAndGraft() {
        var harness = NodeHarness(active: ["a", "b"])
        harness.makeLazy("b")
        harness.receive(gossip("o", 0, round: 4), from: "b")
        #expect(harness.sent.map(\.description) == ["graft to b", "gossip to a"])
        #expect(harness.sent(to: "b") == [.graft(Graft(id: nil, round: 4))])
        #expect(harness.sent(to: "a") == [gossip("o", 0, round: 5)])
        #expect(harness.eager == ["a", "b"] && harness.lazy.isEmpty)
        #expect(harness.delivered.count == 1)
    }

    @Test("B11: a PRUNE makes an active sender lazy and is not answered")
    func pruneReceived() {
        var harness = NodeHarness(active: ["a"])
        harness.receive(.prune, from: "a")
        #expect(harness.effects.isEmpty)
        #expect(harness.lazy == ["a"] && harness.eager.isEmpty)
        harness.connect("x")
        harness.receive(.prune, from: "x")
        #expect(harness.lazy == ["a"], "a peer outside the active view is in neither set")
    }

    @Test("B11: a PRUNE that may have crossed this node's GRAFT is answered with PRUNE, so that both ends are lazy")
    func pruneCrossingGraft() {
        var harness = NodeHarness(active: ["a", "b"])
        harness.makeLazy("b")
        // A first copy from the lazy peer b: this node grafts b (B10).
        harness.receive(gossip("o", 0, round: 1), from: "b")
        #expect(harness.sent(to: "b").contains(.graft(Graft(id: nil, round: 1))))
        harness.take()
        // b's PRUNE crossed that GRAFT: b will take the GRAFT and push; pruning back keeps the link one thing.
        harness.receive(.prune, from: "b")
        #expect(harness.sent(to: "b") == [.prune])
        #expect(harness.lazy.contains("b") && !harness.eager.contains("b"))
        harness.take()
        // A later PRUNE, with no GRAFT of ours since, is not answered.
        harness.receive(.prune, from: "b")
        #expect(harness.effects.isEmpty)
    }

    /// A node that got o/0 at round 10 from its eager peer a, and has b lazy.
    func deepDelivery() -> NodeHarness {
        var harness = NodeHarness(active: ["a", "b"])
        harness.makeLazy("b")
        harness.receive(gossip("o", 0, round: 10), from: "a")
        harness.take()
        return harness
    }

    @Test("B12: an IHAVE from a lazy peer announcing a payload more than 7 rounds sooner swaps links: GRAFT(no id) to it, PRUNE to the tree parent")
    func optimisation() {
        var harness = deepDelivery()
        harness.receive(.announcing("o", [0], round: 2), from: "b")
        #expect(harness.sent.map(\.description) == ["graft to b", "prune to a"])
        #expect(harness.sent(to: "b") == [.graft(Graft(id: nil, round: 2))])
        #expect(harness.sent(to: "a") == [.prune])
        #expect(harness.eager == ["b"] && harness.lazy == ["a"])
    }

    @Test("B12: a lazy path exactly 7 rounds shorter leaves the tree as it is")
    func optimisationThreshold() {
        var harness = deepDelivery()
        harness.receive(.announcing("o", [0], round: 3), from: "b")
        #expect(harness.sent.isEmpty)
        #expect(harness.eager == ["a"] && harness.lazy == ["b"])
    }

    @Test("B13: an eager peer that leaves on purpose is replaced in the tree at once by a lazy peer, with GRAFT(no id, round 0)")
    func treeBridge() {
        var harness = NodeHarness(active: ["a", "b", "c"])
        harness.makeLazy("c")
        harness.receive(.disconnect(Disconnect(alive: true)), from: "a")
        #expect(harness.sent.map(\.description) == ["graft to c"])
        #expect(harness.sent(to: "c") == [.graft(Graft(id: nil, round: 0))])
        #expect(harness.eager == ["b", "c"])
        #expect(harness.counters.treeBridges == 1)
    }

    @Test("B13: an eager peer whose link fails, or a lazy peer that leaves, is not bridged")
    func noBridgeOnFailure() {
        var failed = NodeHarness(active: ["a", "b", "c"])
        failed.makeLazy("c")
        failed.peerCloses("a")
        #expect(failed.sent(ofType: .graft).isEmpty)
        #expect(failed.eager == ["b"] && failed.lazy == ["c"])

        var lazyLeaves = NodeHarness(active: ["a", "b", "c"])
        lazyLeaves.makeLazy("a")
        lazyLeaves.makeLazy("c")
        lazyLeaves.receive(.disconnect(Disconnect(alive: true)), from: "a")
        #expect(lazyLeaves.sent(ofType: .graft).isEmpty)
        #expect(lazyLeaves.lazy == ["c"])
    }

    @Test("B14: every anti-entropy round (2 s ± 25%) sends one active peer a DIGEST of the cache, when it holds anything")
    func antiEntropyRound() throws {
        var harness = NodeHarness(active: ["a"])
        harness.fire(.antiEntropy)
        #expect(harness.sent.isEmpty)
        let next = try #require(harness.armed(.antiEntropy).first)
        #expect(next >= .milliseconds(1500) && next <= .milliseconds(2500))
        harness.publish()
        harness.publish()
        harness.take()
        harness.fire(.antiEntropy)
        #expect(harness.sent(to: "a") == [.digest("me", [0...1])])

        var started = NodeHarness()
        started.start()
        let first = try #require(started.armed(.antiEntropy).first)
        #expect(first >= .milliseconds(1500) && first <= .milliseconds(2500))
    }

    @Test("B14: a peer that got a digest of everything cached gets none again until an id is added or it pulls")
    func digestOnlyWithNews() {
        var harness = NodeHarness(active: ["a"])
        harness.publish()
        harness.take()
        harness.fire(.antiEntropy)
        #expect(harness.sent(to: "a") == [.digest("me", [0...0])])
        harness.take()
        harness.fire(.antiEntropy)
        #expect(harness.sent.isEmpty, "nothing new since the last digest to a")
        harness.publish()
        harness.take()
        harness.fire(.antiEntropy)
        #expect(harness.sent(to: "a") == [.digest("me", [0...1])], "a new id")
        harness.take()
        harness.receive(.pull("me", [0...0]), from: "a")
        harness.take()
        harness.fire(.antiEntropy)
        #expect(harness.sent(to: "a") == [.digest("me", [0...1])], "a pulled: it may want more than one exchange gave")
    }

    @Test("B15: a DIGEST is answered with a PULL of the ids never seen, each asked once")
    func digestAnsweredWithPull() {
        var harness = NodeHarness(active: ["a"])
        harness.receive(gossip("o", 1, round: 1), from: "a")
        harness.take()
        harness.receive(.digest("o", [0...2]), from: "a")
        #expect(harness.sent(to: "a") == [.pull("o", [0...0, 2...2])])
        harness.take()
        harness.receive(.digest("o", [0...2]), from: "a")
        #expect(harness.sent.isEmpty, "asked already")
    }

    @Test("B16: a PULL is answered with GOSSIP(cached round + 1) for each id asked that is still cached")
    func pullAnswered() {
        var harness = NodeHarness(active: ["a"])
        let published = harness.publish([3])
        harness.take()
        harness.receive(.pull("me", [0...1]), from: "a")
        #expect(harness.sent(to: "a") == [.gossip(Gossip(id: published, round: 1, payload: [3]))])
    }

    @Test("B17: a pulled payload is delivered and only announced, and changes no link of the tree, even when it comes twice")
    func pulledPayloadIsOffTree() {
        var harness = NodeHarness(active: ["a", "b"])
        harness.receive(.digest("o", [0...0]), from: "a")
        harness.take()
        harness.receive(gossip("o", 0, round: 4), from: "a")
        #expect(harness.delivered.count == 1)
        #expect(harness.sent.isEmpty, "no push, even to the eager b")
        #expect(harness.armed(.iHaveBatch) == [.milliseconds(5)])
        harness.take()
        harness.fire(.iHaveBatch)
        #expect(harness.sent.map(\.description) == ["iHave to b"])
        #expect(harness.sent(to: "b") == [.announcing("o", [0], round: 5)])
        #expect(harness.eager == ["a", "b"])

        // The tree's copy first, then the pulled one: the duplicate prunes nothing.
        var twice = NodeHarness(active: ["a", "b"])
        twice.receive(.digest("o", [0...0]), from: "a")
        twice.receive(gossip("o", 0, round: 2), from: "b")
        twice.take()
        twice.receive(gossip("o", 0, round: 4), from: "a")
        #expect(twice.sent.isEmpty)
        #expect(twice.eager == ["a", "b"])
    }

    @Test("B18: a payload larger than the node's payload limit is dropped: not delivered, not passed on")
    func oversizedPayload() {
        var harness = NodeHarness(active: ["a", "b"]) { $0.broadcast.maximumPayloadSize = 4 }
        harness.receive(.gossip(Gossip(id: id("o", 0), round: 1, payload: [1, 2, 3, 4, 5])), from: "a")
        #expect(harness.effects.isEmpty)
        #expect(harness.counters.oversizedPayloadsDropped == 1)
    }
}
