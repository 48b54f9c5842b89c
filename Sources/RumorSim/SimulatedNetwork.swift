import RumorTopology
import Logging
import RumorCore

/// Rumor's core nodes wired together in memory, in virtual time: the same `Node` state machines the runtime
/// drives, with only the network and the clock simulated. Links open after their latency, frames arrive in
/// order, timers fire when their time comes. A crashed node's links close at its peers (as the kernel does
/// for a killed process); a partition silently drops whatever crosses it and makes connects across it time
/// out. The same seeds give the same run, event for event.
public struct SimulatedNetwork {
    private enum Action {
        case event(Int, NodeEvent)
        case timer(Int, NodeTimer, generation: Int)
    }

    private struct LinkEnd {
        var owner: Int
        var peerEnd: LinkID
        var peer: Int
        var latency: Duration
    }

    /// What the network saw of one broadcast.
    public struct MessageRecord: Sendable {
        public var origin: Int
        public var publishedAt: Timestamp
        /// Deliveries per node index (saturating at 255).
        public var deliveries: [UInt8]
        public var delivered = 0
        public var payloadFrames = 0
        public var lastDeliveryAt: Timestamp
        public var largestRound: UInt32 = 0

        mutating func recordDelivery(at index: Int, round: UInt32, now: Timestamp) {
            if deliveries[index] < 255 { deliveries[index] += 1 }
            delivered += 1
            lastDeliveryAt = now
            largestRound = max(largestRound, round)
        }
    }

    public var latency: LatencyModel = .fixed(.milliseconds(1))
    public var connectTimeout: Duration = .seconds(2)
    /// Share of frames silently lost on every link (membership and broadcast alike).
    public var lossRate = 0.0
    public private(set) var now = Timestamp.zero
    /// Every message sent, when `recordsMessages` is on (for small tests).
    public var recordsMessages = false
    public private(set) var sent: [(from: PeerAddress, to: PeerAddress?, at: Timestamp, message: Message)] = []
    public private(set) var messages: [MessageID: MessageRecord] = [:]
    /// Every delivery with its node and time, when `recordsDeliveries` is on (topology runs).
    public var recordsDeliveries = false
    public private(set) var deliveryLog: [(index: Int, id: MessageID, at: Timestamp)] = []
    /// Conditions for every link that touches a node ("slow links" of a topology), instead of `latency`
    /// and `lossRate`.
    private var shapedNodes: [Int: LinkConditions] = [:]
    private var shapedPairs: [PairKey: LinkConditions] = [:]
    public private(set) var eventsProcessed = 0

    private var nodes: [Node] = []
    private var addressOf: [PeerAddress] = []
    private var indexOf: [PeerAddress: Int] = [:]
    private var isDown: [Bool] = []
    private var group: [Int]?
    private var linkEnds = LinkEndTable<LinkEnd>()
    /// The link ends each node owns, so that a crash closes them without scanning every link.
    private var linksByOwner: [Set<LinkID>] = []
    private var nextLink: UInt64 = 1
    private var queue = EventQueue<Action>()
    private var order = 0
    private var timerGenerations = TimerGenerations()
    private var random: SeededRandom
    private let quietLogger: Logger

    public init(seed: UInt64 = 0x5EED) {
        random = SeededRandom(seed: seed)
        var logger = Logger(label: "rumor.sim")
        logger.logLevel = .critical
        quietLogger = logger
    }

    // MARK: Nodes

    public var addresses: [PeerAddress] { addressOf.sorted() }
    public var liveAddresses: [PeerAddress] { addresses.filter { !isDown[indexOf[$0]!] } }
    public var liveCount: Int { isDown.filter { !$0 }.count }
    public var nodeCount: Int { nodes.count }

    public func isUp(_ address: PeerAddress) -> Bool { indexOf[address].map { !isDown[$0] } ?? false }
    public func node(at address: PeerAddress) -> Node { nodes[indexOf[address]!] }
    public func index(of address: PeerAddress) -> Int? { indexOf[address] }
    public func address(of index: Int) -> PeerAddress { addressOf[index] }

    /// Starts a node (a new one, or a crashed one again with its new configuration).
    public mutating func add(_ configuration: NodeConfiguration, seed: UInt64) {
        let address = configuration.identity.address
        let node = Node(configuration: configuration, randomSeed: seed, logger: quietLogger)
        let index: Int
        if let existing = indexOf[address] {
            index = existing
            nodes[index] = node
        } else {
            index = nodes.count
            nodes.append(node)
            addressOf.append(address)
            indexOf[address] = index
            isDown.append(false)
            timerGenerations.addNode()
            linksByOwner.append([])
            for key in messages.keys { messages[key]!.deliveries.append(0) }
        }
        isDown[index] = false
        timerGenerations.reset(index)
        schedule(.event(index, .start), after: .zero)
    }

    /// Kills a node as SIGKILL does: it stops at once and the kernel closes its links at the other ends.
    public mutating func crash(_ address: PeerAddress) {
        guard let index = indexOf[address], !isDown[index] else { return }
        isDown[index] = true
        timerGenerations.reset(index)
        for link in linksByOwner[index].sorted() {
            guard let end = linkEnds.removeValue(forKey: link) else { continue }
            linkEnds[end.peerEnd] = nil
            linksByOwner[end.peer].remove(end.peerEnd)
            schedule(.event(end.peer, .linkClosed(end.peerEnd, reason: "connection reset")), after: end.latency)
        }
        linksByOwner[index] = []
        // A killed process's memory is gone: keeping its caches would hold half the run's message state
        // after a 50% failure (gigabytes at 100,000 nodes). A restart replaces the node anyway.
        nodes[index] = Node(configuration: nodes[index].configuration, randomSeed: 0, logger: quietLogger)
    }

    /// Stops a node gracefully: it says DISCONNECT to its peers, closes its links, and is then gone.
    public mutating func stopNode(_ address: PeerAddress) {
        guard let index = indexOf[address] else { return }
        deliver(.stop, to: index)
        isDown[index] = true
        timerGenerations.reset(index)
    }

    public mutating func partition(into groups: [[PeerAddress]]) {
        var assignment = [Int](repeating: -1, count: nodes.count)
        for (number, members) in groups.enumerated() {
            for address in members { if let index = indexOf[address] { assignment[index] = number } }
        }
        group = assignment
    }

    public mutating func heal() { group = nil }

    /// From now on, links touching these nodes (or, with `onlyAmong`, links between two of them) have these
    /// conditions; links already open take the new latency for frames sent from now on.
    public mutating func shapeLinks(of addresses: [PeerAddress], _ conditions: LinkConditions, onlyAmong: Bool = false) {
        let indices = addresses.compactMap { indexOf[$0] }
        if onlyAmong {
            for a in indices { for b in indices where a < b { shapedPairs[PairKey(a, b)] = conditions } }
        } else {
            for index in indices { shapedNodes[index] = conditions }
        }
        for (link, end) in linkEnds.sortedEntries where shapedConditions(end.owner, end.peer) != nil {
            linkEnds[link]!.latency = shapedLatency(end.owner, end.peer) ?? end.latency
        }
    }

    /// The two ends of a link, smaller index first.
    private struct PairKey: Hashable {
        var low: Int
        var high: Int
        init(_ a: Int, _ b: Int) { (low, high) = (min(a, b), max(a, b)) }
    }

    private func shapedConditions(_ a: Int, _ b: Int) -> LinkConditions? {
        shapedPairs.isEmpty ? (shapedNodes[a] ?? shapedNodes[b]) : (shapedPairs[PairKey(a, b)] ?? shapedNodes[a] ?? shapedNodes[b])
    }

    private mutating func shapedLatency(_ a: Int, _ b: Int) -> Duration? {
        shapedConditions(a, b)?.delay(using: &random)
    }

    private func lossRate(_ a: Int, _ b: Int) -> Double {
        shapedConditions(a, b)?.loss ?? lossRate
    }

    private func separated(_ a: Int, _ b: Int) -> Bool {
        guard let group else { return false }
        return group[a] != group[b]
    }

    // MARK: Running

    public mutating func run(for duration: Duration) {
        let end = now + duration
        while let due = queue.nextTime, due <= end, let next = queue.pop() {
            now = next.at
            eventsProcessed += 1
            switch next.action {
            case .event(let index, let event):
                deliver(event, to: index)
            case .timer(let index, let timer, let generation):
                guard timerGenerations[index, timer] == generation else { continue }
                timerGenerations[index, timer] = nil
                deliver(.timerFired(timer), to: index)
            }
        }
        now = end
    }

    private mutating func schedule(_ action: Action, after delay: Duration) {
        order += 1
        queue.push(.init(at: now + delay, order: order, action: action))
    }

    private mutating func deliver(_ event: NodeEvent, to index: Int) {
        guard !isDown[index] else { return }
        if case .received(_, .gossip(let gossip)) = event { messages[gossip.id]?.payloadFrames += 1 }
        // Mutated in place: copying a node out of the array would copy its caches on every event.
        let effects = nodes[index].handle(event, at: now)
        for effect in effects { carryOut(effect, from: index) }
    }

    /// Publishes `payload` on the node at `address` now.
    @discardableResult
    public mutating func publish(_ payload: [UInt8], from address: PeerAddress) throws(PublishError) -> MessageID {
        let index = indexOf[address]!
        let (id, effects) = try nodes[index].publish(payload, at: now)
        messages[id] = MessageRecord(origin: index, publishedAt: now, deliveries: [UInt8](repeating: 0, count: nodes.count),
                                     lastDeliveryAt: now)
        for effect in effects { carryOut(effect, from: index) }
        return id
    }

    private mutating func carryOut(_ effect: NodeEffect, from index: Int) {
        switch effect {
        case .connect(let target):
            guard let targetIndex = indexOf[target], !isDown[targetIndex] else {
                schedule(.event(index, .connectFailed(target, reason: "connection refused")), after: latency.draw(using: &random))
                return
            }
            if separated(index, targetIndex) {
                schedule(.event(index, .connectFailed(target, reason: "timed out")), after: connectTimeout)
                return
            }
            let linkLatency = shapedLatency(index, targetIndex) ?? latency.draw(using: &random)
            let local = LinkID(nextLink)
            let remote = LinkID(nextLink + 1)
            nextLink += 2
            linkEnds[local] = LinkEnd(owner: index, peerEnd: remote, peer: targetIndex, latency: linkLatency)
            linkEnds[remote] = LinkEnd(owner: targetIndex, peerEnd: local, peer: index, latency: linkLatency)
            linksByOwner[index].insert(local)
            linksByOwner[targetIndex].insert(remote)
            schedule(.event(index, .linkOpened(local, .outbound(target))), after: linkLatency)
            schedule(.event(targetIndex, .linkOpened(remote, .inbound(remote: addressOf[index].host))), after: linkLatency)
        case .send(let link, let message):
            if recordsMessages { sent.append((addressOf[index], linkEnds[link].map { addressOf[$0.peer] }, now, message)) }
            guard let end = linkEnds[link], !separated(index, end.peer) else { return }
            let loss = lossRate(index, end.peer)
            if loss > 0, Double.random(in: 0..<1, using: &random) < loss { return }
            schedule(.event(end.peer, .received(end.peerEnd, message)), after: end.latency)
        case .close(let link, let reason):
            guard let end = linkEnds.removeValue(forKey: link) else { return }
            linkEnds[end.peerEnd] = nil
            linksByOwner[index].remove(link)
            linksByOwner[end.peer].remove(end.peerEnd)
            if !separated(index, end.peer) {
                schedule(.event(end.peer, .linkClosed(end.peerEnd, reason: "peer closed: \(reason)")), after: end.latency)
            }
        case .armTimer(let timer, let delay):
            order += 1
            timerGenerations[index, timer] = order
            queue.push(.init(at: now + delay, order: order, action: .timer(index, timer, generation: order)))
        case .cancelTimer(let timer):
            timerGenerations[index, timer] = nil
        case .deliver(let delivery):
            if recordsDeliveries { deliveryLog.append((index, delivery.id, now)) }
            // In place: a copy of the record would copy its per-node array on every delivery.
            messages[delivery.id]?.recordDelivery(at: index, round: delivery.round, now: now)
        }
    }

    // MARK: What the nodes hold

    /// How often the node at `address` delivered `id`.
    public func deliveryCount(of id: MessageID, at address: PeerAddress) -> Int {
        guard let index = indexOf[address], let record = messages[id], index < record.deliveries.count else { return 0 }
        return Int(record.deliveries[index])
    }

    /// Live nodes that did not deliver `id` exactly once.
    public func nodesMissing(_ id: MessageID) -> [PeerAddress] {
        guard let record = messages[id] else { return liveAddresses }
        return addressOf.indices.filter { !isDown[$0] && record.deliveries[$0] != 1 }.map { addressOf[$0] }
    }

    /// Deliveries of one message counted more than once, over all messages and nodes.
    public var duplicateDeliveries: Int {
        messages.values.reduce(0) { $0 + $1.deliveries.filter { $0 > 1 }.count }
    }

    /// Payload frames received by live nodes so far (RMR's numerator), from their own counters.
    public var payloadsReceived: Int {
        addressOf.indices.filter { !isDown[$0] }.reduce(0) { $0 + nodes[$1].status(at: now).counters.payloadsReceived }
    }

    /// Active views of the live nodes, by node index.
    public func activeAdjacency() -> [[Int]] {
        var byID: [NodeID: Int] = [:]
        for index in nodes.indices { byID[nodes[index].identity.id] = index }
        return nodes.indices.map { index in
            guard !isDown[index] else { return [] }
            let node = nodes[index]
            return node.activePeerIDs.compactMap { byID[$0] }
        }
    }

    public func isDown(index: Int) -> Bool { isDown[index] }

    /// Draws `count` peers from the live node `index`'s views, as an application would (advances its RNG).
    public mutating func samplePeers(at index: Int, count: Int) -> [Int] {
        guard !isDown[index] else { return [] }
        return nodes[index].samplePeers(count).compactMap { indexOf[$0.address] }
    }

    /// The latency of the open link from node `from` to node `to`, if there is one.
    public func linkLatency(from: Int, to: Int) -> Duration? {
        for link in linksByOwner[from] {
            if let end = linkEnds[link], end.peer == to { return end.latency }
        }
        return nil
    }

    /// Active views of the live nodes, by address.
    public func activeViews() -> [PeerAddress: [PeerAddress]] {
        let adjacency = activeAdjacency()
        var views: [PeerAddress: [PeerAddress]] = [:]
        for index in nodes.indices where !isDown[index] {
            views[addressOf[index]] = adjacency[index].map { addressOf[$0] }
        }
        return views
    }

    /// Pairs (A, B) where A holds B but B does not hold A.
    public func asymmetricPairs() -> [(PeerAddress, PeerAddress)] {
        let adjacency = activeAdjacency()
        var pairs: [(PeerAddress, PeerAddress)] = []
        for index in nodes.indices where !isDown[index] {
            for peer in adjacency[index] where !adjacency[peer].contains(index) { pairs.append((addressOf[index], addressOf[peer])) }
        }
        return pairs
    }

    /// Live nodes whose active view names a node that is down.
    public func viewsHoldingDeadPeers() -> [PeerAddress] {
        let adjacency = activeAdjacency()
        return nodes.indices.filter { !isDown[$0] && adjacency[$0].contains { isDown[$0] } }.map { addressOf[$0] }.sorted()
    }

    /// Connected components of the live nodes over active links (taken as undirected).
    public func components() -> [[PeerAddress]] {
        OverlayGraph(adjacency: activeAdjacency(), live: isDown.map { !$0 }).components().map { $0.map { addressOf[$0] } }
    }
}

extension PeerAddress {
    /// The address of simulated node `index`: its own loopback host, port 7000.
    public static func local(_ index: Int) -> PeerAddress {
        PeerAddress(host: "127.\(index / 62_500 % 256).\(index / 250 % 250).\(index % 250 + 1)", port: 7000)
    }
}

/// The configuration of simulated node `index`.
public func simulatedConfiguration(_ index: Int, seeds: [Int], epoch: Epoch = 1) -> NodeConfiguration {
    NodeConfiguration(identity: PeerDescriptor(id: NodeID("n\(index)")!, address: .local(index)),
                      epoch: epoch, seeds: seeds.map(PeerAddress.local))
}
