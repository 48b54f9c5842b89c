import RumorCore
import RumorGraph
import RumorSim
import RumorTopology

/// The HyParView paper's main experiment: an overlay of `nodes` in steady state loses a share of its nodes
/// at once; broadcasts are measured right after, and again after 1, 2, 5 and 10 healing rounds (shuffle
/// periods), for Rumor, for flooding over Rumor's overlay, and for gossip over Cyclon, side by side on
/// the same seeds. Each failure level starts from a copy of the same steady overlay.
public enum FailureExperiment {
    public struct Options: Codable, Sendable {
        public var nodes = 10_000
        public var seed: UInt64 = 1
        /// Messages per measurement.
        public var broadcasts = 20
        public var failures: [Double] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95]
        public var healingRounds: [Int] = [1, 2, 5, 10]
        public var latencyMilliseconds: ClosedRange<Double> = 1...10
        /// See `ScenarioOptions.checksInvariants`.
        public var checksInvariants = true
        public init() {}
    }

    /// Mean reliability right after the failure (`afterRounds[0]`) and after each healing round count.
    public struct Row: Codable, Sendable {
        public var protocolName: BroadcastProtocol
        public var failure: Double
        /// Healing rounds of each measurement: 0 (right after), then `Options.healingRounds`.
        public var rounds: [Int]
        public var reliability: [Double]
    }

    public struct Report: Codable, Sendable {
        public var options: Options
        /// Steady-state overlay of each protocol's membership (flooding uses Rumor's).
        public var steadyRumor: OverlayFigures
        public var steadyCyclon: OverlayFigures
        public var rows: [Row]
    }

    /// Runs on `threads` threads; the report is the same on any count.
    public static func run(_ options: Options, threads: Int = 1, progress: (Double) -> Void = { _ in }) -> Report {
        let latency = LatencyModel.uniform(.microseconds(Int64(options.latencyMilliseconds.lowerBound * 1000)),
                                           .microseconds(Int64(options.latencyMilliseconds.upperBound * 1000)))
        let scenario = ScenarioOptions.experiment(nodes: options.nodes, seed: options.seed,
                                                  latencyMilliseconds: options.latencyMilliseconds, checksInvariants: options.checksInvariants)
        let steady = Scenario.joinedNetwork(scenario, threads: threads) { progress(0.2 * $0) }
        let cyclon = CyclonOverlay(nodes: options.nodes, seed: options.seed)
        let period = MembershipConfiguration().shuffleInterval
        let rounds = [0] + options.healingRounds
        var rows: [Row] = []
        for (levelIndex, failure) in options.failures.enumerated() {
            var random = SeededRandom(seed: options.seed &+ UInt64(failure * 1000))
            let victims = Array((0..<options.nodes).shuffled(using: &random).prefix(Int(failure * Double(options.nodes))))

            var network = steady
            for victim in victims { network.crash(network.address(of: victim)) }
            let failedAt = network.now
            var rumor: [Double] = []
            var flood: [Double] = []
            for round in rounds {
                let due = failedAt + period * round
                if network.now < due { network.run(for: due.since(network.now)) }
                flood.append(FloodBaseline.round(options.broadcasts, over: network, random: &random).reliabilityMean)
                rumor.append(rumorRound(&network, options.broadcasts, &random).reliabilityMean)
            }
            var gossip = cyclon
            gossip.crash(victims)
            var cyclonReliability: [Double] = []
            var done = 0
            for round in rounds {
                while done < round {
                    gossip.shuffleRound()
                    done += 1
                }
                cyclonReliability.append(gossip.broadcastRound(options.broadcasts, latency: latency, loss: 0).reliabilityMean)
            }
            rows.append(Row(protocolName: .rumor, failure: failure, rounds: rounds, reliability: rumor))
            rows.append(Row(protocolName: .flood, failure: failure, rounds: rounds, reliability: flood))
            rows.append(Row(protocolName: .cyclon, failure: failure, rounds: rounds, reliability: cyclonReliability))
            progress(0.2 + 0.8 * Double(levelIndex + 1) / Double(options.failures.count))
        }
        return Report(options: options, steadyRumor: OverlayFigures(Scenario.graph(of: steady)),
                      steadyCyclon: OverlayFigures(cyclon.graph), rows: rows)
    }

    /// Messages 1 ms apart from random live nodes, measured 1.5 s later (well past the tree's repair time).
    static func rumorRound(_ network: inout SimulatedNetwork, _ count: Int, _ random: inout SeededRandom) -> BroadcastFigures {
        let live = network.liveAddresses
        var ids: [MessageID] = []
        for sequence in 0..<count {
            guard let origin = live.randomElement(using: &random) else { break }
            if let id = try? network.publish(Array("experiment \(sequence)".utf8), from: origin) { ids.append(id) }
            network.run(for: .milliseconds(1))
        }
        network.run(for: .milliseconds(1500))
        return Scenario.measure(ids, in: network)
    }
}
