import Testing
@testable import RumorCore

/// How a node tells a dead link from a quiet one (docs/protocol.md, L17 and L18): PINGs on quiet links, a
/// silence threshold from the link's own rhythm, and Lifeguard's widening while the node itself lags.
@Suite("Rule specs: link liveness")
struct LinkLivenessRuleSpecs {
    /// The PINGs sent on `link` so far, by the time they went (the token is the sender's clock).
    func pingTimes(_ harness: NodeHarness, _ link: LinkID) -> [Duration] {
        harness.sent(on: link).compactMap { if case .ping(let probe) = $0 { .nanoseconds(Int64(probe.token)) } else { nil } }
    }

    /// The peer's frames every `gap` from `start` to `end`, the maintenance tick running on time between them.
    func peerTalks(_ harness: inout NodeHarness, on link: LinkID, every gap: Duration, from start: Duration, to end: Duration) {
        var time = start
        while time <= end {
            harness.fireRepeatedly(.linkMaintenance, until: NodeHarness.at(time))
            harness.receive(.keepAlive, on: link)
            time += gap
        }
    }

    @Test("L17: a quiet link gets a PING once nothing has been heard for a probe interval, never two within one")
    func quietLinkIsProbed() throws {
        var harness = NodeHarness(active: ["a"])
        harness.answersPings = false
        let link = try #require(harness.link("a"))
        harness.fireRepeatedly(.linkMaintenance, until: NodeHarness.at(.milliseconds(125)))
        #expect(pingTimes(harness, link) == [.milliseconds(125)], "the first tick: no PING yet")
        harness.advance(to: NodeHarness.at(.milliseconds(130)))
        harness.receive(.pong(RoundTripProbe(token: NodeHarness.at(.milliseconds(125)).nanoseconds)), on: link)
        // Heard at 130 ms: quiet from 380 ms on, so the next PING goes at the first tick after, 500 ms.
        harness.fireRepeatedly(.linkMaintenance, until: NodeHarness.at(.milliseconds(875)))
        #expect(pingTimes(harness, link) == [.milliseconds(125), .milliseconds(500), .milliseconds(750)],
                "unanswered, one PING a probe interval")
        #expect(harness.closedLinks.isEmpty, "745 ms of silence")
        // Left unanswered, the link dies once its silence passes the minimum, 750 ms.
        harness.fireRepeatedly(.linkMaintenance, until: NodeHarness.at(.milliseconds(1000)))
        #expect(harness.closedLinks == [link])
    }

    @Test("L17: a peer that was heard regularly and falls silent is closed after the minimum silence, 750 ms, not 3 s")
    func regularPeerFallsSilent() throws {
        var harness = NodeHarness(active: ["a"])
        harness.answersPings = false
        let link = try #require(harness.link("a"))
        peerTalks(&harness, on: link, every: .milliseconds(100), from: .milliseconds(100), to: .seconds(2))
        let threshold = try #require(harness.node.status(at: harness.now).active.first?.silenceThreshold)
        #expect(threshold == .milliseconds(750), "a busy, regular link sits at the floor")
        harness.fireRepeatedly(.linkMaintenance, until: NodeHarness.at(.milliseconds(2750)))
        #expect(harness.closedLinks.isEmpty, "750 ms of silence is not more than 750 ms")
        harness.fireRepeatedly(.linkMaintenance, until: NodeHarness.at(.milliseconds(2875)))
        #expect(harness.closedLinks == [link])
        #expect(harness.active.isEmpty && harness.counters.silentLinksClosed == 1)
    }

    @Test("L17: a link closed for silence says DISCONNECT (alive) first: a peer that was only slow reads it and reports no failure of this node (D4)")
    func silenceCloseSaysDisconnect() throws {
        var closer = NodeHarness(active: ["a"])
        closer.answersPings = false
        let link = try #require(closer.link("a"))
        closer.fireRepeatedly(.linkMaintenance, until: NodeHarness.at(.seconds(2)))
        #expect(closer.closedLinks == [link])
        #expect(closer.sent(on: link).last == .disconnect(Disconnect(alive: true)), "\(closer.sent(on: link))")

        // The slow peer's side: the closer's link ends after its DISCONNECT, b's without a word.
        var slow = NodeHarness("a", active: ["me", "b"]) { $0.directory.enabled = true }
        slow.preloadDirectory(["me", "b"])
        slow.receive(.disconnect(Disconnect(alive: true)), from: "me")
        if slow.link("me") != nil { slow.peerCloses("me") }
        slow.peerCloses("b")
        #expect(slow.counters.failureReportsSent == 1, "b is reported, the node that said DISCONNECT is not")
        #expect(slow.passive.contains("me"), "the closer stays a passive peer")
    }

    @Test("L17: a peer whose gaps were long and irregular gets a longer threshold, still within the silence timeout")
    func irregularPeerGetsLonger() throws {
        var harness = NodeHarness(active: ["a"])
        harness.answersPings = false
        let link = try #require(harness.link("a"))
        var time = Duration.zero
        for gap in Array(repeating: [Duration.milliseconds(150), .milliseconds(650)], count: 8).joined() {
            time += gap
            harness.fireRepeatedly(.linkMaintenance, until: NodeHarness.at(time))
            harness.receive(.keepAlive, on: link)
        }
        let threshold = try #require(harness.node.status(at: harness.now).active.first?.silenceThreshold)
        #expect(threshold > .milliseconds(1000) && threshold < .seconds(3), "\(threshold)")
        harness.fireRepeatedly(.linkMaintenance, until: NodeHarness.at(time + .seconds(1)))
        #expect(harness.closedLinks.isEmpty, "a second of silence is within this peer's character")
        harness.fireRepeatedly(.linkMaintenance, until: NodeHarness.at(time + threshold + .milliseconds(125)))
        #expect(harness.closedLinks == [link])
    }

    @Test("L18: a maintenance tick that fires late closes nothing for silence, counts silence afresh from then, and widens every threshold; ticks on time narrow it again")
    func lateTickWidens() throws {
        var harness = NodeHarness(active: ["a", "b"])
        harness.answersPings = false
        let linkA = try #require(harness.link("a"))
        let linkB = try #require(harness.link("b"))
        for time in stride(from: 100, through: 1000, by: 100) {
            harness.fireRepeatedly(.linkMaintenance, until: NodeHarness.at(.milliseconds(time)))
            harness.receive(.keepAlive, on: linkA)
            harness.receive(.keepAlive, on: linkB)
        }
        // The node's own loop stalls (a paused process): the tick due at 1.125 s fires at 5 s.
        harness.advance(to: NodeHarness.at(.seconds(5)))
        harness.fire(.linkMaintenance)
        #expect(harness.closedLinks.isEmpty, "4 s without hearing anyone, but this node was the one not running")
        #expect(harness.node.status(at: harness.now).localHealthScore == 1)
        #expect(harness.counters.lateMaintenanceTicks == 1)
        let thresholdB = try #require(harness.node.status(at: harness.now).active.first { $0.id.rawValue == "b" }?.silenceThreshold)
        #expect(thresholdB == .milliseconds(1500), "the floor, 750 ms, times 1 + 1")
        // a answers from then on, b stays silent: b's silence counts from 5 s and must pass 1.5 s.
        peerTalks(&harness, on: linkA, every: .milliseconds(100), from: .milliseconds(5100), to: .milliseconds(6500))
        #expect(harness.link("b") != nil, "1.5 s after the stall: at the floor b would be gone since 5.875 s")
        harness.fireRepeatedly(.linkMaintenance, until: NodeHarness.at(.milliseconds(6625)))
        #expect(harness.link("b") == nil && harness.counters.silentLinksClosed == 1)
        #expect(harness.link("a") != nil)
        // Two seconds of ticks on time bring the score back down.
        peerTalks(&harness, on: linkA, every: .milliseconds(100), from: .milliseconds(6700), to: .milliseconds(7200))
        #expect(harness.node.status(at: harness.now).localHealthScore == 0)
    }

    @Test("L18: a node whose loop keeps lagging widens its thresholds step by step, up to five times the link's own")
    func laggingLoopKeepsWidening() throws {
        var harness = NodeHarness(active: ["a"])
        harness.answersPings = false
        let link = try #require(harness.link("a"))
        var time = Duration.zero
        var scores: [Int] = []
        var thresholds: [Duration] = []
        for _ in 0..<6 {
            // Each tick 400 ms late (a probe interval is 250 ms): a host too loaded to keep time.
            time += .milliseconds(525)
            harness.advance(to: NodeHarness.at(time))
            harness.fire(.linkMaintenance)
            harness.receive(.keepAlive, on: link)
            let status = harness.node.status(at: harness.now)
            scores.append(status.localHealthScore)
            thresholds.append(try #require(status.active.first?.silenceThreshold))
        }
        #expect(harness.closedLinks.isEmpty, "no tick judged silence: each was late")
        #expect(scores == [1, 2, 3, 4, 4, 4])
        for (score, threshold) in zip(scores, thresholds) {
            #expect(threshold >= .milliseconds(750) * (1 + score), "\(threshold) at score \(score)")
        }
        #expect(thresholds[3] > thresholds[0] * 2, "widened: \(thresholds)")
    }
}
