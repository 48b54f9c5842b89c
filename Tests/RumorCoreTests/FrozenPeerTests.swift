import Testing
@testable import RumorCore
import RumorSim
import SimulationTestSupport

/// A hung peer (SIGSTOP in a live mesh, `freeze` in the simulator) sends no close: only silence shows it.
@Suite("Frozen peers: silent failures in the simulator", .checkedSimulations)
struct FrozenPeerTests {
    @Test("a frozen node leaves every active view on silence alone, and once thawed is back in the overlay, its held frames and late timers handled in order")
    func frozenNodeDroppedThenBack() {
        var network = joinedOverlay(60, seed: 77)
        let frozen = PeerAddress.local(7)
        let frozenID = network.node(at: frozen).identity.id
        #expect(network.activeViews().values.contains { $0.contains(frozen) })
        network.freeze(frozen)
        let silence = NodeConfiguration(identity: network.node(at: frozen).identity, epoch: 1, seeds: []).silenceTimeout
        network.run(for: silence + .seconds(1))
        let holders = network.activeViews().filter { $0.key != frozen && $0.value.contains(frozen) }.map(\.key)
        #expect(holders.isEmpty, "still held by \(holders) after \(silence + .seconds(1)) of silence")
        #expect(network.node(at: frozen).status(at: network.now).counters.silentLinksClosed == 0, "it handled nothing while frozen")

        network.thaw(frozen)
        #expect(!network.isFrozen(frozen))
        network.run(for: .seconds(2))
        let backIn = network.activeViews().filter { $0.key != frozen && $0.value.contains(frozen) }
        #expect(!backIn.isEmpty, "\(frozenID) is in no active view 2 s after its thaw")
        #expect(network.components().count == 1)
    }
}
