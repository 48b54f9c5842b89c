/// Every message two Rumor nodes exchange, designed once for membership (HyParView), broadcast (Plumtree)
/// and anti-entropy. `docs/protocol.md` gives the byte layout of each.
public enum Message: Hashable, Sendable {
    // Link set-up. Their layout is frozen across protocol versions so that two nodes of different versions
    // can always tell each other why they cannot talk.
    case handshake(Handshake)
    case handshakeRejected(HandshakeRejection)
    case versions(VersionOffer)

    // Link liveness. PING and PONG (version 4) also measure the link's round-trip time.
    case ping(RoundTripProbe)
    case pong(RoundTripProbe)

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

    // Peer sampling (version 5): a walk whose endpoint answers its origin over a link of its own.
    case sampleWalk(SampleWalk)
    case sampleReply(SampleReply)

    // Directory reconciliation (version 6): a summary, then bucket hashes, then entries where they differ.
    case directorySummary(DirectorySummary)
    case directoryBuckets(DirectoryBuckets)
    case directoryEntries(DirectoryEntries)

    public var type: MessageType {
        switch self {
        case .handshake: .handshake
        case .handshakeRejected: .handshakeRejected
        case .versions: .versions
        case .ping: .ping
        case .pong: .pong
        case .join: .join
        case .forwardJoin: .forwardJoin
        case .neighbor: .neighbor
        case .neighborReply: .neighborReply
        case .disconnect: .disconnect
        case .shuffle: .shuffle
        case .shuffleReply: .shuffleReply
        case .keepAlive: .keepAlive
        case .gossip(let gossip): gossip.topic == nil ? .gossip : .topicGossip
        case .iHave: .iHave
        case .graft: .graft
        case .prune: .prune
        case .digest: .digest
        case .pull: .pull
        case .sampleWalk: .sampleWalk
        case .sampleReply: .sampleReply
        case .directorySummary: .directorySummary
        case .directoryBuckets: .directoryBuckets
        case .directoryEntries: .directoryEntries
        }
    }
}

/// Which part of the protocol a frame serves, for traffic counted per channel (`/metrics`, the
/// simulator): a handful of fixed values, never one per topic or per member. The directory's channel holds
/// its reconciliation frames and the payloads of its internal topic; the IHAVEs, GRAFTs and digests that
/// name directory messages belong to the broadcast, since those frames name no topic.
public enum MessageChannel: String, CaseIterable, Sendable {
    /// Handshakes, version offers, keep-alives and round-trip probes.
    case link
    case membership
    case broadcast
    case sampling
    case directory
}

extension Message {
    public var channel: MessageChannel {
        switch self {
        case .handshake, .handshakeRejected, .versions, .ping, .pong, .keepAlive: .link
        case .join, .forwardJoin, .neighbor, .neighborReply, .disconnect, .shuffle, .shuffleReply: .membership
        case .gossip(let gossip): gossip.topic == .directory ? .directory : .broadcast
        case .iHave, .graft, .prune, .digest, .pull: .broadcast
        case .sampleWalk, .sampleReply: .sampling
        case .directorySummary, .directoryBuckets, .directoryEntries: .directory
        }
    }
}

/// The type byte of a frame body. Each feature has a range of its own (docs/protocol.md, "Message types"):
/// 0x01–0x0F link set-up, 0x10–0x1F membership and link liveness, 0x20–0x2F broadcast, 0x30–0x3F
/// anti-entropy, 0x40–0x4F sampling, 0x50–0x5F directory, 0x60–0x6F topics.
public enum MessageType: UInt8, CaseIterable, Sendable {
    case handshake = 0x01
    case handshakeRejected = 0x02
    case versions = 0x03
    case join = 0x10
    case forwardJoin = 0x11
    case neighbor = 0x12
    case neighborReply = 0x13
    case disconnect = 0x14
    case shuffle = 0x15
    case shuffleReply = 0x16
    case keepAlive = 0x17
    case ping = 0x18
    case pong = 0x19
    case gossip = 0x20
    case iHave = 0x21
    case graft = 0x22
    case prune = 0x23
    case digest = 0x30
    case pull = 0x31
    case sampleWalk = 0x40
    case sampleReply = 0x41
    case directorySummary = 0x50
    case directoryBuckets = 0x51
    case directoryEntries = 0x52
    /// A GOSSIP on a topic other than the global one: the directory's internal topic (version 6), and the
    /// application's topics once they exist.
    case topicGossip = 0x60

    /// The set-up types, whose layout never changes between protocol versions; a frame of any version
    /// may carry them.
    public var isVersionIndependent: Bool { self == .handshake || self == .handshakeRejected || self == .versions }

    /// The first protocol version that has this type. Types older than the oldest version this build speaks
    /// give that version: their layouts have not changed since.
    public var introducedIn: UInt8 {
        switch self {
        case .ping, .pong: 4
        case .sampleWalk, .sampleReply: 5
        case .directorySummary, .directoryBuckets, .directoryEntries, .topicGossip: 6
        case .handshake, .handshakeRejected, .versions, .join, .forwardJoin, .neighbor, .neighborReply, .disconnect,
             .shuffle, .shuffleReply, .keepAlive, .gossip, .iHave, .graft, .prune, .digest, .pull:
            WireFormat.versions.lowerBound
        }
    }
}

/// The first frame on every link, in both directions.
public struct Handshake: Hashable, Sendable {
    /// The highest protocol version the sender speaks. From version 3 on, a VERSIONS frame follows with the
    /// whole range; a node of version 2 or older, which reads only this byte, refuses anything but its own.
    public var version: UInt8
    public var sender: PeerDescriptor
    public var epoch: Epoch

    public init(version: UInt8 = WireFormat.versions.upperBound, sender: PeerDescriptor, epoch: Epoch) {
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
        /// The two nodes name different clusters (the VERSIONS frame's cluster-name extension).
        case clusterMismatch = 6
    }

    public var reason: Reason
    /// The highest protocol version the rejecting node speaks (the detail names the whole range).
    public var supportedVersion: UInt8
    /// A sentence for the other side's log.
    public var detail: String

    public init(reason: Reason, supportedVersion: UInt8 = WireFormat.versions.upperBound, detail: String) {
        self.reason = reason
        self.supportedVersion = supportedVersion
        self.detail = detail
    }
}

/// The second set-up frame (version 3 on): every version the sender speaks, and extensions for what a later
/// version switches on per link without a new layout.
public struct VersionOffer: Hashable, Sendable {
    public var lowest: UInt8
    public var highest: UInt8
    /// Tagged values; a receiver skips tags it does not know (docs/protocol.md lists the tags).
    public var extensions: [WireExtension]

    public init(lowest: UInt8, highest: UInt8, extensions: [WireExtension] = []) {
        self.lowest = lowest
        self.highest = highest
        self.extensions = extensions
    }

    public init(_ versions: ClosedRange<UInt8>, extensions: [WireExtension] = []) {
        self.init(lowest: versions.lowerBound, highest: versions.upperBound, extensions: extensions)
    }

    public var range: ClosedRange<UInt8>? { lowest <= highest ? lowest...highest : nil }

    /// The value of the first extension with `tag`.
    public func value(of tag: UInt8) -> [UInt8]? { extensions.first { $0.tag == tag }?.value }
}

public struct WireExtension: Hashable, Sendable {
    /// The tags defined so far (docs/protocol.md, "Versions"); a receiver skips any other.
    public enum Tag {
        /// The cluster the sender belongs to, UTF-8, 1 to 64 bytes; absent for a node with no cluster name.
        public static let clusterName: UInt8 = 1
    }

    public var tag: UInt8
    public var value: [UInt8]

    public init(tag: UInt8, value: [UInt8]) {
        self.tag = tag
        self.value = value
    }
}

/// A PING's token, echoed by its PONG. Opaque to the echoing side; the prober puts its clock in it.
public struct RoundTripProbe: Hashable, Sendable {
    public var token: UInt64

    public init(token: UInt64) { self.token = token }
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

/// A broadcast payload travelling eagerly; `round` counts the hops from its origin. `topic` is nil for the
/// global broadcast (a GOSSIP frame); any other topic travels as TOPICGOSSIP (version 6).
public struct Gossip: Hashable, Sendable {
    public var id: MessageID
    public var round: UInt32
    public var payload: [UInt8]
    public var topic: TopicID?

    public init(id: MessageID, round: UInt32, payload: [UInt8], topic: TopicID? = nil) {
        self.id = id
        self.round = round
        self.payload = payload
        self.topic = topic
    }
}

/// A topic as the wire names it: 16 bytes. Ids whose first 15 bytes are zero are reserved for the node's
/// internal topics; the directory's is the first.
public struct TopicID: Hashable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Member entries and failure reports (docs/directory.md): relayed like any payload, never delivered to
    /// the application.
    public static let directory = TopicID(high: 0, low: 1)

    public var isInternal: Bool { high == 0 && low < 256 }

    public var description: String { self == .directory ? "directory" : "topic:\(String(high, radix: 16))\(String(low, radix: 16))" }
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

/// A sampling walk (rule S1): `ttl` counts the steps left, lazy steps included; the node where it reaches
/// zero answers `origin` with a SampleReply carrying `nonce`.
public struct SampleWalk: Hashable, Sendable {
    public var origin: PeerDescriptor
    /// Chosen by the origin at random: a reply naming no walk of its own is ignored.
    public var nonce: UInt64
    public var ttl: UInt8

    public init(origin: PeerDescriptor, nonce: UInt64, ttl: UInt8) {
        self.origin = origin
        self.nonce = nonce
        self.ttl = ttl
    }
}

/// A walk's endpoint answers its origin (rule S2); who answers is the link's peer.
public struct SampleReply: Hashable, Sendable {
    public var nonce: UInt64

    public init(nonce: UInt64) { self.nonce = nonce }
}

/// The first step of a directory reconciliation: how many entries the sender holds, and one hash of them all.
public struct DirectorySummary: Hashable, Sendable {
    public var count: UInt32
    public var rootHash: UInt64

    public init(count: UInt32, rootHash: UInt64) {
        self.count = count
        self.rootHash = rootHash
    }
}

/// The answer to a summary that differs: the hash of each of the sender's buckets (always 256).
public struct DirectoryBuckets: Hashable, Sendable {
    public var hashes: [UInt64]

    public init(hashes: [UInt64]) { self.hashes = hashes }
}

/// Entries of the buckets that differ; `wanted` asks for the receiver's entries of those buckets in return
/// (empty in the answer, which ends the exchange).
public struct DirectoryEntries: Hashable, Sendable {
    public var wanted: [UInt8]
    public var entries: [MemberEntry]

    public init(wanted: [UInt8], entries: [MemberEntry]) {
        self.wanted = wanted
        self.entries = entries
    }
}
