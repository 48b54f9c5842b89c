import RumorCore

/// The invariants that hold only when nothing is in flight: views and eager sets agree at both ends of every
/// link, and every node's message store is consistent. A pair split by a partition, or on a link that loses
/// frames, may disagree for as long as the silence timeout (a lost NEIGHBOR reply, a DISCONNECT that never
/// arrived): those pairs are left out, and so are frozen nodes.
enum QuietPointCheck {
    /// Virtual time between two checks at least: quiet points come at almost every timer in a small network.
    /// A check reads every node, so the spacing grows with the network (50 ms up to 200 nodes, then 0.25 ms a
    /// node) and the checks' share of a run stays the same at any size.
    static func spacing(nodes: Int) -> Duration { .microseconds(max(50_000, 250 * nodes)) }

    static func violations(at now: Timestamp, directory: NetworkDirectory, node: (Int) -> Node) -> [InvariantViolation] {
        struct Summary {
            var id: NodeID
            var active: [PeerDescriptor]
            var eager: Set<NodeID>
        }
        var summaries: [Summary?] = []
        var found: [InvariantViolation] = []
        for index in directory.addressOf.indices {
            // A frozen node's views are from before its freeze: its peers are right to disagree.
            guard !directory.isDown[index], !directory.isFrozen[index] else {
                summaries.append(nil)
                continue
            }
            let node = node(index)
            found += node.deepInvariantViolations()
            summaries.append(Summary(id: node.identity.id, active: node.activePeers, eager: Set(node.eagerPeerIDs)))
        }
        for (index, summary) in summaries.enumerated() {
            guard let summary else { continue }
            for peer in summary.active {
                guard let peerIndex = directory.indexOf[peer.address], let other = summaries[peerIndex], other.id == peer.id,
                      !directory.separated(index, peerIndex), directory.lossRate(index, peerIndex) == 0 else { continue }
                guard other.active.contains(where: { $0.id == summary.id }) else {
                    found.append(InvariantViolation(.activeViewsSymmetric, node: summary.id, detail: "holds \(peer.id), which does not hold it, at \(now)"))
                    continue
                }
                if summary.eager.contains(peer.id), !other.eager.contains(summary.id) {
                    found.append(InvariantViolation(.eagerSetsSymmetric, node: summary.id, detail: "pushes to \(peer.id), which only announces to it, at \(now)"))
                }
            }
        }
        return found
    }
}
