import RumorCore
import RumorGraph
import RumorSim
import RumorTopology

/// The Plumtree paper's experiment: message after message on a steady overlay and after 20%, 40% and 60%
/// of the nodes failed at once, from one sender and from many, measuring each message's reliability,
/// RMR, last delivery hop and latency, beside flooding over the same overlay and Cyclon gossip.
public enum BroadcastExperiment {
    public struct Options: Codable, Sendable {
        public var nodes = 10_000
        public var seed: UInt64 = 1
        /// Messages in each series.
        public var messages = 50
        public var failures: [Double] = [0, 0.2, 0.4, 0.6]
        public var latencyMilliseconds: ClosedRange<Double> = 1...10
        /// See `ScenarioOptions.checksInvariants`.
        public var checksInvariants = true
        public init() {}
    }

    public enum Senders: String, Codable, Sendable, CaseIterable {
        case one
        case many
    }

    /// One message's figures.
    public struct Point: Codable, Sendable {
        public var reliability: Double
        public var relativeMessageRedundancy: Double
        public var lastDeliveryHop: Int
        public var latencyMilliseconds: Double
    }

    /// A series of messages for one protocol, sender mode and failure level.
    public struct Series: Codable, Sendable {
        public var protocolName: BroadcastProtocol
        public var senders: Senders
        public var failure: Double
        public var points: [Point]

        public var mean: Point {
            let count = Double(max(1, points.count))
            return Point(reliability: points.reduce(0) { $0 + $1.reliability } / count,
                         relativeMessageRedundancy: points.reduce(0) { $0 + $1.relativeMessageRedundancy } / count,
                         lastDeliveryHop: points.map(\.lastDeliveryHop).max() ?? 0,
                         latencyMilliseconds: points.reduce(0) { $0 + $1.latencyMilliseconds } / count)
        }
    }

    public struct Report: Codable, Sendable {
        public var options: Options
        public var series: [Series]
    }

    /// Runs on `threads` threads; the report is the same on any count.
    public static func run(_ options: Options, threads: Int = 1, progress: (Double) -> Void = { _ in }) -> Report {
        let scenario = ScenarioOptions.experiment(nodes: options.nodes, seed: options.seed,
                                                  latencyMilliseconds: options.latencyMilliseconds, checksInvariants: options.checksInvariants)
        let steady = Scenario.joinedNetwork(scenario, threads: threads) { progress(0.2 * $0) }
        let cyclon = CyclonOverlay(nodes: options.nodes, seed: options.seed)
        let latency = LatencyModel.uniform(.microseconds(Int64(options.latencyMilliseconds.lowerBound * 1000)),
                                           .microseconds(Int64(options.latencyMilliseconds.upperBound * 1000)))
        var series: [Series] = []
        for (levelIndex, failure) in options.failures.enumerated() {
            var random = SeededRandom(seed: options.seed &+ UInt64(failure * 1000) &+ 77)
            let victims = Array((0..<options.nodes).shuffled(using: &random).prefix(Int(failure * Double(options.nodes))))
            let survivors = Set(0..<options.nodes).subtracting(victims).sorted()
            let lone = survivors[Int.random(in: 0..<survivors.count, using: &random)]
            for senders in Senders.allCases {
                var network = steady
                for victim in victims { network.crash(network.address(of: victim)) }
                var rumorIDs: [MessageID] = []
                var flood: [Point] = []
                var gossip = cyclon
                gossip.crash(victims)
                var cyclonPoints: [Point] = []
                for number in 0..<options.messages {
                    let origin = senders == .one ? lone : survivors[Int.random(in: 0..<survivors.count, using: &random)]
                    // Rumor's messages go 20 ms apart, so each finds the tree the previous ones shaped.
                    if let id = try? network.publish(Array("series \(number)".utf8), from: network.address(of: origin)) {
                        rumorIDs.append(id)
                    }
                    network.run(for: .milliseconds(20))
                    flood.append(Point(BroadcastFigures([FloodBaseline.broadcast(from: origin, over: network, random: &random)])))
                    cyclonPoints.append(Point(BroadcastFigures([gossip.broadcast(from: origin, latency: latency, loss: 0)])))
                }
                // Each Rumor message is measured once it has settled, repairs included.
                network.run(for: .seconds(2))
                let rumor = rumorIDs.map { Point(Scenario.measure([$0], in: network)) }
                series.append(Series(protocolName: .rumor, senders: senders, failure: failure, points: rumor))
                series.append(Series(protocolName: .flood, senders: senders, failure: failure, points: flood))
                series.append(Series(protocolName: .cyclon, senders: senders, failure: failure, points: cyclonPoints))
            }
            progress(0.2 + 0.8 * Double(levelIndex + 1) / Double(options.failures.count))
        }
        return Report(options: options, series: series)
    }
}

extension BroadcastExperiment.Point {
    init(_ figures: BroadcastFigures) {
        self.init(reliability: figures.reliabilityMean, relativeMessageRedundancy: figures.relativeMessageRedundancy,
                  lastDeliveryHop: figures.lastDeliveryHop, latencyMilliseconds: figures.latencyP50Milliseconds)
    }
}
