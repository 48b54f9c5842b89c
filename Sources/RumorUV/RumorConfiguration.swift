import Glibc
import RumorCore
import RumorSecurity

/// Everything a node is started from, whoever starts it: `rumor-node` fills it from its command line,
/// configuration file and environment, a program embedding the `Rumor` library sets it in code, and both
/// turn it into the runtime's configuration here, so a value means the same and is checked the same way
/// whichever door it came through. Only `listen` and `seeds` usually need setting; every other value
/// defaults to what `docs/parameters.md` gives.
public struct RumorConfiguration: Sendable {
    /// Where to listen for peers: 0.0.0.0 or `[::]` for every interface. Port 0 picks a free port, which
    /// is then also the one advertised.
    public var listen: PeerAddress
    /// The address peers reach this node at, put in every descriptor it hands out. Nil: the listen
    /// address, or with 0.0.0.0 or `[::]` the host's one non-loopback address (`AdvertiseAddress`).
    public var advertise: PeerAddress?
    /// Nodes to join through, by address or DNS name. Empty for the first node, which waits for others.
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
    /// The member list: this node's tags as it starts, and the directory's timings (docs/directory.md).
    public var directory: DirectoryConfiguration
    /// Where tags set at run time are kept, to be read back at the next start (`TagsFile`); nil: nowhere.
    public var tagsFile: String?
    /// A new link must complete its handshakes (cluster key and protocol) within this.
    public var handshakeTimeout: Duration
    /// An idle link gets a keepalive after this (a PING on version 4, at least this often).
    public var keepAliveInterval: Duration
    /// A version-4 link with nothing heard for this long gets a PING (docs/protocol.md, L17).
    public var probeInterval: Duration
    /// The shortest silence that closes a version-4 link; its threshold adapts above it (L17).
    public var minimumSilence: Duration
    /// A version-3 link silent this long is dead; the most a version-4 link's threshold reaches.
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
    /// Where to serve the admin endpoint (status, publish, links: no authentication); nil for none.
    public var admin: PeerAddress?
    /// Where to serve the read-only health endpoint (`/healthz`, `/readyz`, `/metrics`) on a thread of
    /// its own; nil for none.
    public var health: PeerAddress?
    /// How long a leave waits for every peer to confirm it by closing its side.
    public var leaveTimeout: Duration = .seconds(2)
    /// Test meshes only: delay and loss added to every frame received.
    public var linkConditions = LinkConditions.unchanged

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
        directory = defaults.directory
        handshakeTimeout = defaults.handshakeTimeout
        keepAliveInterval = defaults.keepAliveInterval
        probeInterval = defaults.probeInterval
        minimumSilence = defaults.minimumSilence
        silenceTimeout = defaults.silenceTimeout
        seedRetryInitialDelay = defaults.seedRetryInitialDelay
        seedRetryMaximumDelay = defaults.seedRetryMaximumDelay
        limits = ConnectionLimits()
    }

    /// The runtime's configuration, or what is wrong with this one. `hostAddresses` are the candidates
    /// for the advertise address when listening on every interface.
    public func runtimeConfiguration(hostAddresses: @autoclosure () -> [String] = HostAddresses.nonLoopback()) throws(ConfigurationError) -> RuntimeConfiguration {
        try validate()
        let advertised: PeerAddress
        switch AdvertiseAddress.choose(listen: listen, advertise: advertise, seeds: seeds,
                                       hostAddresses: listen.isUnspecified && advertise == nil ? hostAddresses() : []) {
        case .success(let address): advertised = address
        case .failure(let failure): throw failure
        }
        var generator = SystemRandomNumberGenerator()
        let identity = PeerDescriptor(id: id ?? NodeID.random(using: &generator), address: advertised)
        var node = NodeConfiguration(identity: identity, epoch: epoch ?? Self.wallClockMilliseconds(), seeds: seeds)
        node.membership = membership
        node.broadcast = broadcast
        node.directory = directory
        node.handshakeTimeout = handshakeTimeout
        node.keepAliveInterval = keepAliveInterval
        node.probeInterval = probeInterval
        node.minimumSilence = minimumSilence
        node.silenceTimeout = silenceTimeout
        node.seedRetryInitialDelay = seedRetryInitialDelay
        node.seedRetryMaximumDelay = seedRetryMaximumDelay
        node.wireVersions = wireVersions
        node.clusterName = clusterName
        var runtime = RuntimeConfiguration(node: node, listen: listen, admin: admin, randomSeed: randomSeed ?? generator.next())
        runtime.limits = limits
        runtime.health = health
        runtime.links = linkConditions
        runtime.tagsFile = tagsFile
        // One handshake limit for a link: the cluster key's gets the protocol's time.
        runtime.limits.securityHandshakeTimeout = handshakeTimeout
        runtime.keyring = try clusterKey.map { source throws(ConfigurationError) in try source.load() }
        return runtime
    }

    /// Every value in range and consistent with the others, or the first that is not, named as a field.
    public func validate() throws(ConfigurationError) {
        func require(_ condition: Bool, _ message: @autoclosure () -> String) throws(ConfigurationError) {
            if !condition { throw .invalid(message()) }
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
        try require(probeInterval > .zero && minimumSilence > probeInterval && minimumSilence <= silenceTimeout,
                    "minimumSilence must exceed probeInterval (positive) and be at most silenceTimeout")
        try require(handshakeTimeout > .zero && limits.connectTimeout > .zero, "handshakeTimeout and limits.connectTimeout must be positive")
        try require(WireFormat.speaks(wireVersions),
                    "wireVersions \(wireVersions.lowerBound)...\(wireVersions.upperBound) reaches outside the versions this release speaks, \(RumorRelease.wireVersions.lowerBound)...\(RumorRelease.wireVersions.upperBound)")
        try require(clusterName.utf8.count <= NodeConfiguration.maximumClusterNameLength,
                    "clusterName must be at most \(NodeConfiguration.maximumClusterNameLength) bytes")
        try require(seedRetryInitialDelay > .zero && seedRetryMaximumDelay >= seedRetryInitialDelay,
                    "seedRetryInitialDelay must be positive and at most seedRetryMaximumDelay")
        try require(leaveTimeout >= .zero, "leaveTimeout must not be negative")
        do throws(DirectoryError) {
            try directory.limits.validate(directory.tags)
        } catch {
            throw .invalid("tags: \(error)")
        }
        try require(directory.suspicionTimeout > .zero, "directory.suspicionTimeout must be positive")
        try require((0...1).contains(linkConditions.loss) && linkConditions.latency >= .zero && linkConditions.jitter >= .zero,
                    "linkConditions: loss must be a share from 0 to 1, latency and jitter not negative")
    }

    private static func wallClockMilliseconds() -> Epoch { WallClock.nanoseconds() / 1_000_000 }
}

/// What is wrong with a `RumorConfiguration`, in words that name the value.
public enum ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A value is out of range or inconsistent with another.
    case invalid(String)
    /// The cluster key could not be read or is not a keyring.
    case clusterKey(String)

    public var description: String {
        switch self {
        case .invalid(let text), .clusterKey(let text): text
        }
    }
}

extension RumorConfiguration.ClusterKeySource {
    public func load() throws(ConfigurationError) -> Keyring {
        switch self {
        case .keyring(let keyring):
            return keyring
        case .file(let path):
            let text: String
            switch TextFile.read(path) {
            case .success(let contents): text = contents
            case .failure(let reason): throw .clusterKey("cannot read keyring file \(path): \(reason)")
            }
            do throws(KeyringError) { return try Keyring(parsing: text) } catch {
                throw .clusterKey("keyring file \(path): \(error)")
            }
        }
    }
}

/// A small file read whole with the system's calls (this layer has no Foundation).
enum TextFile {
    static let maximumSize = 1 << 20

    /// The file's text, or the system's reason it could not be read ("No such file or directory").
    static func read(_ path: String) -> Result<String, TextFileError> {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return .failure(TextFileError(errno: errno)) }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return .failure(TextFileError(errno: errno))
            }
            if count == 0 { break }
            bytes += chunk[0..<count]
            if bytes.count > maximumSize { return .failure(TextFileError(reason: "larger than \(maximumSize) bytes")) }
        }
        return .success(String(decoding: bytes, as: UTF8.self))
    }
}

struct TextFileError: Error, CustomStringConvertible {
    var description: String
    init(errno code: Int32) { description = String(cString: strerror(code)) }
    init(reason: String) { description = reason }
}
