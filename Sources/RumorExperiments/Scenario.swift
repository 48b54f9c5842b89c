import RumorTopology
import RumorCore
import RumorGraph
import RumorSim

/// The common simulation: nodes join through one seed, a round of broadcasts, a mass failure with
/// broadcasts right after it, healing, and a last round of broadcasts.
public struct ScenarioOptions: Codable, Sendable, Equatable {
    public var nodes = 1000
    /// Share of nodes killed at once after the first broadcasts.
    public var fail = 0.5
    public var broadcasts = 100
    public var seed: UInt64 = 1
    /// Link latency drawn per link, uniformly, in milliseconds.
    public var latencyMilliseconds: ClosedRange<Double> = 1...10
    public var loss = 0.0
    /// Time between two joins; `nil` takes `defaultJoinInterval(nodes:)`.
    public var joinIntervalMilliseconds: Double?
    /// Time between two broadcasts.
    public var broadcastIntervalMilliseconds = 20.0
    /// How long healing is watched, in shuffle periods.
    public var healingPeriods = 20
    /// Which broadcast runs over the overlay: Rumor's Plumtree, or plain flooding as a baseline.
    public var protocolName: BroadcastProtocol = .rumor
    /// Shuffle periods in which every live node draws one sample (`samplePeers(1)`), once a period; 0 skips
    /// the stream (and its 100 s of virtual time) but keeps the draws after the failure.
    public var samplingRounds = 20
    /// Nodes that over-advertise themselves through the whole run (docs/sampling.md); nil: none.
    public var samplingAttack: SamplingAttack?
    /// Nodes check their invariants after every event and the network the global ones at quiet points
    /// (`rumor sim --check-invariants`; the simulator-backed tests always do).
    public var checksInvariants = true

    public init() {}

    /// 2 ms, so joins overlap (links take 1–10 ms) and 10,000 nodes are in after 20 s of virtual time
    /// instead of 100 s of mostly idle keepalives; larger overlays join faster so that the join phase stays
    /// at 20 s: every node's keepalives and ticks cost events for as long as virtual time runs.
    public static func defaultJoinInterval(nodes: Int) -> Double {
        min(2.0, 20_000.0 / Double(max(1, nodes)))
    }

    /// The common settings of a paper experiment's overlay: the rest stays at the scenario's defaults.
    static func experiment(nodes: Int, seed: UInt64, latencyMilliseconds: ClosedRange<Double>, checksInvariants: Bool) -> ScenarioOptions {
        var options = ScenarioOptions()
        options.nodes = nodes
        options.seed = seed
        options.latencyMilliseconds = latencyMilliseconds
        options.checksInvariants = checksInvariants
        return options
    }

    public var effectiveJoinIntervalMilliseconds: Double {
        joinIntervalMilliseconds ?? Self.defaultJoinInterval(nodes: nodes)
    }
}

/// The broadcast a scenario measures.
public enum BroadcastProtocol: String, Codable, Sendable, CaseIterable {
    /// Rumor: HyParView membership and Plumtree broadcast, the real core.
    case rumor
    /// Plain eager flooding over the overlay Rumor's membership built.
    case flood
    /// Infect-and-die gossip (fanout 4) over a Cyclon view of 30 (`CyclonOverlay`).
    case cyclon
}

/// What one round of broadcasts did.
public struct BroadcastFigures: Codable, Sendable, Equatable {
    public var messages: Int
    /// Mean and lowest share of live nodes that delivered a message.
    public var reliabilityMean: Double
    public var reliabilityMin: Double
    /// Payload frames received per delivery beyond a perfect tree, over all the messages.
    public var relativeMessageRedundancy: Double
    /// Largest hop count at delivery.
    public var lastDeliveryHop: Int
    /// Time from publish to the last delivery, in milliseconds.
    public var latencyP50Milliseconds: Double
    public var latencyP99Milliseconds: Double
    public var duplicateDeliveries: Int
}

/// The overlay's shape at one moment.
public struct OverlayFigures: Codable, Sendable, Equatable {
    public var liveNodes: Int
    public var components: Int
    public var largestComponentShare: Double
    public var inDegreeMean: Double
    public var inDegreeMin: Int
    public var inDegreeMax: Int
    public var clusteringCoefficient: Double
    public var averageShortestPath: Double
    public var deadEntryShare: Double

    public init(_ graph: OverlayGraph) {
        liveNodes = graph.liveCount
        let components = graph.components()
        self.components = components.count
        largestComponentShare = liveNodes == 0 ? 0 : Double(components.first?.count ?? 0) / Double(liveNodes)
        let distribution = graph.inDegreeDistribution
        let total = distribution.reduce(0) { $0 + $1.key * $1.value }
        inDegreeMean = liveNodes == 0 ? 0 : Double(total) / Double(liveNodes)
        inDegreeMin = distribution.keys.min() ?? 0
        inDegreeMax = distribution.keys.max() ?? 0
        clusteringCoefficient = graph.clusteringCoefficient
        averageShortestPath = graph.averageShortestPath()
        deadEntryShare = graph.deadEntryShare
    }
}

/// How balanced the views are as a pool to draw from: every live node draws one peer from its active and
/// passive views, many times at one instant (`viewDrawPeers`, what samples were before the sampling service).
public struct SamplingFigures: Codable, Sendable, Equatable {
    public var draws: Int
    /// Pearson's chi-square of how often each live node was drawn, against uniform.
    public var chiSquare: Double
    /// Degrees of freedom of that test (live nodes − 1): chi-square near this means close to uniform.
    public var degreesOfFreedom: Int
    /// The most drawn live node's count over the least drawn one's (infinite if one was never drawn).
    public var mostToLeastRatio: Double?
    /// Share of draws that named a node that is down.
    public var deadShare: Double

    /// Every live node draws one peer `rounds` times.
    static func measure(_ network: inout SimulatedNetwork, rounds: Int) -> SamplingFigures {
        let isDown = (0..<network.nodeCount).map { network.isDown(index: $0) }
        return measure(isDown: isDown, rounds: rounds) { network.viewDrawPeers(at: $0, count: 1).first }
    }

    /// Every live node draws one peer with `draw`, `rounds` times.
    static func measure(isDown: [Bool], rounds: Int, draw: (Int) -> Int?) -> SamplingFigures {
        let live = isDown.indices.filter { !isDown[$0] }
        var counts = [Int](repeating: 0, count: isDown.count)
        var draws = 0
        var dead = 0
        for _ in 0..<rounds {
            for node in live {
                if let peer = draw(node) {
                    draws += 1
                    if isDown[peer] { dead += 1 } else { counts[peer] += 1 }
                }
            }
        }
        let liveDraws = draws - dead
        let expected = live.isEmpty ? 0 : Double(liveDraws) / Double(live.count)
        let chiSquare = expected == 0 ? 0 : live.reduce(0.0) { $0 + pow2(Double(counts[$1]) - expected) / expected }
        let liveCounts = live.map { counts[$0] }
        let least = liveCounts.min() ?? 0
        return SamplingFigures(draws: draws, chiSquare: chiSquare, degreesOfFreedom: max(0, live.count - 1),
                               mostToLeastRatio: least == 0 ? nil : Double(liveCounts.max() ?? 0) / Double(least),
                               deadShare: draws == 0 ? 0 : Double(dead) / Double(draws))
    }

    private static func pow2(_ value: Double) -> Double { value * value }
}

public struct ScenarioReport: Codable, Sendable, Equatable {
    public var options: ScenarioOptions
    public var steadyOverlay: OverlayFigures
    public var steadyBroadcasts: BroadcastFigures
    /// The sampling service, measured as the issue asks (docs/sampling.md), and what else it showed.
    public var sampling: SamplingReport
    public var samplingDetails: SamplingDetails
    /// The old draw from the views (a diagnostic of view balance) in steady state and right after the failure.
    public var viewDraw: SamplingFigures
    public var viewDrawAfterFailure: SamplingFigures
    public var failedNodes: Int
    /// Broadcasts published right after the failure, before any healing.
    public var broadcastsAfterFailure: BroadcastFigures
    /// Time from the failure until the survivors were one component with no dead active entry; nil if not
    /// within the healing window.
    public var healingSeconds: Double?
    public var healingShuffleRounds: Double?
    public var healedOverlay: OverlayFigures
    public var broadcastsAfterHealing: BroadcastFigures
    /// Simulated events processed: the same run always gives the same count.
    public var events: Int
    /// What the invariant checker saw (zero checks when it was off).
    public var invariants: InvariantFigures
}

/// What the invariant checker saw in a run.
public struct InvariantFigures: Codable, Sendable, Equatable {
    public var checks: Int
    /// The first violations found, as sentences.
    public var violations: [String]
    public var violationCount: Int

    public init(_ network: SimulatedNetwork) {
        checks = network.invariantChecks
        let found = network.invariantViolations
        violations = found.prefix(20).map(\.description)
        violationCount = found.count
    }

    public static let unchecked = InvariantFigures(checks: 0, violations: [], violationCount: 0)

    init(checks: Int, violations: [String], violationCount: Int) {
        self.checks = checks
        self.violations = violations
        self.violationCount = violationCount
    }
}

public enum Scenario {
    /// Runs the scenario on `threads` threads (the report is the same on any count); `progress` hears the
    /// share done, now and then.
    public static func run(_ options: ScenarioOptions, threads: Int = 1, progress: (Double) -> Void = { _ in }) -> ScenarioReport {
        if options.protocolName == .cyclon { return runCyclon(options, progress: progress) }
        var random = SeededRandom(seed: options.seed &* 0x9E37_79B9)
        // Adversaries come from a stream of their own, so an honest run draws exactly as before.
        var attackRandom = SeededRandom(seed: options.seed &* 0x5EED_0BAD)
        let adversaries = SamplingStudy.adversaries(options.samplingAttack, nodes: options.nodes, random: &attackRandom)
        let shufflePeriod = MembershipConfiguration().shuffleInterval
        var network = joinedNetwork(options, threads: threads, adversaries: adversaries, attack: options.samplingAttack) { progress(0.4 * $0) }
        progress(0.45)
        let steadyOverlay = OverlayFigures(graph(of: network))
        let viewDraw = SamplingFigures.measure(&network, rounds: options.samplingRounds)
        var study = SamplingStudy(nodes: network.nodeCount, adversaries: Set(adversaries))
        let cost = SamplingCost(network)
        for _ in 0..<options.samplingRounds {
            study.drawRound(&network)
            network.run(for: shufflePeriod)
        }
        let streamCost = cost.since(network, periods: options.samplingRounds)
        let streamLive = (0..<network.nodeCount).map { !network.isDown(index: $0) }
        let locality = study.locality(over: graph(of: network), live: streamLive)
        let adversaryViews = SamplingCost.viewShares(of: Set(adversaries), in: network)
        let footprint = SamplingCost.largestFootprint(in: network)
        let steadyBroadcasts = broadcastRound(&network, options, &random)
        progress(0.55)

        let victims = network.addresses.shuffled(using: &random).prefix(Int(options.fail * Double(options.nodes)))
        for address in victims { network.crash(address) }
        let viewDrawAfterFailure = SamplingFigures.measure(&network, rounds: options.samplingRounds)
        let failedAt = network.now
        var checkpoints = SamplingCheckpoints(failedAt: failedAt, period: shufflePeriod, network: network,
                                              measuring: options.samplingRounds > 0)
        let afterFailure = broadcastRound(&network, options, &random) { checkpoints.observe(&$0) }
        progress(0.65)

        var healedAt: Timestamp?
        let deadline = failedAt + shufflePeriod * options.healingPeriods
        while network.now < deadline {
            if healedAt == nil {
                let overlay = graph(of: network)
                if overlay.components().count == 1, overlay.deadEntryShare == 0 { healedAt = network.now }
            }
            if healedAt != nil { break }
            network.run(for: .milliseconds(250))
            checkpoints.observe(&network)
        }
        progress(0.85)
        let healedOverlay = OverlayFigures(graph(of: network))
        let afterHealing = broadcastRound(&network, options, &random) { checkpoints.observe(&$0) }
        checkpoints.finish(&network)
        progress(1)
        let healing = healedAt.map { Double($0.since(failedAt).nanosecondsRounded) / 1e9 }
        let sampling = study.report(live: streamLive, locality: locality, deadShares: checkpoints.oneSample, attack: options.samplingAttack)
        let details = SamplingDetails(
            deadShareFourPeers: checkpoints.fourSamples, deadShareAtFailure: checkpoints.heldDeadAtFailure,
            standInShare: SamplingStudy.share(streamCost.standIns, study.draws),
            framesPerNodePerPeriod: streamCost.framesOpen, framesPerNodePerPeriodKeyed: streamCost.framesKeyed,
            walksLostShare: streamCost.walksLostShare, samplerBytesPerNode: footprint,
            adversaryActiveShare: adversaries.isEmpty ? nil : adversaryViews.active,
            adversaryPassiveShare: adversaries.isEmpty ? nil : adversaryViews.passive)
        return ScenarioReport(
            options: options, steadyOverlay: steadyOverlay, steadyBroadcasts: steadyBroadcasts,
            sampling: sampling, samplingDetails: details, viewDraw: viewDraw, viewDrawAfterFailure: viewDrawAfterFailure,
            failedNodes: victims.count,
            broadcastsAfterFailure: afterFailure, healingSeconds: healing,
            healingShuffleRounds: healing.map { $0 / (Double(shufflePeriod.nanosecondsRounded) / 1e9) },
            healedOverlay: healedOverlay, broadcastsAfterHealing: afterHealing, events: network.eventsProcessed,
            invariants: InvariantFigures(network))
    }

    /// The same scenario over the Cyclon baseline: shuffle rounds stand for shuffle periods.
    static func runCyclon(_ options: ScenarioOptions, progress: (Double) -> Void) -> ScenarioReport {
        var overlay = CyclonOverlay(nodes: options.nodes, seed: options.seed)
        var random = SeededRandom(seed: options.seed &* 0x9E37_79B9)
        let latency = LatencyModel.uniform(.microseconds(Int64(options.latencyMilliseconds.lowerBound * 1000)),
                                           .microseconds(Int64(options.latencyMilliseconds.upperBound * 1000)))
        let shufflePeriod = MembershipConfiguration().shuffleInterval
        progress(0.4)
        let steadyOverlay = OverlayFigures(overlay.graph)
        let viewDraw = SamplingFigures.measure(isDown: overlay.isDown, rounds: options.samplingRounds) { overlay.samplePeer(at: $0) }
        // Cyclon's answer to a draw is a peer from its view; a shuffle round stands for a shuffle period.
        var study = SamplingStudy(nodes: options.nodes, adversaries: [])
        for _ in 0..<options.samplingRounds {
            for node in overlay.views.indices where !overlay.isDown[node] {
                if let sample = overlay.samplePeer(at: node) { study.record(node, drew: sample) }
            }
            overlay.shuffleRound()
        }
        let streamLive = overlay.isDown.map { !$0 }
        let locality = study.locality(over: overlay.graph, live: streamLive)
        let steadyBroadcasts = overlay.broadcastRound(options.broadcasts, latency: latency, loss: options.loss)
        let victims = Array(overlay.views.indices.shuffled(using: &random).prefix(Int(options.fail * Double(options.nodes))))
        overlay.crash(victims)
        let viewDrawAfterFailure = SamplingFigures.measure(isDown: overlay.isDown, rounds: options.samplingRounds) { overlay.samplePeer(at: $0) }
        let heldDeadAtFailure = overlay.graph.deadEntryShare
        // The draws after the failure, on a copy that shuffles 0, 1 and 10 rounds (no round within 1 s).
        var later = overlay
        var oneSample: [Double] = []
        var fourSamples: [Double] = []
        for rounds in [0, 1, 9] {
            for _ in 0..<rounds { later.shuffleRound() }
            let (one, four) = SamplingStudy.deadShares(isDown: later.isDown) { later.samplePeers(at: $0, count: $1) }
            oneSample.append(one)
            fourSamples.append(four)
        }
        let afterFailure = overlay.broadcastRound(options.broadcasts, latency: latency, loss: options.loss)
        progress(0.6)
        var healedRounds: Int?
        for round in 1...max(1, options.healingPeriods) {
            overlay.shuffleRound()
            let graph = overlay.graph
            if graph.components().count == 1, graph.deadEntryShare == 0 {
                healedRounds = round
                break
            }
        }
        progress(0.9)
        let healedOverlay = OverlayFigures(overlay.graph)
        let afterHealing = overlay.broadcastRound(options.broadcasts, latency: latency, loss: options.loss)
        progress(1)
        let period = Double(shufflePeriod.nanosecondsRounded) / 1e9
        let sampling = study.report(live: streamLive, locality: locality,
                                    deadShares: .init(oneSecond: oneSample[0], onePeriod: oneSample[1], tenPeriods: oneSample[2]), attack: nil)
        let details = SamplingDetails(
            deadShareFourPeers: .init(oneSecond: fourSamples[0], onePeriod: fourSamples[1], tenPeriods: fourSamples[2]),
            deadShareAtFailure: heldDeadAtFailure, standInShare: 0, framesPerNodePerPeriod: 0, framesPerNodePerPeriodKeyed: 0,
            walksLostShare: 0, samplerBytesPerNode: nil, adversaryActiveShare: nil, adversaryPassiveShare: nil)
        return ScenarioReport(
            options: options, steadyOverlay: steadyOverlay, steadyBroadcasts: steadyBroadcasts,
            sampling: sampling, samplingDetails: details, viewDraw: viewDraw, viewDrawAfterFailure: viewDrawAfterFailure,
            failedNodes: victims.count,
            broadcastsAfterFailure: afterFailure, healingSeconds: healedRounds.map { Double($0) * period },
            healingShuffleRounds: healedRounds.map(Double.init), healedOverlay: healedOverlay,
            broadcastsAfterHealing: afterHealing, events: 0, invariants: .unchecked)
    }

    /// The threads a run of `options` uses when `requested` are asked for: a power of two, and one with
    /// instant links (shards run apart for as long as the shortest latency, which must not be zero).
    public static func threadsUsed(_ options: ScenarioOptions, requested: Int) -> Int {
        options.latencyMilliseconds.lowerBound > 0 ? SimulatedNetwork.shardCount(forThreads: requested) : 1
    }

    /// Nodes joining one after another through node 0, then four shuffle periods to settle.
    static func joinedNetwork(_ options: ScenarioOptions, threads: Int = 1, adversaries: [Int] = [], attack: SamplingAttack? = nil,
                              directory: Bool = false, preloadsDirectory: Bool = false, recordsMemberEvents: Bool = false,
                              progress: (Double) -> Void) -> SimulatedNetwork {
        var network = SimulatedNetwork(seed: options.seed, threads: threadsUsed(options, requested: threads),
                                       checksInvariants: options.checksInvariants)
        network.recordsMemberEvents = recordsMemberEvents
        network.latency = .uniform(.microseconds(Int64(options.latencyMilliseconds.lowerBound * 1000)),
                                   .microseconds(Int64(options.latencyMilliseconds.upperBound * 1000)))
        network.lossRate = options.loss
        let advertised = adversaries.map { simulatedConfiguration($0, seeds: [0]).identity }
        for (position, index) in adversaries.enumerated() {
            // Itself first, then its colluders.
            let others = advertised.indices.filter { $0 != position }.map { advertised[$0] }
            network.makeAdversary(index, SamplingAdversary(advertised: [advertised[position]] + others, hijacksWalks: attack == .walks))
        }
        // A warm start: every node starts holding every node's first entry, one buffer each shared by all.
        let settled = directory && preloadsDirectory
            ? (0..<max(1, options.nodes)).map { simulatedOwnEntry(simulatedConfiguration($0, seeds: [], directory: true)) } : []
        network.add(simulatedConfiguration(0, seeds: [], directory: directory), seed: options.seed, preloading: settled)
        for index in 1..<max(1, options.nodes) {
            network.run(for: .nanoseconds(Int64(options.effectiveJoinIntervalMilliseconds * 1_000_000)))
            var configuration = simulatedConfiguration(index, seeds: [0], directory: directory)
            // An adversary shuffles ten times as often as the others.
            if adversaries.contains(index) { configuration.membership.shuffleInterval = .milliseconds(500) }
            network.add(configuration, seed: options.seed &+ UInt64(index), preloading: settled)
            if index % 1000 == 0 { progress(Double(index) / Double(options.nodes)) }
        }
        network.run(for: MembershipConfiguration().shuffleInterval * 4)
        return network
    }

    static func graph(of network: SimulatedNetwork) -> OverlayGraph {
        OverlayGraph(adjacency: network.activeAdjacency(), live: (0..<network.nodeCount).map { !network.isDown(index: $0) })
    }

    /// Publishes `options.broadcasts` messages from random live nodes, lets them settle, and measures them.
    /// `between` runs after every step of virtual time (at most 250 ms apart), for draws at set moments.
    static func broadcastRound(_ network: inout SimulatedNetwork, _ options: ScenarioOptions, _ random: inout SeededRandom,
                               between: (inout SimulatedNetwork) -> Void = { _ in }) -> BroadcastFigures {
        let interval = Duration.microseconds(Int64(options.broadcastIntervalMilliseconds * 1000))
        if options.protocolName == .flood {
            let figures = FloodBaseline.round(options.broadcasts, over: network, random: &random)
            run(&network, for: interval * options.broadcasts, between: between)
            return figures
        }
        let live = network.liveAddresses
        var ids: [MessageID] = []
        for sequence in 0..<options.broadcasts {
            guard let origin = live.randomElement(using: &random), network.isUp(origin) else { continue }
            if let id = try? network.publish(Array("broadcast \(sequence)".utf8), from: origin) { ids.append(id) }
            run(&network, for: interval, between: between)
        }
        run(&network, for: .seconds(5), between: between)
        return measure(ids, in: network)
    }

    /// Runs `duration` in steps of at most 250 ms, calling `between` after each.
    static func run(_ network: inout SimulatedNetwork, for duration: Duration, between: (inout SimulatedNetwork) -> Void) {
        var left = duration
        while left > .zero {
            let step = min(left, .milliseconds(250))
            network.run(for: step)
            left -= step
            between(&network)
        }
    }

    public static func measure(_ ids: [MessageID], in network: SimulatedNetwork) -> BroadcastFigures {
        let liveCount = network.liveCount
        var reliabilities: [Double] = []
        var latencies: [Double] = []
        var payloads = 0
        var deliveredTotal = 0
        var largestRound: UInt32 = 0
        var duplicates = 0
        for id in ids {
            guard let record = network.record(of: id) else { continue }
            var deliveredLive = 0
            for index in record.deliveries.indices where !network.isDown(index: index) && record.deliveries[index] > 0 {
                deliveredLive += 1
                if record.deliveries[index] > 1 { duplicates += 1 }
            }
            reliabilities.append(liveCount == 0 ? 0 : Double(deliveredLive) / Double(liveCount))
            latencies.append(Double(record.lastDeliveryAt.since(record.publishedAt).nanosecondsRounded) / 1e6)
            payloads += record.payloadFrames
            deliveredTotal += max(0, record.delivered - 1)
            largestRound = max(largestRound, record.largestRound)
        }
        return BroadcastFigures(reliabilities: reliabilities, latencies: latencies, payloadFrames: payloads,
                                deliveriesBeyondOrigin: deliveredTotal, lastDeliveryHop: Int(largestRound), duplicates: duplicates)
    }
}

extension BroadcastFigures {
    /// Figures over a round of messages, from each message's reliability and latency (ms) and the totals.
    init(reliabilities: [Double], latencies: [Double], payloadFrames: Int, deliveriesBeyondOrigin: Int,
         lastDeliveryHop: Int, duplicates: Int) {
        let sorted = latencies.sorted()
        func percentile(_ share: Double) -> Double {
            sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(share * Double(sorted.count)))]
        }
        self.init(
            messages: reliabilities.count,
            reliabilityMean: reliabilities.isEmpty ? 0 : reliabilities.reduce(0, +) / Double(reliabilities.count),
            reliabilityMin: reliabilities.min() ?? 0,
            relativeMessageRedundancy: deliveriesBeyondOrigin == 0 ? 0 : Double(payloadFrames) / Double(deliveriesBeyondOrigin) - 1,
            lastDeliveryHop: lastDeliveryHop, latencyP50Milliseconds: percentile(0.5), latencyP99Milliseconds: percentile(0.99),
            duplicateDeliveries: duplicates)
    }
}
