#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RumorCore
import RumorSecurity
import RumorUV

/// Everything a node is started from. Only `listen` and `seeds` usually need setting; every other value
/// defaults to what `rumor-node` uses (`NodeConfiguration`, `ConnectionLimits`; `docs/parameters.md`).
public struct RumorConfiguration: Sendable {
    /// Where to listen for peers. Port 0 picks a free port; `RumorNode.start()` returns the one bound,
    /// which is also the address advertised to peers.
    public var listen: PeerAddress
    /// Nodes to join through. Empty for the first node, which waits for others to join it.
    public var seeds: [PeerAddress]
    /// This node's name in the overlay; random when nil.
    public var id: NodeID?
    /// This node's life number, which must grow with every restart; the wall clock in milliseconds when nil.
    public var epoch: Epoch?
    /// The cluster keys every link must prove; nil runs the node open (anyone who reaches the port can
    /// join, read and inject broadcasts).
    public var clusterKey: ClusterKeySource?
    public var membership: MembershipConfiguration
    public var broadcast: BroadcastConfiguration
    /// A new link must complete its handshakes (cluster key and protocol) within this.
    public var handshakeTimeout: Duration
    /// An idle link gets a keepalive after this; a link silent for `silenceTimeout` is dead.
    public var keepAliveInterval: Duration
    public var silenceTimeout: Duration
    /// The first wait before the seeds are tried again (doubling up to the maximum).
    public var seedRetryInitialDelay: Duration
    public var seedRetryMaximumDelay: Duration
    /// Frame size, write queue, connect time and inbound link limits of the transport.
    public var limits: ConnectionLimits
    /// Seeds the node's random choices (views, shuffles, timer jitter); drawn from the system when nil.
    public var randomSeed: UInt64?
    /// The wire protocol versions the node offers; fewer than `RumorRelease.wireVersions` only to speak
    /// as an older release would, during a rolling upgrade (docs/protocol.md, "Versions").
    public var wireVersions: ClosedRange<UInt8> = RumorRelease.wireVersions
    /// The cluster this node belongs to; peers naming another (or none, when this one has a name) are
    /// refused at the handshake. Empty: no name.
    public var clusterName = ""
    /// Where to serve the read-only health endpoint (`/healthz`, `/readyz`, `/metrics`) on a thread of
    /// its own; nil for none.
    public var health: PeerAddress?
    /// How long `RumorNode.leave()` waits for every peer to confirm the leave by closing its side.
    public var leaveTimeout: Duration = .seconds(2)

    /// Where the cluster keys come from.
    public enum ClusterKeySource: Sendable {
        case keyring(Keyring)
        /// A keyring file as `rumor keygen` writes it: one key a line, the first used for new links.
        case file(String)
    }

    private static let defaults = NodeConfiguration(
        identity: PeerDescriptor(id: NodeID("defaults")!, address: PeerAddress(host: "127.0.0.1", port: 0)), epoch: 0, seeds: [])

    public init(listen: PeerAddress = PeerAddress(host: "127.0.0.1", port: 0), seeds: [PeerAddress] = [], id: NodeID? = nil) {
        self.listen = listen
        self.seeds = seeds
        self.id = id
        let defaults = Self.defaults
        membership = defaults.membership
        broadcast = defaults.broadcast
        handshakeTimeout = defaults.handshakeTimeout
        keepAliveInterval = defaults.keepAliveInterval
        silenceTimeout = defaults.silenceTimeout
        seedRetryInitialDelay = defaults.seedRetryInitialDelay
        seedRetryMaximumDelay = defaults.seedRetryMaximumDelay
        limits = ConnectionLimits()
    }

    /// The runtime's configuration, or what is wrong with this one.
    func runtimeConfiguration() throws(RumorError) -> RuntimeConfiguration {
        try validate()
        var generator = SystemRandomNumberGenerator()
        let identity = PeerDescriptor(id: id ?? NodeID.random(using: &generator), address: listen)
        var node = NodeConfiguration(identity: identity, epoch: epoch ?? Self.wallClockMilliseconds(), seeds: seeds)
        node.membership = membership
        node.broadcast = broadcast
        node.handshakeTimeout = handshakeTimeout
        node.keepAliveInterval = keepAliveInterval
        node.silenceTimeout = silenceTimeout
        node.seedRetryInitialDelay = seedRetryInitialDelay
        node.seedRetryMaximumDelay = seedRetryMaximumDelay
        node.wireVersions = wireVersions
        node.clusterName = clusterName
        var runtime = RuntimeConfiguration(node: node, listen: listen, randomSeed: randomSeed ?? generator.next())
        runtime.limits = limits
        runtime.health = health
        // One handshake limit for a link, as rumor-node has: the cluster key's gets the protocol's time.
        runtime.limits.securityHandshakeTimeout = handshakeTimeout
        runtime.keyring = try clusterKey.map { source throws(RumorError) in try source.load() }
        return runtime
    }

    private func validate() throws(RumorError) {
        func require(_ condition: Bool, _ message: @autoclosure () -> String) throws(RumorError) {
            if !condition { throw .invalidConfiguration(message()) }
        }
        try require(!listen.host.isEmpty, "listen needs a host")
        try require(membership.activeViewSize >= 1, "membership.activeViewSize must be at least 1")
        try require(membership.passiveViewSize >= 1, "membership.passiveViewSize must be at least 1")
        try require((1...membership.activeViewSize).contains(membership.seedLinks),
                    "membership.seedLinks must be 1 to membership.activeViewSize")
        try require(membership.passiveRandomWalkLength <= membership.activeRandomWalkLength,
                    "membership.passiveRandomWalkLength must be at most membership.activeRandomWalkLength")
        try require(limits.maximumFrameSize >= WireFormat.minimumFrameSizeLimit,
                    "limits.maximumFrameSize must be at least \(WireFormat.minimumFrameSizeLimit)")
        try require(broadcast.maximumPayloadSize >= 0 && broadcast.maximumPayloadSize <= limits.maximumFrameSize - 512,
                    "broadcast.maximumPayloadSize must be at most limits.maximumFrameSize minus 512 bytes of framing")
        try require(limits.maximumQueuedBytes >= limits.maximumFrameSize, "limits.maximumQueuedBytes must be at least limits.maximumFrameSize")
        try require(limits.maximumInboundLinks > 0, "limits.maximumInboundLinks must be positive")
        try require(keepAliveInterval > .zero && silenceTimeout > keepAliveInterval, "silenceTimeout must exceed keepAliveInterval, and both be positive")
        try require(handshakeTimeout > .zero && limits.connectTimeout > .zero, "handshakeTimeout and limits.connectTimeout must be positive")
        try require(WireFormat.speaks(wireVersions),
                    "wireVersions \(wireVersions.lowerBound)...\(wireVersions.upperBound) reaches outside the versions this release speaks, \(RumorRelease.wireVersions.lowerBound)...\(RumorRelease.wireVersions.upperBound)")
        try require(clusterName.utf8.count <= NodeConfiguration.maximumClusterNameLength,
                    "clusterName must be at most \(NodeConfiguration.maximumClusterNameLength) bytes")
        try require(seedRetryInitialDelay > .zero && seedRetryMaximumDelay >= seedRetryInitialDelay,
                    "seedRetryInitialDelay must be positive and at most seedRetryMaximumDelay")
    }

    private static func wallClockMilliseconds() -> Epoch {
        Epoch(Date().timeIntervalSince1970 * 1000)
    }
}

extension RumorConfiguration.ClusterKeySource {
    func load() throws(RumorError) -> Keyring {
        switch self {
        case .keyring(let keyring):
            return keyring
        case .file(let path):
            let text: String
            do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
                throw .clusterKey("cannot read keyring file \(path)")
            }
            do throws(KeyringError) { return try Keyring(parsing: text) } catch {
                throw .clusterKey("keyring file \(path): \(error)")
            }
        }
    }
}
