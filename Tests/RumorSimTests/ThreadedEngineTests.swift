import RumorCore
import SimulationTestSupport
import Testing
@testable import RumorExperiments
@testable import RumorSim

@Suite("Simulator on several threads: the same run, whatever the number of threads")
struct ThreadedEngineTests {
    @Test("a scenario with frame loss gives the same report on one, two and four threads", .checkedSimulations)
    func scenarioIsTheSameOnAnyThreadCount() {
        var options = ScenarioOptions()
        options.nodes = 300
        options.broadcasts = 10
        options.fail = 0.5
        options.loss = 0.01
        options.seed = 11
        let single = Scenario.run(options, threads: 1)
        #expect(single.steadyBroadcasts.reliabilityMin == 1)
        #expect(single.broadcastsAfterHealing.reliabilityMin == 1)
        #expect(Scenario.run(options, threads: 2) == single)
        #expect(Scenario.run(options, threads: 4) == single)
    }

    /// A script of everything a driver can do: joins, broadcasts, a crash and a restart, a partition and its
    /// heal, slowed links, a graceful stop. What it leaves behind, delivery by delivery.
    private func scriptedRun(threads: Int) -> (log: [String], events: Int, views: [PeerAddress: [PeerAddress]], sent: Int) {
        var network = SimulatedNetwork(seed: 21, threads: threads)
        network.latency = .uniform(.microseconds(500), .milliseconds(4))
        network.lossRate = 0.02
        network.recordsDeliveries = true
        network.recordsMessages = true
        for index in 0..<40 {
            network.add(simulatedConfiguration(index, seeds: [0]), seed: UInt64(100 + index))
            network.run(for: .milliseconds(3))
        }
        network.run(for: .seconds(6))
        for sequence in 0..<5 {
            _ = try? network.publish(Array("before \(sequence)".utf8), from: .local(sequence * 7))
            network.run(for: .milliseconds(15))
        }
        network.crash(.local(3))
        network.crash(.local(17))
        network.shapeLinks(of: [.local(5), .local(6)], LinkConditions(latency: .milliseconds(2), jitter: .milliseconds(1)))
        network.run(for: .seconds(2))
        network.partition(into: [(0..<20).map(PeerAddress.local), (20..<40).map(PeerAddress.local)])
        for sequence in 0..<5 {
            _ = try? network.publish(Array("cut \(sequence)".utf8), from: .local(sequence * 8 + 1))
            network.run(for: .milliseconds(15))
        }
        network.run(for: .seconds(3))
        network.heal()
        network.add(simulatedConfiguration(3, seeds: [0], epoch: 2), seed: 999)
        network.stopNode(.local(30))
        network.run(for: .seconds(10))
        let log = network.deliveryLog.map { "\($0.at.nanoseconds) \($0.index) \($0.id)" }
        return (log, network.eventsProcessed, network.activeViews(), network.sent.count)
    }

    @Test("crashes, a restart, a partition and its heal, shaped links and a stop give the same deliveries on one and two threads", .checkedSimulations)
    func scriptIsTheSameOnAnyThreadCount() {
        let single = scriptedRun(threads: 1)
        let double = scriptedRun(threads: 2)
        // Ten messages reached most of the 38 survivors: the script did something worth comparing.
        #expect(single.log.count > 300)
        #expect(double.log == single.log)
        #expect(double.events == single.events)
        #expect(double.views == single.views)
        #expect(double.sent == single.sent)
    }

    @Test("thread counts round down to a power of two")
    func threadCountsArePowersOfTwo() {
        #expect(SimulatedNetwork(threads: 1).threads == 1)
        #expect(SimulatedNetwork(threads: 3).threads == 2)
        #expect(SimulatedNetwork(threads: 8).threads == 8)
    }
}
