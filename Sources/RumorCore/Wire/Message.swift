/// Every message two Rumor nodes exchange, designed once for membership (HyParView), broadcast (Plumtree)
/// and anti-entropy. `docs/protocol.md` gives the byte layout of each.
public enum Message: Hashable, Sendable {
    // Link set-up. Their layout is frozen across protocol versions so that two nodes of different versions
    // can always tell each other why they cannot talk.
    case handshake(Handshake)
    case handshakeRejected(HandshakeRejection)

    // Membership (HyParView).
    case join
    case forwardJoin(ForwardJoin)
    case neighbor(NeighborRequest)
    case neighborReply(NeighborReply)
    case disconnect(Disconnect)
    case shuffle(Shuffle)
    case shuffleReply(ShuffleReply)
    case keepAlive

    // Broadcast (Plumtree).
    case gossip(Gossip)
    case iHave(IHave)
    case graft(Graft)
    case prune

    // Anti-entropy: what a node holds, and what it asks for.
    case digest(Digest)
    case pull(Digest)

    public var type: MessageType {
        switch self {
        case .handshake: .handshake
        case .handshakeRejected: .handshakeRejected
        case .join: .join
        case .forwardJoin: .forwardJoin
        case .neighbor: .neighbor
        case .neighborReply: .neighborReply
        case .disconnect: .disconnect
        case .shuffle: .shuffle
        case .shuffleReply: .shuffleReply
        case .keepAlive: .keepAlive
        case .gossip: .gossip
        case .iHave: .iHave
        case .graft: .graft
        case .prune: .prune
        case .digest: .digest
        case .pull: .pull
        }
    }
}

/// The type byte of a frame body.
public enum MessageType: UInt8, CaseIterable, Sendable {
    case handshake = 0x01
    case handshakeRejected = 0x02
    case join = 0x10
    case forwardJoin = 0x11
    case neighbor = 0x12
    case neighborReply = 0x13
    case disconnect = 0x14
    case shuffle = 0x15
    case shuffleReply = 0x16
    case keepAlive = 0x17
    case gossip = 0x20
    case iHave = 0x21
    case graft = 0x22
    case prune = 0x23
    case digest = 0x30
    case pull = 0x31

    /// Types whose layout never changes between protocol versions.
    public var isVersionIndependent: Bool { self == .handshake || self == .handshakeRejected }
}

/// The first frame on every link, in both directions.
public struct Handshake: Hashable, Sendable {
    /// The protocol version the sender speaks.
    public var version: UInt8
    public var sender: PeerDescriptor
    public var epoch: Epoch

    public init(version: UInt8 = WireFormat.protocolVersion, sender: PeerDescriptor, epoch: Epoch) {
        self.version = version
        self.sender = sender
        self.epoch = epoch
    }
}

/// Why a node refused a link, sent just before it closes it.
public struct HandshakeRejection: Hashable, Sendable {
    public enum Reason: UInt8, Sendable, CaseIterable {
        case unsupportedVersion = 1
        case connectedToSelf = 2
        case duplicateLink = 3
        case protocolViolation = 4
        case shuttingDown = 5
    }

    public var reason: Reason
    /// The protocol version the rejecting node speaks.
    public var supportedVersion: UInt8
    /// A sentence for the other side's log.
    public var detail: String

    public init(reason: Reason, supportedVersion: UInt8 = WireFormat.protocolVersion, detail: String) {
        self.reason = reason
        self.supportedVersion = supportedVersion
        self.detail = detail
    }
}

/// A JOIN travelling as a random walk: `ttl` counts down the hops left.
public struct ForwardJoin: Hashable, Sendable {
    public var joiner: PeerDescriptor
    public var ttl: UInt8

    public init(joiner: PeerDescriptor, ttl: UInt8) {
        self.joiner = joiner
        self.ttl = ttl
    }
}

public struct NeighborRequest: Hashable, Sendable {
    public enum Priority: UInt8, Sendable, CaseIterable {
        /// The sender has no active peer at all: the receiver must accept.
        case high = 1
        /// The receiver may refuse when its active view is full.
        case low = 0
    }

    public var priority: Priority
    /// Set when the sender rotates its active view: on acceptance it drops this peer, which then has a
    /// free place. A receiver that must evict someone to take the sender in points the evicted peer there,
    /// so every degree stays as it was (a double edge swap) and the overlay mixes without shrinking.
    public var handoff: PeerDescriptor?

    public init(priority: Priority, handoff: PeerDescriptor? = nil) {
        self.priority = priority
        self.handoff = handoff
    }
}

public struct NeighborReply: Hashable, Sendable {
    public var accepted: Bool

    public init(accepted: Bool) { self.accepted = accepted }
}

public struct Disconnect: Hashable, Sendable {
    /// The sender stays up (it only trims its active view), so the receiver keeps it as a passive peer.
    public var alive: Bool
    /// A peer that has just freed a place (see `NeighborRequest.handoff`): ask it before the passive view.
    public var handoff: PeerDescriptor?

    public init(alive: Bool, handoff: PeerDescriptor? = nil) {
        self.alive = alive
        self.handoff = handoff
    }
}

/// A passive-view entry as shuffles carry it, with its Cyclon age.
public struct ShuffleEntry: Hashable, Sendable {
    public var peer: PeerDescriptor
    public var age: UInt16

    public init(peer: PeerDescriptor, age: UInt16) {
        self.peer = peer
        self.age = age
    }
}

/// A shuffle random walk started by `origin`, which takes the reply on a link of its own.
public struct Shuffle: Hashable, Sendable {
    public var origin: PeerDescriptor
    public var ttl: UInt8
    public var entries: [ShuffleEntry]

    public init(origin: PeerDescriptor, ttl: UInt8, entries: [ShuffleEntry]) {
        self.origin = origin
        self.ttl = ttl
        self.entries = entries
    }
}

public struct ShuffleReply: Hashable, Sendable {
    public var entries: [ShuffleEntry]

    public init(entries: [ShuffleEntry]) { self.entries = entries }
}

/// A broadcast payload travelling eagerly; `round` counts the hops from its origin.
public struct Gossip: Hashable, Sendable {
    public var id: MessageID
    public var round: UInt32
    public var payload: [UInt8]

    public init(id: MessageID, round: UInt32, payload: [UInt8]) {
        self.id = id
        self.round = round
        self.payload = payload
    }
}

public struct Announcement: Hashable, Sendable {
    public var id: MessageID
    public var round: UInt32

    public init(id: MessageID, round: UInt32) {
        self.id = id
        self.round = round
    }
}

/// Lazy announcements of payloads the sender holds, batched per peer.
public struct IHave: Hashable, Sendable {
    public var announcements: [Announcement]

    public init(announcements: [Announcement]) { self.announcements = announcements }
}

/// Makes the link eager again and, with an id, asks for that payload. Without one it only moves the link
/// into the tree (Plumtree's optimisation step, for a message the sender already holds).
public struct Graft: Hashable, Sendable {
    public var id: MessageID?
    public var round: UInt32

    public init(id: MessageID?, round: UInt32) {
        self.id = id
        self.round = round
    }
}

/// The message ids of one origin's epoch, as closed sequence ranges in ascending order.
public struct DigestEntry: Hashable, Sendable {
    public var origin: NodeID
    public var epoch: Epoch
    public var ranges: [ClosedRange<UInt64>]

    public init(origin: NodeID, epoch: Epoch, ranges: [ClosedRange<UInt64>]) {
        self.origin = origin
        self.epoch = epoch
        self.ranges = ranges
    }
}

/// A compact list of message ids: as `.digest` the ids a node holds, as `.pull` the ids it asks for.
public struct Digest: Hashable, Sendable {
    public var entries: [DigestEntry]

    public init(entries: [DigestEntry]) { self.entries = entries }
}
