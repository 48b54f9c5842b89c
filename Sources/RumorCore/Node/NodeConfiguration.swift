/// Everything that shapes a node's behaviour, with defaults; `docs/parameters.md` gives the reason for each.
public struct NodeConfiguration: Sendable {
    /// This node's id and the address it advertises to peers.
    public var identity: PeerDescriptor
    /// Grows on every restart (persisted by the driver when it has somewhere to keep it).
    public var epoch: Epoch
    public var seeds: [PeerAddress]
    /// A link whose peer has not completed the handshake by then is closed.
    public var handshakeTimeout: Duration = .seconds(5)
    /// An established link with nothing sent for this long gets a keepalive (version 3); a link of version 4
    /// gets a PING at least this often, so its round-trip time stays measured.
    public var keepAliveInterval: Duration = .seconds(1)
    /// A link of version 4 with nothing heard for this long gets a PING, whose answer shows the peer alive:
    /// a quiet healthy link is heard from about this often (rule L17).
    public var probeInterval: Duration = .milliseconds(250)
    /// The shortest silence that closes a link of version 4 as dead, however regular its peer was before.
    public var minimumSilence: Duration = .milliseconds(750)
    /// An established link of version 3 with nothing heard for this long is dead; for a link of version 4
    /// the most its adaptive threshold may reach (L17). A node whose own loop lags widens both (L18).
    public var silenceTimeout: Duration = .seconds(3)
    /// The first wait before seeds are tried again, doubled after each round that reaches none.
    public var seedRetryInitialDelay: Duration = .milliseconds(250)
    public var seedRetryMaximumDelay: Duration = .seconds(15)
    public var membership = MembershipConfiguration()
    public var broadcast = BroadcastConfiguration()
    public var sampling = SamplingConfiguration()
    public var directory = DirectoryConfiguration()
    /// The largest frame body the links carry; IHAVE batches and digests are cut to fit it.
    public var maximumFrameSize = WireFormat.defaultMaximumFrameSize
    /// The protocol versions this node offers, within `WireFormat.versions`: fewer to run as an older
    /// release would during a rolling upgrade. Each link runs at the highest version both ends offer.
    public var wireVersions = WireFormat.versions
    /// The cluster this node belongs to; a peer naming another is refused (rule L16). Empty: no name, which
    /// is itself a cluster: a named node refuses it too.
    public var clusterName = ""
    /// The longest cluster name, in UTF-8 bytes.
    public static let maximumClusterNameLength = 64

    public init(identity: PeerDescriptor, epoch: Epoch, seeds: [PeerAddress]) {
        self.identity = identity
        self.epoch = epoch
        self.seeds = seeds
    }
}
