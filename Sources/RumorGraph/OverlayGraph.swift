
/// An overlay as a graph over node indices, for the metrics the papers report.
public struct OverlayGraph {
    /// Each live node's out-links (its active view); links to dead nodes count as dead entries.
    public let adjacency: [[Int]]
    public let live: [Bool]

    public init(adjacency: [[Int]], live: [Bool]) {
        self.adjacency = adjacency
        self.live = live
    }

    /// Undirected neighbour sets among live nodes.
    private var undirected: [Set<Int>] {
        var neighbours = [Set<Int>](repeating: [], count: adjacency.count)
        for (node, peers) in adjacency.enumerated() where live[node] {
            for peer in peers where live[peer] && peer != node {
                neighbours[node].insert(peer)
                neighbours[peer].insert(node)
            }
        }
        return neighbours
    }

    public func components() -> [[Int]] {
        let neighbours = undirected
        var seen = [Bool](repeating: false, count: adjacency.count)
        var result: [[Int]] = []
        for start in adjacency.indices where live[start] && !seen[start] {
            var component: [Int] = []
            var stack = [start]
            seen[start] = true
            while let next = stack.popLast() {
                component.append(next)
                for peer in neighbours[next] where !seen[peer] {
                    seen[peer] = true
                    stack.append(peer)
                }
            }
            result.append(component.sorted())
        }
        return result.sorted { $0.count != $1.count ? $0.count > $1.count : $0.first! < $1.first! }
    }

    public var liveCount: Int { live.filter { $0 }.count }

    /// The largest connected component as a share of live nodes.
    public var largestComponentShare: Double {
        guard liveCount > 0 else { return 0 }
        return Double(components().first?.count ?? 0) / Double(liveCount)
    }

    /// How many live nodes are named in exactly k live nodes' active views, for each k.
    public var inDegreeDistribution: [Int: Int] {
        var inDegree = [Int](repeating: 0, count: adjacency.count)
        for (node, peers) in adjacency.enumerated() where live[node] {
            for peer in peers where live[peer] { inDegree[peer] += 1 }
        }
        var distribution: [Int: Int] = [:]
        for node in adjacency.indices where live[node] { distribution[inDegree[node], default: 0] += 1 }
        return distribution
    }

    /// Mean local clustering coefficient over live nodes (undirected; nodes with fewer than two neighbours
    /// count as 0, as in the HyParView paper's tables).
    public var clusteringCoefficient: Double {
        let neighbours = undirected
        var total = 0.0
        var count = 0
        for node in adjacency.indices where live[node] {
            count += 1
            let peers = Array(neighbours[node])
            guard peers.count >= 2 else { continue }
            var links = 0
            for i in 0..<peers.count {
                for j in (i + 1)..<peers.count where neighbours[peers[i]].contains(peers[j]) { links += 1 }
            }
            total += Double(links) / Double(peers.count * (peers.count - 1) / 2)
        }
        return count == 0 ? 0 : total / Double(count)
    }

    /// Mean shortest-path length between connected live nodes, by BFS from `sources` start nodes (all of them
    /// when there are fewer), chosen evenly over the index range.
    public func averageShortestPath(sources: Int = 64) -> Double {
        let neighbours = undirected
        let starts = adjacency.indices.filter { live[$0] }
        guard !starts.isEmpty else { return 0 }
        let step = max(1, starts.count / max(1, sources))
        var total = 0
        var pairs = 0
        for start in stride(from: 0, to: starts.count, by: step).map({ starts[$0] }) {
            for hops in Self.hopDistances(from: start, neighbours: neighbours) where hops > 0 {
                total += hops
                pairs += 1
            }
        }
        return pairs == 0 ? 0 : Double(total) / Double(pairs)
    }

    /// Calls `body` with each of `starts` and its hops to every node over undirected active links (-1 where
    /// it cannot reach).
    public func hopDistances(from starts: [Int], _ body: (Int, [Int]) -> Void) {
        let neighbours = undirected
        for start in starts { body(start, Self.hopDistances(from: start, neighbours: neighbours)) }
    }

    private static func hopDistances(from start: Int, neighbours: [Set<Int>]) -> [Int] {
        var distance = [Int](repeating: -1, count: neighbours.count)
        distance[start] = 0
        var frontier = [start]
        var head = 0
        while head < frontier.count {
            let node = frontier[head]
            head += 1
            for peer in neighbours[node] where distance[peer] < 0 {
                distance[peer] = distance[node] + 1
                frontier.append(peer)
            }
        }
        return distance
    }

    /// Share of active-view entries of live nodes that name a dead node.
    public var deadEntryShare: Double {
        var entries = 0
        var dead = 0
        for (node, peers) in adjacency.enumerated() where live[node] {
            entries += peers.count
            dead += peers.filter { !live[$0] }.count
        }
        return entries == 0 ? 0 : Double(dead) / Double(entries)
    }
}
