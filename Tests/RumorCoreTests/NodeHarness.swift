import Testing
@testable import RumorCore

/// A frame the node under test sent, with the name of the peer whose link carried it.
struct SentFrame: CustomStringConvertible {
    var to: String
    var message: Message

    var description: String { "\(message.type) to \(to)" }
}

/// Drives one `Node` directly, for the rule specs: peers are names ("a", "seed"), each with a link the
/// harness opens and handshakes by hand; the clock moves only when told; every effect the node returns is
/// kept until the next `take()`, and the timers it arms are tracked with their deadlines. Setup helpers
/// (`makeActive`, `addPassive`) forget their own effects, so a spec's queries see only what its action did.
struct NodeHarness {
    /// The id and address of the peer called `name`.
    static func peer(_ name: String) -> PeerDescriptor { PeerDescriptor(id: NodeID(name)!, address: address(name)) }
    static func address(_ name: String) -> PeerAddress { PeerAddress(host: name, port: 7000) }

    private(set) var node: Node
    private(set) var now = Timestamp.zero
    /// Everything the node returned since the last `take()`.
    private(set) var effects: [NodeEffect] = []
    /// Timers armed and not yet fired or cancelled, with the time each is due.
    private(set) var armedTimers: [NodeTimer: Timestamp] = [:]
    private var nameOfLink: [LinkID: String] = [:]
    private var openLinks: [LinkID] = []
    private var lastLinkNumber: UInt64 = 0

    /// A node called `name`, not started, with the seeds named.
    init(_ name: String = "me", seeds: [String] = [], randomSeed: UInt64 = 1, configure: (inout NodeConfiguration) -> Void = { _ in }) {
        var configuration = NodeConfiguration(identity: Self.peer(name), epoch: 1, seeds: seeds.map(Self.address))
        // The rule specs of each layer see only its frames: the directory's specs switch it on.
        configuration.directory.enabled = false
        configure(&configuration)
        node = Node(configuration: configuration, randomSeed: randomSeed)
    }

    /// Each named node's first entry, alive, in this node's directory (as a warm start would have it).
    mutating func preloadDirectory(_ names: [String]) {
        node.preloadDirectory(names.map { MemberEntry.first(of: NodeConfiguration(identity: Self.peer($0), epoch: 1, seeds: [])) })
    }

    /// A node with `active` peers in its active view and `passive` names in its passive view (age 0).
    init(_ name: String = "me", active: [String], passive: [String] = [], seeds: [String] = [], randomSeed: UInt64 = 1,
         configure: (inout NodeConfiguration) -> Void = { _ in }) {
        self.init(name, seeds: seeds, randomSeed: randomSeed, configure: configure)
        for peer in active { makeActive(peer) }
        addPassive(passive)
    }

    var identity: PeerDescriptor { node.identity }
    var configuration: NodeConfiguration { node.configuration }

    // MARK: Steps

    /// Feeds one event at the current time.
    mutating func handle(_ event: NodeEvent) {
        record(node.handle(event, at: now))
    }

    mutating func start() { handle(.start) }
    mutating func stop() { handle(.stop) }

    /// Publishes `payload` from the node; returns its id.
    @discardableResult
    mutating func publish(_ payload: [UInt8] = [1]) -> MessageID {
        do {
            let (id, published) = try node.publish(payload, at: now)
            record(published)
            return id
        } catch {
            Issue.record("publish failed: \(error)")
            return MessageID(origin: identity.id, epoch: configuration.epoch, sequence: .max)
        }
    }

    /// An application's draw of `count` samples now; the walks it starts are recorded like any step's effects.
    mutating func samplePeers(_ count: Int) -> [PeerSample] {
        let (samples, drawn) = node.samplePeers(count, at: now)
        record(drawn)
        return samples
    }

    mutating func advance(by duration: Duration) { now = now + duration }
    mutating func advance(to time: Timestamp) { now = max(now, time) }

    /// Peers answer the node's PINGs at once, as live peers do, so that a spec running for seconds does not
    /// lose its active peers to silence (L17); the liveness specs switch this off or name silent peers.
    var answersPings = true
    var silentPeers: Set<String> = []

    /// Fires `timer`, first moving the clock to its deadline if it is armed and due later.
    mutating func fire(_ timer: NodeTimer) {
        if let due = armedTimers.removeValue(forKey: timer) { advance(to: due) }
        let before = effects.count
        handle(.timerFired(timer))
        guard answersPings else { return }
        for effect in effects[before...] {
            guard case .send(let link, .ping(let probe)) = effect, openLinks.contains(link),
                  let name = nameOfLink[link], !silentPeers.contains(name) else { continue }
            handle(.received(link, .pong(probe)))
        }
    }

    /// Fires `timer` each time it comes due, up to and including `time`; the clock ends at `time`.
    mutating func fireRepeatedly(_ timer: NodeTimer, until time: Timestamp) {
        while let due = armedTimers[timer], due <= time { fire(timer) }
        advance(to: time)
    }

    /// The time `duration` after zero, for deadlines written as offsets from the start of a spec.
    static func at(_ duration: Duration) -> Timestamp { .zero + duration }

    // MARK: Links

    /// A link the peer opened to the node, not yet handshaken: the node has sent its own handshake.
    @discardableResult
    mutating func open(from name: String) -> LinkID {
        let link = newLink(for: name)
        handle(.linkOpened(link, .inbound(remote: "\(name):40000")))
        return link
    }

    /// A link the peer opened, with the peer's handshake and VERSIONS received: established (at the
    /// highest version both speak), not in any view.
    @discardableResult
    mutating func connect(_ name: String, epoch: Epoch = 1, versions: ClosedRange<UInt8> = WireFormat.versions) -> LinkID {
        let link = open(from: name)
        handshake(from: name, epoch: epoch, versions: versions, on: link)
        return link
    }

    /// The connect the node asked for succeeds: the link opens and the peer's handshake and VERSIONS arrive.
    /// `dialledAt` is the address the node dialled when it is not the peer's own (a seed's name).
    @discardableResult
    mutating func answerDial(_ name: String, dialledAt: PeerAddress? = nil, epoch: Epoch = 1,
                             versions: ClosedRange<UInt8> = WireFormat.versions) -> LinkID {
        let link = newLink(for: name)
        handle(.linkOpened(link, .outbound(dialledAt ?? Self.address(name))))
        handshake(from: name, epoch: epoch, versions: versions, on: link)
        return link
    }

    /// The two set-up frames a peer speaking `versions` sends first.
    mutating func handshake(from name: String, epoch: Epoch = 1, versions: ClosedRange<UInt8> = WireFormat.versions, on link: LinkID) {
        receive(.handshake(Handshake(version: versions.upperBound, sender: Self.peer(name), epoch: epoch)), on: link)
        receive(.versions(VersionOffer(versions)), on: link)
    }

    /// The connect the node asked for fails.
    mutating func failDial(_ name: String) {
        handle(.connectFailed(Self.address(name), reason: "refused"))
    }

    /// The peer's link breaks (or the peer closes it).
    mutating func peerCloses(_ name: String) {
        guard let link = link(name) else {
            Issue.record("no open link to \(name)")
            return
        }
        forget(link)
        handle(.linkClosed(link, reason: "closed by peer"))
    }

    /// The link open to `name` (the latest, if there are two).
    func link(_ name: String) -> LinkID? { openLinks.last { nameOfLink[$0] == name } }

    /// Makes `name` an active peer the way a peer asks in: its link, then its NEIGHBOR(high), accepted.
    mutating func makeActive(_ name: String, versions: ClosedRange<UInt8> = WireFormat.versions) {
        if link(name) == nil { connect(name, versions: versions) }
        receive(.neighbor(NeighborRequest(priority: .high)), from: name)
        if !active.contains(name) { Issue.record("\(name) did not become active") }
        take()
    }

    /// Puts names into the passive view, as a shuffle would have (no link, no effect).
    mutating func addPassive(_ names: [String], age: UInt16 = 0) {
        for name in names { node.passive.insert(Self.peer(name), age: age) }
        checkInvariants()
    }

    /// The peer stops pushing to the node (its PRUNE): the node makes it lazy.
    mutating func makeLazy(_ name: String) {
        receive(.prune, from: name)
        take()
    }

    // MARK: Frames in

    mutating func receive(_ message: Message, from name: String) {
        guard let link = link(name) else {
            Issue.record("no open link to \(name) for \(message.type)")
            return
        }
        receive(message, on: link)
    }

    mutating func receive(_ message: Message, on link: LinkID) {
        handle(.received(link, message))
    }

    // MARK: What the node did since the last look

    /// Returns the effects since the last look and forgets them.
    @discardableResult
    mutating func take() -> [NodeEffect] {
        defer { effects.removeAll() }
        return effects
    }

    var sent: [SentFrame] {
        effects.compactMap { effect in
            guard case .send(let link, let message) = effect else { return nil }
            return SentFrame(to: nameOfLink[link] ?? "\(link)", message: message)
        }
    }

    func sent(to name: String) -> [Message] { sent.filter { $0.to == name }.map(\.message) }
    func sent(on link: LinkID) -> [Message] {
        effects.compactMap { effect in
            guard case .send(link, let message) = effect else { return nil }
            return message
        }
    }
    func sent(ofType type: MessageType) -> [SentFrame] { sent.filter { $0.message.type == type } }

    /// Links the node closed, in order.
    var closedLinks: [LinkID] {
        effects.compactMap { effect in
            guard case .close(let link, _) = effect else { return nil }
            return link
        }
    }

    /// The names the node asked the driver to connect to, in order.
    var dialed: [String] {
        effects.compactMap { effect in
            guard case .connect(let address) = effect else { return nil }
            return address.host
        }
    }

    /// The delays `timer` was armed with.
    func armed(_ timer: NodeTimer) -> [Duration] {
        effects.compactMap { effect in
            guard case .armTimer(timer, let delay) = effect else { return nil }
            return delay
        }
    }

    var cancelledTimers: [NodeTimer] {
        effects.compactMap { effect in
            guard case .cancelTimer(let timer) = effect else { return nil }
            return timer
        }
    }

    var delivered: [Delivery] {
        effects.compactMap { effect in
            guard case .deliver(let delivery) = effect else { return nil }
            return delivery
        }
    }

    // MARK: The node's state, by name

    var active: [String] { node.activePeerIDs.map(\.rawValue) }
    var passive: [String] { node.passive.entries.map(\.peer.id.rawValue) }
    func passiveAge(_ name: String) -> UInt16? { node.passive.entries.first { $0.peer.id.rawValue == name }?.age }
    var eager: [String] { node.plumtree.eager.map(\.rawValue) }
    var lazy: [String] { node.plumtree.lazy.map(\.rawValue) }
    var counters: NodeStatus.Counters { node.status(at: now).counters }

    // MARK: Helpers

    /// An id of a message from `origin` (epoch 1).
    static func messageID(_ origin: String, _ sequence: UInt64) -> MessageID {
        MessageID(origin: NodeID(origin)!, epoch: 1, sequence: sequence)
    }

    /// A GOSSIP frame carrying message `sequence` of `origin` at `round`.
    static func gossip(_ origin: String, _ sequence: UInt64, round: UInt32, payload: [UInt8] = [7]) -> Message {
        .gossip(Gossip(id: messageID(origin, sequence), round: round, payload: payload))
    }

    /// A shuffle entry for `name`.
    static func entry(_ name: String, age: UInt16 = 0) -> ShuffleEntry { ShuffleEntry(peer: peer(name), age: age) }

    private mutating func newLink(for name: String) -> LinkID {
        lastLinkNumber += 1
        let link = LinkID(lastLinkNumber)
        nameOfLink[link] = name
        openLinks.append(link)
        return link
    }

    private mutating func forget(_ link: LinkID) { openLinks.removeAll { $0 == link } }

    private mutating func record(_ new: [NodeEffect]) {
        for effect in new {
            switch effect {
            case .armTimer(let timer, let delay): armedTimers[timer] = now + delay
            case .cancelTimer(let timer): armedTimers[timer] = nil
            case .close(let link, _): forget(link)
            case .connect, .send, .setWireVersion, .deliver, .memberEvent: break
            }
        }
        effects += new
        checkInvariants()
    }

    /// Records an issue when the node's own consistency checks fail; run after every step.
    func checkInvariants(sourceLocation: SourceLocation = #_sourceLocation) {
        for violation in node.invariantViolations() { Issue.record("\(violation)", sourceLocation: sourceLocation) }
    }
}

/// The fields of each kind of frame, for specs that look inside one.
extension Message {
    var forwardJoin: ForwardJoin? { if case .forwardJoin(let value) = self { value } else { nil } }
    var neighbor: NeighborRequest? { if case .neighbor(let value) = self { value } else { nil } }
    var neighborReply: NeighborReply? { if case .neighborReply(let value) = self { value } else { nil } }
    var disconnect: Disconnect? { if case .disconnect(let value) = self { value } else { nil } }
    var shuffle: Shuffle? { if case .shuffle(let value) = self { value } else { nil } }
    var shuffleReply: ShuffleReply? { if case .shuffleReply(let value) = self { value } else { nil } }
    var gossip: Gossip? { if case .gossip(let value) = self { value } else { nil } }
    var iHave: IHave? { if case .iHave(let value) = self { value } else { nil } }
    var graft: Graft? { if case .graft(let value) = self { value } else { nil } }
    var digest: Digest? { if case .digest(let value) = self { value } else { nil } }
    var pull: Digest? { if case .pull(let value) = self { value } else { nil } }
    var rejection: HandshakeRejection? { if case .handshakeRejected(let value) = self { value } else { nil } }
    var sampleWalk: SampleWalk? { if case .sampleWalk(let value) = self { value } else { nil } }
    var sampleReply: SampleReply? { if case .sampleReply(let value) = self { value } else { nil } }
}

extension Array where Element == ShuffleEntry {
    /// The names and ages of the entries, as a set (shuffle samples come in random order).
    var namesAndAges: Set<String> { Set(map { "\($0.peer.id):\($0.age)" }) }
}

/// Frames the specs write often, by what they say.
extension Message {
    static let accepted = Message.neighborReply(NeighborReply(accepted: true))
    static let refused = Message.neighborReply(NeighborReply(accepted: false))

    /// NEIGHBOR at `priority`, naming `handoff` when the sender rotates.
    static func request(_ priority: NeighborRequest.Priority, handoff: String? = nil) -> Message {
        .neighbor(NeighborRequest(priority: priority, handoff: handoff.map(NodeHarness.peer)))
    }

    /// FORWARDJOIN for the joiner called `name`.
    static func joinWalk(of name: String, ttl: UInt8) -> Message {
        .forwardJoin(ForwardJoin(joiner: NodeHarness.peer(name), ttl: ttl))
    }

    /// An IHAVE announcing the given ids of origin `origin` at `round`.
    static func announcing(_ origin: String, _ sequences: [UInt64], round: UInt32) -> Message {
        .iHave(IHave(announcements: sequences.map { Announcement(id: NodeHarness.messageID(origin, $0), round: round) }))
    }

    /// A DIGEST of one origin's epoch-1 ranges; `pull` is the same list asked for.
    static func digest(_ origin: String, _ ranges: [ClosedRange<UInt64>]) -> Message {
        .digest(Digest(entries: [DigestEntry(origin: NodeID(origin)!, epoch: 1, ranges: ranges)]))
    }

    static func pull(_ origin: String, _ ranges: [ClosedRange<UInt64>]) -> Message {
        .pull(Digest(entries: [DigestEntry(origin: NodeID(origin)!, epoch: 1, ranges: ranges)]))
    }
}
