/// A property of a node's state that must hold after every event it handles (`Node.checksInvariants`), or,
/// for the costlier and the global ones, at quiet points chosen by the driver. `docs/architecture.md` lists
/// them with the reason for each.
public enum Invariant: String, CaseIterable, Sendable, CustomStringConvertible {
    // Local, checked after every event in O(views + links + timers).
    /// The node never holds itself in a view.
    case selfNotInViews
    /// No peer is in both views, and neither view names a peer (or an address) twice.
    case viewsDistinctAndDisjoint
    /// Neither view is larger than its configured size.
    case viewsWithinBounds
    /// Every active peer has an established link, and the link index names established links of that peer.
    case activePeersLinked
    /// Every established link runs at a version the node offers, links still in their handshake have none,
    /// and only links of a version with round-trip probes have a PING outstanding.
    case linkVersionsSettled
    /// Eager and lazy peers are disjoint, repeat nobody, and together are exactly the active view.
    case treeMatchesActiveView
    /// Addresses being dialled are exactly those with something to do once linked.
    case dialsHaveIntents
    /// Every unanswered request goes to a linked peer, and the maintenance tick that expires it is armed.
    case requestsWatched
    /// Links, and peers lost to failure, are watched by an armed maintenance tick.
    case linksWatched
    /// A started node that is not leaving has its shuffle and anti-entropy rounds armed.
    case periodicTimersArmed
    /// Every payload announced but missing has a GRAFT deadline, and a deadline has its timer armed.
    case graftsScheduled
    /// IHAVEs wait only for active peers, and only while the batch timer is armed.
    case announcementsBatched
    /// Payloads, ids, missing and pulled payloads stay within their limits.
    case messageStateBounded
    /// Samples name distinct peers (by id and by address), never this node.
    case samplesDistinctNotSelf
    /// The reservoir holds at most its size, and walks in flight are within their limit.
    case samplingBounded

    // Deep, checked at quiet points: linear in the messages held.
    /// The payload cache's byte count, order and digest ranges agree with its entries; the seen set holds no
    /// id whose payload is cached; GRAFT deadlines are exactly the missing payloads, each within its
    /// announcer limit.
    case messageStoreConsistent
    /// The directory's bucket hashes equal a recomputation; this node's entry is of its epoch and alive while
    /// it runs; no entry is at or below its id's epoch floor; the directory is within its limit; every
    /// suspect is alive and its suspicion timer armed.
    case directoryConsistent

    // Global, checked by the simulator over every live node at quiet points (nothing in flight).
    /// If A holds B in its active view, B holds A.
    case activeViewsSymmetric
    /// If A pushes eagerly to B, B pushes eagerly to A: the tree is one undirected tree, not two.
    case eagerSetsSymmetric
    /// No node delivers a message twice; after the network settles every live node delivered every message.
    case deliveredExactlyOnce

    public var description: String { rawValue }

    /// Whether the node itself checks it after every event.
    public var isLocal: Bool {
        switch self {
        case .selfNotInViews, .viewsDistinctAndDisjoint, .viewsWithinBounds, .activePeersLinked, .linkVersionsSettled, .treeMatchesActiveView,
             .dialsHaveIntents, .requestsWatched, .linksWatched, .periodicTimersArmed, .graftsScheduled,
             .announcementsBatched, .messageStateBounded, .samplesDistinctNotSelf, .samplingBounded:
            true
        case .messageStoreConsistent, .directoryConsistent, .activeViewsSymmetric, .eagerSetsSymmetric, .deliveredExactlyOnce:
            false
        }
    }
}

/// An invariant found broken: which, on which node, and what exactly was wrong.
public struct InvariantViolation: Error, Hashable, Sendable, CustomStringConvertible {
    public var invariant: Invariant
    public var node: NodeID
    public var detail: String

    public init(_ invariant: Invariant, node: NodeID, detail: String) {
        self.invariant = invariant
        self.node = node
        self.detail = detail
    }

    public var description: String { "invariant \(invariant) broken on \(node): \(detail)" }
}

/// The node's timers that are armed, as the node itself asked its driver (a bit per timer kind).
struct ArmedTimers: Equatable {
    private var bits: UInt8 = 0

    private static func bit(_ timer: NodeTimer) -> UInt8 {
        switch timer {
        case .linkMaintenance: 1 << 0
        case .seedRetry: 1 << 1
        case .shuffle: 1 << 2
        case .graftDue: 1 << 3
        case .iHaveBatch: 1 << 4
        case .antiEntropy: 1 << 5
        case .suspicion: 1 << 6
        }
    }

    func contains(_ timer: NodeTimer) -> Bool { bits & Self.bit(timer) != 0 }
    mutating func insert(_ timer: NodeTimer) { bits |= Self.bit(timer) }
    mutating func remove(_ timer: NodeTimer) { bits &= ~Self.bit(timer) }

    /// Follows what `effects` ask of the driver.
    mutating func follow(_ effects: [NodeEffect]) {
        for effect in effects {
            switch effect {
            case .armTimer(let timer, _): insert(timer)
            case .cancelTimer(let timer): remove(timer)
            case .connect, .send, .setWireVersion, .close, .deliver, .memberEvent: break
            }
        }
    }
}
