import Logging
import RumorCore

/// One share of the simulated nodes (node `index` lives in shard `index % count`, `count` a power of two) with
/// its own event queue,
/// link ends and tallies, so that shards can run side by side on separate threads. Nothing a shard does
/// depends on how the nodes are split: every event is ordered by (time, node that caused it, that node's
/// own counter), latency and loss are drawn from the causing node's own random stream, and link ids carry
/// the index of the node that dialled. Whatever a node does reaches another node no sooner than the
/// shortest link latency, so within a window that short the shards cannot affect each other.
struct NetworkShard {
    enum Action {
        case event(Int, NodeEvent)
        case timer(Int, NodeTimer, generation: UInt64)
        /// A connect reached its target: the target's end of the link comes into being.
        case linkArrived(Int, LinkArrival)
    }

    typealias Item = EventQueue<Action>.Item

    struct LinkArrival {
        var link: LinkID
        var peerEnd: LinkID
        var dialler: Int
        var latency: Duration
    }

    struct LinkEnd {
        var owner: Int
        var peerEnd: LinkID
        var peer: Int
        var latency: Duration
    }

    /// What this shard's nodes saw of one broadcast.
    struct Tally {
        /// Deliveries per local node (saturating at 255).
        var deliveries: [UInt8]
        var delivered = 0
        var payloadFrames = 0
        var lastDeliveryAt: Timestamp
        var largestRound: UInt32 = 0
    }

    let number: Int
    let count: Int
    /// log2 of `count`: a shift finds a node's place here, and divisions showed in profiles.
    private let countShift: Int
    var directory = NetworkDirectory()
    var now = Timestamp.zero
    var recordsMessages = false
    var recordsDeliveries = false
    var recordsMemberEvents = false
    private(set) var directoryBytesSent = 0
    mutating func clearMemberEventLog() { memberEventLog.removeAll() }
    private(set) var memberEventLog: [(index: Int, event: MemberEvent, at: Timestamp)] = []
    /// Whether nodes check their invariants after every event, and the shard checks exactly-once delivery.
    var checksInvariants = false
    /// Violations gathered from this shard's nodes and deliveries, in the order found.
    private(set) var invariantViolations: [InvariantViolation] = []
    /// Checks made by nodes that have since crashed or been replaced.
    private var retiredInvariantChecks = 0
    /// Frames, connects and link notices scheduled and not yet handled, counted where they were scheduled and
    /// where they were handled: the sum over all shards is what is in flight in the whole network.
    private(set) var inFlight = 0
    /// The earliest time of the next quiet-point check (single shard: the shard checks itself).
    private var nextQuietCheck = Timestamp.zero
    private(set) var sent: [(from: PeerAddress, to: PeerAddress?, at: Timestamp, message: Message)] = []
    private(set) var deliveryLog: [(index: Int, id: MessageID, at: Timestamp)] = []
    private(set) var eventsProcessed = 0
    private(set) var tallies: [MessageID: Tally] = [:]

    /// A node with what the network keeps for it: its random stream for latency and loss, and the counter
    /// behind its event order keys and link ids. Side by side, so that one event touches one place.
    struct Resident {
        var node: Node
        var random: SeededRandom
        var serial: UInt64 = 0
        /// Deliveries counted before the node's latest start, for the checked messages it delivered in an
        /// earlier life (a restarted node may deliver them once more).
        var deliveriesBeforeRestart: [MessageID: UInt8] = [:]
        /// What reached the node while it was frozen, in order: frames, link notices, its own timers.
        var heldWhileFrozen: [NodeEvent] = []
    }

    private(set) var residents: [Resident] = []
    private var timerGenerations = TimerGenerations()
    /// The link ends each local node owns, so that a crash closes them without scanning every link.
    private var linksByOwner: [Set<LinkID>] = []
    private var linkEnds = LinkEndTable<LinkEnd>()
    private var queue = EventQueue<Action>()
    /// What this shard's nodes sent to other shards' nodes, per destination shard, not yet handed over.
    var outgoing: [[Item]]
    /// The earliest time among `outgoing[shard]`.
    var outgoingEarliest: [UInt64]
    /// This shard's own copy of every payload that came from another shard (see `receive`).
    private var payloadCopies: [MessageID: [UInt8]] = [:]

    init(number: Int, of count: Int) {
        precondition(count > 0 && count & (count - 1) == 0, "shards come in powers of two")
        self.number = number
        self.count = count
        countShift = count.trailingZeroBitCount
        outgoing = Array(repeating: [], count: count)
        outgoingEarliest = Array(repeating: .max, count: count)
    }

    func local(_ index: Int) -> Int { index >> countShift }
    func shard(of index: Int) -> Int { index & (count - 1) }
    func node(_ index: Int) -> Node { residents[local(index)].node }
    var nextTime: UInt64? { queue.nextTime?.nanoseconds }

    // MARK: Nodes

    mutating func append(_ node: Node, randomSeed: UInt64) {
        var node = node
        node.checksInvariants = checksInvariants
        residents.append(Resident(node: node, random: SeededRandom(seed: randomSeed)))
        timerGenerations.addNode()
        linksByOwner.append([])
        for id in tallies.keys { tallies[id]!.deliveries.append(0) }
    }

    /// Puts `node` in place of whatever ran at `index` before, and starts it now.
    mutating func start(_ node: Node, at index: Int) {
        let position = local(index)
        retire(position)
        if checksInvariants {
            residents[position].deliveriesBeforeRestart = [:]
            for (id, tally) in tallies where tally.deliveries[position] > 0 { residents[position].deliveriesBeforeRestart[id] = tally.deliveries[position] }
        }
        residents[position].node = node
        residents[position].node.checksInvariants = checksInvariants
        residents[position].heldWhileFrozen = []
        timerGenerations.reset(local(index))
        schedule(.event(index, .start), for: index, at: now, from: index)
    }

    /// Kills node `index` (already marked down): its peers' kernels see its links reset.
    mutating func crash(_ index: Int, blank: Node) {
        let position = local(index)
        timerGenerations.reset(position)
        for link in linksByOwner[position].sorted() {
            guard let end = linkEnds.removeValue(forKey: link) else { continue }
            schedule(.event(end.peer, .linkClosed(end.peerEnd, reason: "connection reset")), for: end.peer,
                     at: now + end.latency, from: index)
        }
        linksByOwner[position] = []
        retire(position)
        residents[position].node = blank
        residents[position].heldWhileFrozen = []
    }

    /// A thawed node (already marked so) handles, now and in order, everything held for it while frozen: its
    /// timers fire late, as a stopped process's do.
    mutating func thaw(_ index: Int) {
        let held = residents[local(index)].heldWhileFrozen
        residents[local(index)].heldWhileFrozen = []
        for event in held { deliver(event, to: index) }
    }

    /// Keeps what the node at `position` checked and found before it is replaced.
    private mutating func retire(_ position: Int) {
        retiredInvariantChecks += residents[position].node.invariantChecks
        invariantViolations += residents[position].node.takeInvariantViolations()
    }

    /// Invariant checks made by this shard's nodes, the replaced ones included.
    var invariantChecks: Int { residents.reduce(retiredInvariantChecks) { $0 + $1.node.invariantChecks } }

    mutating func record(_ violations: [InvariantViolation]) { invariantViolations += violations }

    /// Node `index` publishes now; the driver carries out the effects once the message is tracked.
    mutating func publish(_ payload: [UInt8], at index: Int) throws(PublishError) -> (MessageID, [NodeEffect]) {
        let published = try residents[local(index)].node.publish(payload, at: now)
        gatherViolations(at: local(index))
        return published
    }

    mutating func setTags(_ tags: [String: String], deleting keys: [String], at index: Int) throws(DirectoryError) -> [NodeEffect] {
        let effects = try residents[local(index)].node.setTags(tags, deleting: keys, at: now)
        gatherViolations(at: local(index))
        return effects
    }

    private mutating func gatherViolations(at position: Int) {
        if checksInvariants, !residents[position].node.invariantViolationsFound.isEmpty {
            invariantViolations += residents[position].node.takeInvariantViolations()
        }
    }

    mutating func carryOut(_ effects: [NodeEffect], from index: Int) {
        for effect in effects { carryOut(effect, from: index) }
    }

    mutating func forgetTimers(of index: Int) { timerGenerations.reset(local(index)) }

    mutating func samplePeers(at index: Int, count: Int) -> [PeerSample] {
        let (samples, effects) = residents[local(index)].node.samplePeers(count, at: now)
        gatherViolations(at: local(index))
        carryOut(effects, from: index)
        return samples
    }

    mutating func viewDrawPeers(at index: Int, count: Int) -> [PeerDescriptor] { residents[local(index)].node.viewDrawPeers(count) }

    mutating func track(_ id: MessageID, publishedAt: Timestamp) {
        tallies[id] = Tally(deliveries: [UInt8](repeating: 0, count: residents.count), lastDeliveryAt: publishedAt)
    }

    /// Links open now take conditions drawn afresh where conditions now apply to them.
    mutating func reshapeOpenLinks() {
        for (link, end) in linkEnds.sortedEntries {
            guard let conditions = directory.shapedConditions(end.owner, end.peer) else { continue }
            linkEnds[link]!.latency = conditions.delay(using: &residents[local(end.owner)].random)
        }
    }

    func links(of index: Int) -> [LinkEnd] { linksByOwner[local(index)].sorted().compactMap { linkEnds[$0] } }

    // MARK: Running

    /// Takes over what other shards sent here. A payload is one buffer shared by every node that holds the
    /// message, and its reference count would bounce between the threads' caches on every retain and
    /// release (a third more time per event in a profile): each shard's nodes share a copy of their own.
    mutating func receive(_ items: inout [Item]) {
        for var item in items {
            if case .event(let index, .received(let link, .gossip(var gossip))) = item.action {
                gossip.payload = localCopy(of: gossip.payload, for: gossip.id)
                item.action = .event(index, .received(link, .gossip(gossip)))
            }
            queue.push(item)
        }
        items.removeAll(keepingCapacity: true)
    }

    private mutating func localCopy(of payload: [UInt8], for id: MessageID) -> [UInt8] {
        if let copy = payloadCopies[id], copy == payload { return copy }
        let copy = payload.withUnsafeBufferPointer { Array($0) }
        payloadCopies[id] = copy
        return copy
    }

    /// Runs every event due before `end` (nanoseconds, exclusive).
    mutating func run(until end: UInt64) {
        while let due = queue.nextTime, due.nanoseconds < end, let next = queue.pop() {
            now = next.at
            eventsProcessed += 1
            switch next.action {
            case .event(let index, let event):
                inFlight -= 1
                deliver(event, to: index)
            case .timer(let index, let timer, let generation):
                guard timerGenerations[local(index), timer] == generation else { continue }
                timerGenerations[local(index), timer] = nil
                deliver(.timerFired(timer), to: index)
            case .linkArrived(let index, let arrival):
                inFlight -= 1
                linkArrived(arrival, at: index)
            }
            if checksInvariants, count == 1, inFlight == 0, now >= nextQuietCheck { checkQuietPoint() }
        }
    }

    /// Nothing is in flight anywhere (this shard holds every node): the global and deep invariants must hold.
    /// At most once per `QuietPointCheck.spacing`, so that a small quiet network is not checked on every timer.
    mutating func checkQuietPoint() {
        nextQuietCheck = now + QuietPointCheck.spacing(nodes: directory.addressOf.count)
        invariantViolations += QuietPointCheck.violations(at: now, directory: directory) { self.residents[self.local($0)].node }
    }

    private mutating func linkArrived(_ arrival: LinkArrival, at index: Int) {
        guard !directory.isDown[index] else {
            schedule(.event(arrival.dialler, .linkClosed(arrival.peerEnd, reason: "connection reset")), for: arrival.dialler,
                     at: now + arrival.latency, from: index)
            return
        }
        linkEnds[arrival.link] = LinkEnd(owner: index, peerEnd: arrival.peerEnd, peer: arrival.dialler, latency: arrival.latency)
        linksByOwner[local(index)].insert(arrival.link)
        deliver(.linkOpened(arrival.link, .inbound(remote: directory.addressOf[arrival.dialler].host)), to: index)
    }

    /// Feeds node `index` an event (from the queue, or from the driver: a stop) unless it is down, and
    /// carries out what it asks.
    mutating func deliver(_ event: NodeEvent, to index: Int) {
        guard !directory.isDown[index] else { return }
        guard !directory.isFrozen[index] else {
            residents[local(index)].heldWhileFrozen.append(event)
            return
        }
        switch event {
        case .received(_, .gossip(let gossip)):
            // Frames in flight on a link this end closed meanwhile reach the node, which ignores them (as
            // the runtime would never see them): looking the link up here costs a cache miss per frame.
            tallies[gossip.id]?.payloadFrames += 1
        case .linkClosed(let link, _):
            // The node closed this link itself before hearing that the peer did.
            guard let end = linkEnds.removeValue(forKey: link) else { return }
            linksByOwner[local(end.owner)].remove(link)
        default:
            break
        }
        var event = event
        if !directory.adversaries.isEmpty, let adversary = directory.adversaries[index], case .received(let link, let message) = event {
            event = .received(link, adversary.intercept(message))
        }
        // Mutated in place: copying a node out of the array would copy its caches on every event.
        let effects = residents[local(index)].node.handle(event, at: now)
        gatherViolations(at: local(index))
        for effect in effects { carryOut(effect, from: index) }
    }

    /// The next order key of an action caused by node `source`: unique, and the same however nodes are split.
    private mutating func nextOrder(from source: Int) -> UInt64 {
        let position = local(source)
        residents[position].serial += 1
        return UInt64(source + 1) << 40 | residents[position].serial
    }

    private mutating func schedule(_ action: Action, for target: Int, at: Timestamp, from source: Int) {
        let item = Item(at: at, order: nextOrder(from: source), action: action)
        inFlight += 1
        let shard = shard(of: target)
        if shard == number {
            queue.push(item)
        } else {
            outgoing[shard].append(item)
            outgoingEarliest[shard] = min(outgoingEarliest[shard], at.nanoseconds)
        }
    }

    private mutating func carryOut(_ effect: NodeEffect, from index: Int) {
        switch effect {
        case .connect(let target):
            // Across a partition nothing answers, not even a dead host's kernel: the dial times out.
            if let targetIndex = directory.indexOf[target], directory.separated(index, targetIndex) {
                schedule(.event(index, .connectFailed(target, reason: "timed out")), for: index,
                         at: now + directory.connectTimeout, from: index)
                return
            }
            guard let targetIndex = directory.indexOf[target], !directory.isDown[targetIndex] else {
                let delay = directory.latency.draw(using: &residents[local(index)].random)
                schedule(.event(index, .connectFailed(target, reason: "connection refused", refused: true)), for: index, at: now + delay, from: index)
                return
            }
            let latency = directory.shapedConditions(index, targetIndex)?.delay(using: &residents[local(index)].random)
                ?? directory.latency.draw(using: &residents[local(index)].random)
            // Both ends' ids come from the dialler's counter, with its index in the high bits: unique network-wide.
            let localEnd = LinkID(nextOrder(from: index))
            let remoteEnd = LinkID(nextOrder(from: index))
            linkEnds[localEnd] = LinkEnd(owner: index, peerEnd: remoteEnd, peer: targetIndex, latency: latency)
            linksByOwner[local(index)].insert(localEnd)
            schedule(.event(index, .linkOpened(localEnd, .outbound(target))), for: index, at: now + latency, from: index)
            schedule(.linkArrived(targetIndex, LinkArrival(link: remoteEnd, peerEnd: localEnd, dialler: index, latency: latency)),
                     for: targetIndex, at: now + latency, from: index)
        case .send(let link, var message):
            if !directory.adversaries.isEmpty, let adversary = directory.adversaries[index] {
                message = adversary.rewrite(message, using: &residents[local(index)].random)
            }
            let end = linkEnds[link]
            if recordsMessages {
                sent.append((directory.addressOf[index], end.map { directory.addressOf[$0.peer] }, now, message))
            }
            if message.channel == .directory { directoryBytesSent += MessageCodec.frameSize(of: message) }
            guard let end, !directory.separated(index, end.peer) else { return }
            let loss = directory.lossRate(index, end.peer)
            if loss > 0, Double.random(in: 0..<1, using: &residents[local(index)].random) < loss { return }
            schedule(.event(end.peer, .received(end.peerEnd, message)), for: end.peer, at: now + end.latency, from: index)
        case .setWireVersion:
            break  // Frames travel as values here: no header to write.
        case .memberEvent(let event):
            if recordsMemberEvents { memberEventLog.append((index, event, now)) }
        case .close(let link, let reason):
            guard let end = linkEnds.removeValue(forKey: link) else { return }
            linksByOwner[local(index)].remove(link)
            if !directory.separated(index, end.peer) {
                schedule(.event(end.peer, .linkClosed(end.peerEnd, reason: "peer closed: \(reason)")), for: end.peer,
                         at: now + end.latency, from: index)
            }
        case .armTimer(let timer, let delay):
            let order = nextOrder(from: index)
            timerGenerations[local(index), timer] = order
            queue.push(Item(at: now + delay, order: order, action: .timer(index, timer, generation: order)))
        case .cancelTimer(let timer):
            timerGenerations[local(index), timer] = nil
        case .deliver(let delivery):
            if recordsDeliveries { deliveryLog.append((index, delivery.id, now)) }
            // In place: a copy of the tally would copy its per-node array on every delivery.
            let (position, now) = (local(index), now)
            tallies[delivery.id]?.record(at: position, round: delivery.round, now: now)
            if checksInvariants, let count = tallies[delivery.id]?.deliveries[position],
               Int(count) - Int(residents[position].deliveriesBeforeRestart[delivery.id] ?? 0) > 1 {
                invariantViolations.append(InvariantViolation(.deliveredExactlyOnce, node: residents[position].node.identity.id,
                                                              detail: "delivered \(delivery.id) \(count) times"))
            }
        }
    }
}

extension NetworkShard.Tally {
    mutating func record(at position: Int, round: UInt32, now: Timestamp) {
        if deliveries[position] < 255 { deliveries[position] += 1 }
        delivered += 1
        lastDeliveryAt = max(lastDeliveryAt, now)
        largestRound = max(largestRound, round)
    }
}
