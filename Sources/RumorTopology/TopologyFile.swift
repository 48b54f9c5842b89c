/// A topology file exactly as written, decoded from YAML into these types before anything is checked.
/// `TopologyLoader` resolves it into a `Topology`; the layout is documented in docs/topologies.md.
struct TopologyFile: Decodable, Sendable {
    var name: Located<String>?
    var description: String?
    var seed: Located<UInt64>?
    var network: Located<NetworkSection>?
    var nodes: Located<NodesSection>
    var seeds: Located<SeedsSection>?
    var links: LinksSection?
    var workload: WorkloadSection?
    var schedule: [ScheduleEntry]?
    var duration: Located<String>
    var checks: [Located<String>]?
}

/// `nodes:` is either a count with address patterns or an explicit list.
enum NodesSection: Decodable, Sendable {
    case pattern(NodePattern)
    case list([ListedNode])

    init(from decoder: any Decoder) throws {
        // A sequence is a list of nodes and its own errors are reported (a node missing its address names
        // that node's line); anything else must be the pattern form.
        if (try? decoder.unkeyedContainer()) != nil {
            self = .list(try decoder.singleValueContainer().decode([ListedNode].self))
        } else {
            self = .pattern(try decoder.singleValueContainer().decode(NodePattern.self))
        }
    }
}

struct NodePattern: Decodable, Sendable {
    var count: Located<Int>
    /// Required on loopback; left out on the namespace bench, which gives every node its address.
    var address: Located<String>?
    var admin: Located<String>?
    var id: Located<String>?
    var wireVersions: Located<String>?

    enum CodingKeys: String, CodingKey {
        case count, address, admin, id
        case wireVersions = "wire-versions"
    }
}

struct ListedNode: Decodable, Sendable {
    var id: Located<String>
    var address: Located<String>
    var admin: Located<String>?
    var seeds: [Located<String>]?
    var wireVersions: Located<String>?

    enum CodingKeys: String, CodingKey {
        case id, address, admin, seeds
        case wireVersions = "wire-versions"
    }
}

/// `network:` is `loopback`, `namespaces`, or `{kind: namespaces, family: 6}`.
enum NetworkSection: Decodable, Sendable {
    case named(String)
    case detailed(kind: String, family: Int?)

    private enum Keys: String, CodingKey { case kind, family }

    init(from decoder: any Decoder) throws {
        if let name = try? decoder.singleValueContainer().decode(String.self) {
            self = .named(name)
            return
        }
        let container = try decoder.container(keyedBy: Keys.self)
        self = .detailed(kind: try container.decode(String.self, forKey: .kind), family: try container.decodeIfPresent(Int.self, forKey: .family))
    }
}

/// `seeds:` is a rule's name (`first`, `first-3`, `star`, `line`, `random-3`, `dns`) or
/// `{rule: random, k: 3}` (`{rule: dns, name: seeds.rumor.test, k: 3}`).
enum SeedsSection: Decodable, Sendable {
    case named(String)
    case rule(name: String, k: Int?, dnsName: String?)

    private enum Keys: String, CodingKey { case rule, k, name }

    init(from decoder: any Decoder) throws {
        if let name = try? decoder.singleValueContainer().decode(String.self) {
            self = .named(name)
            return
        }
        let container = try decoder.container(keyedBy: Keys.self)
        self = .rule(name: try container.decode(String.self, forKey: .rule), k: try container.decodeIfPresent(Int.self, forKey: .k),
                     dnsName: try container.decodeIfPresent(String.self, forKey: .name))
    }
}

struct LinksSection: Decodable, Sendable {
    var latency: Located<String>?
    var jitter: Located<String>?
    var loss: Located<Double>?
}

struct WorkloadSection: Decodable, Sendable {
    /// `all` or a count of nodes chosen at the start.
    var publishers: Located<CountOrWord>?
    /// Messages per second across the whole mesh.
    var rate: Located<Double>?
    /// Payload bytes per message.
    var payload: Located<Int>?
    var start: Located<String>?
    var stop: Located<String>?
}

/// A value written either as a number or as a word (`all`, `killed`, `50%`).
enum CountOrWord: Decodable, Sendable {
    case count(Int)
    case word(String)

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let count = try? container.decode(Int.self) { self = .count(count) } else { self = .word(try container.decode(String.self)) }
    }
}

/// Which nodes an event touches: a count, a share (`25%`), a word (`killed`, `all`), or names.
enum SelectionText: Decodable, Sendable {
    case count(Int)
    case word(String)
    case names([Located<String>])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let names = try? container.decode([Located<String>].self) {
            self = .names(names)
        } else if let count = try? container.decode(Int.self) {
            self = .count(count)
        } else {
            self = .word(try container.decode(String.self))
        }
    }
}

/// `partition:` is a number of groups, or the groups themselves as lists of node ids.
enum PartitionText: Decodable, Sendable {
    case groups(Int)
    case explicit([[Located<String>]])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let count = try? container.decode(Int.self) { self = .groups(count) } else { self = .explicit(try container.decode([[Located<String>]].self)) }
    }
}

/// `slow:` changes every link of some nodes (`nodes:`) or the one link between two (`link: [a, b]`).
struct SlowSection: Decodable, Sendable {
    var nodes: Located<SelectionText>?
    var link: Located<[String]>?
    var latency: Located<String>?
    var jitter: Located<String>?
    var loss: Located<Double>?
}

/// `cut:` is one-way: the `to` nodes drop what the `from` nodes send.
struct CutSection: Decodable, Sendable {
    var from: Located<SelectionText>
    var to: Located<SelectionText>
}

/// `rate:` limits the outgoing traffic of some nodes to `limit` (tc units: 1mbit, 500kbit, 2mbps).
struct RateSection: Decodable, Sendable {
    var nodes: Located<SelectionText>
    var limit: Located<String>
}

/// One line of the churn schedule: when, optionally how often and until when, and exactly one action.
struct ScheduleEntry: Decodable, Sendable {
    var at: Located<String>
    var every: Located<String>?
    var until: Located<String>?
    var kill: Located<SelectionText>?
    var restart: Located<SelectionText>?
    var add: Located<Int>?
    var replace: Located<SelectionText>?
    var upgrade: Located<SelectionText>?
    var freeze: Located<SelectionText>?
    var thaw: Located<SelectionText>?
    var partition: Located<PartitionText>?
    var heal: Located<Bool>?
    var slow: Located<SlowSection>?
    var cut: Located<CutSection>?
    var rate: Located<RateSection>?
    var dns: Located<SelectionText>?
    var move: Located<SelectionText>?
}
