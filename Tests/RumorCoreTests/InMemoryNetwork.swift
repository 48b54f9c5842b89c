import Logging
@testable import RumorCore

/// Core nodes wired together in memory, in virtual time: links open instantly, frames arrive in order
/// after `latency`, timers fire when their time comes. Deterministic for a given seed.
struct InMemoryNetwork {
    struct Endpoint {
        var node: Node
        var up = true
    }

    private enum Action {
        case event(PeerAddress, NodeEvent)
        case timer(PeerAddress, NodeTimer, generation: Int)
    }

    private struct Scheduled {
        var at: Timestamp
        var order: Int
        var action: Action
    }

    var latency: Duration = .milliseconds(1)
    private(set) var now = Timestamp.zero
    private(set) var endpoints: [PeerAddress: Endpoint] = [:]
    /// Each link's two ends: the node at an end and the link id it knows the link by.
    private var linkEnds: [LinkID: (owner: PeerAddress, peerEnd: LinkID, peer: PeerAddress)] = [:]
    private var nextLink: UInt64 = 1
    private var queue: [Scheduled] = []
    private var order = 0
    private var timerGenerations: [PeerAddress: [NodeTimer: Int]] = [:]
    /// Everything every node sent, in order, for assertions.
    private(set) var sent: [(from: PeerAddress, message: Message)] = []

    mutating func add(_ configuration: NodeConfiguration, seed: UInt64) {
        let address = configuration.identity.address
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        endpoints[address] = Endpoint(node: Node(configuration: configuration, randomSeed: seed, logger: logger))
        schedule(.event(address, .start), after: .zero)
    }

    func node(at address: PeerAddress) -> Node { endpoints[address]!.node }

    /// Makes `address` unreachable and silent, as a process killed with SIGKILL.
    mutating func crash(_ address: PeerAddress) {
        endpoints[address]?.up = false
    }

    mutating func run(for duration: Duration) {
        let end = now + duration
        while let next = popNext(notAfter: end) {
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

    private mutating func popNext(notAfter end: Timestamp) -> Scheduled? {
        guard let index = queue.indices.min(by: { (queue[$0].at, queue[$0].order) < (queue[$1].at, queue[$1].order) }),
              queue[index].at <= end else { return nil }
        return queue.remove(at: index)
    }

    private mutating func schedule(_ action: Action, after delay: Duration) {
        order += 1
        queue.append(Scheduled(at: now + delay, order: order, action: action))
    }

    private mutating func deliver(_ event: NodeEvent, to address: PeerAddress) {
        guard var endpoint = endpoints[address], endpoint.up else { return }
        let effects = endpoint.node.handle(event, at: now)
        endpoints[address] = endpoint
        for effect in effects { carryOut(effect, from: address) }
    }

    private mutating func carryOut(_ effect: NodeEffect, from address: PeerAddress) {
        switch effect {
        case .connect(let target):
            guard endpoints[target]?.up == true else {
                schedule(.event(address, .connectFailed(target, reason: "connection refused")), after: latency)
                return
            }
            let local = LinkID(nextLink)
            let remote = LinkID(nextLink + 1)
            nextLink += 2
            linkEnds[local] = (address, remote, target)
            linkEnds[remote] = (target, local, address)
            schedule(.event(address, .linkOpened(local, .outbound(target))), after: latency)
            schedule(.event(target, .linkOpened(remote, .inbound(remote: "\(address.host):ephemeral"))), after: latency)
        case .send(let link, let message):
            sent.append((address, message))
            guard let ends = linkEnds[link] else { return }
            schedule(.event(ends.peer, .received(ends.peerEnd, message)), after: latency)
        case .close(let link, let reason):
            guard let ends = linkEnds.removeValue(forKey: link) else { return }
            linkEnds[ends.peerEnd] = nil
            schedule(.event(ends.peer, .linkClosed(ends.peerEnd, reason: "peer closed: \(reason)")), after: latency)
        case .armTimer(let timer, let delay):
            let generation = (timerGenerations[address]?[timer] ?? 0) + order + 1
            timerGenerations[address, default: [:]][timer] = generation
            schedule(.timer(address, timer, generation: generation), after: delay)
        case .cancelTimer(let timer):
            timerGenerations[address]?[timer] = nil
        }
    }
}

extension PeerAddress {
    static func local(_ index: Int) -> PeerAddress { PeerAddress(host: "127.0.0.1", port: UInt16(7000 + index)) }
}

func configuration(_ index: Int, seeds: [Int], epoch: Epoch = 1) -> NodeConfiguration {
    NodeConfiguration(identity: PeerDescriptor(id: NodeID("n\(index)")!, address: .local(index)),
                      epoch: epoch, seeds: seeds.map(PeerAddress.local))
}
