import RumorCore
import RumorGraph
import RumorSim

/// The first baseline: plain eager flooding over the very overlay Rumor's membership built. Every node
/// forwards a payload to all its active peers but the one it came from, on first receipt; nothing is ever
/// pruned or repaired. It runs over a snapshot of the active views, with each link's own latency and the
/// network's loss, so its figures sit beside Plumtree's on the same overlay.
public enum FloodBaseline {
    /// Floods one message from `origin` and measures it.
    public static func broadcast(from origin: Int, over network: SimulatedNetwork, random: inout SeededRandom) -> FloodResult {
        let adjacency = network.activeAdjacency()
        var firstArrival = [Timestamp?](repeating: nil, count: adjacency.count)
        var hops = [Int](repeating: 0, count: adjacency.count)
        var queue = EventQueue<(node: Int, from: Int, hop: Int)>()
        var order: UInt64 = 0
        var payloads = 0
        queue.push(.init(at: .zero, order: order, action: (origin, -1, 0)))
        while let next = queue.pop() {
            let (node, from, hop) = next.action
            if from >= 0 { payloads += 1 }
            guard firstArrival[node] == nil else { continue }
            firstArrival[node] = next.at
            hops[node] = hop
            for peer in adjacency[node] where peer != from && !network.isDown(index: peer) {
                if network.lossRate > 0, Double.random(in: 0..<1, using: &random) < network.lossRate { continue }
                order += 1
                let latency = network.linkLatency(from: node, to: peer) ?? .milliseconds(1)
                queue.push(.init(at: next.at + latency, order: order, action: (peer, node, hop + 1)))
            }
        }
        let live = (0..<adjacency.count).filter { !network.isDown(index: $0) }
        let reached = live.filter { firstArrival[$0] != nil }
        return FloodResult(
            reliability: live.isEmpty ? 0 : Double(reached.count) / Double(live.count),
            payloadFrames: payloads, delivered: reached.count,
            lastDeliveryHop: reached.map { hops[$0] }.max() ?? 0,
            lastDelivery: reached.compactMap { firstArrival[$0] }.max() ?? .zero)
    }

    public struct FloodResult: Sendable {
        public var reliability: Double
        public var payloadFrames: Int
        public var delivered: Int
        public var lastDeliveryHop: Int
        public var lastDelivery: Timestamp
    }

    /// Floods `count` messages from random live origins and summarises them like a Rumor broadcast round.
    public static func round(_ count: Int, over network: SimulatedNetwork, random: inout SeededRandom) -> BroadcastFigures {
        let live = (0..<network.nodeCount).filter { !network.isDown(index: $0) }
        var results: [FloodResult] = []
        for _ in 0..<count {
            guard let origin = live.randomElement(using: &random) else { break }
            results.append(broadcast(from: origin, over: network, random: &random))
        }
        return BroadcastFigures(results)
    }
}

extension BroadcastFigures {
    /// Figures over messages measured one at a time (the baselines).
    init(_ results: [FloodBaseline.FloodResult]) {
        self.init(reliabilities: results.map(\.reliability),
                  latencies: results.map { Double($0.lastDelivery.nanoseconds) / 1e6 },
                  payloadFrames: results.reduce(0) { $0 + $1.payloadFrames },
                  deliveriesBeyondOrigin: results.reduce(0) { $0 + max(0, $1.delivered - 1) },
                  lastDeliveryHop: results.map(\.lastDeliveryHop).max() ?? 0, duplicates: 0)
    }
}
