import RumorCore
import RumorGraph

/// The computations behind `RunEvaluation`, over one observation.
struct Evaluator {
    let observation: RunObservation
    /// Deliveries of each message: node and life to the first delivery time.
    private let firstDeliveries: [String: [LifeKey: Duration]]
    let duplicates: Int
    private let livesByNode: [String: [Int]]

    struct LifeKey: Hashable {
        var node: String
        var life: Int
    }

    init(observation: RunObservation) {
        self.observation = observation
        var first: [String: [LifeKey: Duration]] = [:]
        var duplicates = 0
        for delivery in observation.deliveries {
            let key = LifeKey(node: delivery.node, life: delivery.life)
            if let earlier = first[delivery.message]?[key] {
                duplicates += 1
                if delivery.at < earlier { first[delivery.message]![key] = delivery.at }
            } else {
                first[delivery.message, default: [:]][key] = delivery.at
            }
        }
        firstDeliveries = first
        self.duplicates = duplicates
        livesByNode = Dictionary(grouping: observation.lives.indices, by: { observation.lives[$0].node })
    }

    /// The life of each node that must deliver a message published at `time`.
    private func expectedLives(at time: Duration) -> [LifeKey] {
        let until = time + RunEvaluation.deliveryWindow
        return observation.lives.indices.compactMap { index in
            let life = observation.lives[index]
            guard life.start <= time else { return nil }
            if let end = life.end, end < min(until, observation.duration) { return nil }
            return LifeKey(node: life.node, life: index)
        }
    }

    /// Messages published at least a delivery window before the end: later ones had no fair chance.
    func messageFigures(within limit: Duration?) -> [RunEvaluation.MessageFigures] {
        observation.publications.filter { $0.at + RunEvaluation.deliveryWindow <= observation.duration }.map { publication in
            let expected = expectedLives(at: publication.at)
            let deliveries = firstDeliveries[publication.id] ?? [:]
            var delivered = 0
            var last: Duration?
            var missing: [String] = []
            for key in expected {
                guard let at = deliveries[key] else {
                    if missing.count < 10 { missing.append(key.node) }
                    continue
                }
                if let limit, at - publication.at > limit { continue }
                delivered += 1
                last = max(last ?? at, at)
            }
            let latency = last.map { max(0, ($0 - publication.at).seconds) }
            return RunEvaluation.MessageFigures(
                id: publication.id, origin: publication.origin, publishedAt: publication.at.seconds,
                expected: expected.count, delivered: delivered,
                latencyToLast: delivered == expected.count ? (latency ?? 0) : nil, latencyToLastDelivered: latency,
                missing: missing.isEmpty ? nil : missing)
        }
    }

    /// Whether a message published at `time` (seconds) came at least `settle` after the latest change.
    func isSettled(at time: Double, after settle: Duration) -> Bool {
        let latest = observation.events.map(\.at.seconds).filter { $0 <= time }.max() ?? 0
        return time - latest >= settle.seconds
    }

    var overlayFigures: [RunEvaluation.OverlayFigures] {
        observation.snapshots.map { snapshot in
            let live = observation.liveNodes(at: snapshot.at)
            let graph = snapshot.graph(live: live)
            var deadEntries = 0
            var sizes: [Int] = []
            for (node, peers) in snapshot.views where live.contains(node) {
                deadEntries += peers.filter { !live.contains($0) }.count
                sizes.append(peers.count)
            }
            return RunEvaluation.OverlayFigures(
                at: snapshot.at.seconds, liveNodes: live.count, answered: sizes.count,
                components: graph.components().count, largestComponentShare: graph.largestComponentShare,
                deadEntries: deadEntries, activeMinimum: sizes.min() ?? 0,
                activeMean: sizes.isEmpty ? 0 : Double(sizes.reduce(0, +)) / Double(sizes.count),
                activeMaximum: sizes.max() ?? 0)
        }
    }


    func convergence(_ overlay: [RunEvaluation.OverlayFigures]) -> [RunEvaluation.Convergence] {
        observation.events.filter(\.expectsConnectedOverlay).map { event in
            let at = event.at.seconds
            let after = overlay.filter { $0.at >= at }
            return RunEvaluation.Convergence(
                label: event.label, at: at,
                connectedAfter: after.first(where: \.connected).map { $0.at - at },
                repairedAfter: after.first(where: \.repaired).map { $0.at - at })
        }
    }

    func finalGraphFigures() -> (path: Double?, clustering: Double?) {
        guard let last = observation.snapshots.last else { return (nil, nil) }
        let graph = last.graph(live: observation.liveNodes(at: last.at))
        return (graph.averageShortestPath(sources: 256), graph.clusteringCoefficient)
    }
}

extension RunObservation.Snapshot {
    /// The live nodes as a graph over `live.sorted()` (nodes that did not answer stay isolated).
    public func graph(live: Set<String>) -> OverlayGraph {
        let ids = live.sorted()
        let index = Dictionary(uniqueKeysWithValues: ids.enumerated().map { ($1, $0) })
        let adjacency = ids.map { id in (views[id] ?? []).compactMap { index[$0] } }
        return OverlayGraph(adjacency: adjacency, live: Array(repeating: true, count: ids.count))
    }
}
