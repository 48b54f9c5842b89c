import RumorCore

/// A topology file, checked and resolved: the mesh to launch (or simulate), what to run on it, and the
/// checks the run is judged by. Built by `TopologyLoader`; the same value drives `rumor mesh`,
/// `rumor churn` and `rumor sim`.
public struct Topology: Sendable {
    public var name: String
    public var summary: String
    /// Where it was read from: a path, or `embedded:NAME`.
    public var source: String
    /// Seeds every random choice of a run (which nodes die, which publish), so two runs make the same choices.
    public var seed: UInt64
    /// Loopback, or a network namespace per node (`network: namespaces`).
    public var network: MeshNetwork
    public var nodes: [MeshNode]
    /// Makes the nodes that `add` and `replace` bring in; nil when the nodes were listed one by one.
    public var addedNode: NodeTemplate?
    public var seedRule: SeedRule
    public var links: LinkConditions
    public var workload: Workload
    public var schedule: [ScheduledChurn]
    public var duration: Duration
    public var checks: [Check]
}

/// One node of a mesh. `number` counts from 1 in the order nodes are declared or added; on the namespace
/// bench it is also the node's namespace slot, so a node moved to a new address is a new `MeshNode` with
/// the same id and a new number.
public struct MeshNode: Hashable, Sendable {
    public var number: Int
    public var id: String
    public var address: PeerAddress
    public var admin: PeerAddress
    /// Ids of the nodes this one is told about at start.
    public var seeds: [String]
    /// The wire versions it offers until an `upgrade`; nil for every version the build speaks.
    public var wireVersions: ClosedRange<UInt8>?

    public init(number: Int, id: String, address: PeerAddress, admin: PeerAddress, seeds: [String],
                wireVersions: ClosedRange<UInt8>? = nil) {
        self.number = number
        self.id = id
        self.address = address
        self.admin = admin
        self.seeds = seeds
        self.wireVersions = wireVersions
    }
}

/// How nodes find their first peers.
public enum SeedRule: Hashable, Sendable, CustomStringConvertible {
    /// Every node is seeded with the first `k` nodes (except itself).
    case first(Int)
    /// Every node is seeded with node 1 alone.
    case star
    /// Node i is seeded with node i - 1 only: the overlay must still mix itself.
    case line
    /// Every node is seeded with `k` others chosen at random.
    case random(Int)
    /// Each node lists its own seeds.
    case explicit
    /// Every node is given one DNS name as its only seed (namespace meshes); the name resolves to the
    /// addresses of the first `records` nodes until a `dns` step changes them.
    case dns(name: String, records: Int)

    public var description: String {
        switch self {
        case .first(let k): k == 1 ? "first" : "first-\(k)"
        case .star: "star"
        case .line: "line"
        case .random(let k): "random-\(k)"
        case .explicit: "explicit"
        case .dns(let name, _): "dns \(name)"
        }
    }

    /// Seeds for nodes added during a run: this many, drawn from the nodes live at that moment, as an
    /// operator would write a new node's seed list from the members it knows are up.
    public var seedsForAddedNodes: Int {
        switch self {
        case .first(let k), .random(let k): max(1, k)
        case .star, .line, .explicit: 3
        case .dns: 0
        }
    }
}

/// Nodes made from address patterns: `{i}` is replaced by the node's number, `{7000+i}` by a sum.
public struct NodeTemplate: Sendable {
    public var idPattern: String
    public var addressPattern: String
    public var adminPattern: String?
    public var wireVersions: ClosedRange<UInt8>?
    /// On the namespace bench the patterns are unused: node I lives at its namespace slot's address.
    public var network: MeshNetwork = .loopback
}

/// What is published during a run.
public struct Workload: Sendable {
    public enum Publishers: Hashable, Sendable {
        case all
        case count(Int)
    }

    public var publishers: Publishers
    /// Messages per second across the whole mesh; 0 publishes nothing.
    public var rate: Double
    public var payloadSize: Int
    public var start: Duration
    public var stop: Duration
}

/// An entry of the churn schedule, with its line for reports (repeating entries appear once per time).
public struct ScheduledChurn: Sendable {
    public var at: Duration
    public var action: ChurnAction
    public var line: Int
}

/// Which nodes a churn action touches.
public enum NodeSelection: Hashable, Sendable, CustomStringConvertible {
    case share(Double)
    case count(Int)
    case named([String])
    /// `restart: killed`: every node killed and not yet restarted.
    case killed
    case all

    public var description: String {
        switch self {
        case .share(let share): "\(Int((share * 100).rounded()))%"
        case .count(let count): "\(count)"
        case .named(let names): names.joined(separator: ", ")
        case .killed: "killed"
        case .all: "all"
        }
    }
}

public enum ChurnAction: Hashable, Sendable, CustomStringConvertible {
    case kill(NodeSelection)
    case restart(NodeSelection)
    case add(Int)
    /// Kill these and add as many new nodes.
    case replace(NodeSelection)
    /// Stop these gracefully and start them again at once offering every wire version the build speaks:
    /// one step of a rolling upgrade.
    case upgrade(NodeSelection)
    /// Hang these (SIGSTOP): their sockets stay open, nothing they hold answers; no RST reaches anyone.
    case freeze(NodeSelection)
    /// Let frozen nodes go on (SIGCONT).
    case thaw(NodeSelection)
    /// Split the nodes into groups that cannot reach each other: `count` contiguous groups by node
    /// number, or the groups given.
    case partition(groups: Int, explicit: [[String]])
    case heal
    /// Change the conditions of every link that touches the selected nodes.
    case shapeLinks(NodeSelection, LinkConditions)
    /// Change the conditions of the one link between two nodes.
    case shapeLink(String, String, LinkConditions)
    /// One-way cut (namespace meshes): the `to` nodes' kernels drop every packet from the `from` nodes.
    case cut(from: NodeSelection, to: NodeSelection)
    /// Limit the selected nodes' outgoing traffic to a rate such as `1mbit` (namespace meshes, tbf).
    case rate(NodeSelection, String)
    /// Point the seed name at these nodes' current addresses (namespace meshes with `seeds: dns`).
    case dns(NodeSelection)
    /// Stop these (kill -9) and start them again at once with the same id on a new address, as a pod
    /// rescheduled onto another IP (namespace meshes).
    case move(NodeSelection)

    public var description: String {
        switch self {
        case .kill(let selection): "kill \(selection)"
        case .restart(let selection): "restart \(selection)"
        case .add(let count): "add \(count)"
        case .replace(let selection): "replace \(selection)"
        case .upgrade(let selection): "upgrade \(selection)"
        case .freeze(let selection): "freeze \(selection)"
        case .thaw(let selection): "thaw \(selection)"
        case .partition(let groups, let explicit): explicit.isEmpty ? "partition into \(groups)" : "partition into \(explicit.count)"
        case .heal: "heal"
        case .shapeLinks(let selection, let conditions): "slow links of \(selection): \(conditions)"
        case .shapeLink(let a, let b, let conditions): "slow the link \(a)–\(b): \(conditions)"
        case .cut(let from, let to): "cut \(from) → \(to)"
        case .rate(let selection, let limit): "rate of \(selection): \(limit)"
        case .dns(let selection): "seed name → \(selection)"
        case .move(let selection): "move \(selection)"
        }
    }
}
