import RumorCore

/// What a shard needs to know about the whole network while it runs a window on its own: every node's
/// address and whether it is up, partitions, and link conditions. Only the driver changes it, between
/// windows, and it changes every shard's copy the same way, so that threads never share these buffers.
struct NetworkDirectory {
    var latency: LatencyModel = .fixed(.milliseconds(1))
    var connectTimeout: Duration = .seconds(2)
    /// Share of frames silently lost on every link without conditions of its own.
    var lossRate = 0.0
    var addressOf: [PeerAddress] = []
    var indexOf: [PeerAddress: Int] = [:]
    var isDown: [Bool] = []
    /// Hung (SIGSTOP): its links stay open and what reaches it waits, unread, until it is thawed.
    var isFrozen: [Bool] = []
    /// Partition group per node, while a partition lasts.
    var group: [Int]?
    var shapedNodes: [Int: LinkConditions] = [:]
    var shapedPairs: [PairKey: LinkConditions] = [:]
    /// Nodes that over-advertise themselves, by index (`SamplingAdversary`); empty in honest runs.
    var adversaries: [Int: SamplingAdversary] = [:]

    /// The two ends of a link, smaller index first.
    struct PairKey: Hashable {
        var low: Int
        var high: Int
        init(_ a: Int, _ b: Int) { (low, high) = (min(a, b), max(a, b)) }
    }

    /// Whether any link has conditions of its own (most runs: none, and every frame asks).
    var hasShapedLinks: Bool { !shapedNodes.isEmpty || !shapedPairs.isEmpty }

    func shapedConditions(_ a: Int, _ b: Int) -> LinkConditions? {
        guard hasShapedLinks else { return nil }
        return shapedPairs.isEmpty ? (shapedNodes[a] ?? shapedNodes[b]) : (shapedPairs[PairKey(a, b)] ?? shapedNodes[a] ?? shapedNodes[b])
    }

    func lossRate(_ a: Int, _ b: Int) -> Double {
        hasShapedLinks ? (shapedConditions(a, b)?.loss ?? lossRate) : lossRate
    }

    func separated(_ a: Int, _ b: Int) -> Bool {
        guard let group else { return false }
        return group[a] != group[b]
    }

    /// The least time anything one node does takes to reach another node: shards may run this far apart.
    var lookahead: Duration {
        let shaped = (Array(shapedNodes.values) + Array(shapedPairs.values)).map { max(.zero, $0.latency - $0.jitter) }
        return ([latency.minimum] + shaped).min()!
    }
}
