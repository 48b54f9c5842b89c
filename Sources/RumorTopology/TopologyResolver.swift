import RumorCore

/// Checks a decoded `TopologyFile` and resolves it into a `Topology`. Problems carry the position of
/// the value at fault; `TopologyLoader` adds the file name.
struct TopologyResolver {
    static let maximumNodes = 100_000
    static let defaultAdminOffset = 1000

    let file: TopologyFile
    let source: String
    /// `--network` on the command line, which beats the file's `network:`.
    let networkOverride: MeshNetwork?

    init(file: TopologyFile, source: String, networkOverride: MeshNetwork? = nil) {
        self.file = file
        self.source = source
        self.networkOverride = networkOverride
    }

    /// The file's `network:` (loopback when left out), unless the command line chose.
    func network() throws -> MeshNetwork {
        if let networkOverride { return networkOverride }
        guard let section = file.network else { return .loopback }
        let expected = "network: expected loopback, namespaces, or {kind: namespaces, family: 4 or 6}"
        switch section.value {
        case .named("loopback"): return .loopback
        case .named("namespaces"): return .namespaces(.ipv4)
        case .detailed(kind: "loopback", family: nil): return .loopback
        case .detailed(kind: "namespaces", family: let family):
            switch family {
            case nil, 4: return .namespaces(.ipv4)
            case 6: return .namespaces(.ipv6)
            case let other?: throw section.problem("network.family: expected 4 or 6, not \(other)")
            }
        case .named(let other): throw section.problem("\(expected), not '\(other)'")
        case .detailed(let kind, _): throw section.problem("\(expected), not kind '\(kind)'")
        }
    }

    /// For schedule entries and rules that only a namespace mesh can carry out.
    func requireNamespaces<T>(_ located: Located<T>, _ what: String) throws {
        guard try network().isNamespaces else {
            throw located.problem("\(what) needs network: namespaces (the kernel does it; a loopback mesh cannot)")
        }
    }

    func resolve() throws -> Topology {
        guard let duration = DurationText.parse(file.duration.value), duration > .zero else {
            throw file.duration.problem("duration: expected a positive duration such as 60s, not '\(file.duration.value)'")
        }
        let (nodes, template) = try resolveNodes()
        let seedRule = try resolveSeedRule(nodeCount: nodes.count)
        var seeded = nodes
        if seedRule != .explicit {
            var random = SeededRandom(seed: seed ^ 0x5EED5)
            for index in seeded.indices { seeded[index].seeds = Self.seeds(for: index, among: nodes, rule: seedRule, random: &random) }
        }
        let links = try resolveLinks(latency: file.links?.latency, jitter: file.links?.jitter, loss: file.links?.loss, section: "links")
        let workload = try resolveWorkload(nodeCount: nodes.count, duration: duration)
        let schedule = try resolveSchedule(duration: duration)
        let checks = try (file.checks ?? []).map { text throws -> Check in
            do throws(CheckParseError) { return try Check.parse(text.value, line: text.position.line) } catch { throw text.problem(error.description) }
        }
        let name = file.name?.value ?? Self.defaultName(for: source)
        let topology = Topology(name: name, summary: file.description ?? "", source: source, seed: seed, network: try network(), nodes: seeded,
                                addedNode: template, seedRule: seedRule, links: links, workload: workload,
                                schedule: schedule, duration: duration, checks: checks)
        // Planning finds what only shows over time: killing more nodes than are up, adding past the address space.
        _ = try ChurnPlanner(topology: topology).plan()
        return topology
    }

    private var seed: UInt64 { file.seed?.value ?? 1 }

    private static func defaultName(for source: String) -> String {
        let last = source.split(separator: "/").last.map(String.init) ?? source
        let base = last.hasPrefix("embedded:") ? String(last.dropFirst("embedded:".count)) : last
        for suffix in [".yaml", ".yml"] where base.hasSuffix(suffix) { return String(base.dropLast(suffix.count)) }
        return base
    }

    // MARK: Nodes

    private func resolveNodes() throws -> ([MeshNode], NodeTemplate?) {
        var nodes: [MeshNode] = []
        var template: NodeTemplate?
        switch file.nodes.value {
        case .pattern(let pattern):
            let count = pattern.count.value
            let network = try network()
            let limit = network.isNamespaces ? LabAddressing.maximumSlots : Self.maximumNodes
            guard (1...limit).contains(count) else {
                throw pattern.count.problem("nodes.count: expected 1 to \(limit)\(network.isNamespaces ? " on the namespace bench" : ""), not \(count)")
            }
            if network.isNamespaces, networkOverride == nil, let address = pattern.address ?? pattern.admin {
                throw address.problem("nodes.address and nodes.admin: leave them out on the namespace bench, which gives node I the address of its namespace")
            }
            if !network.isNamespaces, pattern.address == nil {
                throw pattern.count.problem("nodes.address: required on loopback, as 127.0.1.{i}:7000")
            }
            let made = NodeTemplate(idPattern: pattern.id?.value ?? "node-{i}", addressPattern: pattern.address?.value ?? "",
                                    adminPattern: pattern.admin?.value, wireVersions: try pattern.wireVersions.map(Self.wireVersions),
                                    network: network)
            for (text, what) in (pattern.address.map { [($0, "nodes.address")] } ?? []) + (pattern.admin.map { [($0, "nodes.admin")] } ?? [])
            where NumberPattern.fill(text.value, number: 1) == nil {
                throw text.problem("\(what): '\(text.value)' has a placeholder other than {i} or {N+i}")
            }
            for number in 1...count {
                nodes.append(try Self.makeNode(number: number, template: made, positions: pattern))
            }
            template = made
        case .list(let listed):
            guard !listed.isEmpty else { throw file.nodes.problem("nodes: expected at least one node") }
            let network = try network()
            if network.isNamespaces, listed.count > LabAddressing.maximumSlots {
                throw file.nodes.problem("nodes: at most \(LabAddressing.maximumSlots) on the namespace bench")
            }
            for (offset, entry) in listed.enumerated() {
                guard NodeID(entry.id.value) != nil else {
                    throw entry.id.problem("node id '\(entry.id.value)': expected 1 to \(NodeID.maximumLength) bytes")
                }
                var address = try Self.loopback(entry.address)
                var admin = try entry.admin.map(Self.loopback) ?? Self.defaultAdmin(for: address, at: entry.address)
                if case .namespaces(let family) = network {
                    // The namespace bench numbers hosts in the order the file lists them.
                    address = LabAddressing.address(slot: offset + 1, family: family)
                    admin = LabAddressing.admin(slot: offset + 1, family: family)
                }
                nodes.append(MeshNode(number: offset + 1, id: entry.id.value, address: address, admin: admin,
                                      seeds: (entry.seeds ?? []).map(\.value), wireVersions: try entry.wireVersions.map(Self.wireVersions)))
            }
            let ids = Set(nodes.map(\.id))
            for entry in listed {
                for seed in entry.seeds ?? [] where !ids.contains(seed.value) {
                    throw seed.problem("unknown node '\(seed.value)' in the seed list of '\(entry.id.value)'")
                }
                for seed in entry.seeds ?? [] where seed.value == entry.id.value {
                    throw seed.problem("node '\(entry.id.value)' lists itself as a seed")
                }
            }
        }
        try Self.checkDistinct(nodes, positions: file.nodes)
        return (nodes, template)
    }

    static func makeNode(number: Int, template: NodeTemplate, positions: NodePattern? = nil) throws -> MeshNode {
        let fallback = SourcePosition.unknown
        guard let id = NumberPattern.fill(template.idPattern, number: number), NodeID(id) != nil else {
            throw ResolveProblem(position: positions?.id?.position ?? fallback,
                                 message: "nodes.id: '\(template.idPattern)' does not make a valid id for node \(number)")
        }
        if case .namespaces(let family) = template.network {
            return try labNode(number: number, id: id, family: family, wireVersions: template.wireVersions)
        }
        guard let addressText = NumberPattern.fill(template.addressPattern, number: number) else {
            throw ResolveProblem(position: positions?.address?.position ?? fallback, message: "nodes.address: cannot fill in '\(template.addressPattern)'")
        }
        let address: PeerAddress
        switch LoopbackAddress.parse(addressText) {
        case .success(let parsed): address = parsed
        case .failure(let message):
            throw ResolveProblem(position: positions?.address?.position ?? fallback, message: "nodes.address for node \(number): \(message)")
        }
        var admin = PeerAddress(host: address.host, port: address.port &+ UInt16(defaultAdminOffset))
        if let adminPattern = template.adminPattern {
            guard let adminText = NumberPattern.fill(adminPattern, number: number) else {
                throw ResolveProblem(position: positions?.admin?.position ?? fallback, message: "nodes.admin: cannot fill in '\(adminPattern)'")
            }
            switch LoopbackAddress.parse(adminText) {
            case .success(let parsed): admin = parsed
            case .failure(let message):
                throw ResolveProblem(position: positions?.admin?.position ?? fallback, message: "nodes.admin for node \(number): \(message)")
            }
        } else if Int(address.port) + defaultAdminOffset > Int(UInt16.max) {
            throw ResolveProblem(position: positions?.address?.position ?? fallback,
                                 message: "node \(number)'s port \(address.port) leaves no room for its admin port (+\(defaultAdminOffset)); give nodes.admin")
        }
        return MeshNode(number: number, id: id, address: address, admin: admin, seeds: [], wireVersions: template.wireVersions)
    }

    /// Node `number` of a namespace mesh, on the address of its namespace slot.
    static func labNode(number: Int, id: String, family: LabFamily, wireVersions: ClosedRange<UInt8>?) throws -> MeshNode {
        guard number <= LabAddressing.maximumSlots else {
            throw ResolveProblem(position: .unknown, message: "the namespace bench has room for \(LabAddressing.maximumSlots) hosts; this run would need host \(number)")
        }
        return MeshNode(number: number, id: id, address: LabAddressing.address(slot: number, family: family),
                        admin: LabAddressing.admin(slot: number, family: family), seeds: [], wireVersions: wireVersions)
    }

    /// `wire-versions: 3` or `3-4`, within what this build speaks.
    private static func wireVersions(_ text: Located<String>) throws -> ClosedRange<UInt8> {
        guard let versions = WireFormat.parseVersions(text.value) else {
            throw text.problem("wire-versions: expected a version or an ascending range such as 3-4, not '\(text.value)'")
        }
        guard WireFormat.speaks(versions) else {
            throw text.problem("wire-versions: '\(text.value)' reaches outside what this build speaks, \(WireFormat.describe(WireFormat.versions))")
        }
        return versions
    }

    private static func loopback(_ text: Located<String>) throws -> PeerAddress {
        switch LoopbackAddress.parse(text.value) {
        case .success(let address): return address
        case .failure(let message): throw text.problem(message.description)
        }
    }

    private static func defaultAdmin(for address: PeerAddress, at position: Located<String>) throws -> PeerAddress {
        guard Int(address.port) + defaultAdminOffset <= Int(UInt16.max) else {
            throw position.problem("port \(address.port) leaves no room for the admin port (+\(defaultAdminOffset)); give admin")
        }
        return PeerAddress(host: address.host, port: address.port + UInt16(defaultAdminOffset))
    }

    /// No two nodes on one address or with one id, and no admin endpoint on a peer address.
    static func checkDistinct<T>(_ nodes: [MeshNode], positions: Located<T>) throws {
        var owners: [PeerAddress: String] = [:]
        var ids: Set<String> = []
        for node in nodes {
            guard ids.insert(node.id).inserted else { throw positions.problem("two nodes are named '\(node.id)'") }
            for address in [node.address, node.admin] {
                if let owner = owners[address] {
                    throw positions.problem("two nodes on one address: '\(owner)' and '\(node.id)' both use \(address)")
                }
                owners[address] = node.id
            }
        }
    }

    // MARK: Seeds

    private func resolveSeedRule(nodeCount: Int) throws -> SeedRule {
        guard let section = file.seeds else {
            if case .list(let listed) = file.nodes.value, listed.contains(where: { $0.seeds != nil }) { return .explicit }
            return .first(1)
        }
        let name: String
        var k: Int?
        var dnsName: String?
        switch section.value {
        case .named(let text):
            let parts = text.split(separator: "-", maxSplits: 1).map(String.init)
            guard let first = parts.first else { throw section.problem("seeds: expected first, first-K, star, line, random-K or dns, not '\(text)'") }
            name = first
            if parts.count == 2 {
                guard let number = Int(parts[1]) else { throw section.problem("seeds: expected first, first-K, star, line, random-K or dns, not '\(text)'") }
                k = number
            }
        case .rule(let ruleName, let ruleK, let ruleDNSName):
            name = ruleName
            k = ruleK
            dnsName = ruleDNSName
        }
        if name == "dns" {
            try requireNamespaces(section, "seeds: dns")
            let host = dnsName ?? "seeds.rumor.test"
            guard Self.isDNSName(host) else {
                throw section.problem("seeds.name: '\(host)' is not a DNS name (letters, digits, '-', '_' and dots, at most 253 bytes)")
            }
            let records = k ?? min(3, nodeCount)
            guard (1...nodeCount).contains(records) else {
                throw section.problem("seeds.k: the name starts with the addresses of the first k nodes, 1 to \(nodeCount), not \(records)")
            }
            return .dns(name: host, records: records)
        }
        if dnsName != nil { throw section.problem("seeds.name goes with rule: dns only") }
        if case .list(let listed) = file.nodes.value, listed.contains(where: { $0.seeds != nil }) {
            throw section.problem("seeds: give either a rule here or seeds on each listed node, not both")
        }
        if let k, !(1..<max(2, nodeCount)).contains(k) {
            throw section.problem("seeds: k must be from 1 to \(max(1, nodeCount - 1)) (one less than the nodes), not \(k)")
        }
        switch name {
        case "first": return .first(k ?? 1)
        case "random": return .random(k ?? 3)
        case "star" where k == nil: return .star
        case "line" where k == nil: return .line
        default: throw section.problem("seeds: expected first, first-K, star, line, random-K or dns, not '\(name)\(k.map { "-\($0)" } ?? "")'")
        }
    }

    static func seeds(for index: Int, among nodes: [MeshNode], rule: SeedRule, random: inout SeededRandom) -> [String] {
        switch rule {
        case .first(let k): return nodes.prefix(k + 1).filter { $0.number != nodes[index].number }.prefix(k).map(\.id)
        case .star: return index == 0 ? [] : [nodes[0].id]
        case .line: return index == 0 ? [] : [nodes[index - 1].id]
        case .random(let k):
            var others = nodes.indices.filter { $0 != index }
            others.shuffle(using: &random)
            return others.prefix(k).sorted().map { nodes[$0].id }
        case .explicit: return nodes[index].seeds
        case .dns: return []
        }
    }

    static func isDNSName(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 253 && !text.hasPrefix(".") && !text.hasPrefix("-")
            && text.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0) }
    }

    // MARK: Links and workload

    func resolveLinks(latency: Located<String>?, jitter: Located<String>?, loss: Located<Double>?, section: String) throws -> LinkConditions {
        var conditions = LinkConditions()
        if let latency {
            guard let value = DurationText.parse(latency.value) else { throw latency.problem("\(section).latency: expected a duration such as 20ms, not '\(latency.value)'") }
            conditions.latency = value
        }
        if let jitter {
            guard let value = DurationText.parse(jitter.value) else { throw jitter.problem("\(section).jitter: expected a duration such as 10ms, not '\(jitter.value)'") }
            conditions.jitter = value
        }
        if let loss {
            guard (0...1).contains(loss.value) else { throw loss.problem("\(section).loss: expected a share from 0 to 1, not \(loss.value)") }
            conditions.loss = loss.value
        }
        return conditions
    }

    private func resolveWorkload(nodeCount: Int, duration: Duration) throws -> Workload {
        let section = file.workload
        var publishers = Workload.Publishers.all
        if let chosen = section?.publishers {
            switch chosen.value {
            case .word("all"): publishers = .all
            case .count(let count) where (1...nodeCount).contains(count): publishers = .count(count)
            case .count(let count): throw chosen.problem("workload.publishers: expected 1 to \(nodeCount) or 'all', not \(count)")
            case .word(let word): throw chosen.problem("workload.publishers: expected a count or 'all', not '\(word)'")
            }
        }
        let rate = section?.rate?.value ?? 10
        if let located = section?.rate, rate != 0, !(0.001...10_000).contains(rate) {
            throw located.problem("workload.rate: expected 0, or 0.001 to 10000 messages a second, not \(rate)")
        }
        let payload = section?.payload?.value ?? 64
        if let located = section?.payload, !(1...(256 << 10)).contains(payload) {
            throw located.problem("workload.payload: expected 1 to 262144 bytes, not \(payload)")
        }
        let start = try section?.start.map { try time($0, "workload.start", limit: duration) } ?? min(.seconds(2), duration)
        let defaultStop = max(start, duration - .seconds(5))
        let stop = try section?.stop.map { try time($0, "workload.stop", limit: duration) } ?? defaultStop
        if stop < start, let located = section?.stop { throw located.problem("workload.stop comes before workload.start") }
        if (stop - start).seconds * rate > 1_000_000 {
            let message = "workload: more than a million messages (rate × publishing time); shorten the run or lower the rate"
            throw section?.rate?.problem(message) ?? file.duration.problem(message)
        }
        return Workload(publishers: publishers, rate: rate, payloadSize: payload, start: start, stop: stop)
    }

    func time(_ text: Located<String>, _ what: String, limit: Duration) throws -> Duration {
        guard let value = DurationText.parse(text.value) else { throw text.problem("\(what): expected a duration such as 10s, not '\(text.value)'") }
        guard value <= limit else { throw text.problem("\(what): \(text.value) is after the end of the run (duration \(DurationText.format(limit)))") }
        return value
    }
}
