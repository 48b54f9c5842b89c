import RumorCore
import RumorSim

/// The draws after the mass failure: at +1 s, +1 shuffle period and +10 periods, half the live nodes draw
/// `samplePeers(1)` and the other half `samplePeers(4)`; the share of samples naming a dead node is kept.
struct SamplingCheckpoints {
    let failedAt: Timestamp
    /// Empty when the run skips the sampling measurement (`--sampling-rounds 0`): nothing is drawn and the
    /// run is not kept going to the last checkpoint, so its events are the scenario's alone.
    let targets: [Duration]
    /// The dead share of what the live nodes hold at the failure's instant, read without drawing.
    let heldDeadAtFailure: Double
    private var oneSampleShares: [Double] = []
    private var fourSampleShares: [Double] = []

    init(failedAt: Timestamp, period: Duration, network: SimulatedNetwork, measuring: Bool = true) {
        self.failedAt = failedAt
        targets = measuring ? [.seconds(1), period, period * 10] : []
        var held = 0
        var dead = 0
        for index in 0..<network.nodeCount where !network.isDown(index: index) {
            for sample in network.node(index: index).heldSamples {
                held += 1
                if let peer = network.index(of: sample.peer.address), network.isDown(index: peer) { dead += 1 }
            }
        }
        heldDeadAtFailure = SamplingStudy.share(dead, held)
    }

    /// Draws if the next checkpoint's time has come (the caller steps at most 250 ms at a time).
    mutating func observe(_ network: inout SimulatedNetwork) {
        while oneSampleShares.count < targets.count, network.now >= failedAt + targets[oneSampleShares.count] {
            let (one, four) = SamplingStudy.deadShares(&network)
            oneSampleShares.append(one)
            fourSampleShares.append(four)
        }
    }

    /// Runs on to the last checkpoint if the scenario ended before it.
    mutating func finish(_ network: inout SimulatedNetwork) {
        while oneSampleShares.count < targets.count {
            let due = failedAt + targets[oneSampleShares.count]
            if network.now < due { network.run(for: due.since(network.now)) }
            observe(&network)
        }
    }

    var oneSample: SamplingReport.DeadShares { Self.shares(oneSampleShares) }
    var fourSamples: SamplingReport.DeadShares { Self.shares(fourSampleShares) }

    private static func shares(_ values: [Double]) -> SamplingReport.DeadShares {
        SamplingReport.DeadShares(oneSecond: values.count > 0 ? values[0] : 0, onePeriod: values.count > 1 ? values[1] : 0,
                                  tenPeriods: values.count > 2 ? values[2] : 0)
    }
}

/// What the sampler sent over a stretch of the run, from the nodes' counters.
struct SamplingCost {
    struct Totals {
        var walkSteps = 0
        var answers = 0
        var answerLinks = 0
        var walksStarted = 0
        var walksLost = 0
        var standIns = 0
    }

    let before: Totals
    let live: Int

    init(_ network: SimulatedNetwork) {
        before = Self.totals(network)
        live = network.liveCount
    }

    static func totals(_ network: SimulatedNetwork) -> Totals {
        var totals = Totals()
        for index in 0..<network.nodeCount where !network.isDown(index: index) {
            let counters = network.node(index: index).status(at: network.now).counters
            totals.walkSteps += counters.sampleWalksForwarded
            totals.answers += counters.sampleWalksAnswered
            totals.answerLinks += counters.sampleReplyLinksOpened
            totals.walksStarted += counters.sampleWalksStarted
            totals.walksLost += counters.sampleWalksLost
            totals.standIns += counters.sampleStandIns
        }
        return totals
    }

    struct Figures {
        var framesOpen: Double
        var framesKeyed: Double
        var walksLostShare: Double
        var standIns: Int
    }

    /// Frames per live node per period since `init`: every walk step and answer is one frame; a link an
    /// answer opens costs a Handshake and a Versions frame each way, and HELLO, REPLY and CONFIRM besides
    /// with a cluster key (docs/security.md).
    func since(_ network: SimulatedNetwork, periods: Int) -> Figures {
        let after = Self.totals(network)
        let steps = after.walkSteps - before.walkSteps
        let answers = after.answers - before.answers
        let links = after.answerLinks - before.answerLinks
        let perNode = Double(max(1, live) * max(1, periods))
        let started = after.walksStarted - before.walksStarted
        return Figures(framesOpen: Double(steps + answers + 4 * links) / perNode,
                       framesKeyed: Double(steps + answers + 7 * links) / perNode,
                       walksLostShare: SamplingStudy.share(after.walksLost - before.walksLost, started),
                       standIns: after.standIns - before.standIns)
    }

    /// The most bytes any live node's sampling state takes now.
    static func largestFootprint(in network: SimulatedNetwork) -> Int {
        (0..<network.nodeCount).filter { !network.isDown(index: $0) }.map { network.node(index: $0).samplingFootprintBytes }.max() ?? 0
    }

    /// The adversaries' share of the live nodes' active-view and passive-view entries.
    static func viewShares(of adversaries: Set<Int>, in network: SimulatedNetwork) -> (active: Double, passive: Double) {
        guard !adversaries.isEmpty else { return (0, 0) }
        var active: [PeerAddress] = []
        var passive: [PeerAddress] = []
        for index in 0..<network.nodeCount where !network.isDown(index: index) && !adversaries.contains(index) {
            let status = network.node(index: index).status(at: network.now)
            active += status.active.map(\.address)
            passive += status.passive.map(\.address)
        }
        func share(_ entries: [PeerAddress]) -> Double {
            SamplingStudy.share(entries.count { network.index(of: $0).map(adversaries.contains) ?? false }, entries.count)
        }
        return (share(active), share(passive))
    }
}

extension SamplingReport.OverAdvertiserShares {
    /// The share measured, under the key of the attack run; nil when there was none.
    init?(attack: SamplingAttack?, share: Double) {
        switch attack {
        case nil: return nil
        case .one, .walks: self.init(one: share, colluding1pct: nil)
        case .colluding: self.init(one: nil, colluding1pct: share)
        }
    }
}
