import Logging
import RumorCore
import RumorUV
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A Rumor node running inside this process: HyParView membership and Plumtree broadcast over TCP, on an
/// event loop with a thread of its own (no HTTP endpoint, no child process).
///
/// Make one from a ``RumorConfiguration``, ``start()`` it, ``publish(_:)-([UInt8])`` to every live node,
/// read ``deliveries(buffer:)``, and ``leave()`` when done. As a swift-service-lifecycle `Service` it does
/// all of that in `run()`: started with the group, it leaves when the group shuts down gracefully.
public final class RumorNode: Sendable {
    /// This node's name in the overlay (the configured one, or the random one drawn for it).
    public let id: NodeID
    private let listen: PeerAddress
    private let leaveTimeout: Duration
    private let eventLoop: EventLoop
    private let runtime: NodeRuntime
    private let state = Mutex(State())

    private struct State {
        var phase = Phase.idle
        /// Leavers waiting for a start in progress to finish.
        var waitingForStart: [CheckedContinuation<Void, Never>] = []
    }

    private enum Phase {
        case idle
        case starting
        case running(PeerAddress)
        case left(wasStarted: Bool)
    }

    /// Checks the configuration (and reads the cluster key) now; nothing listens until ``start()``.
    /// The node logs through `logger`, silent unless given one.
    public init(configuration: RumorConfiguration,
                logger: Logger = Logger(label: "rumor", factory: { _ in SwiftLogNoOpLogHandler() })) throws(RumorError) {
        let runtimeConfiguration: RuntimeConfiguration
        do throws(ConfigurationError) {
            runtimeConfiguration = try configuration.runtimeConfiguration()
        } catch {
            switch error {
            case .invalid(let text): throw .invalidConfiguration(text)
            case .clusterKey(let text): throw .clusterKey(text)
            }
        }
        id = runtimeConfiguration.node.identity.id
        listen = configuration.listen
        leaveTimeout = configuration.leaveTimeout
        do throws(UVError) { eventLoop = try EventLoop() } catch { throw .system(error.description) }
        eventLoop.start()
        runtime = NodeRuntime(configuration: runtimeConfiguration, eventLoop: eventLoop, logger: logger)
    }

    deinit {
        // Nothing runs on the loop that holds this object, so the last reference never goes on its thread.
        eventLoop.shutdown()
    }

    // MARK: Life

    /// Binds the listener, starts the node and contacts the seeds; returns the address bound (the
    /// advertised one). Joining continues in the background: ``status()`` shows the active view fill.
    @discardableResult
    public func start() async throws(RumorError) -> PeerAddress {
        try state.withLock { state throws(RumorError) in
            switch state.phase {
            case .idle: state.phase = .starting
            case .starting, .running: throw .alreadyStarted
            case .left: throw .stopped
            }
        }
        let result: Result<PeerAddress, RumorError>
        do {
            result = .success(try await runtime.start().listen)
        } catch let error as UVError {
            result = .failure(error.code == -EADDRINUSE ? .addressInUse(listen) : .cannotListen(listen, reason: error.description))
        } catch {
            result = .failure(.cannotListen(listen, reason: "\(error)"))
        }
        let waiting = state.withLock { state in
            if case .starting = state.phase {
                // A failed start may be tried again (the address may come free).
                state.phase = (try? result.get()).map(Phase.running) ?? .idle
            }
            defer { state.waitingForStart.removeAll() }
            return state.waitingForStart
        }
        for leaver in waiting { leaver.resume() }
        return try result.get()
    }

    /// Leaves the overlay politely: the listener closed, a DISCONNECT to every peer (who then replace this
    /// node at once rather than after a silence), every queued frame flushed, and each link closed once its
    /// peer closed its side. Returns when all have, or after `leaveTimeout`. Idempotent; the node cannot be
    /// started again.
    public func leave() async {
        await withCheckedContinuation { continuation in
            let starting = state.withLock { state in
                guard case .starting = state.phase else { return false }
                state.waitingForStart.append(continuation)
                return true
            }
            if !starting { continuation.resume() }
        }
        let wasStarted = state.withLock { state in
            switch state.phase {
            case .idle, .starting:
                state.phase = .left(wasStarted: false)
                return false
            case .running:
                state.phase = .left(wasStarted: true)
                return true
            case .left(let wasStarted):
                return wasStarted
            }
        }
        guard wasStarted else { return }
        _ = await runtime.leave(timeout: leaveTimeout)
    }

    /// The address the node listens on and advertises, once started; nil before and after.
    public var listenAddress: PeerAddress? {
        state.withLock { state in
            if case .running(let address) = state.phase { address } else { nil }
        }
    }

    // MARK: Broadcast

    /// Broadcasts `payload` to every live node, this one included; returns the message's id.
    public func publish(_ payload: [UInt8]) async throws(RumorError) -> MessageID {
        try requireRunning()
        do throws(PublishError) {
            return try await runtime.publish(payload)
        } catch {
            switch error {
            case .payloadTooLarge(let size, let limit): throw .payloadTooLarge(size: size, limit: limit)
            case .stopping: throw .stopped
            }
        }
    }

    /// Broadcasts the UTF-8 bytes of `text`.
    public func publish(_ text: String) async throws(RumorError) -> MessageID {
        try await publish(Array(text.utf8))
    }

    /// Every delivery from now on, this node's own messages included, each exactly once. At most `buffer`
    /// wait unread: a reader that falls further behind skips the newest and is told how many with
    /// `.lagged(missed:)`, so a slow reader never slows the node. The sequence ends when the node leaves.
    /// May be called before ``start()``, to miss nothing.
    public func deliveries(buffer: Int = 1024) async throws(RumorError) -> DeliveryStream {
        let left = state.withLock { state in if case .left = state.phase { true } else { false } }
        guard !left else { throw .stopped }
        return await runtime.deliveryStream(buffer: buffer)
    }

    // MARK: Membership

    /// Up to `count` distinct live peers, each the endpoint of a recent random walk that answered over a
    /// link of its own: uniform over the overlay's live nodes (docs/sampling.md). While the node holds fewer
    /// samples than asked (just after start), active peers make up the rest.
    public func samplePeers(_ count: Int) async throws(RumorError) -> [PeerDescriptor] {
        try requireRunning()
        guard count > 0 else { return [] }
        return await runtime.samplePeers(count)
    }

    // MARK: Directory

    /// Every member this node's directory holds, in id order: its entry (address, epoch, version, status,
    /// tags), whether it is suspect, and when this node last had news of it (docs/directory.md).
    public func members() async throws(RumorError) -> [Member] {
        try requireRunning()
        return await runtime.members()
    }

    /// Sets and deletes tags of this node's own entry; the change spreads to every member at once. Tags
    /// over a limit are refused with the limit named, and the entry stays as it was.
    public func setTags(_ tags: [String: String], deleting keys: [String] = []) async throws(RumorError) {
        try requireRunning()
        do throws(DirectoryError) {
            try await runtime.setTags(tags, deleting: keys)
        } catch {
            if case .stopping = error { throw .stopped }
            throw .invalidTags(error.description)
        }
    }

    /// Every member event from now on (joined, updated, suspect, alive, failed, left, reaped), each with the
    /// wall-clock time this node applied it. At most `buffer` wait unread: a reader that falls further behind
    /// is told how many it missed with `.lagged(missed:)`. The sequence ends when the node leaves. May be
    /// called before ``start()``, to miss nothing.
    public func memberEventStream(buffer: Int = 1024) async throws(RumorError) -> MemberEventStream {
        let left = state.withLock { state in if case .left = state.phase { true } else { false } }
        guard !left else { throw .stopped }
        return await runtime.memberEventStream(buffer: buffer)
    }

    /// Member events recorded since event number `sequence` (0 for all kept), oldest first, each with the
    /// wall-clock time this node applied it.
    public func memberEvents(after sequence: UInt64 = 0) async throws(RumorError) -> [RecordedMemberEvent] {
        try requireRunning()
        return await runtime.memberEvents(after: sequence)
    }

    /// What the node knows now: its views, its broadcast tree and its counters.
    public func status() async throws(RumorError) -> RumorStatus {
        try requireRunning()
        guard let status = await runtime.status() else { throw .notStarted }
        return RumorStatus(status)
    }

    private func requireRunning() throws(RumorError) {
        try state.withLock { state throws(RumorError) in
            switch state.phase {
            case .running: return
            case .idle, .starting: throw .notStarted
            case .left: throw .stopped
            }
        }
    }
}

/// A snapshot of a node.
public struct RumorStatus: Sendable {
    public var id: NodeID
    /// The address the node listens on and advertises.
    public var listen: PeerAddress
    public var epoch: Epoch
    public var uptime: Duration
    /// The active view: the peers this node has open links to.
    public var activePeers: [PeerDescriptor]
    /// The passive view: addresses kept to replace active peers.
    public var passivePeers: [PeerDescriptor]
    /// What the core reports in full: link times, the broadcast tree, caches and every counter.
    public var node: NodeStatus
    /// The release, and the wire protocol versions this node offers (what the release speaks, or fewer).
    public var release: String { RumorRelease.version }
    public var wireVersions: ClosedRange<UInt8> { node.wireVersions }

    init(_ status: RuntimeStatus) {
        id = status.node.identity.id
        listen = status.listen
        epoch = status.node.epoch
        uptime = status.now.since(.zero)
        activePeers = status.node.active.map { PeerDescriptor(id: $0.id, address: $0.address) }
        passivePeers = status.node.passive.map { PeerDescriptor(id: $0.id, address: $0.address) }
        node = status.node
    }
}
