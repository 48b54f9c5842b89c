/// What its owner says about a member, or what others concluded about it: `failed` is the only status a
/// member does not write itself. The order of the cases is their rank in a merge (D1).
public enum MemberStatus: UInt8, Sendable, CaseIterable, Comparable, CustomStringConvertible {
    case alive = 0
    case failed = 1
    case left = 2
    /// Never stored: a notice, sent in reconciliation to a node that offers an entry of an epoch already
    /// removed here, that the member's tombstone was reaped (D5). The receiver drops its copy and keeps the
    /// epoch floor too, so a long-partitioned node cannot bring a ghost back.
    case removed = 3

    public static func < (lhs: MemberStatus, rhs: MemberStatus) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String {
        switch self {
        case .alive: "alive"
        case .failed: "failed"
        case .left: "left"
        case .removed: "removed"
        }
    }
}

/// One member's entry in the directory. Only the member writes it (raising `version` each time), except that
/// others may mark its current version `failed`; a merge keeps the highest (epoch, version, status).
public struct MemberEntry: Hashable, Sendable {
    public var peer: PeerDescriptor
    /// The member's incarnation: a restart starts a new entry that outranks every entry of the old one.
    public var epoch: Epoch
    public var version: UInt64
    public var status: MemberStatus
    public var tags: MemberTags

    public init(peer: PeerDescriptor, epoch: Epoch, version: UInt64, status: MemberStatus, tags: MemberTags = .none) {
        self.peer = peer
        self.epoch = epoch
        self.version = version
        self.status = status
        self.tags = tags
    }

    public var id: NodeID { peer.id }

    /// What a merge compares (D1): the epoch, then the version, then the status's rank.
    public var precedence: Precedence { Precedence(epoch: epoch, version: version, status: status) }

    public struct Precedence: Hashable, Sendable, Comparable {
        public var epoch: Epoch
        public var version: UInt64
        public var status: MemberStatus

        public static func < (lhs: Precedence, rhs: Precedence) -> Bool {
            (lhs.epoch, lhs.version, lhs.status.rawValue) < (rhs.epoch, rhs.version, rhs.status.rawValue)
        }
    }
}

/// How a node knows a neighbour is gone (D4): its link was reset or its dial refused, or it fell silent.
public enum FailureEvidence: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case closed = 1
    case silent = 2

    public var description: String {
        switch self {
        case .closed: "closed"
        case .silent: "silent"
        }
    }
}

/// A neighbour's report that `subject`, as of the version it last knew, has failed.
public struct FailureReport: Hashable, Sendable {
    public var subject: NodeID
    public var subjectEpoch: Epoch
    public var subjectVersion: UInt64
    public var reporter: NodeID
    public var evidence: FailureEvidence

    public init(subject: NodeID, subjectEpoch: Epoch, subjectVersion: UInt64, reporter: NodeID, evidence: FailureEvidence) {
        self.subject = subject
        self.subjectEpoch = subjectEpoch
        self.subjectVersion = subjectVersion
        self.reporter = reporter
        self.evidence = evidence
    }
}

/// What rides the directory's internal topic: an entry, or a failure report.
public enum DirectoryUpdate: Hashable, Sendable {
    case entry(MemberEntry)
    case report(FailureReport)
}
