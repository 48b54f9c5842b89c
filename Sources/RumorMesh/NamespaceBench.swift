import Foundation
import RumorCore
import RumorTopology
import RumorUV
import Synchronization

/// A mesh on the namespace bench: each node in a network namespace of its own, listening on every
/// interface and advertising its namespace's address, found through a DNS name where the topology says
/// so; partitions, cuts, packet loss and rate limits done by the kernel. The harness reaches the admin
/// endpoints from the lab's hub namespace (its event loop thread moves there), so the host keeps no
/// route into the lab.
final class NamespaceBench: Sendable {
    let lab: NamespaceLab
    let topology: Topology
    let plan: ChurnPlan
    let family: LabFamily
    /// `ip`, which runs a node inside its namespace (`ip netns exec` execs it: same pid, signals reach it).
    private let ipExecutable: String
    /// Loss and rate limits in force, re-applied after a heal and to a node moved to another slot.
    private let standingFaults = Mutex<[StandingFault]>([])
    private let probed = Mutex<NamespaceLab.Probe?>(nil)

    private struct StandingFault {
        /// nil: every slot of the run, set once for all (a slot's namespace, and so its rules, outlive its
        /// processes); otherwise these node ids, wherever they run.
        var nodes: Set<String>?
        var loss: Double?
        var rate: String?
    }

    init(topology: Topology, plan: ChurnPlan, rumorExecutable: String) throws {
        guard case .namespaces(let family) = topology.network else {
            throw MeshLaunchError(description: "\(topology.name) is a loopback mesh, not a namespace mesh")
        }
        guard getuid() == 0 else {
            throw MeshLaunchError(description: "a namespace mesh needs root (network namespaces, nftables, tc); run it as root or use a loopback topology")
        }
        let script: String
        do { script = try NamespaceLab.locateScript(beside: rumorExecutable) } catch { throw MeshLaunchError(description: "\(error)") }
        guard let ip = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw MeshLaunchError(description: "ip not found (apt-get install iproute2)")
        }
        self.ipExecutable = ip
        self.topology = topology
        self.plan = plan
        self.family = family
        // Short and unique: names are rumor-RUN-SLOT, and an interface name holds 15 bytes.
        lab = NamespaceLab(script: script, run: "m\(getpid() % 100_000)", family: family)
    }

    // MARK: Setting up and tearing down

    /// Probes the kernel, builds a namespace for every node the plan will ever place, publishes the seed
    /// name, puts the harness's sockets into the hub, and starts the loss every link has.
    func prepare(eventLoop: EventLoop) async throws {
        let probe = await NamespaceLab.probe(script: lab.script)
        probed.withLock { $0 = probe }
        guard probe.namespaces else {
            throw MeshLaunchError(description: "network namespaces cannot be made here: \(probe.reason ?? "netns-lab probe failed")")
        }
        do {
            await lab.destroy()  // what a killed earlier run of this pid left
            try await lab.create(slots: plan.nodes.count)
            if case .dns(let name, let records) = topology.seedRule {
                try await lab.setRecords(name: name, hosts: topology.nodes.prefix(records).map(\.address.host))
            }
            try await eventLoop.enterNetworkNamespace(atPath: lab.hubNamespacePath)
        } catch {
            throw MeshLaunchError(description: "\(error)")
        }
        if topology.links.loss > 0 {
            let everyLink = StandingFault(nodes: nil, loss: topology.links.loss, rate: nil)
            standingFaults.withLock { $0.append(everyLink) }
            try await apply(everyLink, to: allSlots)
        }
    }

    func tearDown() async { await lab.destroy() }

    // MARK: Nodes

    /// How a node is started: `ip netns exec NAMESPACE rumor-node ARGUMENTS`.
    func command(for node: MeshNode, nodeExecutable: String, arguments: [String]) -> (executable: String, arguments: [String]) {
        (ipExecutable, ["netns", "exec", lab.namespace(slot: node.number), nodeExecutable] + arguments)
    }

    /// Where a node listens and what it tells others: every interface of its namespace, its own address
    /// advertised, the admin endpoint on that address for the harness in the hub.
    func placement(of node: MeshNode) -> [String] {
        let everyInterface = family == .ipv4 ? "0.0.0.0" : "[::]"
        return ["--listen", "\(everyInterface):\(node.address.port)", "--advertise", "\(node.address)",
                "--admin", "\(node.admin)", "--admin-any-address"]
    }

    /// The seed name, for a mesh seeded by DNS.
    var seedName: String? {
        if case .dns(let name, _) = topology.seedRule { return "\(name):\(LabAddressing.seedPort)" }
        return nil
    }

    /// A node just placed in its namespace gets the loss and rate limits standing for its id: after a
    /// `move` its new slot has none yet (the ones for every slot were set at the start).
    func placed(_ node: MeshNode) async throws {
        let standing = standingFaults.withLock { $0 }.filter { $0.nodes?.contains(node.id) ?? false }
        for fault in standing { try await apply(fault, to: [node.number]) }
    }

    /// Every namespace slot the run made, the ones for later nodes included.
    private var allSlots: [Int] { Array(1...plan.nodes.count) }

    // MARK: Faults

    func partition(_ groups: [[Int]]) async throws {
        for first in groups.indices {
            for second in groups.indices where second > first && !groups[first].isEmpty && !groups[second].isEmpty {
                try await labCall { try await self.lab.partition(groups[first], groups[second]) }
            }
        }
    }

    func cut(from: [Int], to: [Int]) async throws {
        try await labCall { try await self.lab.cut(from: from, to: to) }
    }

    /// Lifts partitions and cuts; the standing loss and rate limits come back at once.
    func heal(currentSlots: [String: Int]) async throws {
        try await labCall { try await self.lab.healAll() }
        for fault in standingFaults.withLock({ $0 }) {
            let slots = fault.nodes.map { ids in ids.compactMap { currentSlots[$0] } } ?? allSlots
            try await apply(fault, to: slots)
        }
    }

    /// Kernel loss (share 0 ends it) or a rate limit for these nodes from now on, where they run now and
    /// wherever they move.
    func impose(loss: Double? = nil, rate: String? = nil, on nodes: [String], currentSlots: [String: Int]) async throws {
        let fault = StandingFault(nodes: Set(nodes), loss: loss, rate: rate)
        standingFaults.withLock { $0.append(fault) }
        try await apply(fault, to: nodes.compactMap { currentSlots[$0] })
    }

    func setSeedRecords(_ addresses: [PeerAddress]) async throws {
        guard case .dns(let name, _) = topology.seedRule else { return }
        try await labCall { try await self.lab.setRecords(name: name, hosts: addresses.map(\.host)) }
    }

    private func apply(_ fault: StandingFault, to slots: [Int]) async throws {
        guard !slots.isEmpty else { return }
        if let share = fault.loss { try await labCall { try await self.lab.loss(slots, share: share) } }
        if let limit = fault.rate { try await labCall { try await self.lab.rate(slots, limit: limit) } }
    }

    /// A lab failure, as the harness reports launch problems.
    private func labCall(_ body: () async throws -> Void) async throws {
        do { try await body() } catch { throw MeshLaunchError(description: "\(error)") }
    }

    // MARK: What the run can report

    /// IPv4 sockets (TCP, UDP, raw) open in the namespace of each of these processes: the lines of its
    /// /proc/PID/net tables past their headers. A node's namespace holds no other process.
    static func ipv4Sockets(of processes: [String: pid_t]) -> [String: Int] {
        var counts: [String: Int] = [:]
        for (node, pid) in processes {
            counts[node] = ["tcp", "udp", "raw"].reduce(0) { total, table in
                let text = (try? String(contentsOfFile: "/proc/\(pid)/net/\(table)", encoding: .utf8)) ?? ""
                return total + max(0, text.split(separator: "\n").count - 1)
            }
        }
        return counts
    }

    /// Which layer did what in this run, for its report.
    var layerNotes: [String] {
        let probe = probed.withLock { $0 }
        var notes = ["network: \(plan.nodes.count) namespaces on one bridge (\(family)), run \(lab.run); nodes listen on every interface and advertise their own address"]
        if case .dns(let name, _) = topology.seedRule {
            notes.append("seeds: the DNS name \(name) only, served by dnsmasq in the hub namespace (TTL 0)")
        }
        let changes = plan.steps.map(\.change)
        if changes.contains(where: { if case .partition = $0 { true } else { false } }) || changes.contains(where: { if case .cut = $0 { true } else { false } }) {
            notes.append("partitions and cuts: the kernel (nftables DROP at each receiving namespace's input: silent, no RST)")
        }
        let lossShaped = topology.links.loss > 0 || changes.contains { if case .shapeLinks(_, let c, _) = $0 { c.loss > 0 } else { false } }
        if lossShaped { notes.append("packet loss: the kernel (nftables random drop at each node's input), so TCP retransmits") }
        if changes.contains(where: { if case .rate = $0 { true } else { false } }) { notes.append("rate limits: the kernel (tbf on each node's interface, outgoing)") }
        let delayed = topology.links.latency > .zero || topology.links.jitter > .zero
            || changes.contains { if case .shapeLinks(_, let c, _) = $0 { c.latency > .zero || c.jitter > .zero } else { false } }
        if delayed {
            let netem = probe.map { $0.netem ? "netem exists on this kernel but the bench does not use it yet" : "netem does not exist on this kernel" } ?? "netem not probed"
            notes.append("latency and jitter: the nodes' own link shaping (\(netem))")
        }
        return notes
    }
}
