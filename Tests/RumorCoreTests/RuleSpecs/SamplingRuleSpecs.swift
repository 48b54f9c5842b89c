import Testing
@testable import RumorCore

/// Peer sampling (docs/sampling.md, S1 to S6): walks over the active links corrected to the maximum degree,
/// answered by their endpoints over links of their own, kept in a reservoir that draws take from.
@Suite("Rule specs: peer sampling")
struct SamplingRuleSpecs {
    static let everyone = ["a", "b", "c", "d", "e"]

    /// The walks the node has sent since the last look, with the peer each went to.
    func walksSent(_ harness: NodeHarness) -> [(to: String, walk: SampleWalk)] {
        harness.sent(ofType: .sampleWalk).compactMap { frame in frame.message.sampleWalk.map { (frame.to, $0) } }
    }

    /// `name` answers walk `nonce`: over its active link, or over a link it opens for the answer.
    func answer(_ nonce: UInt64, by name: String, _ harness: inout NodeHarness) {
        let link = harness.active.contains(name) ? harness.link(name)! : harness.connect(name)
        harness.receive(.sampleReply(SampleReply(nonce: nonce)), on: link)
    }

    /// A shuffle round starts a walk and `name` answers it: `name` is then a sample validated now.
    func validate(_ name: String, _ harness: inout NodeHarness) {
        harness.take()
        harness.fire(.shuffle)
        guard let nonce = walksSent(harness).first?.walk.nonce else {
            Issue.record("the round started no walk")
            return
        }
        answer(nonce, by: name, &harness)
        harness.take()
    }

    func held(_ harness: NodeHarness) -> [String] { harness.node.heldSamples.map(\.peer.id.rawValue) }

    static func walk(from origin: String = "o", nonce: UInt64 = 1, ttl: UInt8) -> Message {
        .sampleWalk(SampleWalk(origin: NodeHarness.peer(origin), nonce: nonce, ttl: ttl))
    }

    // MARK: S1

    @Test("S1: with a full active view every step moves: a walk arriving with 16 steps left leaves for an active peer with 15")
    func fullViewAlwaysMoves() {
        var harness = NodeHarness(active: Self.everyone)
        for nonce in UInt64(1)...50 {
            harness.receive(Self.walk(nonce: nonce, ttl: 16), from: "a")
        }
        let walks = walksSent(harness)
        #expect(walks.count == 50 && harness.dialed.isEmpty, "d = D = 5: no step stays, no walk ends here")
        #expect(walks.allSatisfy { $0.walk.ttl == 15 && $0.walk.origin == NodeHarness.peer("o") })
        #expect(Set(walks.map(\.to)).isSuperset(of: ["b", "c", "d", "e"]), "each peer is a uniform pick")
    }

    @Test("S1: with one link of the five a view may hold, a step moves with probability 1/5 and otherwise the walk stays")
    func lazyStepAtLowDegree() {
        var harness = NodeHarness(active: ["a"])
        let arrivals = 2000
        for nonce in 1...arrivals {
            harness.receive(Self.walk(nonce: UInt64(nonce), ttl: 1), from: "a")
        }
        let moved = walksSent(harness).count
        // Binomial(2000, 0.2): mean 400, sd about 18; 330...470 is beyond 3.8 sd either way.
        #expect((330...470).contains(moved), "\(moved) of \(arrivals) moved")
        #expect(harness.counters.sampleWalksAnswered == arrivals - moved, "a walk that stays on its last step ends here")
    }

    @Test("S1: a link below version 5 is not walked: the walk stays uniform over the nodes that speak sampling")
    func olderLinksAreNotWalked() {
        var harness = NodeHarness(active: ["b"])
        harness.makeActive("old", versions: 3...4)
        for nonce in UInt64(1)...300 {
            harness.receive(Self.walk(nonce: nonce, ttl: 1), from: "b")
        }
        let walks = walksSent(harness)
        #expect(!walks.isEmpty && walks.allSatisfy { $0.to == "b" }, "\(walks.map(\.to))")
    }

    @Test("S1: a received TTL above the maximum walk length (64) is cut to it; a walk with no steps left ends where it is")
    func hostileTTLIsCut() {
        var harness = NodeHarness(active: Self.everyone)
        harness.receive(Self.walk(ttl: 255), from: "a")
        #expect(walksSent(harness).map(\.walk.ttl) == [63])
        harness.take()
        harness.receive(Self.walk(ttl: 0), from: "a")
        #expect(walksSent(harness).isEmpty && harness.dialed == ["o"])
    }

    // MARK: S2

    @Test("S2: the endpoint dials the walk's origin, sends SAMPLEREPLY with the nonce over that link, and closes it")
    func endpointAnswersOverItsOwnLink() {
        var harness = NodeHarness(active: Self.everyone)
        harness.receive(Self.walk(nonce: 0xFEED, ttl: 0), from: "a")
        #expect(harness.dialed == ["o"])
        harness.take()
        let link = harness.answerDial("o")
        #expect(harness.sent(on: link).compactMap(\.sampleReply) == [SampleReply(nonce: 0xFEED)])
        #expect(harness.closedLinks == [link], "the link was only for the answer")
        #expect(harness.counters.sampleWalksAnswered == 1 && harness.counters.sampleReplyLinksOpened == 1)
    }

    @Test("S2: an endpoint already linked to the origin answers over that link and keeps it")
    func endpointUsesItsActiveLink() {
        var harness = NodeHarness(active: Self.everyone)
        harness.receive(.sampleWalk(SampleWalk(origin: NodeHarness.peer("c"), nonce: 9, ttl: 0)), from: "a")
        #expect(harness.dialed.isEmpty)
        #expect(harness.sent(to: "c").compactMap(\.sampleReply) == [SampleReply(nonce: 9)])
        #expect(harness.closedLinks.isEmpty && harness.active.contains("c"))
    }

    @Test("S2: a walk that ends at its origin is dropped: a node is never its own sample")
    func walkHomeIsDropped() {
        var harness = NodeHarness(active: Self.everyone)
        harness.receive(.sampleWalk(SampleWalk(origin: harness.identity, nonce: 3, ttl: 0)), from: "a")
        harness.receive(.sampleWalk(SampleWalk(origin: PeerDescriptor(id: NodeID("alias")!, address: harness.identity.address),
                                               nonce: 4, ttl: 0)), from: "a")
        #expect(harness.dialed.isEmpty && harness.sent(ofType: .sampleReply).isEmpty)
        #expect(held(harness).isEmpty)
    }

    // MARK: S3

    @Test("S3: the answer to a walk in flight makes its sender a sample and closes the answer's link; a repeated or unknown nonce changes nothing")
    func answerValidates() throws {
        var harness = NodeHarness(active: Self.everyone)
        harness.fire(.shuffle)
        let nonce = try #require(walksSent(harness).first?.walk.nonce)
        harness.take()
        let link = harness.connect("x")
        harness.receive(.sampleReply(SampleReply(nonce: nonce)), on: link)
        #expect(held(harness) == ["x"] && harness.closedLinks == [link])
        #expect(harness.node.heldSamples.first?.validatedAt == harness.now)
        answer(nonce, by: "y", &harness)
        answer(nonce &+ 1, by: "z", &harness)
        #expect(held(harness) == ["x"], "only the walk's first answer counts")
        #expect(harness.counters.samplesValidated == 1 && harness.counters.sampleRepliesIgnored == 2)
    }

    @Test("S3: a full reservoir drops its oldest sample; a peer answering again is validated afresh, not held twice")
    func reservoirKeepsTheNewest() throws {
        var harness = NodeHarness(active: Self.everyone) { $0.sampling.reservoirSize = 3 }
        for name in ["w", "x", "y"] { validate(name, &harness) }
        _ = harness.samplePeers(1)
        answer(try #require(walksSent(harness).first?.walk.nonce), by: "z", &harness)
        #expect(held(harness) == ["x", "y", "z"], "the earliest walk's sample went; oldest first")
        harness.take()
        _ = harness.samplePeers(1)
        answer(try #require(walksSent(harness).first?.walk.nonce), by: "x", &harness)
        #expect(held(harness) == ["y", "z", "x"])
    }

    // MARK: S4

    @Test("S4: a round starts one walk while the reservoir is short of full, none once it is full, and one again when samples expire")
    func roundRefillsAShortReservoir() {
        var harness = NodeHarness(active: Self.everyone) { $0.sampling.reservoirSize = 3 }
        harness.fire(.shuffle)
        #expect(walksSent(harness).count == 1)
        for name in ["x", "y", "z"] { validate(name, &harness) }
        _ = harness.samplePeers(2)
        #expect(walksSent(harness).count == 2, "drawn samples are replaced at once")
        for (walk, name) in zip(walksSent(harness).map(\.walk), ["v", "w"]) { answer(walk.nonce, by: name, &harness) }
        harness.take()
        harness.fire(.shuffle)
        #expect(walksSent(harness).isEmpty, "a full reservoir, nothing owed")
        harness.advance(by: .seconds(41))
        harness.take()
        harness.fire(.shuffle)
        #expect(held(harness).isEmpty && walksSent(harness).count == 1, "everything expired: one walk a round refills it")
    }

    @Test("S4: a sample older than its lifetime (40 s) is gone at the next round; a walk unanswered for 2 s is lost, and a late answer ignored")
    func roundForgetsWhatIsOld() throws {
        var harness = NodeHarness(active: Self.everyone)
        validate("x", &harness)
        harness.advance(by: .seconds(41))
        harness.take()
        harness.fire(.shuffle)
        #expect(held(harness).isEmpty)
        let late = try #require(walksSent(harness).first?.walk.nonce)
        harness.advance(by: .milliseconds(2001))
        harness.fire(.shuffle)
        #expect(harness.counters.sampleWalksLost >= 1)
        answer(late, by: "x", &harness)
        #expect(held(harness).isEmpty && harness.counters.sampleRepliesIgnored == 1)
    }

    @Test("S4: never more walks in flight than maximumOutstandingWalks; what a draw could not start, a round starts once walks come back")
    func walksInFlightAreBounded() throws {
        var harness = NodeHarness(active: Self.everyone) { $0.sampling.maximumOutstandingWalks = 3 }
        _ = harness.samplePeers(10)
        let first = walksSent(harness)
        #expect(first.count == 3)
        harness.take()
        harness.fire(.shuffle)
        #expect(walksSent(harness).isEmpty, "three in flight already")
        for (walk, name) in zip(first.map(\.walk), ["x", "y", "z"]) { answer(walk.nonce, by: name, &harness) }
        harness.take()
        harness.fire(.shuffle)
        #expect(walksSent(harness).count == 3, "owed, within the limit again")
    }

    // MARK: S5

    @Test("S5: a draw takes samples no draw has returned first, newest first, then those given out least")
    func drawOrder() {
        var harness = NodeHarness(active: Self.everyone)
        for name in ["x", "y", "z"] { validate(name, &harness) }
        #expect(harness.samplePeers(2).map(\.peer.id.rawValue) == ["z", "y"])
        #expect(harness.samplePeers(2).map(\.peer.id.rawValue) == ["x", "z"])
        #expect(harness.samplePeers(2).allSatisfy { $0.validatedAt != nil })
    }

    @Test("S5: after a failed active peer, samples validated before it come after the live active peers standing in")
    func standInsBeforeSamplesOlderThanAFailure() throws {
        var harness = NodeHarness(active: Self.everyone)
        validate("x", &harness)
        validate("y", &harness)
        harness.advance(by: .milliseconds(10))
        harness.peerCloses("a")
        harness.advance(by: .milliseconds(10))
        validate("z", &harness)
        let drawn = harness.samplePeers(7)
        #expect(drawn.map(\.peer.id.rawValue).first == "z")
        #expect(Set(drawn[1..<5].map(\.peer.id.rawValue)) == ["b", "c", "d", "e"] && drawn[1..<5].allSatisfy { $0.validatedAt == nil },
                "live neighbours, marked as stand-ins")
        #expect(drawn[5...].map(\.peer.id.rawValue) == ["y", "x"])
        #expect(harness.counters.sampleStandIns == 4)
    }

    @Test("S5: every sample a draw asks for is replaced by a walk at once, unseen samples or not")
    func drawWalksAtOnce() {
        var harness = NodeHarness(active: Self.everyone)
        validate("x", &harness)
        validate("y", &harness)
        let drawn = harness.samplePeers(4)
        #expect(drawn.prefix(2).map(\.peer.id.rawValue) == ["y", "x"] && drawn.count == 4)
        #expect(walksSent(harness).count == 4)
    }

    // MARK: S6

    @Test("S6: a failed dial to a sample's address removes it at once")
    func failedDialEvicts() {
        var harness = NodeHarness(active: Self.everyone)
        validate("x", &harness)
        validate("y", &harness)
        harness.failDial("x")
        #expect(held(harness) == ["y"] && harness.counters.samplesEvicted == 1)
    }

    @Test("S6: DISCONNECT(alive: false) from a peer held as a sample removes it; DISCONNECT(alive: true) does not")
    func departureEvicts() {
        var harness = NodeHarness(active: Self.everyone)
        validate("a", &harness)
        validate("b", &harness)
        harness.receive(.disconnect(Disconnect(alive: true)), from: "b")
        harness.receive(.disconnect(Disconnect(alive: false)), from: "a")
        #expect(held(harness) == ["b"])
    }

    @Test("S6: an answer that arrives after a failed link, to a walk started before it, is served after the stand-ins: its endpoint may have died since")
    func answerAcrossAFailureIsOlder() throws {
        var harness = NodeHarness(active: Self.everyone)
        harness.fire(.shuffle)
        let nonce = try #require(walksSent(harness).first?.walk.nonce)
        harness.advance(by: .milliseconds(5))
        harness.peerCloses("a")
        harness.advance(by: .milliseconds(5))
        answer(nonce, by: "x", &harness)
        let drawn = harness.samplePeers(5)
        #expect(drawn.prefix(4).allSatisfy { $0.validatedAt == nil } && drawn.last?.peer.id.rawValue == "x", "\(drawn)")
    }

    @Test("S6: an active peer's failed link removes it as a sample and starts a burst of four walks")
    func failedLinkEvictsAndWalks() {
        var harness = NodeHarness(active: Self.everyone)
        validate("b", &harness)
        validate("x", &harness)
        harness.peerCloses("b")
        #expect(held(harness) == ["x"])
        let walks = walksSent(harness)
        #expect(walks.count == 4 && walks.allSatisfy { $0.to != "b" })
    }
}
