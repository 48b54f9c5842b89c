import Testing
@testable import RumorCore
import RumorSim
import SimulationTestSupport

@Suite("Broadcast: bridging the tree when a tree link goes", .checkedSimulations)
struct TreeBridgeTests {
    /// 40 nodes whose tree has formed under messages from random origins, so that every node has eager and
    /// lazy peers.
    func shapedOverlay() throws -> SimulatedNetwork {
        var network = joinedOverlay(40, seed: 404, settle: .seconds(10))
        var random = SeededRandom(seed: 9)
        for _ in 0..<100 {
            try network.publish([1, 2, 3], from: network.liveAddresses.randomElement(using: &random)!)
            network.run(for: .milliseconds(20))
        }
        network.run(for: .seconds(1))
        return network
    }

    /// A live node with an eager peer and at least one lazy peer: (node, eager peer's address, lazy peer ids).
    func nodeWithEagerAndLazyPeers(_ network: SimulatedNetwork, skipping: Set<PeerAddress> = []) -> (PeerAddress, PeerAddress, Set<NodeID>)? {
        for address in network.liveAddresses where !skipping.contains(address) {
            let status = network.node(at: address).status(at: network.now)
            let lazy = Set(status.broadcast.lazy)
            guard !lazy.isEmpty, let eager = status.active.first(where: { status.broadcast.eager.contains($0.id) }),
                  !skipping.contains(eager.address) else { continue }
            return (address, eager.address, lazy)
        }
        return nil
    }

    @Test("an eager peer that leaves with DISCONNECT is replaced in the tree at once by one of the lazy peers")
    func plannedDepartureIsBridged() throws {
        var network = try shapedOverlay()
        let (node, eagerPeer, lazyBefore) = try #require(nodeWithEagerAndLazyPeers(network))
        let bridgesBefore = network.node(at: node).status(at: network.now).counters.treeBridges
        network.stopNode(eagerPeer)
        // One link latency: the DISCONNECT has just arrived. (Later, the overlay's own repairs may bring
        // further departures and bridges.)
        network.run(for: .milliseconds(1))
        let status = network.node(at: node).status(at: network.now)
        #expect(status.counters.treeBridges == bridgesBefore + 1)
        #expect(!lazyBefore.isDisjoint(with: status.broadcast.eager), "one formerly lazy peer is eager now")
    }

    @Test("an eager peer that fails is not bridged: GRAFTs of the next messages repair the tree, and they all arrive")
    func failureIsLeftToGraftRepair() throws {
        var network = try shapedOverlay()
        let (node, eagerPeer, _) = try #require(nodeWithEagerAndLazyPeers(network))
        let bridgesBefore = network.node(at: node).status(at: network.now).counters.treeBridges
        network.crash(eagerPeer)
        network.run(for: .milliseconds(20))
        #expect(network.node(at: node).status(at: network.now).counters.treeBridges == bridgesBefore)
        var ids: [MessageID] = []
        for origin in network.liveAddresses.prefix(10) {
            ids.append(try network.publish([4, 5, 6], from: origin))
            network.run(for: .milliseconds(20))
        }
        network.run(for: .seconds(2))
        #expect(ids.map { network.nodesMissing($0).count }.reduce(0, +) == 0)
    }
}
