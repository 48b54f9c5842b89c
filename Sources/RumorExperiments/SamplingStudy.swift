import RumorCore
import RumorGraph
import RumorSim

/// Who over-advertises itself in a run (`rumor sim --sampling-attack`, docs/sampling.md).
public enum SamplingAttack: String, Codable, Sendable, CaseIterable {
    /// One node puts itself at age 0 in everything it sends and shuffles every 0.5 s.
    case one
    /// 1% of the nodes (at least two) do so together, each naming itself and the others.
    case colluding
    /// One node does so and also answers every walk that reaches it as if the walk ended there.
    case walks
}

/// Peer sampling as the issue measures it: every live node calls the core's `samplePeers(1)` once a
/// shuffle period for `samplingRounds` periods, then draws again at fixed times after the mass failure.
public struct SamplingReport: Codable, Sendable, Equatable {
    public struct DeadShares: Codable, Sendable, Equatable {
        public var oneSecond: Double
        public var onePeriod: Double
        public var tenPeriods: Double

        enum CodingKeys: String, CodingKey {
            case oneSecond = "1s"
            case onePeriod = "1period"
            case tenPeriods = "10periods"
        }
    }

    /// Each adversary group's share of all draws in the stream; only the group the run had is measured.
    public struct OverAdvertiserShares: Codable, Sendable, Equatable {
        public var one: Double?
        public var colluding1pct: Double?

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(one, forKey: .one)
            try container.encode(colluding1pct, forKey: .colluding1pct)
        }
    }

    public var draws: Int
    /// Draws of live nodes over live nodes: e.
    public var expectedPerNode: Double
    /// Pearson's chi-square of the draws per live node against uniform, with live nodes − 1 degrees of freedom.
    public var chiSquare: Double
    public var degreesOfFreedom: Int
    public var maxOverExpected: Double
    /// Node 0, the seed every node joined through.
    public var seedOverExpected: Double
    /// Total-variation distance between the requesters' hop distances to their samples and to all live nodes.
    public var locality: Double
    public var deadShareAfterFailure: DeadShares
    public var overAdvertiserShare: OverAdvertiserShares?

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(draws, forKey: .draws)
        try container.encode(expectedPerNode, forKey: .expectedPerNode)
        try container.encode(chiSquare, forKey: .chiSquare)
        try container.encode(degreesOfFreedom, forKey: .degreesOfFreedom)
        try container.encode(maxOverExpected, forKey: .maxOverExpected)
        try container.encode(seedOverExpected, forKey: .seedOverExpected)
        try container.encode(locality, forKey: .locality)
        try container.encode(deadShareAfterFailure, forKey: .deadShareAfterFailure)
        // null, not absent, in a run without an adversary: the key set is fixed.
        try container.encode(overAdvertiserShare, forKey: .overAdvertiserShare)
    }
}

/// What else the sampling measurement saw, beside the fixed keys.
public struct SamplingDetails: Codable, Sendable, Equatable {
    /// Dead share of `samplePeers(4)` at the same moments, drawn by the other half of the live nodes.
    public var deadShareFourPeers: SamplingReport.DeadShares
    /// At the instant of the failure, before anything could notice it: what any cache holds.
    public var deadShareAtFailure: Double
    /// Draws that were not a walk's endpoint (an active peer standing in for a short reservoir).
    public var standInShare: Double
    /// Frames the sampler sent per live node per shuffle period over the stream: walk steps, answers, and
    /// the set-up of the links answers open (four frames open, seven with a cluster key).
    public var framesPerNodePerPeriod: Double
    public var framesPerNodePerPeriodKeyed: Double
    public var walksLostShare: Double
    /// The most bytes any live node's sampling state took at the end of the stream (`samplingFootprintBytes`).
    public var samplerBytesPerNode: Int?
    /// The adversaries' share of active-view entries and of passive-view entries at the end of the stream.
    public var adversaryActiveShare: Double?
    public var adversaryPassiveShare: Double?
}

/// The stream of draws and the checkpoints after the failure, over a simulated network.
struct SamplingStudy {
    var counts: [Int]
    var draws = 0
    var standIns = 0
    /// (requester, sample) pairs kept for locality: the draws of a few hundred requesters.
    var localityPairs: [(Int, Int)] = []
    var adversaryDraws = 0
    let adversaries: Set<Int>
    let localityRequesters: Set<Int>

    init(nodes: Int, adversaries: Set<Int>) {
        counts = [Int](repeating: 0, count: nodes)
        self.adversaries = adversaries
        let step = max(1, nodes / 400)
        localityRequesters = Set(stride(from: 1, to: nodes, by: step))
    }

    /// Every live node draws one sample now: from the sampling service, or `fromViews`, from its active and
    /// passive views as samples were drawn before it (`viewDrawPeers`).
    mutating func drawRound(_ network: inout SimulatedNetwork, fromViews: Bool = false) {
        for index in 0..<network.nodeCount where !network.isDown(index: index) {
            let drawn = fromViews ? network.viewDrawPeers(at: index, count: 1) : network.samplePeers(at: index, count: 1)
            if let sample = drawn.first { record(index, drew: sample) }
        }
    }

    mutating func record(_ requester: Int, drew sample: Int) {
        draws += 1
        counts[sample] += 1
        if adversaries.contains(sample) { adversaryDraws += 1 }
        if localityRequesters.contains(requester) { localityPairs.append((requester, sample)) }
    }

    /// The share of dead samples when the live nodes of one parity draw `samplePeers(1)` and the others
    /// `samplePeers(4)`.
    static func deadShares(_ network: inout SimulatedNetwork) -> (one: Double, four: Double) {
        let isDown = (0..<network.nodeCount).map { network.isDown(index: $0) }
        return deadShares(isDown: isDown) { network.samplePeers(at: $0, count: $1) }
    }

    static func deadShares(isDown: [Bool], draw: (Int, Int) -> [Int]) -> (one: Double, four: Double) {
        var drawn = [0, 0]
        var dead = [0, 0]
        for index in isDown.indices where !isDown[index] {
            let group = index % 2
            for sample in draw(index, group == 0 ? 1 : 4) {
                drawn[group] += 1
                if isDown[sample] { dead[group] += 1 }
            }
        }
        return (share(dead[0], drawn[0]), share(dead[1], drawn[1]))
    }

    static func share(_ part: Int, _ whole: Int) -> Double { whole == 0 ? 0 : Double(part) / Double(whole) }

    /// The figures from this stream, the locality and the draws after the failure.
    func report(live: [Bool], locality: Double, deadShares: SamplingReport.DeadShares, attack: SamplingAttack?) -> SamplingReport {
        let uniformity = uniformity(live: live)
        return SamplingReport(
            draws: draws, expectedPerNode: uniformity.expected, chiSquare: uniformity.chiSquare,
            degreesOfFreedom: uniformity.freedom, maxOverExpected: uniformity.maximum, seedOverExpected: uniformity.seed,
            locality: locality, deadShareAfterFailure: deadShares,
            overAdvertiserShare: SamplingReport.OverAdvertiserShares(attack: attack, share: Self.share(adversaryDraws, draws)))
    }

    /// Chi-square, maximum and seed figures over the nodes live during the stream.
    func uniformity(live: [Bool]) -> (chiSquare: Double, freedom: Int, expected: Double, maximum: Double, seed: Double) {
        let liveNodes = live.indices.filter { live[$0] }
        let liveDraws = liveNodes.reduce(0) { $0 + counts[$1] }
        let expected = liveNodes.isEmpty ? 0 : Double(liveDraws) / Double(liveNodes.count)
        guard expected > 0 else { return (0, 0, 0, 0, 0) }
        let chiSquare = liveNodes.reduce(0.0) { total, node in
            let difference = Double(counts[node]) - expected
            return total + difference * difference / expected
        }
        let most = liveNodes.map { counts[$0] }.max() ?? 0
        return (chiSquare, liveNodes.count - 1, expected, Double(most) / expected, Double(counts[0]) / expected)
    }

    /// Total-variation distance between the hop distances of the kept (requester, sample) pairs and those of
    /// uniform picks among the live nodes, each requester weighted by its draws.
    func locality(over graph: OverlayGraph, live: [Bool]) -> Double {
        var samplesByRequester: [Int: [Int]] = [:]
        for (requester, sample) in localityPairs where live[sample] { samplesByRequester[requester, default: []].append(sample) }
        var sampled: [Double] = []
        var uniform: [Double] = []
        func add(_ histogram: inout [Double], _ hops: Int, _ weight: Double) {
            guard hops >= 0 else { return }
            if histogram.count <= hops { histogram += [Double](repeating: 0, count: hops + 1 - histogram.count) }
            histogram[hops] += weight
        }
        graph.hopDistances(from: samplesByRequester.keys.sorted()) { requester, distance in
            let samples = samplesByRequester[requester] ?? []
            let others = live.indices.filter { live[$0] && $0 != requester && distance[$0] >= 0 }
            guard !samples.isEmpty, !others.isEmpty else { return }
            for sample in samples { add(&sampled, distance[sample], 1) }
            let weight = Double(samples.count) / Double(others.count)
            for other in others { add(&uniform, distance[other], weight) }
        }
        let total = sampled.reduce(0, +)
        let uniformTotal = uniform.reduce(0, +)
        guard total > 0, uniformTotal > 0 else { return 0 }
        let length = max(sampled.count, uniform.count)
        var distance = 0.0
        for hops in 0..<length {
            distance += abs((hops < sampled.count ? sampled[hops] : 0) / total - (hops < uniform.count ? uniform[hops] : 0) / uniformTotal)
        }
        return distance / 2
    }
}

extension SamplingStudy {
    /// The adversaries an attack places: never the seed (node 0), chosen by the run's seed.
    static func adversaries(_ attack: SamplingAttack?, nodes: Int, random: inout SeededRandom) -> [Int] {
        guard let attack, nodes > 2 else { return [] }
        let count = attack == .colluding ? max(2, nodes / 100) : 1
        return Array((1..<nodes).shuffled(using: &random).prefix(count)).sorted()
    }
}
