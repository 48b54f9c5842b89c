import Foundation
import RumorCore
import RumorTopology
import Testing
import SimulationTestSupport
@testable import RumorExperiments
@testable import RumorSim

private let topologies = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("topologies").path

@Suite("Baselines, experiments and topology files in the simulator", .checkedSimulations)
struct BaselineAndTopologyTests {
    @Test("Cyclon keeps views of at most 30 and in-degree 30 on average; its gossip misses some nodes; failures leave dead entries it sheds round by round")
    func cyclonBaseline() {
        var overlay = CyclonOverlay(nodes: 1000, seed: 3)
        #expect(overlay.views.allSatisfy { $0.count <= 30 && !$0.isEmpty })
        let steady = OverlayFigures(overlay.graph)
        #expect(abs(steady.inDegreeMean - 30) < 1, "in-degree \(steady.inDegreeMean)")
        #expect(steady.components == 1)
        let healthy = overlay.broadcastRound(50, latency: .fixed(.milliseconds(1)), loss: 0)
        // Infect-and-die with fanout 4 reaches about 1 − e^-4 of the nodes, and sends about 4 copies per node.
        #expect(healthy.reliabilityMean > 0.95 && healthy.reliabilityMean < 1)
        #expect(healthy.relativeMessageRedundancy > 2.5)
        overlay.crash(Array(0..<500))
        let deadRightAfter = overlay.graph.deadEntryShare
        for _ in 0..<10 { overlay.shuffleRound() }
        #expect(deadRightAfter > 0.4)
        #expect(overlay.graph.deadEntryShare < deadRightAfter - 0.05, "\(deadRightAfter) → \(overlay.graph.deadEntryShare)")
    }

    @Test("the failure experiment: Rumor delivers everywhere up to 80% failed, where flooding without repair and Cyclon gossip do not")
    func failureExperiment() {
        var options = FailureExperiment.Options()
        options.nodes = 300
        options.broadcasts = 10
        options.failures = [0.3, 0.8]
        options.healingRounds = [1]
        let report = FailureExperiment.run(options)
        func reliability(_ name: BroadcastProtocol, _ failure: Double, after rounds: Int) -> Double {
            let row = report.rows.first { $0.protocolName == name && $0.failure == failure }!
            return row.reliability[row.rounds.firstIndex(of: rounds)!]
        }
        #expect(reliability(.rumor, 0.3, after: 0) == 1)
        #expect(reliability(.rumor, 0.8, after: 0) == 1)
        #expect(reliability(.flood, 0.8, after: 0) < 0.5)
        #expect(reliability(.flood, 0.8, after: 1) == 1, "flooding over the overlay Rumor healed")
        #expect(reliability(.cyclon, 0.8, after: 0) < 0.5)
        #expect(report.rows.count == 6)
    }

    @Test("the broadcast experiment: Rumor delivers every message with far less redundancy than flooding and Cyclon, one sender or many")
    func broadcastExperiment() {
        var options = BroadcastExperiment.Options()
        options.nodes = 200
        options.messages = 15
        options.failures = [0, 0.4]
        let report = BroadcastExperiment.run(options)
        #expect(report.series.count == 2 * 2 * 3)
        for failure in options.failures {
            for senders in BroadcastExperiment.Senders.allCases {
                func mean(_ name: BroadcastProtocol) -> BroadcastExperiment.Point {
                    report.series.first { $0.protocolName == name && $0.senders == senders && $0.failure == failure }!.mean
                }
                #expect(mean(.rumor).reliability == 1, "\(senders) senders, \(failure) failed")
                #expect(mean(.rumor).relativeMessageRedundancy < mean(.flood).relativeMessageRedundancy / 2)
                #expect(mean(.cyclon).relativeMessageRedundancy > 2.5)
            }
        }
    }

    @Test("a rolling upgrade (upgrade-32: half the nodes restarted, two at a time, offering version 4 beside 3) passes its checks in the simulator")
    func rollingUpgradeSimulated() throws {
        let topology = try TopologyLoader.load("\(topologies)/upgrade-32.yaml")
        #expect(topology.nodes.allSatisfy { $0.wireVersions == 3...3 })
        let plan = try ChurnPlanner(topology: topology).plan()
        let upgraded = plan.steps.flatMap { step -> [String] in if case .upgrade(let ids) = step.change { ids } else { [] } }
        #expect(upgraded.count == 16 && Set(upgraded).count == 16, "each node upgraded once")
        let observation = try TopologySimulation(topology: topology).run()
        let evaluation = RunEvaluation(observation: observation, checks: topology.checks)
        #expect(evaluation.passed, "\(evaluation.checks.filter { !$0.passed })")
    }

    @Test("freeze-32 (half the nodes hung for 10 s, then thawed) passes its checks in the simulator")
    func freezeSimulated() throws {
        let topology = try TopologyLoader.load("\(topologies)/freeze-32.yaml")
        let observation = try TopologySimulation(topology: topology).run()
        #expect(observation.events.map(\.label) == ["start", "freeze 16", "thaw 16"])
        let evaluation = RunEvaluation(observation: observation, checks: topology.checks)
        #expect(evaluation.passed, "\(evaluation.checks.filter { !$0.passed })")
    }

    @Test("a topology file simulated twice gives the same observation, and the same verdict as its checks")
    func topologyRunsAreDeterministic() throws {
        let topology = try TopologyLoader.load("\(topologies)/partition-32.yaml")
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let first = try TopologySimulation(topology: topology).run()
        let second = try TopologySimulation(topology: topology).run()
        #expect(try encoder.encode(first) == encoder.encode(second))
        #expect(first.events.map(\.label) == ["start", "partition into 2", "heal"])
        let evaluation = RunEvaluation(observation: first, checks: topology.checks)
        #expect(evaluation.passed, "\(evaluation.checks.filter { !$0.passed })")
        // Messages published on one side during the cut reach the other side only after the heal (40 s).
        let duringCut = evaluation.messages.filter { $0.publishedAt > 12 && $0.publishedAt < 38 }
        #expect(!duringCut.isEmpty && duringCut.allSatisfy { ($0.latencyToLast ?? 0) > 1 })
    }
}
