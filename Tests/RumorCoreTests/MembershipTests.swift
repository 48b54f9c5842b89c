import Testing
@testable import RumorCore
import RumorSim
import RumorGraph
import SimulationTestSupport

/// Builds an overlay of `count` nodes that all join through node 0, one every 10 ms, and lets it settle.
func joinedOverlay(_ count: Int, seed: UInt64, settle: Duration = .seconds(30)) -> SimulatedNetwork {
    var network = SimulatedNetwork()
    network.add(configuration(0, seeds: []), seed: seed)
    for index in 1..<count {
        network.run(for: .milliseconds(10))
        network.add(configuration(index, seeds: [0]), seed: seed &+ UInt64(index))
    }
    network.run(for: settle)
    return network
}

@Suite("Membership: HyParView with shuffles", .checkedSimulations)
struct MembershipTests {
    let shufflePeriod = MembershipConfiguration().shuffleInterval

    @Test("1,000 nodes joining through one seed form one symmetric overlay with active views within bounds")
    func thousandNodesJoin() {
        var network = joinedOverlay(1000, seed: 11)
        let views = network.activeViews()
        let size = MembershipConfiguration().activeViewSize
        #expect(views.values.allSatisfy { !$0.isEmpty && $0.count <= size })
        let asymmetric = persistentAsymmetricPairs(&network)
        #expect(asymmetric.isEmpty, "asymmetric: \(asymmetric.prefix(5))")
        #expect(network.components().count == 1)
        // Symmetric views make in-degree equal to view size; most nodes should have a full view.
        let mean = Double(views.values.reduce(0) { $0 + $1.count }) / Double(views.count)
        #expect(mean >= 0.8 * Double(size), "mean active view size \(mean)")
        let passiveMean = Double(network.liveAddresses.reduce(0) { $0 + network.node(at: $1).status(at: network.now).passive.count }) / 1000
        #expect(passiveMean >= 15, "mean passive view size \(passiveMean)")
    }

    @Test("after a mass failure the survivors reconnect into one component with no dead peer in any active view",
          arguments: [0.5, 0.8])
    func massFailure(fraction: Double) {
        var network = joinedOverlay(1000, seed: 21)
        var random = SeededRandom(seed: 99)
        let victims = network.addresses.shuffled(using: &random).prefix(Int(fraction * 1000))
        for address in victims { network.crash(address) }
        network.run(for: shufflePeriod * 10)
        let components = network.components()
        #expect(components.count == 1, "components: \(components.map(\.count).sorted(by: >).prefix(5))")
        #expect(network.viewsHoldingDeadPeers().isEmpty)
        #expect(network.activeViews().values.allSatisfy { !$0.isEmpty })
        #expect(persistentAsymmetricPairs(&network).isEmpty)
    }

    @Test("two halves cut apart for 20 shuffle periods become one overlay again once the cut heals")
    func partitionHeals() {
        var network = joinedOverlay(1000, seed: 31)
        let addresses = network.addresses
        let halves = [Array(addresses.prefix(500)), Array(addresses.suffix(500))]
        network.partition(into: halves)
        network.run(for: shufflePeriod * 20)
        let split = network.components()
        #expect(split.count >= 2, "the cut should split the overlay: \(split.map(\.count))")
        network.heal()
        network.run(for: shufflePeriod * 20)
        let healed = network.components()
        #expect(healed.count == 1, "components after healing: \(healed.map(\.count))")
        #expect(persistentAsymmetricPairs(&network).isEmpty)
    }

    @Test("nodes started all at once, each seeded with three others, form one overlay within seconds")
    func simultaneousStartWithCrossingSeeds() {
        func startTogether(seed: UInt64, settle: Duration) -> Int {
            // Loopback-fast links, processes coming up 5 ms apart: as `rumor mesh` starts a mesh.
            var network = SimulatedNetwork(seed: seed)
            network.latency = .fixed(.microseconds(50))
            var random = SeededRandom(seed: seed)
            for index in 0..<64 {
                let seeds = Array((0..<64).filter { $0 != index }.shuffled(using: &random).prefix(3))
                network.add(configuration(index, seeds: seeds), seed: seed &+ UInt64(index))
                network.run(for: .milliseconds(5))
            }
            network.run(for: settle)
            return network.components().count
        }
        let seeds: [UInt64] = [1, 2, 3, 4, 5, 6, 7, 8]
        let withDefaults = seeds.map { startTogether(seed: $0, settle: .seconds(4)) }
        #expect(withDefaults.allSatisfy { $0 == 1 }, "components per run: \(withDefaults)")
    }

    @Test("rotations mix an overlay that joins left in a line, and keep every active view full and symmetric")
    func rotationMixesALine() {
        func lineOverlay(rotation: Duration) -> (clustering: Double, path: Double, meanView: Double, network: SimulatedNetwork) {
            var network = SimulatedNetwork(seed: 5)
            network.latency = .fixed(.microseconds(50))
            for index in 0..<64 {
                var node = configuration(index, seeds: index == 0 ? [] : [index - 1])
                node.membership.activeRotationInterval = rotation
                network.add(node, seed: 500 &+ UInt64(index))
            }
            network.run(for: .seconds(180))
            let graph = OverlayGraph(adjacency: network.activeAdjacency(), live: Array(repeating: true, count: 64))
            let views = network.activeViews().values
            return (graph.clusteringCoefficient, graph.averageShortestPath(), Double(views.reduce(0) { $0 + $1.count }) / 64, network)
        }
        let still = lineOverlay(rotation: .zero)
        let rotating = lineOverlay(rotation: .seconds(30))
        #expect(rotating.clustering < still.clustering * 0.7, "clustering \(still.clustering) → \(rotating.clustering)")
        #expect(rotating.path <= still.path, "path \(still.path) → \(rotating.path)")
        #expect(rotating.meanView >= 0.9 * Double(MembershipConfiguration().activeViewSize), "mean view \(rotating.meanView)")
        var rotated = rotating.network
        #expect(persistentAsymmetricPairs(&rotated).isEmpty)
        #expect(rotating.network.components().count == 1)
        let rotations = rotating.network.addresses.reduce(0) { $0 + rotating.network.node(at: $1).status(at: rotating.network.now).counters.rotations }
        #expect(rotations > 64, "rotations \(rotations)")
    }

    @Test("a node that leaves is replaced at once by its peers, with no failure counted")
    func gracefulLeaveIsReplaced() {
        var network = joinedOverlay(30, seed: 41, settle: .seconds(20))
        let leaver = PeerAddress.local(7)
        let leaverID = network.node(at: leaver).identity.id
        let neighbours = network.activeViews()[leaver] ?? []
        #expect(!neighbours.isEmpty)
        network.stopNode(leaver)
        network.run(for: .milliseconds(100))
        for neighbour in neighbours {
            let status = network.node(at: neighbour).status(at: network.now)
            #expect(!status.active.contains { $0.id == leaverID })
            #expect(status.counters.failedLinks == 0)
        }
        #expect(network.components().count == 1)
    }

    @Test("a node isolated from every peer goes back to its seeds and rejoins")
    func isolatedNodeRejoinsThroughSeeds() {
        var network = joinedOverlay(12, seed: 51, settle: .seconds(10))
        let loner = PeerAddress.local(11)
        // Every peer it knows dies; only the seed (node 0) survives, and it is not among its neighbours.
        let known = Set((network.activeViews()[loner] ?? []) + network.node(at: loner).status(at: network.now).passive.map(\.address))
        for address in known where address != .local(0) { network.crash(address) }
        network.run(for: .seconds(30))
        #expect(!(network.activeViews()[loner] ?? []).isEmpty)
        #expect(network.components().count == 1)
    }

    @Test("a node whose last neighbours die while its low-priority requests are refused asks again with high priority at once, not at its next shuffle")
    func emptiedViewAsksAgainWithHighPriority() {
        // Views of two and no shuffle round in the window, so only the repair itself can bring the node back.
        func smallViews(_ index: Int) -> NodeConfiguration {
            var configuration = configuration(index, seeds: index == 0 ? [] : [0])
            configuration.membership.activeViewSize = 2
            configuration.membership.passiveViewSize = 6
            configuration.membership.shuffleInterval = .seconds(120)
            return configuration
        }
        var found = 0
        for networkSeed: UInt64 in 90..<120 {
            var network = SimulatedNetwork(seed: networkSeed)
            network.add(smallViews(0), seed: networkSeed)
            for index in 1..<40 {
                network.run(for: .milliseconds(20))
                network.add(smallViews(index), seed: networkSeed &* 31 &+ UInt64(index))
            }
            network.run(for: .seconds(5))
            let views = network.activeViews()
            // A node with two neighbours and live passive peers that are all full and untouched by the crash:
            // its low-priority requests to them are refused, and its seed (node 0) dies too.
            let chosen = (1..<40).map(PeerAddress.local).first { node in
                guard let active = views[node], active.count == 2, !active.contains(.local(0)), views[.local(0)]?.contains(node) != true else { return false }
                let crashed = Set(active + [.local(0)])
                let touched = crashed.union(crashed.flatMap { views[$0] ?? [] })
                let live = network.node(at: node).status(at: network.now).passive.map(\.address).filter { !crashed.contains($0) }
                return !live.isEmpty && live.allSatisfy { !touched.contains($0) && views[$0]?.count == 2 }
            }
            guard let node = chosen else { continue }
            found += 1
            for peer in (views[node] ?? []) + [.local(0)] { network.crash(peer) }
            network.run(for: .seconds(1))
            #expect(!(network.activeViews()[node] ?? []).isEmpty, "\(node) alone a second after its neighbours died (seed \(networkSeed))")
        }
        #expect(found >= 3, "the scenario must occur for the test to mean anything (found \(found) times)")
    }

    @Test("view draws are distinct, at most k, and drawn from the views")
    func peerSampling() {
        let network = joinedOverlay(60, seed: 61, settle: .seconds(20))
        var node = network.node(at: .local(5))
        let status = node.status(at: network.now)
        let known = Set(status.active.map(\.id) + status.passive.map(\.id))
        let sample = node.viewDrawPeers(8)
        #expect(sample.count == min(8, known.count))
        #expect(Set(sample.map(\.id)).count == sample.count)
        #expect(sample.allSatisfy { known.contains($0.id) })
        #expect(node.viewDrawPeers(1000).count == known.count)
    }

    @Test("the same seeds give the same overlay twice")
    func deterministicOverlay() {
        func views() -> [String] {
            let network = joinedOverlay(100, seed: 71, settle: .seconds(15))
            return network.activeViews().sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
        }
        #expect(views() == views())
    }
}
