import RumorCore
import RumorSim

/// How close Plumtree's tree comes to flooding, the broadcast issue's yardstick: on one steady overlay, three
/// workloads (random one-shot senders, one sender, 16 repeat senders), each on its own copy of the overlay,
/// every measured message beside a flood from the same origin over the same overlay at the moment it was
/// published. Latency is to the last live node; LDH is the mean over messages of each one's last delivery hop.
public enum TreeShapeExperiment {
    public struct Options: Codable, Sendable {
        public var nodes = 1000
        public var seed: UInt64 = 1
        public var latencyMilliseconds: ClosedRange<Double> = 1...10
        /// Messages from distinct random live nodes, each sending once.
        public var oneShotMessages = 100
        /// Messages from the lone sender.
        public var oneSenderMessages = 50
        public var repeatSenders = 16
        /// Messages from each repeat sender, round robin.
        public var messagesPerRepeatSender = 10
        /// Each sender's first messages shape its tree and are not measured (the issue measures "from each one's
        /// fifth message on").
        public var unmeasuredPerSender = 4
        /// Between two messages, from whichever sender.
        public var intervalMilliseconds = 20.0
        /// See `ScenarioOptions.checksInvariants`.
        public var checksInvariants = true
        public init() {}
    }

    public enum Workload: String, Codable, Sendable, CaseIterable {
        case oneShot = "one-shot"
        case oneSender = "one"
        case repeatSenders = "repeat"

        /// The goals: latency p50 and p99, LDH and RMR as multiples of flooding (RMR absolute).
        public var goal: Goal {
            switch self {
            case .oneShot: Goal(latencyP50: 1.7, latencyP99: 2.0, lastDeliveryHop: nil, redundancy: 0.15)
            case .oneSender, .repeatSenders: Goal(latencyP50: 1.25, latencyP99: 1.25, lastDeliveryHop: 1.2, redundancy: 0.05)
            }
        }
    }

    public struct Goal: Codable, Sendable {
        public var latencyP50: Double
        public var latencyP99: Double
        public var lastDeliveryHop: Double?
        public var redundancy: Double
    }

    /// One protocol's figures over a workload's measured messages.
    public struct Figures: Codable, Sendable {
        public var messages: Int
        public var reliabilityMin: Double
        public var latencyP50Milliseconds: Double
        public var latencyP99Milliseconds: Double
        public var lastDeliveryHopMean: Double
        public var relativeMessageRedundancy: Double
    }

    public struct Row: Codable, Sendable {
        public var workload: Workload
        public var rumor: Figures
        public var flood: Figures
        public var latencyP50Ratio: Double
        public var latencyP99Ratio: Double
        public var lastDeliveryHopRatio: Double
        /// Over the whole workload, every node: GRAFTs sent when a timer ran out per 1,000 deliveries, links
        /// swapped by the optimisation, PRUNEs sent.
        public var graftTimeoutsPerThousandDeliveries: Double
        public var treeOptimizations: Int
        public var prunes: Int
        /// Every goal of the workload holds, reliability 1.0 included.
        public var meetsGoal: Bool
    }

    public struct Report: Codable, Sendable {
        public var options: Options
        public var rows: [Row]
    }

    public static func run(_ options: Options, threads: Int = 1, progress: (Double) -> Void = { _ in }) -> Report {
        let scenario = ScenarioOptions.experiment(nodes: options.nodes, seed: options.seed,
                                                  latencyMilliseconds: options.latencyMilliseconds, checksInvariants: options.checksInvariants)
        let steady = Scenario.joinedNetwork(scenario, threads: threads) { progress(0.4 * $0) }
        var rows: [Row] = []
        for (index, workload) in Workload.allCases.enumerated() {
            var random = SeededRandom(seed: options.seed &* 0x7EE5 &+ UInt64(index))
            rows.append(measure(workload, options, on: steady, random: &random))
            progress(0.4 + 0.6 * Double(index + 1) / Double(Workload.allCases.count))
        }
        return Report(options: options, rows: rows)
    }

    /// The workload's senders, message after message, and whether each message is measured.
    static func plan(_ workload: Workload, _ options: Options, live: [Int], random: inout SeededRandom) -> [(origin: Int, measured: Bool)] {
        switch workload {
        case .oneShot:
            return live.shuffled(using: &random).prefix(options.oneShotMessages).map { ($0, true) }
        case .oneSender:
            let sender = live[Int.random(in: 0..<live.count, using: &random)]
            return (0..<options.oneSenderMessages).map { (sender, $0 >= options.unmeasuredPerSender) }
        case .repeatSenders:
            let senders = Array(live.shuffled(using: &random).prefix(options.repeatSenders))
            return (0..<options.messagesPerRepeatSender).flatMap { round in
                senders.map { ($0, round >= options.unmeasuredPerSender) }
            }
        }
    }

    static func measure(_ workload: Workload, _ options: Options, on steady: SimulatedNetwork, random: inout SeededRandom) -> Row {
        var network = steady
        let before = TreeActivity(network)
        let live = (0..<network.nodeCount).filter { !network.isDown(index: $0) }
        var measuredIDs: [MessageID] = []
        var floods: [FloodBaseline.FloodResult] = []
        let interval = Duration.microseconds(Int64(options.intervalMilliseconds * 1000))
        for (number, step) in plan(workload, options, live: live, random: &random).enumerated() {
            // The flood goes over the overlay as it is when the message leaves.
            if step.measured { floods.append(FloodBaseline.broadcast(from: step.origin, over: network, random: &random)) }
            if let id = try? network.publish(Array("tree \(number)".utf8), from: network.address(of: step.origin)), step.measured {
                measuredIDs.append(id)
            }
            network.run(for: interval)
        }
        // Every message settles, repairs included, before it is measured.
        network.run(for: .seconds(2))
        let activity = TreeActivity(network).since(before)
        let rumor = Figures(measuredIDs.map { Scenario.measure([$0], in: network) })
        let flood = Figures(floods.map { BroadcastFigures([$0]) })
        func ratio(_ value: Double, _ base: Double) -> Double { base > 0 ? value / base : 0 }
        var row = Row(workload: workload, rumor: rumor, flood: flood,
                      latencyP50Ratio: ratio(rumor.latencyP50Milliseconds, flood.latencyP50Milliseconds),
                      latencyP99Ratio: ratio(rumor.latencyP99Milliseconds, flood.latencyP99Milliseconds),
                      lastDeliveryHopRatio: ratio(rumor.lastDeliveryHopMean, flood.lastDeliveryHopMean),
                      graftTimeoutsPerThousandDeliveries: 1000 * Double(activity.graftTimeouts) / Double(max(1, activity.deliveries)),
                      treeOptimizations: activity.optimizations, prunes: activity.prunes, meetsGoal: false)
        let goal = workload.goal
        row.meetsGoal = rumor.reliabilityMin == 1 && row.latencyP50Ratio <= goal.latencyP50 && row.latencyP99Ratio <= goal.latencyP99
            && (goal.lastDeliveryHop.map { row.lastDeliveryHopRatio <= $0 } ?? true) && rumor.relativeMessageRedundancy <= goal.redundancy
        return row
    }
}

extension TreeShapeExperiment.Figures {
    /// Figures over messages measured one by one: percentiles of their latencies, the mean of their last
    /// delivery hops, and the mean of their RMRs.
    init(_ perMessage: [BroadcastFigures]) {
        let latencies = perMessage.map(\.latencyP50Milliseconds).sorted()
        func percentile(_ share: Double) -> Double {
            latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(share * Double(latencies.count)))]
        }
        let count = Double(max(1, perMessage.count))
        self.init(messages: perMessage.count, reliabilityMin: perMessage.map(\.reliabilityMin).min() ?? 0,
                  latencyP50Milliseconds: percentile(0.5), latencyP99Milliseconds: percentile(0.99),
                  lastDeliveryHopMean: Double(perMessage.reduce(0) { $0 + $1.lastDeliveryHop }) / count,
                  relativeMessageRedundancy: perMessage.reduce(0) { $0 + $1.relativeMessageRedundancy } / count)
    }
}

/// The tree's repairs and reshaping summed over every node, to tell a workload's changes apart.
struct TreeActivity {
    var graftTimeouts = 0
    var optimizations = 0
    var prunes = 0
    var deliveries = 0

    init(_ network: SimulatedNetwork) {
        for index in 0..<network.nodeCount where !network.isDown(index: index) {
            let counters = network.node(index: index).status(at: network.now).counters
            graftTimeouts += counters.graftTimeouts
            optimizations += counters.treeOptimizations
            prunes += counters.prunesSent
            deliveries += counters.delivered
        }
    }

    private init(graftTimeouts: Int, optimizations: Int, prunes: Int, deliveries: Int) {
        (self.graftTimeouts, self.optimizations, self.prunes, self.deliveries) = (graftTimeouts, optimizations, prunes, deliveries)
    }

    func since(_ earlier: TreeActivity) -> TreeActivity {
        TreeActivity(graftTimeouts: graftTimeouts - earlier.graftTimeouts, optimizations: optimizations - earlier.optimizations,
                     prunes: prunes - earlier.prunes, deliveries: deliveries - earlier.deliveries)
    }
}
