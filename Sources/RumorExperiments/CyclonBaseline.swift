import RumorCore
import RumorGraph
import RumorSim
import RumorTopology

/// The second baseline: random gossip over a Cyclon peer-sampling view (Voulgaris et al., 2005), the
/// kind of overlay HyParView was measured against. Every node keeps up to `viewSize` (node, age) entries;
/// each round every live node shuffles once with its oldest entry, trading `shuffleLength` entries, and a
/// shuffle with a dead node drops it (Cyclon's only failure detection). A broadcast is infect-and-die
/// gossip: on first receipt a node sends the payload to `fanout` random entries of its view. It is a model
/// of its own, in rounds, not a `RumorCore` node, so it cannot borrow any of Rumor's repair.
public struct CyclonOverlay {
    public struct Entry: Equatable {
        public var node: Int
        public var age: Int
    }

    public let viewSize: Int
    public let shuffleLength: Int
    public let fanout: Int
    public private(set) var views: [[Entry]]
    public private(set) var isDown: [Bool]
    private var random: SeededRandom

    /// `nodes` nodes, each joining by copying the view of a random earlier node (plus that node), then
    /// `mixingRounds` shuffle rounds so the views are as random as Cyclon makes them.
    public init(nodes: Int, seed: UInt64, viewSize: Int = 30, shuffleLength: Int = 8, fanout: Int = 4, mixingRounds: Int = 50) {
        self.viewSize = viewSize
        self.shuffleLength = shuffleLength
        self.fanout = fanout
        views = Array(repeating: [], count: nodes)
        isDown = Array(repeating: false, count: nodes)
        random = SeededRandom(seed: seed ^ 0xC7C1_0)
        for node in 1..<max(1, nodes) {
            let contact = Int.random(in: 0..<node, using: &random)
            var view = views[contact].filter { $0.node != node }.prefix(viewSize - 1).map { Entry(node: $0.node, age: 0) }
            view.append(Entry(node: contact, age: 0))
            views[node] = view
            if views[contact].count < viewSize { views[contact].append(Entry(node: node, age: 0)) }
        }
        for _ in 0..<mixingRounds { shuffleRound() }
    }

    public var liveCount: Int { isDown.filter { !$0 }.count }

    public mutating func crash(_ nodes: [Int]) {
        for node in nodes { isDown[node] = true }
    }

    /// Every live node, in random order, shuffles once with the oldest entry of its view.
    public mutating func shuffleRound() {
        for node in views.indices.shuffled(using: &random) where !isDown[node] {
            shuffle(from: node)
        }
    }

    private mutating func shuffle(from node: Int) {
        guard !views[node].isEmpty else { return }
        for index in views[node].indices { views[node][index].age += 1 }
        let oldest = views[node].indices.max { views[node][$0].age < views[node][$1].age }!
        let partner = views[node].remove(at: oldest).node
        // A dead partner never answers: the entry is simply gone.
        guard !isDown[partner] else { return }
        var sent = Array(views[node].shuffled(using: &random).prefix(shuffleLength - 1))
        sent.append(Entry(node: node, age: 0))
        let answered = Array(views[partner].shuffled(using: &random).prefix(shuffleLength))
        merge(answered, into: node, replacing: sent)
        merge(sent, into: partner, replacing: answered)
    }

    /// Cyclon's merge: skip itself and what it has, fill free places, then replace what it sent.
    private mutating func merge(_ incoming: [Entry], into node: Int, replacing sent: [Entry]) {
        var replaceable = sent.map(\.node)
        for entry in incoming where entry.node != node && !views[node].contains(where: { $0.node == entry.node }) {
            if views[node].count < viewSize {
                views[node].append(entry)
            } else if let victim = replaceable.popLast(), let index = views[node].firstIndex(where: { $0.node == victim }) {
                views[node][index] = entry
            }
        }
    }

    /// The views as a graph (out-links), for the same metrics as Rumor's overlay.
    public var graph: OverlayGraph {
        OverlayGraph(adjacency: views.map { $0.map(\.node) }, live: isDown.map { !$0 })
    }

    /// One peer drawn from `node`'s view, as Cyclon's peer sampling answers.
    public mutating func samplePeer(at node: Int) -> Int? { views[node].randomElement(using: &random)?.node }

    /// Up to `count` distinct peers from `node`'s view.
    public mutating func samplePeers(at node: Int, count: Int) -> [Int] {
        Array(Set(views[node].map(\.node)).sorted().shuffled(using: &random).prefix(count))
    }

    /// Gossips one message from `origin`: the share of live nodes reached, payload sends, hops and time.
    public mutating func broadcast(from origin: Int, latency: LatencyModel, loss: Double) -> FloodBaseline.FloodResult {
        var firstArrival = [Timestamp?](repeating: nil, count: views.count)
        var hops = [Int](repeating: 0, count: views.count)
        var queue = EventQueue<(node: Int, hop: Int)>()
        var order: UInt64 = 0
        var payloads = 0
        queue.push(.init(at: .zero, order: 0, action: (origin, 0)))
        while let next = queue.pop() {
            let (node, hop) = next.action
            if hop > 0 { payloads += 1 }
            guard !isDown[node], firstArrival[node] == nil else { continue }
            firstArrival[node] = next.at
            hops[node] = hop
            for target in views[node].shuffled(using: &random).prefix(fanout) {
                if loss > 0, Double.random(in: 0..<1, using: &random) < loss { continue }
                order += 1
                queue.push(.init(at: next.at + latency.draw(using: &random), order: order, action: (target.node, hop + 1)))
            }
        }
        let live = views.indices.filter { !isDown[$0] }
        let reached = live.filter { firstArrival[$0] != nil }
        return FloodBaseline.FloodResult(
            reliability: live.isEmpty ? 0 : Double(reached.count) / Double(live.count),
            payloadFrames: payloads, delivered: reached.count,
            lastDeliveryHop: reached.map { hops[$0] }.max() ?? 0,
            lastDelivery: reached.compactMap { firstArrival[$0] }.max() ?? .zero)
    }

    /// `count` messages from random live origins, summarised like a Rumor broadcast round.
    public mutating func broadcastRound(_ count: Int, latency: LatencyModel, loss: Double) -> BroadcastFigures {
        let live = views.indices.filter { !isDown[$0] }
        var results: [FloodBaseline.FloodResult] = []
        for _ in 0..<count {
            guard let origin = live.randomElement(using: &random) else { break }
            results.append(broadcast(from: origin, latency: latency, loss: loss))
        }
        return BroadcastFigures(results)
    }
}
