import CLibUV
import Logging
import RumorCore
import RumorSecurity

/// What a runtime needs besides the core's own configuration.
public struct RuntimeConfiguration: Sendable {
    public var node: NodeConfiguration
    /// Where to listen for peers; port 0 picks a free port, which then becomes the advertised one.
    public var listen: PeerAddress
    /// Where to serve the admin endpoint (HTTP); nil for none.
    public var admin: PeerAddress?
    /// Where to serve the read-only health endpoint (`/healthz`, `/readyz`, `/metrics`); nil for none.
    public var health: PeerAddress?
    public var limits = ConnectionLimits()
    /// Conditions added to every link's incoming frames (test meshes); unchanged by default.
    public var links = LinkConditions.unchanged
    /// The cluster keys: every link must prove the first (new links) or any (accepted) key before it carries
    /// anything. Nil runs the node open.
    public var keyring: Keyring?
    public var randomSeed: UInt64
    /// Where tags set at run time are written (`TagsFile`); nil: nowhere.
    public var tagsFile: String?

    public init(node: NodeConfiguration, listen: PeerAddress, admin: PeerAddress? = nil, randomSeed: UInt64) {
        self.node = node
        self.listen = listen
        self.admin = admin
        self.randomSeed = randomSeed
    }
}

/// Runs one core `Node` on an event loop: socket and timer events go in as core events, and the core's
/// effects are carried out here. No protocol decision is made in this file.
public final class NodeRuntime: @unchecked Sendable {
    // Everything below is touched on the loop thread only.
    public let eventLoop: EventLoop
    var configuration: RuntimeConfiguration
    var logger: Logger
    private var node: Node?
    private var listener: TCPListener?
    private var adminServer: AdminServer?
    var connections: [LinkID: TCPConnection] = [:]
    /// Keyed links still in their cluster-key handshake, with the direction the core will hear once sealed.
    var securing: [LinkID: (connection: TCPConnection, direction: LinkDirection)] = [:]
    private var timers: [NodeTimer: LoopTimer] = [:]
    private var needsFlush: [TCPConnection] = []
    private var deferredEvents: [NodeEvent] = []
    private var carryingOutEffects = false
    /// Events that arrived while a batch of the core's effects was being carried out and waited for it.
    private(set) var eventsDeferred = 0
    var nextLink: UInt64 = 1
    private var startedAt: UInt64 = 0
    var stopped = false
    let metrics = NodeMetrics()
    let linkShaping: LinkShaping
    var shapingTimer: LoopTimer?
    let deliveries = DeliveryLog(capacity: 100_000, maximumBytes: 64 << 20)
    let memberEvents = MemberEventLog(capacity: 100_000)
    // Seeds (NodeRuntime+Seeds): what each last did, the lookups under way, the links opened for them.
    var seedReports: SeedReports
    var pendingLookups: [UInt64: NameLookup] = [:]
    var nextLookup: UInt64 = 1
    var seedLinks: [LinkID: PeerAddress] = [:]
    /// Orders a seed name's addresses before they are tried.
    var dialRandom: SeededRandom
    /// This host's addresses, when listening on every interface: seeds resolving to them are this node.
    var ownHosts: [String] = []
    /// The port bound for peers.
    var boundPort: UInt16 = 0
    // Health (NodeRuntime+Health): the state the health thread reads, its server, the loop's heartbeat.
    let health = HealthState()
    var healthServer: HealthServer?
    var heartbeatTimer: LoopTimer?
    var heartbeats = 0
    var isolation = IsolationWatch()
    // Leaving (NodeRuntime+Leave): set once a leave began; the links waiting for their peers to close.
    var leaving = false
    var leavingLinks: [LinkID: TCPConnection] = [:]
    var leaveConfirmations = 0

    public init(configuration: RuntimeConfiguration, eventLoop: EventLoop, logger: Logger) {
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.logger = logger
        self.linkShaping = LinkShaping(defaultConditions: configuration.links, seed: configuration.randomSeed)
        self.seedReports = SeedReports(seeds: configuration.node.seeds, ownAddress: configuration.node.identity.address)
        self.dialRandom = SeededRandom(seed: configuration.randomSeed ^ 0x5EED)
    }

    /// The addresses actually bound.
    public struct Endpoints: Sendable {
        public var listen: PeerAddress
        public var admin: PeerAddress?
        public var health: PeerAddress?
    }

    /// Binds the health endpoint (on a thread of its own), the listener and the admin endpoint, and
    /// starts the node.
    public func start() async throws -> Endpoints {
        if let address = configuration.health {
            healthServer = try HealthServer(address: address, state: health, registry: metrics.registry)
        }
        let result = await eventLoop.submit { () -> Result<Endpoints, UVError> in
            do throws(UVError) { return .success(try self.startOnLoop()) } catch { return .failure(error) }
        }
        if case .failure = result {
            healthServer?.shutdown()
            healthServer = nil
        }
        return try result.get()
    }

    private func startOnLoop() throws(UVError) -> Endpoints {
        startedAt = EventLoop.monotonicNanoseconds()
        configuration.node.maximumFrameSize = configuration.limits.maximumFrameSize
        let listener: TCPListener
        do throws(UVError) {
            listener = try TCPListener(eventLoop: eventLoop, address: configuration.listen) { [weak self] listener in
                self?.acceptInbound(from: listener)
            }
        } catch {
            throw error.naming("the peer port (--listen)")
        }
        self.listener = listener
        // Port 0: the kernel picked one, and an advertised address that left its port open takes it.
        if let bound = listener.boundAddress, configuration.listen.port == 0, configuration.node.identity.address.port == 0 {
            configuration.node.identity.address = PeerAddress(host: configuration.node.identity.address.host, port: bound.port)
        }
        boundPort = listener.boundAddress?.port ?? configuration.listen.port
        if configuration.listen.isUnspecified { ownHosts = HostAddresses.nonLoopback() + ["127.0.0.1", "::1"] }
        seedReports = SeedReports(seeds: configuration.node.seeds, ownAddress: configuration.node.identity.address)
        if let adminAddress = configuration.admin {
            do throws(UVError) {
                adminServer = try AdminServer(eventLoop: eventLoop, address: adminAddress) { [weak self] request in
                    guard let self else { return .text("node stopped", status: 503) }
                    return AdminRoutes.respond(to: request, runtime: self)
                }
            } catch {
                listener.close()
                throw error.naming("the admin endpoint (--admin)")
            }
        }
        eventLoop.onShutdown { [weak self] in self?.closeEverything() }
        eventLoop.onShutdown { [weak self] in self?.stopHeartbeat() }
        var nodeLogger = logger
        nodeLogger[metadataKey: "listen"] = "\(configuration.node.identity.address)"
        node = Node(configuration: configuration.node, randomSeed: configuration.randomSeed, logger: nodeLogger)
        logger.info("node started", metadata: [
            "id": "\(configuration.node.identity.id)", "advertise": "\(configuration.node.identity.address)",
            "bind": "\(listener.boundAddress.map { "\($0)" } ?? "\(configuration.listen)")",
            "epoch": "\(configuration.node.epoch)", "admin": "\(adminServer?.boundAddress.map { "\($0)" } ?? "none")",
            "health": "\(healthServer?.boundAddress.map { "\($0)" } ?? "none")",
        ])
        feed(.start)
        startHeartbeat()
        return Endpoints(listen: configuration.node.identity.address, admin: adminServer?.boundAddress,
                         health: healthServer?.boundAddress)
    }

    /// Leaves the overlay politely (`leave(timeout:)` with the close linger as its timeout) and closes every
    /// handle this runtime owns. The loop itself keeps running for others.
    public func stop() async {
        _ = await leave(timeout: configuration.limits.closeLinger)
    }

    func closeEverything(graceful: Bool = false) {
        stopped = true
        listener?.close()
        listener = nil
        adminServer?.close()
        adminServer = nil
        for timer in timers.values { timer.close() }
        timers.removeAll()
        for lookup in pendingLookups.values { lookup.cancel() }
        pendingLookups.removeAll()
        shapingTimer?.close()
        shapingTimer = nil
        deliveries.finishAll()
        memberEvents.subscribers.finishAll()
        for (connection, _) in securing.values { connection.abort(reason: "node stopped") }
        securing.removeAll()
        for connection in connections.values {
            if graceful { connection.closeGracefully(reason: "node stopped") } else { connection.abort(reason: "node stopped") }
        }
    }

    // MARK: Driving the core

    var now: Timestamp { Timestamp(nanoseconds: EventLoop.monotonicNanoseconds() &- startedAt) }

    /// Feeds one event to the core and carries out its effects; frames go out when the batch ends. An event
    /// raised while effects are being carried out (a link closing because a send overflowed its queue)
    /// waits until they are all done, so the core never sees its state change under one batch of effects.
    func feed(_ event: NodeEvent, flushing: Bool = true) {
        guard node != nil, !stopped else { return }
        guard !carryingOutEffects else {
            deferredEvents.append(event)
            eventsDeferred += 1
            return
        }
        carryingOutEffects = true
        finishBatch(node!.handle(event, at: now), flushing: flushing)
    }

    /// Carries out one batch of the core's effects, then the events that arrived meanwhile, a batch each, and
    /// sends the frames when all are done. Every entry into the core (`feed`, `publishOnLoop`) ends here.
    private func finishBatch(_ effects: [NodeEffect], flushing: Bool) {
        assert(carryingOutEffects, "a batch is carried out only after the core was entered")
        var batch = effects
        while true {
            for effect in batch { carryOut(effect) }
            guard !deferredEvents.isEmpty, node != nil, !stopped else { break }
            batch = node!.handle(deferredEvents.removeFirst(), at: now)
        }
        deferredEvents.removeAll()
        carryingOutEffects = false
        if flushing { flushQueued() }
    }

    private func carryOut(_ effect: NodeEffect) {
        switch effect {
        case .connect(let address):
            connect(to: address)
        case .send(let link, let message):
            guard let connection = connections[link] else { return }
            guard connection.send(message) else { return }
            metrics.sent(message, wireBytes: MessageCodec.frameSize(of: message) + connection.sealOverhead)
            if !connection.isQueuedForFlush {
                connection.isQueuedForFlush = true
                needsFlush.append(connection)
            }
        case .setWireVersion(let link, let version):
            connections[link]?.wireVersion = version
        case .close(let link, let reason):
            recordSeedLinkClosed(link, reason: reason)
            guard let connection = connections.removeValue(forKey: link) else { return }
            if leaving {
                leavingLinks[link] = connection
                connection.closeAfterPeer(reason: reason)
            } else {
                connection.closeLingering(reason: reason)
            }
        case .armTimer(let timer, let delay):
            loopTimer(for: timer).schedule(after: delay)
        case .cancelTimer(let timer):
            timers[timer]?.cancel()
        case .deliver(let delivery):
            deliveries.record(delivery)
        case .memberEvent(let event):
            memberEvents.record(event)
        }
    }

    // MARK: Broadcast

    /// Broadcasts `payload` to every live node (this one included) and returns its id.
    public func publish(_ payload: [UInt8]) async throws(PublishError) -> MessageID {
        try await eventLoop.submit { self.publishOnLoop(payload) }.get()
    }

    /// Publishes through the same batch as `feed`: a link that closes while the message's sends are carried
    /// out (a write queue over its limit) is handed to the core after them, not in their middle.
    func publishOnLoop(_ payload: [UInt8]) -> Result<MessageID, PublishError> {
        precondition(eventLoop.isOnLoopThread, "publishOnLoop runs on the loop thread")
        // Publishes come from loop callbacks (admin requests, the library), never from inside a batch.
        guard node != nil, !stopped, !carryingOutEffects else { return .failure(.stopping) }
        carryingOutEffects = true
        do throws(PublishError) {
            let (id, effects) = try node!.publish(payload, at: now)
            finishBatch(effects, flushing: true)
            return .success(id)
        } catch {
            carryingOutEffects = false
            return .failure(error)
        }
    }

    /// Every delivery from now on; a consumer that falls more than `buffer` behind is told it lagged.
    public func deliveryStream(buffer: Int = 1024) async -> DeliveryStream {
        await eventLoop.submit {
            self.deliveries.subscribe(buffer: buffer) { [weak self] key in
                guard let self else { return }
                self.eventLoop.execute { self.deliveries.unsubscribe(key) }
            }
        }
    }

    /// Recorded deliveries numbered above `sequence`.
    public func deliveries(after sequence: UInt64, limit: Int = 10_000) async -> [RecordedDelivery] {
        await eventLoop.submit { self.deliveries.after(sequence, limit: limit) }
    }

    func flushQueued() {
        guard !needsFlush.isEmpty else { return }
        let batch = needsFlush
        needsFlush.removeAll(keepingCapacity: true)
        for connection in batch {
            connection.isQueuedForFlush = false
            connection.flush()
        }
    }

    private func loopTimer(for timer: NodeTimer) -> LoopTimer {
        if let existing = timers[timer] { return existing }
        let loopTimer = LoopTimer(eventLoop: eventLoop) { [weak self] in
            self?.feed(.timerFired(timer))
        }
        timers[timer] = loopTimer
        return loopTimer
    }

    // MARK: Link conditions (test meshes)

    /// Hands the core every held frame that is due, then waits for the next.
    func armShapingTimer() {
        guard let due = linkShaping.nextDue else { return }
        if shapingTimer == nil {
            shapingTimer = LoopTimer(eventLoop: eventLoop) { [weak self] in self?.releaseHeldFrames() }
        }
        let now = EventLoop.monotonicNanoseconds()
        shapingTimer?.schedule(after: .nanoseconds(Int64(due > now ? due - now : 0)))
    }

    private func releaseHeldFrames() {
        let now = EventLoop.monotonicNanoseconds()
        while let (link, held) = linkShaping.takeDue(now: now) {
            switch held {
            case .frame(let message): feed(.received(link, message), flushing: false)
            case .closed(let reason): feed(.linkClosed(link, reason: reason), flushing: false)
            }
        }
        flushQueued()
        armShapingTimer()
    }

    /// Sets the conditions of links to `peers`, or the default for all links when `peers` is nil.
    func setLinkConditionsOnLoop(_ conditions: LinkConditions, for peers: [PeerAddress]?) {
        linkShaping.set(conditions, for: peers)
        logger.info("link conditions changed", metadata: ["peers": "\(peers.map { "\($0.count)" } ?? "all")", "conditions": "\(conditions)"])
    }

    func resetLinkConditionsOnLoop(for peers: [PeerAddress]?) {
        linkShaping.reset(peers)
        logger.info("link conditions reset", metadata: ["peers": "\(peers.map { "\($0.count)" } ?? "all")"])
    }

    // MARK: Status

    /// A snapshot of the node, taken on the loop.
    public func status() async -> RuntimeStatus? {
        await eventLoop.submit { self.statusOnLoop() }
    }

    func statusOnLoop() -> RuntimeStatus? {
        guard let node else { return nil }
        let now = self.now
        let status = node.status(at: now)
        metrics.activePeers.record(status.active.count)
        metrics.pendingLinks.record(status.pendingLinks)
        return RuntimeStatus(node: status, now: now, listen: configuration.node.identity.address, seeds: seedReports.reports)
    }

    /// Up to `count` distinct live peers, each the endpoint of a recent sampling walk (docs/sampling.md).
    public func samplePeers(_ count: Int) async -> [PeerDescriptor] {
        await eventLoop.submit { self.samplePeersOnLoop(count).map(\.peer) }
    }

    // MARK: Directory

    /// Every member this node knows of (docs/directory.md), in id order.
    public func members() async -> [Member] {
        await eventLoop.submit { self.node?.members() ?? [] }
    }

    /// Sets and deletes tags of this node's entry; the new entry spreads at once.
    public func setTags(_ set: [String: String], deleting keys: [String] = []) async throws(DirectoryError) {
        try await eventLoop.submit { self.setTagsOnLoop(set, deleting: keys) }.get()
    }

    func setTagsOnLoop(_ set: [String: String], deleting keys: [String]) -> Result<Void, DirectoryError> {
        precondition(eventLoop.isOnLoopThread, "setTagsOnLoop runs on the loop thread")
        guard node != nil, !stopped, !carryingOutEffects else { return .failure(.stopping) }
        carryingOutEffects = true
        do throws(DirectoryError) {
            let effects = try node!.setTags(set, deleting: keys, at: now)
            finishBatch(effects, flushing: true)
            saveTags()
            return .success(())
        } catch {
            carryingOutEffects = false
            return .failure(error)
        }
    }

    /// Keeps the tags just set for the next start. A failure to write is logged, not undone: the change is
    /// out in the cluster already.
    private func saveTags() {
        guard let path = configuration.tagsFile, let tags = node?.ownEntry?.tags.dictionary else { return }
        do throws(TagsFile.Problem) {
            try TagsFile.save(tags, to: path)
        } catch {
            logger.error("tags not kept for the next start", metadata: ["error": "\(error)"])
        }
    }

    func membersOnLoop() -> [Member] { node?.members() ?? [] }

    func ownEntryOnLoop() -> MemberEntry? { node?.ownEntry }

    /// Every member event from now on; a consumer that falls more than `buffer` behind is told it lagged.
    public func memberEventStream(buffer: Int = 1024) async -> MemberEventStream {
        await eventLoop.submit {
            self.memberEvents.subscribers.subscribe(buffer: buffer) { [weak self] key in
                guard let self else { return }
                self.eventLoop.execute { self.memberEvents.subscribers.unsubscribe(key) }
            }
        }
    }

    /// Recorded member events numbered above `sequence`.
    public func memberEvents(after sequence: UInt64, limit: Int = 10_000) async -> [RecordedMemberEvent] {
        await eventLoop.submit { self.memberEvents.after(sequence, limit: limit) }
    }

    /// The active view's size; nil before the node starts and once it stopped.
    var activePeerCount: Int? { stopped ? nil : node?.activePeerCount }

    /// Draws through the same batch as `feed`, like a publish: a draw may start walks.
    func samplePeersOnLoop(_ count: Int) -> [PeerSample] {
        precondition(eventLoop.isOnLoopThread, "samplePeersOnLoop runs on the loop thread")
        guard node != nil, !stopped, !carryingOutEffects else { return [] }
        carryingOutEffects = true
        let (samples, effects) = node!.samplePeers(count, at: now)
        finishBatch(effects, flushing: true)
        return samples
    }

    func metricsText() -> [UInt8] {
        if let status = statusOnLoop() {
            metrics.recordCoreLimits(status.node.counters)
            metrics.recordDirectory(status.node.directory)
            metrics.recordDirectoryCounters(status.node.counters)
        }
        return metrics.prometheusText()
    }
}

/// A node's status with the runtime's own facts.
public struct RuntimeStatus: Sendable {
    public var node: NodeStatus
    public var now: Timestamp
    public var listen: PeerAddress
    /// Each configured seed with its last lookup and last attempt.
    public var seeds: [SeedReports.Report]
}
