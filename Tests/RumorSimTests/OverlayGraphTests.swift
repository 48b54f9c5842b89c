import RumorGraph
import RumorTopology
import Testing
import SimulationTestSupport
@testable import RumorExperiments
@testable import RumorSim

@Suite("Overlay metrics on small fixed graphs")
struct OverlayGraphTests {
    /// Symmetric adjacency from undirected edges.
    func graph(_ count: Int, _ edges: [(Int, Int)], dead: Set<Int> = []) -> OverlayGraph {
        var adjacency = [[Int]](repeating: [], count: count)
        for (a, b) in edges {
            adjacency[a].append(b)
            adjacency[b].append(a)
        }
        return OverlayGraph(adjacency: adjacency, live: (0..<count).map { !dead.contains($0) })
    }

    @Test("a line of 5: one component, no triangles, mean distance 2")
    func line() {
        let line = graph(5, [(0, 1), (1, 2), (2, 3), (3, 4)])
        #expect(line.components().count == 1)
        #expect(line.clusteringCoefficient == 0)
        // Distances over ordered pairs: 4·1 + 3·2 + 2·3 + 1·4 = 20 per direction, 40 over 20 pairs.
        #expect(line.averageShortestPath() == 2)
        #expect(line.inDegreeDistribution == [1: 2, 2: 3])
    }

    @Test("a star of 1 + 4: the hub has in-degree 4, mean distance 1.6")
    func star() {
        let star = graph(5, [(0, 1), (0, 2), (0, 3), (0, 4)])
        #expect(star.inDegreeDistribution == [4: 1, 1: 4])
        #expect(star.clusteringCoefficient == 0)
        // Hub to leaves 4·1, leaves to others 4·(1 + 3·2) = 28; 32 over 20 ordered pairs.
        #expect(star.averageShortestPath() == 1.6)
    }

    @Test("a ring of 6: every node has in-degree 2, mean distance 1.8")
    func ring() {
        let ring = graph(6, (0..<6).map { ($0, ($0 + 1) % 6) })
        #expect(ring.inDegreeDistribution == [2: 6])
        // From any node: 1, 1, 2, 2, 3 → 9 over 5.
        #expect(ring.averageShortestPath() == 1.8)
        #expect(ring.clusteringCoefficient == 0)
    }

    @Test("two 4-cliques: two components, clustering 1; a bridge makes one")
    func twoCliques() {
        var edges: [(Int, Int)] = []
        for base in [0, 4] { for a in 0..<4 { for b in (a + 1)..<4 { edges.append((base + a, base + b)) } } }
        let apart = graph(8, edges)
        #expect(apart.components().count == 2)
        #expect(apart.largestComponentShare == 0.5)
        #expect(apart.clusteringCoefficient == 1)
        let bridged = graph(8, edges + [(3, 4)])
        #expect(bridged.components().count == 1)
        #expect(bridged.largestComponentShare == 1)
    }

    @Test("entries naming dead nodes are counted, and dead nodes leave the components")
    func deadEntries() {
        let withDead = graph(4, [(0, 1), (1, 2), (2, 3)], dead: [3])
        // Live entries: 0→1, 1→0, 1→2, 2→1, 2→3(dead): one in five.
        #expect(withDead.deadEntryShare == 0.2)
        #expect(withDead.liveCount == 3)
        #expect(withDead.components() == [[0, 1, 2]])
    }
}

@Suite("Simulated scenarios", .checkedSimulations)
struct ScenarioTests {
    @Test("a small scenario gives the same report twice")
    func deterministic() {
        var options = ScenarioOptions()
        options.nodes = 60
        options.broadcasts = 10
        options.fail = 0.3
        options.seed = 9
        let first = Scenario.run(options)
        let second = Scenario.run(options)
        #expect(first == second)
        #expect(first.steadyBroadcasts.reliabilityMin == 1)
        #expect(first.broadcastsAfterHealing.reliabilityMin == 1)
        #expect(first.healingSeconds != nil)
    }

    @Test("the flooding baseline reaches everyone on a healthy overlay with redundancy near the view size minus two")
    func floodBaseline() {
        var options = ScenarioOptions()
        options.nodes = 200
        options.broadcasts = 20
        options.fail = 0.5
        options.protocolName = .flood
        let report = Scenario.run(options)
        #expect(report.steadyBroadcasts.reliabilityMin == 1)
        // Each node forwards to its other four active peers: about four copies per delivery, RMR about 3.
        #expect(report.steadyBroadcasts.relativeMessageRedundancy > 2.5 && report.steadyBroadcasts.relativeMessageRedundancy < 3.5)
        // Right after half the nodes die, flooding over views that still name them loses messages.
        #expect(report.broadcastsAfterFailure.reliabilityMean < 1)
        #expect(report.broadcastsAfterHealing.reliabilityMin == 1)
    }

    @Test("the 16-node live scenario, simulated, agrees in kind: connected, and every broadcast reaches every node")
    func sixteenNodesLikeTheLiveTest() {
        var options = ScenarioOptions()
        options.nodes = 16
        options.broadcasts = 100
        options.fail = 0.5
        options.latencyMilliseconds = 0.05...0.2
        let report = Scenario.run(options)
        #expect(report.steadyOverlay.components == 1)
        #expect(report.steadyBroadcasts.reliabilityMin == 1)
        #expect(report.healedOverlay.components == 1 && report.healedOverlay.deadEntryShare == 0)
        #expect(report.broadcastsAfterHealing.reliabilityMin == 1)
        #expect(report.steadyBroadcasts.duplicateDeliveries == 0)
    }

    @Test("peer samples name no dead node in steady state, many right after a failure, and cover every live node")
    func samplingQuality() {
        var options = ScenarioOptions()
        options.nodes = 200
        options.broadcasts = 5
        options.fail = 0.5
        options.samplingRounds = 50
        let report = Scenario.run(options)
        #expect(report.viewDraw.deadShare == 0)
        #expect(report.viewDraw.draws == 200 * 50)
        #expect(report.viewDraw.mostToLeastRatio != nil, "every live node is drawn at least once")
        // Right after half die, before any repair, views still name them: about half the draws are dead.
        #expect(report.viewDrawAfterFailure.deadShare > 0.3 && report.viewDrawAfterFailure.deadShare < 0.7)
    }
}
