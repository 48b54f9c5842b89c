import Logging
@testable import RumorCore

/// A binary min-heap of scheduled actions, ordered by time then by scheduling order (so runs are
/// deterministic).
struct EventQueue<Action> {
    struct Item {
        var at: Timestamp
        var order: Int
        var action: Action
    }

    private var items: [Item] = []

    var isEmpty: Bool { items.isEmpty }
    var first: Item? { items.first }

    private func before(_ a: Int, _ b: Int) -> Bool {
        (items[a].at, items[a].order) < (items[b].at, items[b].order)
    }

    mutating func push(_ item: Item) {
        items.append(item)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard before(child, parent) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Item? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < items.count, before(left, smallest) { smallest = left }
            if right < items.count, before(right, smallest) { smallest = right }
            guard smallest != parent else { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }
}

/// Core nodes wired together in memory, in virtual time: links open after `latency`, frames arrive in
/// order after `latency`, timers fire when their time comes. A crashed node's links close at its peers (as
/// the kernel does for a killed process); a partition silently drops whatever crosses it and makes
/// connects across it time out. Deterministic for given seeds.
struct InMemoryNetwork {
    private enum Action {
        case event(PeerAddress, NodeEvent)
        case timer(PeerAddress, NodeTimer, generation: Int)
    }

    private struct LinkEnd {
        var owner: PeerAddress
        var peerEnd: LinkID
        var peer: PeerAddress
    }

    var latency: Duration = .milliseconds(1)
    var connectTimeout: Duration = .seconds(2)
    private(set) var now = Timestamp.zero
    private(set) var nodes: [PeerAddress: Node] = [:]
    private(set) var down: Set<PeerAddress> = []
    /// Group of each address while a partition holds; nil when the network is whole.
    private var partition: [PeerAddress: Int]?
    private var linkEnds: [LinkID: LinkEnd] = [:]
    private var nextLink: UInt64 = 1
    private var queue = EventQueue<Action>()
    private var order = 0
    private var timerGenerations: [PeerAddress: [NodeTimer: Int]] = [:]
    /// Share of frames silently lost on every link (membership and broadcast alike).
    var lossRate = 0.0
    private var lossRandom = SeededRandom(seed: 0x1055)
    /// How many times each live node delivered each message.
    private(set) var deliveries: [PeerAddress: [MessageID: Int]] = [:]
    /// Every message sent, when `recordsMessages` is on.
    var recordsMessages = false
    private(set) var sent: [(from: PeerAddress, message: Message)] = []

    var addresses: [PeerAddress] { nodes.keys.sorted() }
    var liveAddresses: [PeerAddress] { addresses.filter { !down.contains($0) } }

    mutating func add(_ configuration: NodeConfiguration, seed: UInt64) {
        let address = configuration.identity.address
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        nodes[address] = Node(configuration: configuration, randomSeed: seed, logger: logger)
        down.remove(address)
        timerGenerations[address] = [:]
        schedule(.event(address, .start), after: .zero)
    }

    func node(at address: PeerAddress) -> Node { nodes[address]! }

    /// Kills a node as SIGKILL does: it stops at once and the kernel closes its links at the other ends.
    mutating func crash(_ address: PeerAddress) {
        down.insert(address)
        timerGenerations[address] = [:]
        for (link, end) in linkEnds.sorted(by: { $0.key < $1.key }) where end.owner == address {
            linkEnds[link] = nil
            linkEnds[end.peerEnd] = nil
            schedule(.event(end.peer, .linkClosed(end.peerEnd, reason: "connection reset")), after: latency)
        }
    }

    /// Restarts a crashed node with a fresh state and a higher epoch.
    mutating func restart(_ configuration: NodeConfiguration, seed: UInt64) {
        add(configuration, seed: seed)
    }

    mutating func partition(into groups: [[PeerAddress]]) {
        var assignment: [PeerAddress: Int] = [:]
        for (index, group) in groups.enumerated() { for address in group { assignment[address] = index } }
        partition = assignment
    }

    mutating func heal() { partition = nil }

    private func separated(_ a: PeerAddress, _ b: PeerAddress) -> Bool {
        guard let partition else { return false }
        return partition[a] != partition[b]
    }

    mutating func run(for duration: Duration) {
        let end = now + duration
        while let next = queue.first, next.at <= end {
            _ = queue.pop()
            now = next.at
            switch next.action {
            case .event(let address, let event):
                deliver(event, to: address)
            case .timer(let address, let timer, let generation):
                guard timerGenerations[address]?[timer] == generation else { continue }
                timerGenerations[address]?[timer] = nil
                deliver(.timerFired(timer), to: address)
            }
        }
        now = end
    }

    private mutating func schedule(_ action: Action, after delay: Duration) {
        order += 1
        queue.push(.init(at: now + delay, order: order, action: action))
    }

    private mutating func deliver(_ event: NodeEvent, to address: PeerAddress) {
        guard !down.contains(address), nodes[address] != nil else { return }
        // Mutated in place: copying a node out of the dictionary would copy its caches on every event.
        let effects = nodes[address]!.handle(event, at: now)
        for effect in effects { carryOut(effect, from: address) }
    }

    private mutating func carryOut(_ effect: NodeEffect, from address: PeerAddress) {
        switch effect {
        case .connect(let target):
            if separated(address, target) {
                schedule(.event(address, .connectFailed(target, reason: "timed out")), after: connectTimeout)
                return
            }
            guard nodes[target] != nil, !down.contains(target) else {
                schedule(.event(address, .connectFailed(target, reason: "connection refused")), after: latency)
                return
            }
            let local = LinkID(nextLink)
            let remote = LinkID(nextLink + 1)
            nextLink += 2
            linkEnds[local] = LinkEnd(owner: address, peerEnd: remote, peer: target)
            linkEnds[remote] = LinkEnd(owner: target, peerEnd: local, peer: address)
            schedule(.event(address, .linkOpened(local, .outbound(target))), after: latency)
            schedule(.event(target, .linkOpened(remote, .inbound(remote: "\(address.host):ephemeral"))), after: latency)
        case .send(let link, let message):
            if recordsMessages { sent.append((address, message)) }
            guard let end = linkEnds[link], !separated(address, end.peer) else { return }
            if lossRate > 0, Double.random(in: 0..<1, using: &lossRandom) < lossRate { return }
            schedule(.event(end.peer, .received(end.peerEnd, message)), after: latency)
        case .close(let link, let reason):
            guard let end = linkEnds.removeValue(forKey: link) else { return }
            linkEnds[end.peerEnd] = nil
            if !separated(address, end.peer) {
                schedule(.event(end.peer, .linkClosed(end.peerEnd, reason: "peer closed: \(reason)")), after: latency)
            }
        case .armTimer(let timer, let delay):
            order += 1
            timerGenerations[address, default: [:]][timer] = order
            queue.push(.init(at: now + delay, order: order, action: .timer(address, timer, generation: order)))
        case .cancelTimer(let timer):
            timerGenerations[address]?[timer] = nil
        case .deliver(let delivery):
            deliveries[address, default: [:]][delivery.id, default: 0] += 1
        }
    }

    /// Publishes `payload` on the node at `address` now.
    @discardableResult
    mutating func publish(_ payload: [UInt8], from address: PeerAddress) throws -> MessageID {
        let (id, effects) = try nodes[address]!.publish(payload, at: now)
        for effect in effects { carryOut(effect, from: address) }
        return id
    }

    /// Payload frames received by the live nodes so far (RMR's numerator).
    var payloadsReceived: Int {
        liveAddresses.reduce(0) { $0 + nodes[$1]!.status(at: now).counters.payloadsReceived }
    }

    fileprivate mutating func deliverStop(to address: PeerAddress) {
        deliver(.stop, to: address)
        down.insert(address)
        timerGenerations[address] = [:]
    }

    // MARK: Overlay properties

    /// Active views of the live nodes, by address.
    func activeViews() -> [PeerAddress: [PeerAddress]] {
        var byID: [NodeID: PeerAddress] = [:]
        for (address, node) in nodes { byID[node.identity.id] = address }
        var views: [PeerAddress: [PeerAddress]] = [:]
        for address in liveAddresses {
            views[address] = nodes[address]!.activePeerIDs.compactMap { byID[$0] }
        }
        return views
    }

    /// Pairs (A, B) where A holds B but B does not hold A.
    func asymmetricPairs() -> [(PeerAddress, PeerAddress)] {
        let views = activeViews()
        var pairs: [(PeerAddress, PeerAddress)] = []
        for (address, view) in views.sorted(by: { $0.key < $1.key }) {
            for peer in view where !(views[peer]?.contains(address) ?? false) { pairs.append((address, peer)) }
        }
        return pairs
    }

    /// Live nodes whose active view names a node that is down.
    func viewsHoldingDeadPeers() -> [PeerAddress] {
        activeViews().filter { $0.value.contains { down.contains($0) } }.map(\.key).sorted()
    }

    /// Connected components of the live nodes over active links (taken as undirected).
    func components() -> [[PeerAddress]] {
        let views = activeViews()
        var adjacency: [PeerAddress: Set<PeerAddress>] = [:]
        for (address, view) in views {
            for peer in view where views[peer] != nil {
                adjacency[address, default: []].insert(peer)
                adjacency[peer, default: []].insert(address)
            }
        }
        var seen: Set<PeerAddress> = []
        var result: [[PeerAddress]] = []
        for start in views.keys.sorted() where !seen.contains(start) {
            var component: [PeerAddress] = []
            var stack = [start]
            seen.insert(start)
            while let next = stack.popLast() {
                component.append(next)
                for neighbour in adjacency[next, default: []] where seen.insert(neighbour).inserted { stack.append(neighbour) }
            }
            result.append(component)
        }
        return result
    }
}

extension PeerAddress {
    static func local(_ index: Int) -> PeerAddress {
        PeerAddress(host: "127.0.\(index / 250).\(index % 250 + 1)", port: 7000)
    }
}

func configuration(_ index: Int, seeds: [Int], epoch: Epoch = 1) -> NodeConfiguration {
    NodeConfiguration(identity: PeerDescriptor(id: NodeID("n\(index)")!, address: .local(index)),
                      epoch: epoch, seeds: seeds.map(PeerAddress.local))
}

extension InMemoryNetwork {
    /// Stops a node gracefully: it says DISCONNECT to its peers, closes its links, and is then gone.
    mutating func stopNode(_ address: PeerAddress) {
        deliverStop(to: address)
    }
}
