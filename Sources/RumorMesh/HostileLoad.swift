import Foundation
import RumorCore
import RumorSecurity
import RumorTopology
import RumorUV

/// `rumor bench hostile`: a live keyed mesh keeps broadcasting while one of its nodes is attacked from
/// loopback (garbage, oversized prefixes, half-open connections, a connection storm, slowloris, a key holder
/// flooding). It passes when every broadcast reached every node, every node stayed under the memory bound, and
/// the attacked node's CPU went back to idle afterwards.
public struct HostileLoad: Sendable {
    public struct Options: Sendable {
        public var executable: String
        public var workDirectory: String
        public var nodes = 8
        /// How long the timed attacks last.
        public var attackSeconds = 6.0
        public var stormConnections = 1000
        /// Peak resident memory no node may exceed.
        public var memoryBoundMiB = 64.0
        /// The attacked node's CPU, as a share of one core, must fall below this once the attacks end.
        public var idleCPUShare = 0.05

        public init(executable: String, workDirectory: String) {
            self.executable = executable
            self.workDirectory = workDirectory
        }
    }

    public struct Report: Codable, Sendable {
        public var nodes: Int
        public var attacks: [AttackFigures]
        public var messages: Int
        public var reliability: Double
        public var duplicates: Int
        /// Peak resident memory of each node, by node id.
        public var peakResidentMiB: [String: Double]
        public var memoryBoundMiB: Double
        public var targetCPUShareDuringAttacks: Double
        public var targetCPUShareAfter: Double
        public var idleCPUShare: Double
        /// The attacked node's `rumor_limit_reached_total` and `rumor_security_failures_total` after the attacks.
        public var targetCounters: [String: Double]
        public var problems: [String]
        public var passed: Bool { problems.isEmpty }
    }

    public let options: Options

    public init(options: Options) { self.options = options }

    public func run(progress: @Sendable (String) -> Void) async throws -> Report {
        try FileManager.default.createDirectory(atPath: options.workDirectory, withIntermediateDirectories: true)
        let keyring = Keyring(ClusterKey.generate())
        let keyFile = "\(options.workDirectory)/cluster.keys"
        guard FileManager.default.createFile(atPath: keyFile, contents: Data(keyring.text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw MeshLaunchError(description: "cannot write \(keyFile)")
        }
        let handshakeTimeout = 3.0
        // Attacks start once the mesh has formed; the workload runs through them and 8 s past them.
        let attackStart = 6.0
        let attackBudget = 2 * (handshakeTimeout + 1.5) + max(options.attackSeconds, handshakeTimeout + 1.5) + options.attackSeconds + 4
        let stop = attackStart + attackBudget + 12
        let yaml = """
            name: hostile-\(options.nodes)
            seed: 7
            nodes: {count: \(options.nodes), address: '127.0.14.{i}:7000'}
            seeds: first-2
            workload: {publishers: all, rate: 10, payload: 64, start: 3s, stop: \(stop - 6)s}
            duration: \(stop)s
            checks:
              - connected within 5s
              - reliability >= 1.0
              - duplicates == 0
            """
        let topology: Topology
        do { topology = try TopologyLoader.parse(yaml, file: "hostile") } catch { throw MeshLaunchError(description: "\(error)") }
        var meshOptions = MeshOptions(executable: options.executable, workDirectory: "\(options.workDirectory)/mesh", display: .quiet)
        meshOptions.nodeLogLevel = "warning"
        meshOptions.extraNodeArguments = ["--cluster-key", keyFile, "--handshake-timeout-ms", "\(Int(handshakeTimeout * 1000))"]
        guard let targetNode = topology.nodes.first else { throw MeshLaunchError(description: "the hostile mesh has no nodes") }

        let mesh = Task { try await MeshRunner(topology: topology, options: meshOptions).run() }
        try await Task.sleep(for: .seconds(attackStart))
        guard let pid = ProcessLookup.pid(withArguments: ["--admin", "\(targetNode.admin)"]) else {
            mesh.cancel()
            throw MeshLaunchError(description: "the node to attack (\(targetNode.id)) is not running")
        }
        progress("attacking \(targetNode.id) at \(targetNode.address)")
        let cpuBefore = ProcessStats.read(pid: pid)?.cpuSeconds ?? 0
        let attackClock = ContinuousClock.now
        let attacks = HostileAttacks(target: targetNode.address, keyring: keyring, seconds: options.attackSeconds,
                                     stormConnections: options.stormConnections, handshakeTimeout: handshakeTimeout)
        let figures = await OwnThread.run { attacks.runAll() }
        for attack in figures { progress("\(attack.name): \(attack.connections) connections, \(attack.closedByNode) closed by the node") }
        let attackWall = (ContinuousClock.now - attackClock).seconds
        let cpuAfterAttacks = ProcessStats.read(pid: pid)?.cpuSeconds ?? 0
        // Idle: measured over 4 s, starting 1 s after the last attack.
        try await Task.sleep(for: .seconds(1))
        let idleStart = ProcessStats.read(pid: pid)?.cpuSeconds ?? 0
        try await Task.sleep(for: .seconds(4))
        let idleEnd = ProcessStats.read(pid: pid)?.cpuSeconds ?? 0
        let counters = await Self.counters(of: targetNode)

        let result = try await mesh.value
        let evaluation = result.evaluation
        var report = Report(
            nodes: options.nodes, attacks: figures, messages: evaluation.messages.count, reliability: evaluation.reliability,
            duplicates: evaluation.duplicates, peakResidentMiB: Dictionary(result.processStats.map { ($0.node, Double($0.peakResidentBytes) / 1_048_576) }, uniquingKeysWith: max),
            memoryBoundMiB: options.memoryBoundMiB, targetCPUShareDuringAttacks: (cpuAfterAttacks - cpuBefore) / max(attackWall, 0.001),
            targetCPUShareAfter: (idleEnd - idleStart) / 4, idleCPUShare: options.idleCPUShare, targetCounters: counters, problems: [])
        report.problems = Self.problems(of: report, evaluation: evaluation, nodes: options.nodes)
        return report
    }

    static func problems(of report: Report, evaluation: RunEvaluation, nodes: Int) -> [String] {
        var problems = evaluation.checks.filter { !$0.passed }.map { "check '\($0.check)' failed: \($0.measured)" }
        if report.peakResidentMiB.count < nodes { problems.append("peak memory read for \(report.peakResidentMiB.count) of \(nodes) nodes") }
        if let worst = report.peakResidentMiB.max(by: { $0.value < $1.value }), worst.value > report.memoryBoundMiB {
            problems.append(String(format: "%@ peaked at %.1f MiB, over the bound of %.0f MiB", worst.key, worst.value, report.memoryBoundMiB))
        }
        if report.targetCPUShareAfter > report.idleCPUShare {
            problems.append(String(format: "the attacked node used %.1f%% of a core after the attacks (idle is under %.0f%%)",
                                   report.targetCPUShareAfter * 100, report.idleCPUShare * 100))
        }
        for attack in report.attacks where attack.name != "key holder flooding" && attack.closedByNode < attack.connections {
            problems.append("\(attack.name): the node closed \(attack.closedByNode) of \(attack.connections) connections")
        }
        if evaluation.messages.isEmpty { problems.append("no broadcast was published") }
        return problems
    }

    /// The attacked node's limit and security counters, from its /metrics.
    static func counters(of node: MeshNode) async -> [String: Double] {
        guard let response = try? await AdminClient.request("GET", "/metrics", to: node.admin) else { return [:] }
        var counters: [String: Double] = [:]
        for line in response.text.split(separator: "\n") where line.hasPrefix("rumor_limit_reached_total") || line.hasPrefix("rumor_security_failures_total") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let value = Double(parts[1]) { counters[String(parts[0])] = value }
        }
        return counters
    }
}

/// Runs blocking work on a thread of its own and awaits it, so it never holds one of the async pool's threads.
enum OwnThread {
    static func run<Result: Sendable>(_ work: @escaping @Sendable () -> Result) async -> Result {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: work()) }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }
}

/// Finding a child process by its command line.
enum ProcessLookup {
    /// The pid of a process whose arguments contain `arguments` in a row.
    static func pid(withArguments arguments: [String]) -> Int32? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return nil }
        for entry in entries {
            guard let pid = Int32(entry), let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { continue }
            let words = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            guard words.count >= arguments.count else { continue }
            for start in 0...(words.count - arguments.count) where Array(words[start..<start + arguments.count]) == arguments { return pid }
        }
        return nil
    }
}
