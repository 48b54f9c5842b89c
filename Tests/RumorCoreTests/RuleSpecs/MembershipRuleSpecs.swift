import Testing
@testable import RumorCore

/// The membership rules of `docs/membership.md` (M1–M21), one node driven by hand-made frames.
@Suite("Rule specs: membership")
struct MembershipRuleSpecs {
    let me = NodeHarness.peer("me")
    /// What the node sends first on every link: its Handshake and VERSIONS (L1).
    var mySetUp: [Message] { Self.mySetUp }
    static let mySetUp: [Message] = [.handshake(Handshake(sender: NodeHarness.peer("me"), epoch: 1)), .versions(VersionOffer(WireFormat.versions))]
    static let full = ["a", "b", "c", "d", "e"]

    /// No rotations, so that a shuffle round does exactly what a spec expects.
    static func noRotation(_ configuration: inout NodeConfiguration) { configuration.membership.activeRotationInterval = .zero }

    // MARK: Joining

    @Test("M1: a node with no active peer dials one seed at a time, sends JOIN over the first link up, and is in once accepted")
    func joinThroughSeeds() throws {
        var harness = NodeHarness(seeds: ["s1", "s2"])
        harness.start()
        #expect(harness.dialed.count == 1)
        let first = try #require(harness.dialed.first)
        let second = first == "s1" ? "s2" : "s1"
        harness.take()
        harness.failDial(first)
        #expect(harness.dialed == [second])
        let link = harness.answerDial(second)
        #expect(harness.sent(on: link) == mySetUp + [.join])
        harness.take()
        harness.receive(.accepted, from: second)
        #expect(harness.active == [second])
        #expect(harness.cancelledTimers == [.seedRetry])
    }

    @Test("M2: after a round that reached no seed, the seeds are tried again after 250 ms doubling to 15 s, with 50–100% jitter")
    func seedRetryBackoff() throws {
        var harness = NodeHarness(seeds: ["s"])
        harness.start()
        harness.take()
        var base = Duration.milliseconds(250)
        for _ in 0..<9 {
            harness.failDial("s")
            let delay = try #require(harness.armed(.seedRetry).first)
            #expect(delay >= base * 0.5 && delay <= base, "retry after \(delay), base \(base)")
            base = min(base * 2, .seconds(15))
            harness.take()
            harness.fire(.seedRetry)
            #expect(harness.dialed == ["s"])
            harness.take()
        }
    }

    @Test("M3: the contact takes the joiner in, answers NEIGHBORREPLY(accepted) and a sample of its views, and starts FORWARDJOIN(ttl 6) walks")
    func contactTakesJoinerIn() throws {
        var harness = NodeHarness(active: ["b", "c"], passive: ["p"])
        harness.connect("j")
        harness.take()
        harness.receive(.join, from: "j")
        let toJoiner = harness.sent(to: "j")
        #expect(toJoiner.count == 2)
        #expect(toJoiner.first == .accepted)
        let sample = try #require(toJoiner.last?.shuffleReply)
        #expect(sample.entries.namesAndAges == ["b:0", "c:0", "p:0"])
        #expect(harness.sent(to: "b") == [.joinWalk(of: "j", ttl: 6)])
        #expect(harness.sent(to: "c") == [.joinWalk(of: "j", ttl: 6)])
        #expect(harness.active == ["b", "c", "j"])
        harness.take()
        harness.receive(.join, from: "j")
        #expect(harness.sent.map(\.description) == ["neighborReply to j"], "a JOIN from an active peer is only answered")
    }

    @Test("M4: once its JOIN is accepted, a node asks one more seed in with NEIGHBOR(high)")
    func linksToMoreSeeds() throws {
        let seeds = ["s1", "s2", "s3"]
        var harness = NodeHarness(seeds: seeds)
        harness.start()
        let contact = try #require(harness.dialed.first)
        harness.answerDial(contact)
        harness.take()
        harness.receive(.accepted, from: contact)
        #expect(harness.dialed.count == 1)
        let other = try #require(harness.dialed.first)
        #expect(other != contact && seeds.contains(other))
        harness.take()
        let link = harness.answerDial(other)
        #expect(harness.sent(on: link) == mySetUp + [.request(.high)])
    }

    @Test("M5: FORWARDJOIN goes on with ttl − 1 to an active peer other than its sender; at ttl 3 the joiner also enters the passive view")
    func forwardJoinWalks() {
        var harness = NodeHarness(active: ["s", "x"])
        harness.receive(.joinWalk(of: "j", ttl: 5), from: "s")
        #expect(harness.sent.map(\.description) == ["forwardJoin to x"])
        #expect(harness.sent(to: "x") == [.joinWalk(of: "j", ttl: 4)])
        #expect(!harness.passive.contains("j"))
        #expect(harness.dialed.isEmpty)
        harness.take()
        harness.receive(.joinWalk(of: "j", ttl: 3), from: "s")
        #expect(harness.sent(to: "x") == [.joinWalk(of: "j", ttl: 2)])
        #expect(harness.passive == ["j"])
        #expect(harness.passiveAge("j") == 0)
    }

    @Test("M5: at ttl 0, or with at most one active peer, the walk ends: the node dials the joiner and asks it in with NEIGHBOR(high)")
    func forwardJoinEnds() {
        var harness = NodeHarness(active: ["s", "x"])
        harness.receive(.joinWalk(of: "j", ttl: 0), from: "s")
        #expect(harness.sent.isEmpty)
        #expect(harness.dialed == ["j"])
        let link = harness.answerDial("j")
        #expect(harness.sent(on: link) == mySetUp + [.request(.high)])
        harness.receive(.accepted, from: "j")
        #expect(harness.active == ["s", "x", "j"])

        var lone = NodeHarness(active: ["s"])
        lone.receive(.joinWalk(of: "j", ttl: 5), from: "s")
        #expect(lone.sent.isEmpty)
        #expect(lone.dialed == ["j"])
    }

    @Test("M5: a FORWARDJOIN naming this node or an active peer is dropped")
    func forwardJoinOfKnownPeer() {
        var harness = NodeHarness(active: ["s", "x"])
        harness.receive(.joinWalk(of: "x", ttl: 4), from: "s")
        harness.receive(.joinWalk(of: "me", ttl: 4), from: "s")
        #expect(harness.effects.isEmpty)
    }

    // MARK: Neighbours

    @Test("M6: a full node refuses a low-priority NEIGHBOR and accepts a high one, evicting a random member with DISCONNECT(alive)")
    func neighborPriority() throws {
        var harness = NodeHarness(active: Self.full)
        let low = harness.connect("x")
        harness.take()
        harness.receive(.request(.low), from: "x")
        #expect(harness.sent(to: "x") == [.refused])
        #expect(harness.closedLinks == [low])
        #expect(harness.active == Self.full)
        harness.connect("y")
        let links = Dictionary(uniqueKeysWithValues: Self.full.map { ($0, harness.link($0)) })
        harness.take()
        harness.receive(.request(.high), from: "y")
        #expect(harness.sent.count == 2)
        let eviction = try #require(harness.sent(ofType: .disconnect).first)
        #expect(eviction.message == .disconnect(Disconnect(alive: true)))
        #expect(harness.sent(to: "y") == [.accepted])
        #expect(harness.closedLinks == [links[eviction.to]!!])
        #expect(Set(harness.active) == Set(Self.full).subtracting([eviction.to]).union(["y"]))
        #expect(harness.passive == [eviction.to])
    }

    @Test("M6: a node with a free place accepts a low-priority NEIGHBOR")
    func neighborWithFreePlace() {
        var harness = NodeHarness(active: ["a"])
        harness.connect("x")
        harness.take()
        harness.receive(.request(.low), from: "x")
        #expect(harness.sent(to: "x") == [.accepted])
        #expect(harness.closedLinks.isEmpty)
        #expect(harness.active == ["a", "x"])
    }

    @Test("M6: a full node taking in a rotating peer points the member it evicts at the peer the rotation frees")
    func evictionNamesHandoff() throws {
        var harness = NodeHarness(active: Self.full)
        harness.connect("i")
        harness.take()
        harness.receive(.request(.high, handoff: "o"), from: "i")
        let eviction = try #require(harness.sent(ofType: .disconnect).first)
        #expect(eviction.message == .disconnect(Disconnect(alive: true, handoff: NodeHarness.peer("o"))))
        #expect(harness.sent(to: "i") == [.accepted])
        #expect(harness.active.contains("i"))
    }

    /// A node with active peers a and b and passive peer p, after b left with DISCONNECT(alive: false): it has
    /// just asked p in, with NEIGHBOR(low), over the link returned.
    static func askingPassivePeer() -> (NodeHarness, LinkID) {
        var harness = NodeHarness(active: ["a", "b"], passive: ["p"])
        harness.receive(.disconnect(Disconnect(alive: false)), from: "b")
        #expect(harness.dialed == ["p"])
        let link = harness.answerDial("p")
        #expect(harness.sent(on: link) == Self.mySetUp + [.request(.low)])
        harness.take()
        return (harness, link)
    }

    @Test("M7: an accepted NEIGHBOR makes the peer active; a refused one closes the link and the peer is not asked again this round")
    func neighborReplies() {
        var (accepting, acceptingLink) = Self.askingPassivePeer()
        accepting.receive(.accepted, from: "p")
        #expect(accepting.active == ["a", "p"])
        #expect(accepting.closedLinks.isEmpty)
        #expect(accepting.link("p") == acceptingLink)
        #expect(accepting.counters.replacements == 1)

        var (refusing, refusingLink) = Self.askingPassivePeer()
        refusing.receive(.refused, from: "p")
        #expect(refusing.closedLinks == [refusingLink])
        #expect(refusing.active == ["a"])
        #expect(refusing.sent.isEmpty && refusing.dialed.isEmpty, "the one request of this round is spent")
        #expect(refusing.node.recentlyRefused == [NodeHarness.address("p")])
    }

    @Test("M7: an accepted reply nobody waits for is answered with DISCONNECT(alive), so the views stay symmetric")
    func unrequestedAcceptance() {
        var harness = NodeHarness()
        let link = harness.connect("x")
        harness.take()
        harness.receive(.accepted, from: "x")
        #expect(harness.sent(to: "x") == [.disconnect(Disconnect(alive: true))])
        #expect(harness.closedLinks == [link])
        #expect(harness.active.isEmpty)
    }

    @Test("M8: a NEIGHBOR unanswered for more than 2 s counts as refused: the link closes and the peer is skipped")
    func requestTimeout() {
        var (harness, link) = Self.askingPassivePeer()
        harness.fireRepeatedly(.linkMaintenance, until: NodeHarness.at(.seconds(2)))
        #expect(!harness.closedLinks.contains(link))
        harness.fireRepeatedly(.linkMaintenance, until: NodeHarness.at(.milliseconds(2500)))
        #expect(harness.closedLinks == [link])
        #expect(harness.node.recentlyRefused == [NodeHarness.address("p")])
        #expect(harness.active == ["a"])
    }

    @Test("M9: DISCONNECT(alive) moves the sender to the passive view, DISCONNECT(alive: false) forgets it; its link closes and one request fills the place")
    func disconnectReceived() throws {
        var harness = NodeHarness(active: ["a", "b", "c"])
        let bLink = try #require(harness.link("b"))
        let cLink = try #require(harness.link("c"))
        harness.receive(.disconnect(Disconnect(alive: true)), from: "b")
        #expect(harness.active == ["a", "c"])
        #expect(harness.passive == ["b"] && harness.passiveAge("b") == 0)
        #expect(harness.closedLinks == [bLink])
        #expect(harness.sent.isEmpty)
        // The one request allowed after a DISCONNECT goes to a random passive peer: here the only one is b itself.
        #expect(harness.dialed == ["b"])
        harness.take()
        harness.receive(.disconnect(Disconnect(alive: false)), from: "c")
        #expect(harness.active == ["a"])
        #expect(harness.passive == ["b"])
        #expect(harness.closedLinks == [cLink])
        #expect(harness.dialed.isEmpty, "b is being dialled already")
    }

    @Test("M9: a DISCONNECT naming a handoff is followed by NEIGHBOR(low) to the peer named, besides the usual one request")
    func disconnectWithHandoff() {
        var harness = NodeHarness(active: ["a", "b"])
        harness.receive(.disconnect(Disconnect(alive: true, handoff: NodeHarness.peer("o"))), from: "b")
        #expect(harness.dialed == ["o", "b"])
        let link = harness.answerDial("o")
        #expect(harness.sent(on: link) == mySetUp + [.request(.low)])
    }

    @Test("M10: a failed active link drops the peer from both views, remembers it as lost, and every free place is asked of a passive peer")
    func failedLinkRepair() {
        var harness = NodeHarness(active: ["a", "b"], passive: ["p", "q"])
        harness.peerCloses("b")
        #expect(harness.active == ["a"])
        #expect(!harness.passive.contains("b"))
        #expect(harness.node.lost.entry(NodeHarness.address("b"))?.lostToFailure == true)
        #expect(harness.counters.failedLinks == 1)
        #expect(Set(harness.dialed) == ["p", "q"], "after a loss every passive peer may be asked")
        harness.take()
        let link = harness.answerDial("p")
        #expect(harness.sent(on: link) == mySetUp + [.request(.low)])
        harness.failDial("q")
        #expect(harness.passive == ["p"], "an address that cannot be reached is dropped")
    }

    @Test("M11: a node whose active view is empty asks passive peers with NEIGHBOR(high) and goes back to its seeds too")
    func emptyViewAsksHigh() {
        var harness = NodeHarness(active: ["a"], passive: ["p", "q"], seeds: ["s"])
        harness.peerCloses("a")
        #expect(Set(harness.dialed) == ["p", "q", "s"])
        let peerLink = harness.answerDial("p")
        #expect(harness.sent(on: peerLink) == mySetUp + [.request(.high)])
        let seedLink = harness.answerDial("s")
        #expect(harness.sent(on: seedLink) == mySetUp + [.join])
    }

    @Test("M11: once the view is empty, a peer that refused a low request this round is asked again, with high priority")
    func emptyViewAsksRefusedAgain() {
        var (harness, _) = Self.askingPassivePeer()
        harness.receive(.refused, from: "p")
        harness.take()
        harness.peerCloses("a")
        #expect(harness.dialed == ["p"])
        let link = harness.answerDial("p")
        #expect(harness.sent(on: link) == mySetUp + [.request(.high)])
    }

    // MARK: Shuffles

    @Test("M12: a shuffle round ages the passive view, sends SHUFFLE(self, ttl 3, sample) to an active peer, tests the oldest entry and fills a place")
    func shuffleRound() throws {
        var harness = NodeHarness(active: ["a", "b"], passive: ["p"], configure: Self.noRotation)
        harness.addPassive(["q"], age: 2)
        harness.fire(.shuffle)
        let frames = harness.sent(ofType: .shuffle)
        #expect(frames.count == 1)
        let frame = try #require(frames.first)
        let other = frame.to == "a" ? "b" : "a"
        let shuffle = try #require(frame.message.shuffle)
        #expect(shuffle.origin == me && shuffle.ttl == 3)
        #expect(shuffle.entries.first == NodeHarness.entry("me"))
        #expect(shuffle.entries.namesAndAges == ["me:0", "\(other):0", "p:1", "q:3"])
        #expect(harness.passiveAge("p") == 1 && harness.passiveAge("q") == 3)
        #expect(harness.dialed == ["q", "p"], "q, the oldest, is tested; p is asked into a free place")
        let next = try #require(harness.armed(.shuffle).first)
        #expect(next >= .milliseconds(3750) && next <= .milliseconds(6250))
    }

    @Test("M12: the first shuffle round comes about 1 s after start")
    func firstShuffleRound() throws {
        var harness = NodeHarness()
        harness.start()
        let first = try #require(harness.armed(.shuffle).first)
        #expect(first >= .milliseconds(750) && first <= .milliseconds(1250))
    }

    @Test("M13: a SHUFFLE with ttl left goes on, unchanged but for ttl − 1, to an active peer other than its sender and origin")
    func shuffleWalkGoesOn() {
        var harness = NodeHarness(active: ["a", "b"])
        let entries = [NodeHarness.entry("o"), NodeHarness.entry("e1", age: 4)]
        harness.receive(.shuffle(Shuffle(origin: NodeHarness.peer("o"), ttl: 2, entries: entries)), from: "a")
        #expect(harness.sent.map(\.description) == ["shuffle to b"])
        #expect(harness.sent(to: "b") == [.shuffle(Shuffle(origin: NodeHarness.peer("o"), ttl: 1, entries: entries))])
        #expect(harness.passive.isEmpty)
    }

    @Test("M13: where the walk ends, the node sends the origin as many of its passive entries, over a link of their own, and takes the walk's")
    func shuffleWalkEnds() throws {
        var harness = NodeHarness(active: ["a"], passive: ["p1", "p2", "p3"])
        let entries = [NodeHarness.entry("o"), NodeHarness.entry("e1", age: 4)]
        harness.receive(.shuffle(Shuffle(origin: NodeHarness.peer("o"), ttl: 2, entries: entries)), from: "a")
        #expect(harness.sent.isEmpty)
        #expect(harness.dialed == ["o"])
        #expect(Set(harness.passive) == ["p1", "p2", "p3", "o", "e1"])
        #expect(harness.passiveAge("e1") == 4)
        harness.take()
        let link = harness.answerDial("o")
        #expect(harness.sent(on: link).count == mySetUp.count + 2)
        let reply = try #require(harness.sent(on: link).dropLast().last?.shuffleReply)
        #expect(harness.sent(on: link).last == .disconnect(Disconnect(alive: true)), "M9: a close on purpose says so first")
        #expect(reply.entries.count == 2)
        #expect(Set(reply.entries.map(\.peer.id.rawValue)).isSubset(of: ["p1", "p2", "p3"]))
        #expect(harness.closedLinks == [link], "the exchange is done")
    }

    @Test("M13: a walk that ends at a peer linked to its origin is answered over that link")
    func shuffleReplyOverExistingLink() throws {
        var harness = NodeHarness(active: ["a"], passive: ["p1"])
        harness.receive(.shuffle(Shuffle(origin: NodeHarness.peer("a"), ttl: 0, entries: [NodeHarness.entry("a"), NodeHarness.entry("e1")])), from: "a")
        #expect(harness.dialed.isEmpty)
        #expect(harness.sent(to: "a") == [.shuffleReply(ShuffleReply(entries: [NodeHarness.entry("p1")]))])
        #expect(Set(harness.passive) == ["p1", "e1"], "never an active peer")
    }

    /// A node whose passive view (3 places) is full: x aged 5, y aged 1, z aged 2.
    static func fullPassiveView(_ configure: @escaping (inout NodeConfiguration) -> Void = { _ in }) -> NodeHarness {
        var harness = NodeHarness(active: ["a"]) {
            $0.membership.passiveViewSize = 3
            configure(&$0)
        }
        harness.addPassive(["x"], age: 5)
        harness.addPassive(["y"], age: 1)
        harness.addPassive(["z"], age: 2)
        return harness
    }

    @Test("M14: where a walk ends, the entries sent back to the origin are the first evicted to make room")
    func walkEndEvictsEntriesSentBack() throws {
        var harness = Self.fullPassiveView()
        harness.receive(.shuffle(Shuffle(origin: NodeHarness.peer("a"), ttl: 0, entries: [NodeHarness.entry("n1")])), from: "a")
        let reply = try #require(harness.sent(to: "a").first?.shuffleReply)
        #expect(reply.entries.count == 1)
        let sentBack = try #require(reply.entries.first?.peer.id.rawValue)
        #expect(Set(harness.passive) == Set(["x", "y", "z", "n1"]).subtracting([sentBack]))
    }

    @Test("M14: with nothing just sent away, the oldest entry is evicted; an entry heard again keeps its younger age; never self or an active peer")
    func oldestEvicted() {
        var harness = Self.fullPassiveView()
        let entries = [NodeHarness.entry("n1"), NodeHarness.entry("y", age: 7), NodeHarness.entry("me"), NodeHarness.entry("a")]
        harness.receive(.shuffleReply(ShuffleReply(entries: entries)), from: "a")
        #expect(Set(harness.passive) == ["y", "z", "n1"])
        #expect(harness.passiveAge("y") == 1)
        #expect(harness.sent.isEmpty && harness.closedLinks.isEmpty)
    }

    @Test("M14: at the shuffle's origin, the reply's entries evict first the passive entries its SHUFFLE carried, then the oldest")
    func originEvictsEntriesItSent() throws {
        var harness = Self.fullPassiveView {
            $0.membership.shufflePassiveCount = 1
            Self.noRotation(&$0)
        }
        harness.fire(.shuffle)
        let shuffle = try #require(harness.sent(to: "a").first?.shuffle)
        #expect(shuffle.entries.count == 2, "itself and one passive entry")
        let carried = try #require(shuffle.entries.last?.peer.id.rawValue)
        harness.take()
        harness.receive(.shuffleReply(ShuffleReply(entries: [NodeHarness.entry("n1"), NodeHarness.entry("n2")])), from: "a")
        let ages = ["x": 6, "y": 2, "z": 3].filter { $0.key != carried }
        let oldest = try #require(ages.max { $0.value < $1.value }?.key)
        #expect(Set(harness.passive) == Set(ages.keys).subtracting([oldest]).union(["n1", "n2"]))
    }

    @Test("M15: the oldest passive entry is tested each round: an answer resets its age and the link closes; no answer drops it")
    func passiveCheck() {
        func harnessTestingQ() -> NodeHarness {
            var harness = NodeHarness(active: ["a"], passive: ["p"], configure: Self.noRotation)
            harness.addPassive(["q"], age: 3)
            harness.fire(.shuffle)
            #expect(harness.dialed == ["q", "p"])
            harness.take()
            return harness
        }
        var answered = harnessTestingQ()
        let link = answered.answerDial("q")
        #expect(answered.sent(on: link) == mySetUp + [.disconnect(Disconnect(alive: true))], "M9: a close on purpose says so first")
        #expect(answered.closedLinks == [link])
        #expect(answered.passiveAge("q") == 0)

        var silent = harnessTestingQ()
        silent.failDial("q")
        #expect(silent.passive == ["p"])
    }

    // MARK: Rotation

    /// A full node (a–e) with passive peers p and q (older), whose shuffle round rotated: it tests q and asks p in
    /// with NEIGHBOR(high, handoff); returns the harness, p's link and the active peer handed off.
    static func rotating() throws -> (NodeHarness, LinkID, String) {
        var harness = NodeHarness(active: full, passive: ["p"]) {
            $0.membership.activeRotationInterval = $0.membership.shuffleInterval
        }
        harness.addPassive(["q"], age: 5)
        harness.fire(.shuffle)
        #expect(harness.dialed == ["q", "p"])
        harness.take()
        let link = harness.answerDial("p")
        let request = try #require(harness.sent(on: link).last?.neighbor)
        #expect(harness.sent(on: link).count == Self.mySetUp.count + 1)
        #expect(request.priority == .high)
        let leaving = try #require(request.handoff?.id.rawValue)
        #expect(full.contains(leaving))
        harness.take()
        return (harness, link, leaving)
    }

    @Test("M16: a rotating node with a full view sends a passive peer NEIGHBOR(high) naming the active peer it will drop")
    func rotationStarts() throws {
        _ = try Self.rotating()
        // A view with a free place fills it instead: the same round asks p with NEIGHBOR(low), no handoff.
        var notFull = NodeHarness(active: ["a", "b", "c", "d"], passive: ["p"]) {
            $0.membership.activeRotationInterval = $0.membership.shuffleInterval
        }
        notFull.addPassive(["q"], age: 5)
        notFull.fire(.shuffle)
        #expect(notFull.dialed == ["q", "p"])
        let link = notFull.answerDial("p")
        #expect(notFull.sent(on: link) == mySetUp + [.request(.low)])
    }

    @Test("M17: when the rotation's NEIGHBOR is accepted, the peer handed off gets DISCONNECT(alive) and the view keeps its size")
    func rotationCompletes() throws {
        var (harness, link, leaving) = try Self.rotating()
        let leavingLink = try #require(harness.link(leaving))
        harness.receive(.accepted, from: "p")
        #expect(harness.sent.map(\.description) == ["disconnect to \(leaving)"])
        #expect(harness.sent(to: leaving) == [.disconnect(Disconnect(alive: true))])
        #expect(harness.closedLinks == [leavingLink])
        #expect(Set(harness.active) == Set(Self.full).subtracting([leaving]).union(["p"]))
        #expect(harness.passive.contains(leaving) && harness.passiveAge(leaving) == 0)
        #expect(harness.counters.rotations == 1)
        #expect(harness.link("p") == link)
    }

    @Test("M17: a refused rotation changes nothing but closing the link to the peer asked")
    func rotationRefused() throws {
        var (harness, link, _) = try Self.rotating()
        harness.receive(.refused, from: "p")
        #expect(harness.sent.isEmpty)
        #expect(harness.closedLinks == [link])
        #expect(harness.active == Self.full)
    }

    // MARK: Links, healing, leaving

    @Test("M18: a link dialled for a shuffle reply whose peer turns out to be a joiner waiting at the address it advertises carries both, and stays open for the joiner's answer")
    func temporaryLinkServesEveryAddressOfItsPeer() throws {
        // The shuffle origin "o" is dialled at o's address; the joiner "j" at j's. Whoever answers at o's
        // address is j (it listens on one address and advertises another): j's NEIGHBOR request must not be
        // lost to the close that ends the shuffle reply.
        var harness = NodeHarness(active: ["a"], passive: ["p1"])
        harness.receive(.shuffle(Shuffle(origin: NodeHarness.peer("o"), ttl: 0, entries: [NodeHarness.entry("o")])), from: "a")
        harness.receive(.joinWalk(of: "j", ttl: 0), from: "a")
        #expect(Set(harness.dialed) == ["o", "j"])
        harness.take()
        let link = LinkID(9_001)
        harness.handle(.linkOpened(link, .outbound(NodeHarness.address("o"))))
        harness.handshake(from: "j", on: link)
        #expect(harness.sent(on: link).map(\.type) == [.handshake, .versions, .shuffleReply, .neighbor])
        #expect(harness.closedLinks.isEmpty, "j's answer to NEIGHBOR(high) is awaited on this link")
        harness.receive(.accepted, on: link)
        #expect(harness.active.contains("j"))
    }

    @Test("M18: a link in no view and no pending exchange is closed once it is more than 5 s old")
    func temporaryLinkCloses() {
        var harness = NodeHarness()
        let link = harness.connect("x")
        harness.take()
        for second in 1...5 {
            harness.fireRepeatedly(.linkMaintenance, until: NodeHarness.at(.seconds(second)))
            harness.receive(.keepAlive, from: "x")
        }
        #expect(harness.closedLinks.isEmpty)
        harness.fireRepeatedly(.linkMaintenance, until: NodeHarness.at(.milliseconds(5500)))
        #expect(harness.closedLinks == [link])
    }

    /// A node whose only active peer, a, failed at time zero.
    static func lostItsPeer() -> NodeHarness {
        var harness = NodeHarness(active: ["a"])
        harness.peerCloses("a")
        #expect(harness.dialed.isEmpty, "nobody to ask")
        harness.take()
        return harness
    }

    @Test("M19: a peer lost to failure is probed 1 s after the loss, then 2 s, 4 s … after it")
    func healingProbeSchedule() {
        var harness = Self.lostItsPeer()
        for (before, due) in [(900, 1000), (1900, 2000), (3900, 4000)] {
            harness.fireRepeatedly(.linkMaintenance, until: NodeHarness.at(.milliseconds(before)))
            #expect(harness.dialed.isEmpty, "no probe before \(due) ms")
            harness.fireRepeatedly(.linkMaintenance, until: NodeHarness.at(.milliseconds(due)))
            #expect(harness.dialed == ["a"], "a probe at \(due) ms")
            harness.failDial("a")
            harness.take()
        }
        #expect(harness.counters.healingProbes == 3)
    }

    @Test("M20: a lost peer that answers its probe is asked in with NEIGHBOR(high) and sent SHUFFLE(self, ttl 0, views)")
    func healingProbeAnswered() {
        var harness = Self.lostItsPeer()
        harness.fireRepeatedly(.linkMaintenance, until: NodeHarness.at(.seconds(1)))
        #expect(harness.dialed == ["a"])
        harness.take()
        let link = harness.answerDial("a")
        #expect(harness.sent(on: link) == mySetUp + [
            .request(.high), .shuffle(Shuffle(origin: me, ttl: 0, entries: [NodeHarness.entry("me")])),
        ])
        #expect(harness.counters.healedLinks == 1)
        harness.receive(.accepted, from: "a")
        #expect(harness.active == ["a"])
    }

    @Test("M21: a node that stops sends DISCONNECT(alive: false) to each active peer, closes every link and takes no new one")
    func leaving() throws {
        var harness = NodeHarness(active: ["a", "b"])
        let links = [try #require(harness.link("a")), try #require(harness.link("b"))]
        harness.stop()
        #expect(harness.sent(to: "a") == [.disconnect(Disconnect(alive: false))])
        #expect(harness.sent(to: "b") == [.disconnect(Disconnect(alive: false))])
        #expect(Set(harness.closedLinks) == Set(links))
        #expect(Set(harness.cancelledTimers) == Set(NodeTimer.allCases))
        harness.take()
        let late = harness.open(from: "c")
        #expect(harness.closedLinks == [late])
        #expect(harness.sent(on: late).isEmpty)
    }
}
