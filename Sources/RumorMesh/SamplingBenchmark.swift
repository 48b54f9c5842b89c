import Foundation
import Glibc
import RumorCore
import RumorTopology
import RumorUV

/// Peer sampling measured live (`rumor bench sampling`, docs/sampling.md): real `rumor-node` processes on
/// loopback; every node asks its own `/sample?k=1` once a shuffle period for `rounds` periods, then half
/// the nodes fail at once (`kill -9`, or SIGSTOP: a hung host whose sockets stay open) and every survivor
/// asks again at fixed times after. The figures are what an application reading `/sample` sees.
public struct SamplingBenchmark {
    public enum Failure: String, Codable, Sendable, CaseIterable {
        /// `kill -9`: the kernel closes the sockets, peers see RST.
        case kill
        /// SIGSTOP: nothing closes; only silence shows the node dead.
        case freeze
    }

    public struct Options: Sendable {
        public var nodes = 128
        public var rounds = 20
        /// The nodes' shuffle interval: walks and draws run once a period.
        public var shuffleInterval: Duration = .seconds(1)
        public var failedShare = 0.5
        public var failures: [Failure] = Failure.allCases
        /// Seconds after the failure at which every survivor draws.
        public var checkpoints: [Double] = [1, 5]
        public var seed: UInt64 = 1
        public var executable: String
        public var workDirectory: String

        public init(executable: String, workDirectory: String) {
            self.executable = executable
            self.workDirectory = workDirectory
        }
    }

    public struct Figures: Codable, Sendable {
        public var failure: Failure
        public var nodes: Int
        public var draws: Int
        public var expectedPerNode: Double
        public var chiSquare: Double
        public var degreesOfFreedom: Int
        /// The 99.9% quantile of chi-square at these degrees of freedom: above it, the draws are not uniform.
        public var chiSquareQuantile999: Double
        public var maxOverExpected: Double
        /// Draws answered by an active peer standing in (`validated_ms_ago` null).
        public var standInShare: Double
        /// Seconds after the failure, and the share of the survivors' draws that named a failed node.
        public var checkpointSeconds: [Double]
        public var deadShare: [Double]
        /// Survivors whose `/sample` failed to answer at a checkpoint (a frozen node never does; a survivor should).
        public var unanswered: [Int]
        /// Of the dead draws at each checkpoint: how many were active peers standing in (the survivor had not
        /// yet noticed the failure), and how many were samples validated before the failure.
        public var deadStandIns: [Int]
        public var deadValidatedBefore: [Int]
    }

    let options: Options

    public init(_ options: Options) { self.options = options }

    public func run(progress: (String) -> Void = { _ in }) async throws -> [Figures] {
        var figures: [Figures] = []
        for failure in options.failures {
            progress("\(options.nodes) nodes, \(failure.rawValue)")
            figures.append(try await measure(failure))
        }
        return figures
    }

    private struct Sample: Decodable {
        struct Peer: Decodable {
            var id: String
            var validated_ms_ago: Int?
        }
        var peers: [Peer]
    }

    private func measure(_ failure: Failure) async throws -> Figures {
        let yaml = """
            name: bench-sampling-\(options.nodes)
            seed: \(options.seed)
            nodes: {count: \(options.nodes), address: '127.0.15.{i}:7000'}
            seeds: random-3
            duration: 1s
            """
        let topology: Topology
        do { topology = try TopologyLoader.parse(yaml, file: "bench") } catch { throw MeshLaunchError(description: "\(error)") }
        let nodeExecutable = try NodeExecutable.locate(beside: options.executable)
        let directory = "\(options.workDirectory)/sampling-\(failure.rawValue)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let eventLoop = try EventLoop()
        eventLoop.start()
        defer { eventLoop.shutdown() }
        let admin = NodeAdmin(eventLoop: eventLoop)
        let nodes = topology.nodes
        let byID = Dictionary(uniqueKeysWithValues: nodes.map { ($0.id, $0) })
        var processes: [String: NodeProcess] = [:]
        defer {
            for process in processes.values { process.resume(); process.kill() }
        }
        let interval = Int(options.shuffleInterval.nanosecondsRounded / 1_000_000)
        for node in nodes {
            var arguments = ["--listen", "\(node.address)", "--admin", "\(node.admin)", "--id", node.id, "--exit-with-parent",
                             "--log-level", "warning", "--shuffle-interval-ms", "\(interval)"]
            for seed in node.seeds { if let address = byID[seed]?.address { arguments += ["--seed", "\(address)"] } }
            processes[node.id] = try NodeProcess(executable: nodeExecutable, arguments: arguments, logFile: "\(directory)/\(node.id).log", node: node.id)
        }
        try await waitForOneOverlay(nodes, admin: admin)
        // Ten periods to settle: the reservoirs fill with walks over the overlay as it now stands.
        try await Task.sleep(for: options.shuffleInterval * 10)

        var counts: [String: Int] = Dictionary(uniqueKeysWithValues: nodes.map { ($0.id, 0) })
        var draws = 0
        var standIns = 0
        for _ in 0..<options.rounds {
            let started = ContinuousClock.now
            for reply in await drawEverywhere(nodes, admin: admin) {
                guard let peer = reply?.peers.first else { continue }
                draws += 1
                counts[peer.id, default: 0] += 1
                if peer.validated_ms_ago == nil { standIns += 1 }
            }
            try await Task.sleep(until: started + options.shuffleInterval, clock: .continuous)
        }
        let expected = Double(draws) / Double(nodes.count)
        let chiSquare = counts.values.reduce(0.0) { $0 + (Double($1) - expected) * (Double($1) - expected) / max(expected, 1e-9) }
        let most = Double(counts.values.max() ?? 0)

        var random = SeededRandom(seed: options.seed &* 0x5A3B_1E5)
        let victims = Set(nodes.map(\.id).shuffled(using: &random).prefix(Int((Double(nodes.count) * options.failedShare).rounded())))
        // All the signals first, reaping after: killing and reaping one by one spread the "mass" failure
        // over a few hundred milliseconds, in which the victims still alive kept answering walks.
        let failedAt = ContinuousClock.now
        for victim in victims {
            switch failure {
            case .kill: processes[victim].map { _ = Glibc.kill($0.pid, SIGKILL) }  // reaped below, once all are dead
            case .freeze: processes[victim]?.pause()
            }
        }
        if failure == .kill {
            for victim in victims { processes[victim]?.kill() }
        }
        let survivors = nodes.filter { !victims.contains($0.id) }
        var deadShares: [Double] = []
        var unanswered: [Int] = []
        var deadStandIns: [Int] = []
        var deadValidatedBefore: [Int] = []
        for seconds in options.checkpoints {
            try await Task.sleep(until: failedAt + .milliseconds(Int64(seconds * 1000)), clock: .continuous)
            let replies = await drawEverywhere(survivors, admin: admin)
            let drawn = replies.compactMap { $0?.peers.first }
            let dead = drawn.filter { victims.contains($0.id) }
            deadShares.append(drawn.isEmpty ? 0 : Double(dead.count) / Double(drawn.count))
            unanswered.append(replies.count { $0 == nil })
            deadStandIns.append(dead.count { $0.validated_ms_ago == nil })
            deadValidatedBefore.append(dead.count { ($0.validated_ms_ago ?? 0) >= Int(seconds * 1000) })
        }
        for process in processes.values {
            process.resume()
            process.terminate()
        }
        for process in processes.values { await process.waitOrKill(timeout: .seconds(5)) }
        processes = [:]
        return Figures(failure: failure, nodes: nodes.count, draws: draws, expectedPerNode: expected, chiSquare: chiSquare,
                       degreesOfFreedom: nodes.count - 1, chiSquareQuantile999: Self.chiSquareQuantile999(nodes.count - 1),
                       maxOverExpected: expected > 0 ? most / expected : 0, standInShare: draws == 0 ? 0 : Double(standIns) / Double(draws),
                       checkpointSeconds: options.checkpoints, deadShare: deadShares, unanswered: unanswered,
                       deadStandIns: deadStandIns, deadValidatedBefore: deadValidatedBefore)
    }

    /// Every node's `/sample?k=1` at once; nil where a node did not answer.
    private func drawEverywhere(_ nodes: [MeshNode], admin: NodeAdmin) async -> [Sample?] {
        await withTaskGroup(of: Sample?.self) { group in
            for node in nodes {
                group.addTask {
                    guard let reply = try? await AdminClient.request("GET", "/sample?k=1", to: node.admin, timeout: .milliseconds(500),
                                                                     using: admin.eventLoop), reply.status == 200 else { return nil }
                    return try? JSONDecoder().decode(Sample.self, from: Data(reply.body))
                }
            }
            var replies: [Sample?] = []
            for await reply in group { replies.append(reply) }
            return replies
        }
    }

    /// Waits until every node answers and their active views make one connected overlay.
    private func waitForOneOverlay(_ nodes: [MeshNode], admin: NodeAdmin) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        let addressToID = Dictionary(uniqueKeysWithValues: nodes.map { ("\($0.address)", $0.id) })
        while ContinuousClock.now < deadline {
            var links: [String: [String]] = [:]
            for node in nodes {
                guard let status = try? await admin.status(of: node) else { break }
                links[node.id] = status.active.compactMap { addressToID[$0.address] ?? $0.id }
            }
            if links.count == nodes.count, let first = nodes.first?.id {
                var reached: Set<String> = [first]
                var frontier = [first]
                while let next = frontier.popLast() {
                    for peer in links[next] ?? [] where reached.insert(peer).inserted { frontier.append(peer) }
                }
                if reached.count == nodes.count { return }
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        throw MeshLaunchError(description: "the \(nodes.count) nodes did not form one overlay within 60 s (logs in \(options.workDirectory))")
    }

    /// The 99.9% quantile of chi-square with `freedom` degrees of freedom (Wilson–Hilferty; within 0.5%
    /// from 30 degrees of freedom up).
    static func chiSquareQuantile999(_ freedom: Int) -> Double {
        let k = Double(max(1, freedom))
        let z = 3.090_232
        let term = 1 - 2 / (9 * k) + z * (2 / (9 * k)).squareRoot()
        return k * term * term * term
    }
}
