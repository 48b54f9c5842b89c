import Testing
@testable import RumorCore

/// The version rules of `docs/protocol.md` (L12–L15): negotiation, refusal, what a link's version allows,
/// and the round-trip probes of version 4.
@Suite("Rule specs: wire versions")
struct LinkVersionRuleSpecs {
    /// The versions the node settled `link` at, as it told its driver.
    func settledVersion(_ harness: NodeHarness, _ link: LinkID) -> UInt8? {
        harness.effects.lazy.compactMap { if case .setWireVersion(link, let version) = $0 { version } else { nil } }.first
    }

    @Test("L12: a link runs at the highest version both sides offer, and the driver hears it before any other frame goes out")
    func highestCommonVersion() throws {
        var newer = NodeHarness()
        let both = newer.open(from: "a")
        newer.take()
        newer.handshake(from: "a", versions: 3...4, on: both)
        #expect(settledVersion(newer, both) == 4)
        let older = newer.open(from: "b")
        newer.take()
        newer.handshake(from: "b", versions: 3...3, on: older)
        #expect(settledVersion(newer, older) == 3)
        newer.take()
        newer.receive(.join, on: older)
        #expect(newer.node.status(at: newer.now).active.map(\.wireVersion) == [3])

        // A dialled seed: the JOIN goes out at once, after the driver has heard the link's version.
        var joiner = NodeHarness(seeds: ["s"])
        joiner.start()
        joiner.take()
        let seedLink = joiner.answerDial("s", versions: 3...3)
        let settledAt = try #require(joiner.effects.firstIndex { if case .setWireVersion(seedLink, 3) = $0 { true } else { false } })
        let joinAt = try #require(joiner.effects.firstIndex { if case .send(seedLink, .join) = $0 { true } else { false } })
        #expect(settledAt < joinAt)

        // The same pair seen from the node that offers only version 3; extensions it does not know are skipped.
        var old = NodeHarness { $0.wireVersions = 3...3 }
        let link = old.open(from: "n")
        #expect(old.sent(on: link).last == .versions(VersionOffer(lowest: 3, highest: 3)))
        #expect(old.sent(on: link).first == .handshake(Handshake(version: 3, sender: old.identity, epoch: 1)))
        old.take()
        old.receive(.handshake(Handshake(version: 4, sender: NodeHarness.peer("n"), epoch: 1)), on: link)
        #expect(old.effects.isEmpty, "a version-4 handshake waits for its VERSIONS: the peer may speak 3 too")
        old.receive(.versions(VersionOffer(lowest: 3, highest: 4, extensions: [WireExtension(tag: 200, value: [1, 2])])), on: link)
        #expect(settledVersion(old, link) == 3)
        #expect(old.closedLinks.isEmpty)
    }

    @Test("L13: no version in common is refused (unsupported version, both ranges named); a VERSIONS that contradicts the Handshake, is missing, or comes twice is a violation")
    func noCommonVersion() throws {
        var old = NodeHarness { $0.wireVersions = 3...3 }
        let link = old.open(from: "future")
        old.take()
        old.receive(.handshake(Handshake(version: 6, sender: NodeHarness.peer("future"), epoch: 1)), on: link)
        old.receive(.versions(VersionOffer(lowest: 5, highest: 6)), on: link)
        let rejection = try #require(old.sent(on: link).first?.rejection)
        #expect(old.sent(on: link).count == 1)
        #expect(rejection.reason == .unsupportedVersion && rejection.supportedVersion == 3)
        #expect(rejection.detail.contains("versions 5 to 6") && rejection.detail.contains("version 3"), "\(rejection.detail)")
        #expect(old.closedLinks == [link])

        var harness = NodeHarness()
        let contradicting = harness.open(from: "a")
        harness.take()
        harness.receive(.handshake(Handshake(version: 4, sender: NodeHarness.peer("a"), epoch: 1)), on: contradicting)
        harness.receive(.versions(VersionOffer(lowest: 3, highest: 3)), on: contradicting)
        #expect(harness.sent(on: contradicting).map(\.rejection?.reason) == [.protocolViolation])
        #expect(harness.closedLinks == [contradicting])
        let missing = harness.open(from: "b")
        harness.take()
        harness.receive(.handshake(Handshake(sender: NodeHarness.peer("b"), epoch: 1)), on: missing)
        harness.receive(.join, on: missing)
        #expect(harness.sent(on: missing).map(\.rejection?.reason) == [.protocolViolation])
        #expect(harness.closedLinks == [missing])
        let twice = harness.connect("c")
        harness.take()
        harness.receive(.versions(VersionOffer(WireFormat.versions)), on: twice)
        #expect(harness.sent(on: twice).map(\.rejection?.reason) == [.protocolViolation])
        #expect(harness.closedLinks == [twice])
        #expect(harness.counters.handshakesCompleted == 1)
    }

    @Test("L16: a peer of another cluster, or of none when this node has a name, is refused with reason 'cluster mismatch' naming both")
    func clusterMismatch() throws {
        var named = NodeHarness { $0.clusterName = "blue" }
        let link = named.open(from: "a")
        #expect(named.sent(on: link).last == .versions(VersionOffer(WireFormat.versions, extensions: [
            WireExtension(tag: WireExtension.Tag.clusterName, value: Array("blue".utf8)),
        ])))
        named.take()
        named.receive(.handshake(Handshake(sender: NodeHarness.peer("a"), epoch: 1)), on: link)
        named.receive(.versions(VersionOffer(WireFormat.versions, extensions: [WireExtension(tag: WireExtension.Tag.clusterName, value: Array("red".utf8))])), on: link)
        let rejection = try #require(named.sent(on: link).first?.rejection)
        #expect(rejection.reason == .clusterMismatch)
        #expect(rejection.detail.contains("cluster 'red'") && rejection.detail.contains("cluster 'blue'"), "\(rejection.detail)")
        #expect(named.closedLinks == [link])
        named.take()
        let unnamed = named.open(from: "b")
        named.take()
        named.handshake(from: "b", on: unnamed)
        #expect(named.sent(on: unnamed).first?.rejection?.reason == .clusterMismatch, "no name is not 'blue'")
        named.take()
        let same = named.open(from: "c")
        named.take()
        named.receive(.handshake(Handshake(sender: NodeHarness.peer("c"), epoch: 1)), on: same)
        named.receive(.versions(VersionOffer(WireFormat.versions, extensions: [WireExtension(tag: WireExtension.Tag.clusterName, value: Array("blue".utf8))])), on: same)
        #expect(named.closedLinks.isEmpty && named.counters.handshakesCompleted == 1)
    }

    @Test("L14: a message newer than its link's version (PING on a version-3 link) is a protocol violation")
    func messageNewerThanLink() throws {
        var harness = NodeHarness()
        harness.makeActive("a", versions: 3...3)
        let link = try #require(harness.link("a"))
        harness.receive(.ping(RoundTripProbe(token: 1)), on: link)
        let rejection = try #require(harness.sent(on: link).first?.rejection)
        #expect(rejection.reason == .protocolViolation && rejection.detail.contains("version 3"))
        #expect(harness.closedLinks == [link])
        // The codec enforces the same per frame: a PING in a version-3 frame does not decode.
        var frame = MessageCodec.encodeBody(.ping(RoundTripProbe(token: 1)))
        frame[0] = 3
        #expect(throws: WireError.typeNotInVersion(.ping, version: 3)) { try MessageCodec.decodeBody(frame) }
    }

    @Test("L15: a version-4 link gets a PING at least every keepalive interval, busy or not; a PING is answered by a PONG; the PONG of the latest PING gives the round-trip time")
    func roundTripProbes() throws {
        var harness = NodeHarness(active: ["a"])
        harness.answersPings = false
        let link = try #require(harness.link("a"))
        // The first maintenance tick (125 ms) finds no PING yet: it sends one.
        harness.fireRepeatedly(.linkMaintenance, until: NodeHarness.at(.milliseconds(125)))
        let first = try #require(harness.sent(on: link).first)
        #expect(harness.sent(on: link).count == 1)
        guard case .ping(let probe) = first else { Issue.record("expected a PING, got \(first)"); return }
        #expect(probe.token == NodeHarness.at(.milliseconds(125)).nanoseconds, "the token is the prober's clock")
        harness.take()
        harness.advance(by: .milliseconds(30))
        harness.receive(.pong(RoundTripProbe(token: probe.token + 1)), on: link)
        #expect(harness.node.status(at: harness.now).active.first?.roundTripTime == nil, "a PONG for another token is ignored")
        harness.receive(.pong(probe), on: link)
        #expect(harness.node.status(at: harness.now).active.first?.roundTripTime == .milliseconds(30))
        // A busy link (the peer's frames every 100 ms) gets no PING for quiet (L17), only the keepalive
        // one, a keepalive interval after the first.
        for step in 1...10 {
            harness.fireRepeatedly(.linkMaintenance, until: NodeHarness.at(.milliseconds(125 + 100 * step)))
            harness.receive(.keepAlive, on: link)
        }
        let pings = harness.sent(on: link).compactMap { if case .ping(let probe) = $0 { probe } else { nil } }
        #expect(pings.map(\.token) == [NodeHarness.at(.milliseconds(1125)).nanoseconds], "one PING, a second after the first")
        harness.advance(by: .milliseconds(110))
        harness.receive(.pong(try #require(pings.first)), on: link)
        #expect(harness.node.status(at: harness.now).active.first?.roundTripTime == .milliseconds(40), "30 + (110 - 30) / 8")
        #expect(!harness.sent.contains { $0.message == .keepAlive })
        harness.take()
        // While the peer's own PINGs keep coming, each is answered at once and this end sends none.
        for step in 0...15 {
            harness.fireRepeatedly(.linkMaintenance, until: NodeHarness.at(.milliseconds(1300 + 100 * step)))
            harness.receive(.ping(RoundTripProbe(token: UInt64(step))), on: link)
        }
        #expect(harness.sent(on: link).allSatisfy { if case .pong = $0 { true } else { false } } && harness.sent(on: link).count == 16)
        harness.take()
        // Once they stop (the last at 2.8 s), the keepalive PING is due again a second later: 3.875 s, the first tick after 3.8 s.
        for step in 1...11 {
            harness.fireRepeatedly(.linkMaintenance, until: NodeHarness.at(.milliseconds(2800 + 100 * step)))
            harness.receive(.keepAlive, on: link)
        }
        let later = harness.sent(on: link).compactMap { if case .ping(let probe) = $0 { probe.token } else { nil } }
        #expect(later == [NodeHarness.at(.milliseconds(3875)).nanoseconds])
    }
}
