import Testing
@testable import RumorCore

/// A seed given by DNS name: the driver resolves it and reports the link as dialled to the name, while the
/// peer it reaches advertises an address literal. The core must recognise that peer as the seed.
@Suite("Seeds given by name")
struct SeedNameTests {
    static let seedName = "seeds.example"

    @Test("a node joined through a seed's name does not probe that name again while the seed is its active peer")
    func joinedThroughName() {
        var harness = NodeHarness(seeds: [Self.seedName])
        harness.start()
        #expect(harness.dialed == [Self.seedName])
        harness.take()
        harness.answerDial("a", dialledAt: NodeHarness.address(Self.seedName))
        #expect(harness.sent(to: "a").map(\.type).last == .join)
        harness.receive(.accepted, from: "a")
        #expect(harness.active == ["a"])
        harness.take()
        // The seed's early (bridging) probes come due at 1 s and 3 s.
        harness.fireRepeatedly(.linkMaintenance, until: NodeHarness.at(.milliseconds(2_900)))
        #expect(!harness.dialed.contains(Self.seedName), "the seed behind the name is linked already")
        harness.checkInvariants()
    }

    @Test("an early probe of a seed's name that reaches a peer bridges to it, as a probe of its address does")
    func probeThroughNameBridges() {
        var harness = NodeHarness(active: ["b"], seeds: [Self.seedName])
        harness.start()
        harness.take()
        harness.fireRepeatedly(.linkMaintenance, until: NodeHarness.at(.milliseconds(1_500)))
        #expect(harness.dialed.contains(Self.seedName))
        harness.take()
        harness.answerDial("a", dialledAt: NodeHarness.address(Self.seedName))
        let toSeed = harness.sent(to: "a")
        #expect(toSeed.contains(Message.request(.high)), "the bridge: NEIGHBOR(high) to the peer behind the name; sent \(toSeed)")
        #expect(toSeed.contains { if case .shuffle(let shuffle) = $0 { shuffle.ttl == 0 } else { false } })
        harness.checkInvariants()
    }
}
