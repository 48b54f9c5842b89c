/// A snapshot of what a node knows, for the admin endpoint and for tests.
public struct NodeStatus: Sendable, Equatable {
    public struct ActivePeer: Sendable, Equatable {
        public var id: NodeID
        public var address: PeerAddress
        public var epoch: Epoch
        public var link: LinkID
        /// When the link's handshake completed.
        public var since: Timestamp
        public var lastHeard: Timestamp
    }

    public struct PassivePeer: Sendable, Equatable {
        public var id: NodeID
        public var address: PeerAddress
        public var age: UInt16
    }

    public struct Counters: Sendable, Equatable {
        public var handshakesCompleted = 0
        public var handshakesRejected = 0
        public var malformedFrames = 0
        public var silentLinksClosed = 0
        public var seedRetries = 0
    }

    public var identity: PeerDescriptor
    public var epoch: Epoch
    public var active: [ActivePeer]
    public var passive: [PassivePeer]
    /// Links still in their handshake.
    public var pendingLinks: Int
    public var counters: Counters
}
