import Testing
@testable import RumorCore
import RumorSim
import SimulationTestSupport

/// A hung peer (SIGSTOP in a live mesh, `freeze` in the simulator) sends no close: only silence shows it.
@Suite("Frozen peers: silent failures in the simulator", .checkedSimulations)
struct FrozenPeerTests {
    @Test("a frozen node leaves every active view on silence alone within a second, and once thawed is back in the overlay, its held frames and late timers handled in order")
    func frozenNodeDroppedThenBack() {
        var network = joinedOverlay(60, seed: 77)
        let frozen = PeerAddress.local(7)
        let frozenID = network.node(at: frozen).identity.id
        #expect(network.activeViews().values.contains { $0.contains(frozen) })
        network.freeze(frozen)
        // The minimum silence (750 ms) and a maintenance tick (125 ms) at most: well within a second (L17).
        network.run(for: .seconds(1))
        let holders = network.activeViews().filter { $0.key != frozen && $0.value.contains(frozen) }.map(\.key)
        #expect(holders.isEmpty, "still held by \(holders) after 1 s of silence")
        #expect(network.node(at: frozen).status(at: network.now).counters.silentLinksClosed == 0, "it handled nothing while frozen")

        network.thaw(frozen)
        #expect(!network.isFrozen(frozen))
        network.run(for: .seconds(2))
        let backIn = network.activeViews().filter { $0.key != frozen && $0.value.contains(frozen) }
        #expect(!backIn.isEmpty, "\(frozenID) is in no active view 2 s after its thaw")
        #expect(network.components().count == 1)
    }

    @Test("half the overlay frozen at once: the survivors hold no frozen peer after a second, and stay one overlay")
    func halfFrozen() {
        var network = joinedOverlay(64, seed: 78)
        let frozen = (1...64).filter { $0 % 2 == 0 }.map { PeerAddress.local($0) }
        for address in frozen { network.freeze(address) }
        network.run(for: .seconds(1))
        let frozenSet = Set(frozen)
        let holders = network.activeViews().filter { !frozenSet.contains($0.key) && !$0.value.filter(frozenSet.contains).isEmpty }
        #expect(holders.isEmpty, "\(holders.count) survivors still hold frozen peers after 1 s")
        network.run(for: .seconds(2))
        let survivors = network.activeViews().filter { !frozenSet.contains($0.key) }
        #expect(survivors.values.allSatisfy { !$0.isEmpty }, "a survivor left with no active peer")
    }
}
