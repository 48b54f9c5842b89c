/// A link as the driver names it: a number unique for the life of the driver.
public struct LinkID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64

    public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    public static func < (lhs: LinkID, rhs: LinkID) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { "link#\(rawValue)" }
}

/// Which side opened a link.
public enum LinkDirection: Hashable, Sendable {
    /// A peer connected to us; its listening address comes with its handshake.
    case inbound(remote: String)
    /// We connected to this address.
    case outbound(PeerAddress)
}

/// What the driver tells the node.
public enum NodeEvent: Sendable {
    /// The driver is running: the node reaches out to its seeds.
    case start
    case linkOpened(LinkID, LinkDirection)
    /// A connect the node asked for did not produce a link. `refused`: the host answered that nothing
    /// listens there (a reset), which says the process is gone; a timeout or a lookup failure says less.
    case connectFailed(PeerAddress, reason: String, refused: Bool = false)
    /// The link closed: the peer closed it, it failed, or the driver closed it on the node's request.
    case linkClosed(LinkID, reason: String)
    case received(LinkID, Message)
    /// A frame that could not be decoded; the driver closes the link after reporting it.
    case malformedFrame(LinkID, WireError)
    case timerFired(NodeTimer)
    /// The node is leaving: it says goodbye to its peers.
    case stop
}

/// What the node asks the driver to do.
public enum NodeEffect: Hashable, Sendable {
    case connect(PeerAddress)
    case send(LinkID, Message)
    /// The link's version is settled: every frame sent on it from now on carries this version.
    case setWireVersion(LinkID, UInt8)
    /// Close after every frame already sent on the link has been written.
    case close(LinkID, reason: String)
    /// Fire `timer` once after `delay`; arming a timer that is armed already moves it.
    case armTimer(NodeTimer, after: Duration)
    case cancelTimer(NodeTimer)
    /// Hand a broadcast message to the application; exactly once per message id.
    case deliver(Delivery)
    /// A member's entry changed here (docs/directory.md): for the member list's events and hooks.
    case memberEvent(MemberEvent)
}

/// The node's timers: a few kinds, each armed at most once at a time, so a driver keeps one handle per kind.
/// (Handshake deadlines are checked on the maintenance tick, and every missing payload's GRAFT shares one timer.)
public enum NodeTimer: Hashable, Sendable, CaseIterable {
    /// Keepalives and silence checks on established links.
    case linkMaintenance
    /// The next attempt to reach the seeds.
    case seedRetry
    /// The next shuffle round: ageing, a SHUFFLE walk, a passive-entry probe, a healing probe.
    case shuffle
    /// The earliest GRAFT deadline has come: payloads announced by IHAVE that have not arrived are asked
    /// for. One timer for all of them (armed for the earliest), not one per missing payload.
    case graftDue
    /// Send the IHAVEs gathered since the last batch.
    case iHaveBatch
    /// Send a digest of held message ids, and a directory summary, to a random active peer.
    case antiEntropy
    /// The earliest suspect's time is up: unrefuted, it is marked failed (D4). One timer for all suspects.
    case suspicion

}
