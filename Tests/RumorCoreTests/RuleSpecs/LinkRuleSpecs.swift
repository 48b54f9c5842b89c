import Testing
@testable import RumorCore

/// The link rules of `docs/protocol.md` (L1–L11), one node driven by hand-made frames. The version rules
/// (L12–L15) are in `LinkVersionRuleSpecs`.
@Suite("Rule specs: links and the handshake")
struct LinkRuleSpecs {
    let me = NodeHarness.peer("me")
    /// What the node sends first on every link: its Handshake (its highest version) and VERSIONS.
    var mySetUp: [Message] {
        [.handshake(Handshake(version: WireFormat.versions.upperBound, sender: me, epoch: 1)), .versions(VersionOffer(WireFormat.versions))]
    }

    @Test("L1: both sides send a Handshake and VERSIONS as soon as a link opens, and the maintenance tick is armed")
    func handshakeBothWays() {
        var harness = NodeHarness()
        let inbound = harness.open(from: "a")
        #expect(harness.sent(on: inbound) == mySetUp)
        #expect(harness.armed(.linkMaintenance) == [.milliseconds(125)])
        harness.take()
        let outbound = harness.answerDial("b")
        // (Dialled for nothing, the link then closes at once, saying DISCONNECT: M9.)
        #expect(Array(harness.sent(on: outbound).prefix(mySetUp.count)) == mySetUp)
        #expect(harness.armed(.linkMaintenance).isEmpty, "one maintenance tick for every link")
    }

    @Test("L2: a version-2 Handshake, from a node that cannot negotiate, is refused at once (unsupported version, both sides named)")
    func versionMismatch() throws {
        var harness = NodeHarness()
        let link = harness.open(from: "a")
        harness.take()
        harness.receive(.handshake(Handshake(version: 2, sender: NodeHarness.peer("a"), epoch: 1)), on: link)
        #expect(harness.sent(on: link).count == 1, "no VERSIONS is awaited: such a node sends none")
        let rejection = try #require(harness.sent(on: link).first?.rejection)
        #expect(rejection.reason == .unsupportedVersion)
        #expect(rejection.supportedVersion == WireFormat.versions.upperBound, "the byte a version-2 node reads and logs")
        #expect(rejection.detail.contains("version 2") && rejection.detail.contains(WireFormat.describe(WireFormat.versions)), "\(rejection.detail)")
        #expect(harness.closedLinks == [link])
        #expect(harness.active.isEmpty)
    }

    @Test("L3: any other frame before the handshake, or a second handshake, is refused as a protocol violation")
    func protocolViolations() {
        var harness = NodeHarness()
        let early = harness.open(from: "a")
        harness.take()
        harness.receive(.join, on: early)
        #expect(harness.sent(on: early).map(\.rejection?.reason) == [.protocolViolation])
        #expect(harness.closedLinks == [early])
        harness.take()
        let established = harness.connect("b")
        harness.take()
        harness.receive(.handshake(Handshake(sender: NodeHarness.peer("b"), epoch: 1)), on: established)
        #expect(harness.sent(on: established).map(\.rejection?.reason) == [.protocolViolation])
        #expect(harness.closedLinks == [established])
    }

    @Test("L4: a Handshake carrying the node's own id is refused with reason 'connected to itself'")
    func dialledItself() {
        var harness = NodeHarness()
        let link = harness.open(from: "x")
        harness.take()
        harness.receive(.handshake(Handshake(sender: harness.identity, epoch: 1)), on: link)
        harness.receive(.versions(VersionOffer(WireFormat.versions)), on: link)
        #expect(harness.sent(on: link).map(\.rejection?.reason) == [.connectedToSelf])
        #expect(harness.closedLinks == [link])
    }

    @Test("L5: a peer's Handshake with a higher epoch closes its old link at once; its old life's frames are ignored")
    func restartedPeer() throws {
        var harness = NodeHarness(active: ["a"])
        let old = try #require(harness.link("a"))
        let new = harness.open(from: "a")
        harness.take()
        harness.handshake(from: "a", epoch: 2, on: new)
        #expect(harness.closedLinks == [old])
        #expect(harness.active.isEmpty, "its place in the views is from a previous life")
        #expect(harness.passive == ["a"], "closed on purpose, not failed: a passive peer")
        // The view is empty: the restarted peer is asked back at once, over its new link (M11).
        #expect(harness.sent(on: new) == [.request(.high)])
        #expect(harness.sent(on: old).isEmpty)
        harness.take()
        harness.receive(.disconnect(Disconnect(alive: false)), on: old)
        #expect(harness.effects.isEmpty)
    }

    @Test("L6: a Handshake with a lower epoch than the peer's link is stale: refused as a duplicate link")
    func staleEpoch() throws {
        var harness = NodeHarness()
        let current = harness.connect("a", epoch: 2)
        harness.makeActive("a")
        let stale = harness.open(from: "a")
        harness.take()
        harness.handshake(from: "a", epoch: 1, on: stale)
        #expect(harness.sent(on: stale).map(\.rejection?.reason) == [.duplicateLink])
        #expect(harness.closedLinks == [stale])
        #expect(harness.active == ["a"])
        #expect(harness.link("a") == current)
    }

    @Test("L7: when both dialled at once, the link opened by the smaller id stays and the pending request goes over it")
    func crossedDials() throws {
        // "me" < "z": this node's own outbound link stays, the inbound one is closed and the JOIN sent again.
        var smaller = NodeHarness(seeds: ["z"])
        smaller.start()
        #expect(smaller.dialed == ["z"])
        let inbound = smaller.connect("z")
        #expect(smaller.sent(on: inbound) == mySetUp + [.join], "the peer is linked: the JOIN goes at once")
        smaller.take()
        let outbound = smaller.answerDial("z")
        #expect(smaller.closedLinks.isEmpty, "the superseded link stays open for a keepalive interval")
        #expect(smaller.sent(on: outbound) == mySetUp + [.join])
        #expect(smaller.sent(on: inbound).isEmpty)
        // What the peer sent on the superseded link before it saw the new one still counts.
        smaller.receive(.neighborReply(NeighborReply(accepted: true)), on: inbound)
        #expect(smaller.active == ["z"])
        smaller.take()
        smaller.advance(by: smaller.configuration.keepAliveInterval)
        smaller.fire(.linkMaintenance)
        #expect(smaller.closedLinks == [inbound])
        #expect(smaller.sent(on: inbound).isEmpty)
        #expect(smaller.active == ["z"])

        // "a" < "me": the peer's inbound link stays; the new outbound one is refused as a duplicate.
        var larger = NodeHarness(seeds: ["a"])
        larger.start()
        let kept = larger.connect("a")
        larger.take()
        let refused = larger.answerDial("a")
        #expect(larger.sent(on: refused).map(\.type) == [.handshake, .versions, .handshakeRejected])
        #expect(larger.sent(on: refused).last?.rejection?.reason == .duplicateLink)
        #expect(larger.closedLinks == [refused])
        #expect(larger.sent(on: kept) == [.join], "the outstanding request is sent again over the link kept")
    }

    @Test("L8: a link with no handshake within 5 s is closed by the first maintenance tick past the deadline")
    func handshakeDeadline() {
        var harness = NodeHarness()
        let link = harness.open(from: "a")
        harness.take()
        harness.fireRepeatedly(.linkMaintenance, until: NodeHarness.at(.seconds(5)))
        #expect(harness.closedLinks.isEmpty)
        harness.fireRepeatedly(.linkMaintenance, until: NodeHarness.at(.milliseconds(5500)))
        #expect(harness.closedLinks == [link])
        #expect(harness.sent(on: link).isEmpty, "no rejection: the peer never spoke")
    }

    @Test("L9: an established link of version 3 gets a KeepAlive after 1 s with nothing sent, and is closed after 3 s with nothing heard")
    func keepAliveAndSilence() throws {
        var harness = NodeHarness()
        harness.makeActive("a", versions: 3...3)
        let link = try #require(harness.link("a"))
        harness.fireRepeatedly(.linkMaintenance, until: NodeHarness.at(.milliseconds(900)))
        #expect(harness.sent.isEmpty)
        harness.fireRepeatedly(.linkMaintenance, until: NodeHarness.at(.seconds(1)))
        #expect(harness.sent(on: link) == [.keepAlive])
        harness.take()
        harness.fireRepeatedly(.linkMaintenance, until: NodeHarness.at(.seconds(3)))
        #expect(harness.sent(on: link) == [.keepAlive, .keepAlive], "at 2 s and 3 s")
        #expect(harness.closedLinks.isEmpty, "3 s of silence is not more than 3 s")
        harness.take()
        harness.fireRepeatedly(.linkMaintenance, until: NodeHarness.at(.milliseconds(3500)))
        #expect(harness.closedLinks == [link])
        #expect(harness.active.isEmpty)
        #expect(harness.counters.silentLinksClosed == 1)
    }

    @Test("L10: a HandshakeRejected received closes the link without an answer")
    func rejectionReceived() {
        var harness = NodeHarness()
        let link = harness.connect("a")
        harness.take()
        harness.receive(.handshakeRejected(HandshakeRejection(reason: .duplicateLink, detail: "already linked")), on: link)
        #expect(harness.sent.isEmpty)
        #expect(harness.closedLinks == [link])
    }

    @Test("L11: a frame that does not decode closes the link as failed, with no answer")
    func malformedFrame() throws {
        var harness = NodeHarness(active: ["a"])
        let link = try #require(harness.link("a"))
        harness.handle(.malformedFrame(link, .emptyBody))
        #expect(harness.closedLinks == [link])
        #expect(harness.sent(on: link).isEmpty)
        #expect(harness.counters.malformedFrames == 1)
        #expect(harness.node.lost.entry(NodeHarness.address("a"))?.lostToFailure == true, "a failure, probed later (M19)")
    }
}
