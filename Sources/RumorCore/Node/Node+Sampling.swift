/// Peer sampling (Jelasity et al., TOCS 2007): random peers for applications that need them.
extension Node {
    /// Up to `count` distinct peers drawn uniformly at random from the active and passive views. Active
    /// peers are live (their links are watched); passive entries are as fresh as their age says.
    public mutating func samplePeers(_ count: Int) -> [PeerDescriptor] {
        var pool = active.entries.map(\.peer)
        for entry in passive.entries where !active.contains(entry.peer.id) { pool.append(entry.peer) }
        pool.shuffle(using: &random)
        return Array(pool.prefix(max(0, count)))
    }
}
