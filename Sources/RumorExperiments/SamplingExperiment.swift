import RumorCore
import RumorGraph
import RumorSim

/// Peer sampling side by side (docs/results.md, docs/sampling.md): Rumor's sampling service, the view draw
/// samples were before it, and a Cyclon view, on the same seeds. Each live node draws one sample a shuffle
/// period for `rounds` periods of a steady overlay; then, on copies of that overlay, a share of the nodes
/// fails at once and every live node draws again at fixed times after; then runs with over-advertisers
/// measure their share of the draws.
public enum SamplingExperiment {
    public struct Options: Codable, Sendable {
        public var nodes = 10_000
        public var seed: UInt64 = 1
        /// Draws per live node in the steady stream, one a shuffle period.
        public var rounds = 20
        public var failures: [Double] = [0.1, 0.2, 0.5, 0.8]
        /// When the live nodes draw after a failure, in seconds: 1 s, then 1, 2, 5 and 10 shuffle periods.
        public var checkpointSeconds: [Double] = [1, 5, 10, 25, 50]
        public var attacks: [SamplingAttack] = [.one, .colluding]
        public var latencyMilliseconds: ClosedRange<Double> = 1...10
        /// See `ScenarioOptions.checksInvariants`.
        public var checksInvariants = true
        public init() {}
    }

    public enum Sampler: String, Codable, Sendable, CaseIterable {
        /// `samplePeers`: validated walk endpoints (docs/sampling.md).
        case service
        /// `viewDrawPeers`: a uniform pick from the active and passive views at that instant.
        case viewDraw = "view-draw"
        /// A uniform pick from a Cyclon view of 30 (`CyclonOverlay`).
        case cyclon
    }

    /// How evenly one sampler's stream of draws covers the live nodes.
    public struct Uniformity: Codable, Sendable {
        public var sampler: Sampler
        public var draws: Int
        public var chiSquare: Double
        public var degreesOfFreedom: Int
        /// The most and the least drawn live node, over the expected count e.
        public var maxOverExpected: Double
        public var minOverExpected: Double
        public var seedOverExpected: Double
        /// In-degree of the graph the sampler draws from (views for the view draw and Cyclon, active links
        /// for the service's walks): least and most.
        public var inDegreeMin: Int
        public var inDegreeMax: Int
    }

    /// The dead share of one draw by every live node at each checkpoint after a failure.
    public struct AfterFailure: Codable, Sendable {
        public var sampler: Sampler
        public var failure: Double
        public var deadShare: [Double]
    }

    /// The adversaries' share of all draws in a stream, beside their fair share.
    public struct OverAdvertiser: Codable, Sendable {
        public var attack: SamplingAttack
        public var sampler: Sampler
        public var adversaries: Int
        public var share: Double
        public var fairShare: Double
    }

    public struct Report: Codable, Sendable {
        public var options: Options
        public var uniformity: [Uniformity]
        public var afterFailure: [AfterFailure]
        public var overAdvertisers: [OverAdvertiser]
    }

    static var period: Duration { MembershipConfiguration().shuffleInterval }

    public static func run(_ options: Options, threads: Int = 1, progress: (Double) -> Void = { _ in }) -> Report {
        let scenario = ScenarioOptions.experiment(nodes: options.nodes, seed: options.seed,
                                                  latencyMilliseconds: options.latencyMilliseconds, checksInvariants: options.checksInvariants)
        let attackWeight = Double(options.attacks.count)
        let share = 1 / (2 + attackWeight)
        var network = Scenario.joinedNetwork(scenario, threads: threads) { progress(share * 0.6 * $0) }
        var cyclon = CyclonOverlay(nodes: options.nodes, seed: options.seed)

        // The steady stream: the three samplers draw at the same moments.
        var service = SamplingStudy(nodes: options.nodes, adversaries: [])
        var viewDraw = SamplingStudy(nodes: options.nodes, adversaries: [])
        var cyclonDraw = SamplingStudy(nodes: options.nodes, adversaries: [])
        for _ in 0..<options.rounds {
            service.drawRound(&network)
            viewDraw.drawRound(&network, fromViews: true)
            for index in 0..<network.nodeCount where !network.isDown(index: index) {
                if let sample = cyclon.samplePeer(at: index) { cyclonDraw.record(index, drew: sample) }
            }
            network.run(for: period)
            cyclon.shuffleRound()
        }
        progress(share)
        let live = (0..<network.nodeCount).map { !network.isDown(index: $0) }
        let views = viewGraph(of: network)
        let links = Scenario.graph(of: network)
        let cyclonViews = cyclon.graph
        let uniformity = [
            summary(.service, service, live: live, graph: links),
            summary(.viewDraw, viewDraw, live: live, graph: views),
            summary(.cyclon, cyclonDraw, live: live, graph: cyclonViews),
        ]

        var afterFailure: [AfterFailure] = []
        for (level, failure) in options.failures.enumerated() {
            var random = SeededRandom(seed: options.seed &+ UInt64(failure * 1000))
            let victims = Array((0..<options.nodes).shuffled(using: &random).prefix(Int(failure * Double(options.nodes))))
            afterFailure += failureLevel(failure, victims: victims, network: network, cyclon: cyclon, options: options)
            progress(share * (1 + Double(level + 1) / Double(options.failures.count)))
        }

        var overAdvertisers: [OverAdvertiser] = []
        for (position, attack) in options.attacks.enumerated() {
            overAdvertisers += attackRun(attack, scenario: scenario, rounds: options.rounds, threads: threads)
            progress(share * (2 + Double(position + 1)))
        }
        return Report(options: options, uniformity: uniformity, afterFailure: afterFailure, overAdvertisers: overAdvertisers)
    }

    /// One failure level on copies of the steady overlay and Cyclon view: every live node draws once with
    /// each sampler at each checkpoint (Cyclon shuffles once a period between them).
    static func failureLevel(_ failure: Double, victims: [Int], network steady: SimulatedNetwork, cyclon steadyCyclon: CyclonOverlay,
                             options: Options) -> [AfterFailure] {
        var network = steady
        for victim in victims { network.crash(network.address(of: victim)) }
        var cyclon = steadyCyclon
        cyclon.crash(victims)
        let failedAt = network.now
        let isDown = (0..<network.nodeCount).map { network.isDown(index: $0) }
        var shares: [Sampler: [Double]] = [:]
        var cyclonRounds = 0
        for seconds in options.checkpointSeconds {
            let due = failedAt + .milliseconds(Int64(seconds * 1000))
            if network.now < due { network.run(for: due.since(network.now)) }
            while Double(cyclonRounds + 1) * period.seconds <= seconds {
                cyclon.shuffleRound()
                cyclonRounds += 1
            }
            shares[.service, default: []].append(deadShare(isDown) { network.samplePeers(at: $0, count: 1) })
            shares[.viewDraw, default: []].append(deadShare(isDown) { network.viewDrawPeers(at: $0, count: 1) })
            shares[.cyclon, default: []].append(deadShare(isDown) { cyclon.samplePeers(at: $0, count: 1) })
        }
        return Sampler.allCases.map { AfterFailure(sampler: $0, failure: failure, deadShare: shares[$0] ?? []) }
    }

    /// A steady overlay with over-advertisers joined from the start: their share of the stream's draws.
    static func attackRun(_ attack: SamplingAttack, scenario: ScenarioOptions, rounds: Int, threads: Int) -> [OverAdvertiser] {
        var attackRandom = SeededRandom(seed: scenario.seed &* 0x5EED_0BAD)
        let adversaries = SamplingStudy.adversaries(attack, nodes: scenario.nodes, random: &attackRandom)
        var network = Scenario.joinedNetwork(scenario, threads: threads, adversaries: adversaries, attack: attack) { _ in }
        var service = SamplingStudy(nodes: scenario.nodes, adversaries: Set(adversaries))
        var viewDraw = SamplingStudy(nodes: scenario.nodes, adversaries: Set(adversaries))
        for _ in 0..<rounds {
            service.drawRound(&network)
            viewDraw.drawRound(&network, fromViews: true)
            network.run(for: period)
        }
        let fair = Double(adversaries.count) / Double(max(1, network.liveCount))
        return [(Sampler.service, service), (.viewDraw, viewDraw)].map { sampler, study in
            OverAdvertiser(attack: attack, sampler: sampler, adversaries: adversaries.count,
                           share: SamplingStudy.share(study.adversaryDraws, study.draws), fairShare: fair)
        }
    }

    /// The share of dead samples when every live node draws once with `draw`.
    static func deadShare(_ isDown: [Bool], draw: (Int) -> [Int]) -> Double {
        var drawn = 0
        var dead = 0
        for index in isDown.indices where !isDown[index] {
            for sample in draw(index) {
                drawn += 1
                if isDown[sample] { dead += 1 }
            }
        }
        return SamplingStudy.share(dead, drawn)
    }

    static func summary(_ sampler: Sampler, _ study: SamplingStudy, live: [Bool], graph: OverlayGraph) -> Uniformity {
        let figures = study.uniformity(live: live)
        let inDegrees = graph.inDegreeDistribution.keys
        let least = live.indices.filter { live[$0] }.map { study.counts[$0] }.min() ?? 0
        return Uniformity(sampler: sampler, draws: study.draws, chiSquare: figures.chiSquare, degreesOfFreedom: figures.freedom,
                          maxOverExpected: figures.maximum, minOverExpected: figures.expected > 0 ? Double(least) / figures.expected : 0,
                          seedOverExpected: figures.seed, inDegreeMin: inDegrees.min() ?? 0, inDegreeMax: inDegrees.max() ?? 0)
    }

    /// The active and passive views together: the pool the view draw picks from.
    static func viewGraph(of network: SimulatedNetwork) -> OverlayGraph {
        let adjacency = (0..<network.nodeCount).map { index -> [Int] in
            guard !network.isDown(index: index) else { return [] }
            let status = network.node(index: index).status(at: network.now)
            return Set((status.active.map(\.address) + status.passive.map(\.address)).compactMap(network.index(of:))).sorted()
        }
        return OverlayGraph(adjacency: adjacency, live: (0..<network.nodeCount).map { !network.isDown(index: $0) })
    }
}
