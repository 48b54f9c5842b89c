import RumorCore
import RumorGraph
import RumorSim
import RumorTopology

/// Runs a topology file in the simulator: the same nodes, seeds, link conditions, workload and churn
/// plan as `rumor mesh` would launch, in virtual time, recorded as the same `RunObservation` so that one
/// evaluator judges both and a live mesh can be compared with its simulation side by side.
public struct TopologySimulation {
    public let topology: Topology
    public let plan: ChurnPlan
    /// Virtual time between two overlay snapshots (a live mesh polls every 100–500 ms).
    public var snapshotInterval: Duration = .milliseconds(100)
    /// Virtual time between two node starts, as processes on one machine come up one after another.
    public var startStagger: Duration = .milliseconds(5)
    /// See `ScenarioOptions.checksInvariants`.
    public var checksInvariants = true

    public init(topology: Topology) throws(TopologyError) {
        self.topology = topology
        self.plan = try ChurnPlanner(topology: topology).plan()
        // What only a kernel between namespaces can do is refused, not run as something else.
        for step in plan.steps {
            let kernelOnly: String? = switch step.change {
            case .cut: "a one-way cut"
            case .rate: "a rate limit"
            case .move: "moving a node to a new address"
            case .kill, .restart, .upgrade, .freeze, .thaw, .add, .partition, .heal, .shapeLinks, .dns: nil
            }
            if let kernelOnly {
                throw TopologyError(file: topology.source, line: step.line,
                                    message: "\(kernelOnly) is the namespace bench's (rumor churn); the simulator does not model it")
            }
        }
    }

    public func run(progress: ((Double) -> Void)? = nil) -> RunObservation {
        runChecked(progress: progress).observation
    }

    /// The run, with what the invariant checker saw in it.
    public func runChecked(progress: ((Double) -> Void)? = nil) -> (observation: RunObservation, invariants: InvariantFigures) {
        var network = SimulatedNetwork(seed: topology.seed, checksInvariants: checksInvariants)
        let links = topology.links
        // Loopback itself takes some tens of microseconds; a link is never instant.
        let floor = Duration.microseconds(50)
        let low = max(floor, links.latency - links.jitter)
        let high = max(floor, links.latency + links.jitter)
        network.latency = low == high ? .fixed(low) : .uniform(low, high)
        network.lossRate = links.loss
        network.recordsDeliveries = true
        // Member events only for a `false failures` check: the log holds every entry each node applies.
        let judgesFailures = topology.checks.contains { if case .falseFailures = $0.kind { true } else { false } }
        network.recordsMemberEvents = judgesFailures

        var observation = RunObservation(duration: topology.duration)
        var lifeOf: [String: Int] = [:]
        var lives: [String: Int] = [:]
        var upgraded: Set<String> = []
        let nodeIDs = plan.nodes.map(\.id)
        // seeds: dns: a node asks the name, which answers with these addresses.
        var seedRecords: [PeerAddress] = []
        if case .dns(_, let records) = topology.seedRule { seedRecords = topology.nodes.prefix(records).map(\.address) }
        func start(_ node: MeshNode) {
            lives[node.id, default: 0] += 1
            var seeds = node.seeds.compactMap { plan.node($0)?.address }
            if case .dns = topology.seedRule { seeds = seedRecords }
            var configuration = NodeConfiguration(identity: PeerDescriptor(id: NodeID(node.id)!, address: node.address),
                                                  epoch: Epoch(lives[node.id]!), seeds: seeds)
            if let versions = node.wireVersions, !upgraded.contains(node.id) { configuration.wireVersions = versions }
            network.add(configuration, seed: topology.seed &+ UInt64(node.number) &* 7919 &+ UInt64(lives[node.id]!))
            lifeOf[node.id] = observation.lives.count
            observation.lives.append(.init(node: node.id, start: time(network)))
        }
        func end(_ id: String) {
            guard let node = plan.node(id), let life = lifeOf.removeValue(forKey: id) else { return }
            network.crash(node.address)
            observation.lives[life].end = time(network)
        }
        /// Nodes that can take a publish: up, and started before this instant (a node started now has no link yet).
        func ready() -> Set<String> { Set(lifeOf.filter { observation.lives[$0.value].start < time(network) }.keys) }

        for node in topology.nodes {
            start(node)
            network.run(for: startStagger)
        }
        observation.events.append(.init(at: time(network), label: "start", expectsConnectedOverlay: true))

        var publishes = PublishSchedule(topology: topology)
        var nextPublish = 0
        var nextStep = 0
        var nextSnapshot = time(network)
        var deliveriesSeen = 0
        var partitioned = false
        let idOfAddress = Dictionary(uniqueKeysWithValues: plan.nodes.map { ($0.address, $0.id) })
        func takeSnapshot() {
            var views: [String: [String]] = [:]
            for (address, peers) in network.activeViews() {
                guard let id = idOfAddress[address], lifeOf[id] != nil else { continue }
                views[id] = peers.compactMap { idOfAddress[$0] }
            }
            observation.snapshots.append(.init(at: time(network), views: views))
        }

        while true {
            let candidates = [
                nextPublish < publishes.times.count ? publishes.times[nextPublish] : nil,
                nextStep < plan.steps.count ? plan.steps[nextStep].at : nil,
                nextSnapshot,
            ].compactMap { $0 }
            let next = min(candidates.min() ?? topology.duration, topology.duration)
            let now = time(network)
            if next > now { network.run(for: next - now) }
            // Deliveries since the last stop, stamped with the life they happened in.
            for entry in network.deliveryLog[deliveriesSeen...] {
                let id = nodeIDs[entry.index]
                guard let life = lifeOf[id] else { continue }
                observation.deliveries.append(.init(message: entry.id.description, node: id, life: life,
                                                    at: .nanoseconds(Int64(entry.at.nanoseconds))))
            }
            deliveriesSeen = network.deliveryLog.count
            if next >= topology.duration { break }

            if nextStep < plan.steps.count, plan.steps[nextStep].at <= next {
                let step = plan.steps[nextStep]
                nextStep += 1
                switch step.change {
                case .kill(let victims): victims.forEach(end)
                case .restart(let ids): ids.compactMap(plan.node).forEach(start)
                case .upgrade(let ids):
                    for id in ids {
                        guard let node = plan.node(id), let life = lifeOf.removeValue(forKey: id) else { continue }
                        network.stopNode(node.address)
                        observation.lives[life].end = time(network)
                        upgraded.insert(id)
                        start(node)
                    }
                case .freeze(let ids):
                    for id in ids {
                        guard let node = plan.node(id), let life = lifeOf.removeValue(forKey: id) else { continue }
                        network.freeze(node.address)
                        observation.lives[life].end = time(network)
                    }
                case .thaw(let ids):
                    for id in ids {
                        guard let node = plan.node(id), network.isFrozen(node.address) else { continue }
                        network.thaw(node.address)
                        lifeOf[id] = observation.lives.count
                        observation.lives.append(.init(node: id, start: time(network)))
                    }
                case .add(let nodes): nodes.forEach(start)
                case .partition(let groups):
                    network.partition(into: groups.map { $0.compactMap { plan.node($0)?.address } })
                case .heal:
                    network.heal()
                case .shapeLinks(let ids, let conditions, let onlyAmong):
                    network.shapeLinks(of: ids.compactMap { plan.node($0)?.address }, conditions, onlyAmong: onlyAmong)
                case .dns(_, let addresses):
                    seedRecords = addresses
                case .cut, .rate, .move:
                    break  // refused by init
                }
                if let split = step.change.splitsOverlay { partitioned = split }
                observation.events.append(.init(at: time(network), label: step.label, expectsConnectedOverlay: !partitioned))
                continue
            }
            if nextPublish < publishes.times.count, publishes.times[nextPublish] <= next {
                nextPublish += 1
                if let origin = publishes.origin(among: ready(), allNodes: plan.nodes),
                   let id = try? network.publish(publishes.payload(number: nextPublish), from: origin.address) {
                    observation.publications.append(.init(id: id.description, origin: origin.id, at: time(network)))
                }
                continue
            }
            if nextSnapshot <= next {
                takeSnapshot()
                nextSnapshot = time(network) + snapshotInterval
                progress?(time(network).seconds / topology.duration.seconds)
            }
        }
        takeSnapshot()
        if judgesFailures {
            observation.memberFailures = network.memberEventLog.filter { $0.event.kind == .failed }.map { record in
                .init(observer: network.node(index: record.index).identity.id.rawValue, member: record.event.entry.id.rawValue,
                      at: .nanoseconds(Int64(record.at.nanoseconds)))
            }
        }
        return (observation, InvariantFigures(network))
    }

    private func time(_ network: SimulatedNetwork) -> Duration { .nanoseconds(Int64(network.now.nanoseconds)) }
}
