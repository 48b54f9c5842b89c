import RumorCore

/// A topology's schedule with every choice made: which nodes die, which restart, who the new nodes are
/// and whom they ask first. Live meshes and the simulator carry out the same plan, so one file gives the
/// same churn in both.
public struct ChurnPlan: Sendable {
    public struct Step: Sendable {
        public var at: Duration
        public var change: Change
        /// The schedule line this step comes from.
        public var line: Int
        /// For reports and charts: "kill 32 (50%)".
        public var label: String
    }

    public enum Change: Sendable {
        case kill([String])
        case restart([String])
        /// Stop gracefully and start again at once, offering every wire version the build speaks.
        case upgrade([String])
        /// SIGSTOP: the node hangs with its sockets open. Its life ends here for the checks (it delivers
        /// nothing and must deliver nothing), and a new one starts at its thaw.
        case freeze([String])
        /// SIGCONT: the frozen node goes on, with its state from before the freeze.
        case thaw([String])
        case add([MeshNode])
        case partition([[String]])
        case heal
        /// New conditions for links touching `nodes` (every link of theirs, or only those between two of
        /// them when `onlyAmong`).
        case shapeLinks([String], LinkConditions, onlyAmong: Bool)
        /// One-way: the `to` nodes' kernels drop what the `from` nodes send (namespace meshes).
        case cut(from: [String], to: [String])
        /// Outgoing traffic of these nodes limited to a tc rate (namespace meshes).
        case rate([String], String)
        /// The seed name now resolves to exactly these addresses (of these nodes, where they are then).
        case dns([String], [PeerAddress])
        /// These nodes, killed and started at once on new addresses: each the node's new incarnation.
        case move([MeshNode])

        /// Whether the overlay is expected to be one component again after this change.
        public var expectsConnectedOverlay: Bool { splitsOverlay != true }

        /// True when this change splits the overlay (a partition, a cut), false when it makes it whole
        /// again (heal), nil when it leaves that as it was.
        public var splitsOverlay: Bool? {
            switch self {
            case .partition, .cut: true
            case .heal: false
            case .kill, .restart, .upgrade, .freeze, .thaw, .add, .shapeLinks, .rate, .dns, .move: nil
            }
        }
    }

    public var steps: [Step]
    /// Every node the run will ever have, the initial ones first.
    public var nodes: [MeshNode]

    /// The node of that id as it first runs. A `move` adds later incarnations (same id, new number and
    /// address); which one runs at a moment is for the runner to follow.
    public func node(_ id: String) -> MeshNode? { nodes.first { $0.id == id } }
}

/// Makes a `ChurnPlan` from a topology, by walking its schedule and tracking which nodes are up.
public struct ChurnPlanner {
    let topology: Topology

    public init(topology: Topology) { self.topology = topology }

    public func plan() throws(TopologyError) -> ChurnPlan {
        do {
            return try makePlan()
        } catch let problem as ResolveProblem {
            throw TopologyError(file: topology.source, line: problem.position.line, column: problem.position.column, message: problem.message)
        } catch {
            throw TopologyError(file: topology.source, line: 0, message: "\(error)")
        }
    }

    private func makePlan() throws -> ChurnPlan {
        var random = SeededRandom(seed: topology.seed ^ 0xC4_0A)
        var nodes = topology.nodes
        var up = nodes.map(\.id)
        var killed: [String] = []
        var upgraded: Set<String> = []
        var frozen: [String] = []
        var partitioned = false
        var steps: [ChurnPlan.Step] = []
        var usedAddresses = Set(nodes.flatMap { [$0.address, $0.admin] })
        var usedIDs = Set(nodes.map(\.id))
        // The nodes the seed name resolves to (seeds: dns), followed through moves as a headless Service is.
        var seedRecords: [String] = []
        if case .dns(_, let records) = topology.seedRule { seedRecords = nodes.prefix(records).map(\.id) }
        func current(_ id: String) -> MeshNode? { nodes.last { $0.id == id } }

        for entry in topology.schedule {
            func problem(_ message: String) -> ResolveProblem {
                ResolveProblem(position: SourcePosition(line: entry.line, column: 0), message: "at \(DurationText.format(entry.at)): \(message)")
            }
            func choose(_ selection: NodeSelection, from pool: [String], _ verb: String) throws -> [String] {
                switch selection {
                case .all: return pool
                case .killed: return pool
                case .named(let names):
                    for name in names where !pool.contains(name) {
                        throw problem("cannot \(verb) '\(name)': \(nodes.contains { $0.id == name } ? "it is not in a state to be" : "no such node")")
                    }
                    return names
                case .count(let count):
                    guard count <= pool.count else { throw problem("cannot \(verb) \(count) nodes: only \(pool.count) can be") }
                    return Array(pool.shuffled(using: &random).prefix(count))
                case .share(let share):
                    let count = max(1, Int((share * Double(pool.count)).rounded()))
                    guard count <= pool.count else { throw problem("cannot \(verb) \(selection): no node can be") }
                    return Array(pool.shuffled(using: &random).prefix(count))
                }
            }
            func ordered(_ ids: [String]) -> [String] {
                // By first appearance: a moved node keeps its place.
                let numbers = Dictionary(nodes.map { ($0.id, $0.number) }, uniquingKeysWith: { first, _ in first })
                return ids.sorted { numbers[$0]! < numbers[$1]! }
            }
            func kill(_ selection: NodeSelection) throws -> [String] {
                let victims = ordered(try choose(selection, from: up, "kill"))
                up.removeAll { victims.contains($0) }
                killed += victims
                return victims
            }
            func add(_ count: Int) throws -> [MeshNode] {
                guard let template = topology.addedNode else {
                    throw problem("nodes can be added only when the file gives nodes as a count with address patterns")
                }
                guard !up.isEmpty else { throw problem("cannot add nodes when none is up to seed them") }
                var added: [MeshNode] = []
                // Seeds come from the nodes up before this batch, not from its other newcomers.
                let established = up
                for _ in 0..<count {
                    var node: MeshNode
                    do {
                        node = try TopologyResolver.makeNode(number: nodes.count + 1, template: template)
                    } catch let made as ResolveProblem {
                        throw problem(made.message)
                    }
                    // A node added to a mesh seeded by name is given the name alone.
                    node.seeds = established.shuffled(using: &random).prefix(topology.seedRule.seedsForAddedNodes).map { $0 }
                    guard usedIDs.insert(node.id).inserted else { throw problem("an added node would be named '\(node.id)' like another") }
                    for address in [node.address, node.admin] where !usedAddresses.insert(address).inserted {
                        throw problem("added node \(node.id) would use \(address), which another node has")
                    }
                    nodes.append(node)
                    up.append(node.id)
                    added.append(node)
                }
                return added
            }
            func requireWhole(_ verb: String) throws {
                if partitioned { throw problem("cannot \(verb) during a partition; heal first") }
            }

            /// Moves the nodes `selection` picks from one pool to another: killed to up, up to frozen and back.
            func move(_ selection: NodeSelection, from source: inout [String], to target: inout [String], _ verb: String) throws -> [String] {
                try requireWhole("\(verb) nodes")
                let moved = ordered(try choose(selection, from: source, verb))
                source.removeAll { moved.contains($0) }
                target += moved
                return moved
            }

            switch entry.action {
            case .kill(let selection):
                let victims = try kill(selection)
                steps.append(.init(at: entry.at, change: .kill(victims), line: entry.line, label: "kill \(victims.count)"))
            case .restart(let selection):
                let back = try move(selection, from: &killed, to: &up, "restart")
                steps.append(.init(at: entry.at, change: .restart(back), line: entry.line, label: "restart \(back.count)"))
            case .upgrade(let selection):
                try requireWhole("upgrade nodes")
                // Each node is upgraded once: the pool is the nodes up that still run the old version.
                let chosen = ordered(try choose(selection, from: up.filter { !upgraded.contains($0) }, "upgrade"))
                upgraded.formUnion(chosen)
                steps.append(.init(at: entry.at, change: .upgrade(chosen), line: entry.line, label: "upgrade \(chosen.count)"))
            case .freeze(let selection):
                // Frozen nodes leave the pool of nodes up: they are not killed, upgraded or frozen again.
                let hung = try move(selection, from: &up, to: &frozen, "freeze")
                steps.append(.init(at: entry.at, change: .freeze(hung), line: entry.line, label: "freeze \(hung.count)"))
            case .thaw(let selection):
                let going = try move(selection, from: &frozen, to: &up, "thaw")
                steps.append(.init(at: entry.at, change: .thaw(going), line: entry.line, label: "thaw \(going.count)"))
            case .add(let count):
                try requireWhole("add nodes")
                let added = try add(count)
                steps.append(.init(at: entry.at, change: .add(added), line: entry.line, label: "add \(added.count)"))
            case .replace(let selection):
                try requireWhole("replace nodes")
                let victims = try kill(selection)
                steps.append(.init(at: entry.at, change: .kill(victims), line: entry.line, label: "replace \(victims.count)"))
                let added = try add(victims.count)
                steps.append(.init(at: entry.at, change: .add(added), line: entry.line, label: "add \(added.count)"))
            case .partition(let groupCount, let explicit):
                try requireWhole("partition again")
                var groups: [[String]]
                if explicit.isEmpty {
                    let all = nodes.map(\.id)
                    let size = (all.count + groupCount - 1) / groupCount
                    groups = stride(from: 0, to: all.count, by: size).map { Array(all[$0..<min(all.count, $0 + size)]) }
                } else {
                    for name in explicit.joined() where !nodes.contains(where: { $0.id == name }) {
                        throw problem("partition names '\(name)', which is no node of this mesh")
                    }
                    groups = explicit
                    let named = Set(explicit.joined())
                    // Nodes a file does not name stay with the first group.
                    groups[0] += nodes.map(\.id).filter { !named.contains($0) }
                }
                partitioned = true
                steps.append(.init(at: entry.at, change: .partition(groups), line: entry.line, label: "partition into \(groups.count)"))
            case .heal:
                guard partitioned else { throw problem("heal without a partition before it") }
                partitioned = false
                steps.append(.init(at: entry.at, change: .heal, line: entry.line, label: "heal"))
            case .shapeLinks(let selection, let conditions):
                try requireWhole("change links")
                let chosen = ordered(try choose(selection, from: up, "slow"))
                steps.append(.init(at: entry.at, change: .shapeLinks(chosen, conditions, onlyAmong: false), line: entry.line,
                                   label: "slow \(chosen.count): \(conditions)"))
            case .cut(let fromSelection, let toSelection):
                try requireWhole("cut")
                let from = ordered(try choose(fromSelection, from: up, "cut from"))
                let to = ordered(try choose(toSelection, from: up.filter { !from.contains($0) }, "cut to"))
                partitioned = true
                steps.append(.init(at: entry.at, change: .cut(from: from, to: to), line: entry.line, label: "cut \(from.count) → \(to.count)"))
            case .rate(let selection, let limit):
                let chosen = ordered(try choose(selection, from: up, "limit the rate of"))
                steps.append(.init(at: entry.at, change: .rate(chosen, limit), line: entry.line, label: "rate \(chosen.count): \(limit)"))
            case .dns(let selection):
                guard case .dns = topology.seedRule else { throw problem("dns changes the seed name, so it needs seeds: dns") }
                seedRecords = ordered(try choose(selection, from: up, "name"))
                let addresses = seedRecords.compactMap { current($0)?.address }
                steps.append(.init(at: entry.at, change: .dns(seedRecords, addresses), line: entry.line, label: "seed name → \(seedRecords.count)"))
            case .move(let selection):
                try requireWhole("move nodes")
                guard case .namespaces(let family) = topology.network else { throw problem("move needs network: namespaces") }
                var moved: [MeshNode] = []
                for id in ordered(try choose(selection, from: up, "move")) {
                    guard let old = current(id) else { continue }
                    var incarnation: MeshNode
                    do {
                        incarnation = try TopologyResolver.labNode(number: nodes.count + 1, id: id, family: family, wireVersions: old.wireVersions)
                    } catch let made as ResolveProblem {
                        throw problem(made.message)
                    }
                    incarnation.seeds = old.seeds
                    nodes.append(incarnation)
                    moved.append(incarnation)
                }
                steps.append(.init(at: entry.at, change: .move(moved), line: entry.line, label: "move \(moved.count)"))
                if moved.contains(where: { seedRecords.contains($0.id) }) {
                    let addresses = seedRecords.compactMap { current($0)?.address }
                    steps.append(.init(at: entry.at, change: .dns(seedRecords, addresses), line: entry.line, label: "seed name follows the move"))
                }
            case .shapeLink(let a, let b, let conditions):
                try requireWhole("change links")
                for name in [a, b] where !nodes.contains(where: { $0.id == name }) {
                    throw problem("slow.link names '\(name)', which is no node of this mesh")
                }
                steps.append(.init(at: entry.at, change: .shapeLinks([a, b], conditions, onlyAmong: true), line: entry.line,
                                   label: "slow \(a)–\(b): \(conditions)"))
            }
        }
        return ChurnPlan(steps: steps, nodes: nodes)
    }
}
