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
        /// The protocol version the link runs at.
        public var wireVersion: UInt8
        /// The smoothed round-trip time PINGs measured (links of version 4 on), nil before the first PONG.
        public var roundTripTime: Duration?
        /// The silence after which this link is dead now (L17, L18).
        public var silenceThreshold: Duration?
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
        /// Maintenance ticks that fired more than a probe interval late: this node's own loop lagged (L18).
        public var lateMaintenanceTicks = 0
        public var seedRetries = 0
        /// JOINs this node took in as a contact.
        public var joins = 0
        public var forwardJoins = 0
        public var shufflesSent = 0
        public var shufflesReceived = 0
        /// Active peers found to replace one lost or departed.
        public var replacements = 0
        /// Active peers swapped for passive ones to keep the overlay mixed (`activeRotationInterval`).
        public var rotations = 0
        /// Active links that failed (closed or silent without a DISCONNECT).
        public var failedLinks = 0
        /// Active peers that left the overlay and said so (DISCONNECT, not alive): departures, not failures.
        public var departures = 0
        public var healingProbes = 0
        public var healedLinks = 0
        /// Sampling (docs/sampling.md): walks started here, walks that passed through or ended here, answers
        /// sent as an endpoint, walks that came home or were never answered, samples validated, evicted on
        /// evidence of death, given to applications, and answers naming no walk of this node's.
        public var sampleWalksStarted = 0
        public var sampleWalksForwarded = 0
        public var sampleWalksAnswered = 0
        public var sampleWalksEndedHome = 0
        public var sampleWalksLost = 0
        public var samplesValidated = 0
        public var samplesEvicted = 0
        public var samplesDrawn = 0
        public var sampleRepliesIgnored = 0
        /// Answers that needed a link of their own (the endpoint was not linked to the origin), and draws
        /// answered by an active peer standing in for a short reservoir.
        public var sampleReplyLinksOpened = 0
        public var sampleStandIns = 0
        /// Broadcast: messages handed to the application, payload frames received (RMR's numerator), and
        /// the tree's upkeep.
        public var delivered = 0
        public var payloadsReceived = 0
        public var duplicates = 0
        public var graftsSent = 0
        public var graftsReceived = 0
        public var prunesSent = 0
        public var prunesReceived = 0
        public var iHavesSent = 0
        public var iHavesReceived = 0
        /// Queued IHAVEs dropped because the peer announced or pushed the message first.
        public var iHavesWithdrawn = 0
        /// Lazy links pulled into the tree when a tree link was lost (`bridgeLostTreeLink`).
        public var treeBridges = 0
        /// Tree links swapped for a lazy link that announced a payload sooner (the optimisation, B12).
        public var treeOptimizations = 0
        /// GRAFTs sent because a GRAFT timer ran out (a payload announced but not pushed in time).
        public var graftTimeouts = 0
        public var payloadBytesOut = 0
        public var pulled = 0
        /// Directory (docs/directory.md): entries of this node's published, entries of others applied,
        /// reconciliations started, failure reports sent, members marked failed, refutations of reports
        /// about this node, entries refused for a removed epoch, and updates refused as malformed or over a
        /// limit. Payloads of topics this build does not know are dropped and counted.
        public var directoryEntriesPublished = 0
        public var directoryEntriesApplied = 0
        public var directoryExchanges = 0
        public var failureReportsSent = 0
        public var membersMarkedFailed = 0
        public var directoryRefutations = 0
        public var directoryGhostsRefused = 0
        public var directoryUpdatesRejected = 0
        public var unknownTopicPayloads = 0

        // Limits reached: what each cost the offender (its message, or part of it).
        /// GOSSIP payloads over the payload limit, dropped (never delivered or passed on).
        public var oversizedPayloadsDropped = 0
        /// IHAVE announcements beyond the per-frame limit, or beyond the limit on missing payloads, ignored.
        public var announcementsIgnored = 0
        /// SHUFFLE and SHUFFLEREPLY entries beyond the shuffle's size, ignored.
        public var shuffleEntriesIgnored = 0
        /// Payloads evicted from the cache for count or bytes before their retention ran out.
        public var cacheEvictionsForSpace = 0
        /// Seen ids forgotten for count or bytes before their retention ran out.
        public var seenEvictionsForSpace = 0
    }

    public struct Broadcast: Sendable, Equatable {
        public var eager: [NodeID]
        public var lazy: [NodeID]
        public var cachedPayloads: Int
        public var cachedBytes: Int
        public var seenIDs: Int
    }

    /// Members of the directory by status as this node sees them (suspects are alive members under report).
    public struct Directory: Sendable, Equatable {
        public var alive = 0
        public var suspect = 0
        public var failed = 0
        public var left = 0
        /// This node's own entry version.
        public var ownVersion: UInt64 = 0

        public var total: Int { alive + suspect + failed + left }
    }

    public var identity: PeerDescriptor
    public var epoch: Epoch
    /// The protocol versions this node offers on every link.
    public var wireVersions: ClosedRange<UInt8>
    /// The cluster name it offers; empty for none.
    public var clusterName: String
    public var active: [ActivePeer]
    public var passive: [PassivePeer]
    /// Links still in their handshake.
    public var pendingLinks: Int
    public var broadcast: Broadcast
    public var directory = Directory()
    public var counters: Counters
    /// Lifeguard's local health score, 0 when this node's loop keeps time; silence thresholds are
    /// multiplied by one more than it (L18).
    public var localHealthScore = 0
}
