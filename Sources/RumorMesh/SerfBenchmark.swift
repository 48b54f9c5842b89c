import Foundation
import RumorCore
import RumorTopology

/// `rumor bench serf`: Serf agents and Rumor nodes on the same machine, driven with the same workload —
/// join, evenly spaced events from random members, `kill -9` of a share (or a freeze: SIGSTOP, the silent
/// failure of a hung host), events from the others right after it — and measured alike. Cells alternate
/// between the two systems so machine noise hits both.
public struct SerfBenchmark {
    public struct Options: Sendable {
        public var nodes: [Int] = [16, 32, 64]
        public var events = 100
        public var kill: [Double] = [0.5]
        /// Shares frozen with SIGSTOP instead of killed, each a cell of its own; thawed after the events.
        public var freeze: [Double] = []
        public var runs = 3
        /// Time between two events.
        public var spacing: Duration = .milliseconds(100)
        /// Also measure the plain-libuv relay tree (`RelayFloor`) over the same N in every run.
        public var floor = true
        public var executable: String
        public var workDirectory: String

        public init(executable: String, workDirectory: String) {
            self.executable = executable
            self.workDirectory = workDirectory
        }
    }

    /// Delivery of a batch of events: mean share of the expected members reached, and the time from publish
    /// to the last member reached (over events that reached everyone expected).
    public struct EventFigures: Codable, Sendable {
        public var events: Int
        public var reliability: Double
        public var latencyP50: Double?
        public var latencyP99: Double?
        public var latencyMaximum: Double?

        init(latencies: [Double?], reliabilities: [Double]) {
            let complete = latencies.compactMap { $0 }.sorted()
            events = reliabilities.count
            reliability = reliabilities.isEmpty ? 0 : reliabilities.reduce(0, +) / Double(reliabilities.count)
            latencyP50 = RunEvaluation.percentile(complete, 0.5)
            latencyP99 = RunEvaluation.percentile(complete, 0.99)
            latencyMaximum = complete.last
        }
    }

    public struct Cell: Codable, Sendable {
        /// serf, rumor, or floor (the plain-libuv relay tree: only its steady latencies are measured).
        public var system: String
        public var nodes: Int
        /// The share of the members disrupted: killed with `kill -9`, or frozen when `disruption` says so.
        public var kill: Double
        /// "kill" or "freeze".
        public var disruption: String
        public var run: Int
        /// Serf: every member lists all N alive. Rumor: one overlay over all N (no node lists every member).
        public var joinSeconds: Double?
        public var steady: EventFigures
        /// Each steady event's time to its last member, in seconds, for the latency CDF (complete events only).
        public var steadyLatencies: [Double]
        public var afterKill: EventFigures
        /// Serf: every survivor lists every killed (or frozen) member as failed. Rumor: no survivor's active
        /// view names one.
        public var deadRemovalSeconds: Double?
        /// Freeze cells: from the thaw until every member is back (Serf: every agent lists all alive; Rumor:
        /// one overlay over all N again).
        public var thawedBackSeconds: Double?
        public var cpuSecondsPerMember: Double
        public var peakResidentMiBPerMember: Double
        /// Proportional set size: shared library pages split among the processes that map them.
        public var proportionalMiBPerMember: Double
        /// Bytes through read and write calls over the whole cell, per event per member (from /proc/PID/io).
        public var bytesPerEventPerMember: Double

        /// A cell whose cost columns are the means over the members still up (`cost`) of their figures.
        init(system: String, nodes: Int, disruption: Disruption, run: Int, joinSeconds: Double?, steady: EventFigures, steadyLatencies: [Double],
             afterKill: EventFigures, deadRemovalSeconds: Double?, thawedBackSeconds: Double? = nil, cost stats: [ProcessStats], events: Int) {
            (self.system, self.nodes, self.kill, self.disruption, self.run) = (system, nodes, disruption.share, disruption.kind.rawValue, run)
            self.thawedBackSeconds = thawedBackSeconds
            (self.joinSeconds, self.steady, self.afterKill, self.deadRemovalSeconds) = (joinSeconds, steady, afterKill, deadRemovalSeconds)
            self.steadyLatencies = steadyLatencies
            func mean(_ value: (ProcessStats) -> Double) -> Double { stats.map(value).reduce(0, +) / Double(max(1, stats.count)) }
            cpuSecondsPerMember = mean(\.cpuSeconds)
            peakResidentMiBPerMember = mean { Double($0.peakResidentBytes) } / 1_048_576
            proportionalMiBPerMember = mean { Double($0.proportionalBytes) } / 1_048_576
            bytesPerEventPerMember = mean { Double($0.bytesRead + $0.bytesWritten) } / Double(max(1, events))
        }
    }

    /// What happens to a share of the members halfway through a cell.
    public struct Disruption: Sendable {
        public enum Kind: String, Sendable { case kill, freeze }
        public var kind: Kind
        public var share: Double
    }

    let options: Options

    public init(options: Options) { self.options = options }

    /// The floor's figures as a cell: latencies only; it has no membership, no kill and no cost worth comparing.
    static func floorCell(_ figures: RelayFloor.Figures, run: Int) -> Cell {
        let steady = EventFigures(latencies: figures.latencies, reliabilities: figures.latencies.map { _ in 1 })
        return Cell(system: "floor", nodes: figures.processes, disruption: Disruption(kind: .kill, share: 0), run: run, joinSeconds: nil, steady: steady,
                    steadyLatencies: figures.latencies, afterKill: EventFigures(latencies: [], reliabilities: []),
                    deadRemovalSeconds: nil, cost: [], events: figures.messages)
    }

    public func run(progress: (String) -> Void) async throws -> [Cell] {
        var cells: [Cell] = []
        let disruptions = options.kill.map { Disruption(kind: .kill, share: $0) } + options.freeze.map { Disruption(kind: .freeze, share: $0) }
        for nodes in options.nodes {
            for (number, disruption) in disruptions.enumerated() {
                for run in 1...options.runs {
                    let name = "\(disruption.kind.rawValue) \(Int(disruption.share * 100))%"
                    progress("serf, \(nodes) members, \(name), run \(run)")
                    cells.append(try await serfCell(nodes: nodes, disruption: disruption, run: run))
                    progress("rumor, \(nodes) members, \(name), run \(run)")
                    cells.append(try await rumorCell(nodes: nodes, disruption: disruption, run: run))
                    if options.floor, number == 0 {
                        progress("plain libuv relay tree, \(nodes) processes, run \(run)")
                        cells.append(Self.floorCell(try await floor(nodes: nodes), run: run))
                    }
                }
            }
        }
        return cells
    }

    private func floor(nodes: Int) async throws -> RelayFloor.Figures {
        var floorOptions = RelayFloor.Options(executable: options.executable, workDirectory: options.workDirectory)
        floorOptions.processes = nodes
        floorOptions.messages = options.events
        floorOptions.spacing = options.spacing
        floorOptions.timeout = .seconds(30) + options.spacing * options.events
        return try await RelayFloor(options: floorOptions).run()
    }

    // MARK: Serf

    private func serfCell(nodes: Int, disruption: Disruption, run: Int) async throws -> Cell {
        let cluster = try SerfCluster(count: nodes, directory: "\(options.workDirectory)/serf-\(nodes)-\(run)")
        var random = SeededRandom(seed: UInt64(nodes * 1000 + run))
        try cluster.start()
        let everyone = Set(cluster.agents.map(\.name))
        let joined = await cluster.waitUntilEveryAgent(timeout: .seconds(60)) { cluster.members(seenBy: $0, status: "alive") == everyone }
        var published: [(name: String, at: Int64, expected: Set<String>)] = []
        for number in 0..<options.events {
            let origin = cluster.live.randomElement(using: &random)!
            if let at = cluster.publish("s\(number)", from: origin) { published.append(("s\(number)", at, everyone)) }
            try? await Task.sleep(for: options.spacing)
        }
        let victims = Array(cluster.live.shuffled(using: &random).prefix(Int((Double(nodes) * disruption.share).rounded())))
        let dead = Set(victims.map { cluster.agents[$0].name })
        switch disruption.kind {
        case .kill: cluster.kill(victims)
        case .freeze: cluster.freeze(victims)
        }
        let survivors = everyone.subtracting(dead)
        // Watched while the events right after the kill go out.
        async let removal = cluster.waitUntilEveryAgent(timeout: .seconds(90)) { index in
            (cluster.members(seenBy: index, status: "failed") ?? []).isSuperset(of: dead)
        }
        for number in 0..<options.events {
            let origin = cluster.live.randomElement(using: &random)!
            if let at = cluster.publish("k\(number)", from: origin) { published.append(("k\(number)", at, survivors)) }
            try? await Task.sleep(for: options.spacing)
        }
        let removed = await removal
        var thawedBack: Duration?
        if disruption.kind == .freeze {
            cluster.thawAll()
            thawedBack = await cluster.waitUntilEveryAgent(timeout: .seconds(60)) { cluster.members(seenBy: $0, status: "alive") == everyone }
        }
        try? await Task.sleep(for: .seconds(2))
        let stats = cluster.stats()
        await cluster.stop()
        let arrivals = cluster.arrivals()
        func latenciesAndReliabilities(_ prefix: String) -> ([Double?], [Double]) {
            var latencies: [Double?] = []
            var reliabilities: [Double] = []
            for event in published where event.name.hasPrefix(prefix) {
                let reached = (arrivals[event.name] ?? [:]).filter { event.expected.contains($0.key) }
                reliabilities.append(Double(reached.count) / Double(event.expected.count))
                latencies.append(reached.count == event.expected.count ? reached.values.max().map { Double($0 - event.at) / 1e9 } : nil)
            }
            return (latencies, reliabilities)
        }
        let steady = latenciesAndReliabilities("s")
        let afterKill = latenciesAndReliabilities("k")
        return Cell(system: "serf", nodes: nodes, disruption: disruption, run: run, joinSeconds: joined?.seconds,
                    steady: EventFigures(latencies: steady.0, reliabilities: steady.1), steadyLatencies: steady.0.compactMap { $0 },
                    afterKill: EventFigures(latencies: afterKill.0, reliabilities: afterKill.1),
                    deadRemovalSeconds: removed?.seconds, thawedBackSeconds: thawedBack?.seconds,
                    cost: stats, events: published.count)
    }

    // MARK: Rumor

    private func rumorCell(nodes: Int, disruption: Disruption, run: Int) async throws -> Cell {
        let spacing = options.spacing.seconds
        let start = 3.0
        let killAt = start + Double(options.events) * spacing
        let stop = killAt + Double(options.events) * spacing
        let yaml = """
            name: bench-rumor-\(nodes)
            seed: \(nodes * 1000 + run)
            nodes: {count: \(nodes), address: '127.0.13.{i}:7000'}
            seeds: random-3
            workload: {publishers: all, rate: \(1 / spacing), payload: 1, start: \(start)s, stop: \(stop - spacing / 2)s}
            schedule:
              - at: \(killAt)s
                \(disruption.kind.rawValue): \(Int((Double(nodes) * disruption.share).rounded()))
            \(disruption.kind == .freeze ? "  - at: \(stop + 1)s\n    thaw: all\n" : "")duration: \(stop + 6)s
            """
        let topology: Topology
        do { topology = try TopologyLoader.parse(yaml, file: "bench") } catch { throw MeshLaunchError(description: "\(error)") }
        var meshOptions = MeshOptions(executable: options.executable, workDirectory: "\(options.workDirectory)/rumor-\(nodes)-\(run)", display: .quiet)
        meshOptions.nodeLogLevel = "warning"
        // The launcher's polls are the harness's load, not Rumor's: a poll of 64 processes (status and
        // deliveries over HTTP) keeps both cores busy for a few hundred ms, and at the default 500 ms it
        // competed with the events it measures. Deliveries carry the node's own timestamps, so polling
        // less loses nothing; the 100 ms polls after the start and the kill still time join and repair.
        meshOptions.pollInterval = .seconds(3)
        let result = try await MeshRunner(topology: topology, options: meshOptions).run()
        let evaluation = result.evaluation
        // The workload is evenly spaced: the first `events` messages come before the kill, the rest right after.
        let ordered = evaluation.messages.sorted { $0.publishedAt < $1.publishedAt }
        func chosen(_ before: Bool) -> ArraySlice<RunEvaluation.MessageFigures> {
            before ? ordered.prefix(options.events) : ordered.dropFirst(options.events)
        }
        func figures(_ before: Bool) -> EventFigures {
            EventFigures(latencies: chosen(before).map(\.latencyToLast), reliabilities: chosen(before).map(\.reliability))
        }
        let startConvergence = evaluation.convergence.first { $0.label == "start" }
        let startAt = result.observation.events.first { $0.label == "start" }?.at.seconds ?? 0
        let stats = result.processStats
        return Cell(system: "rumor", nodes: nodes, disruption: disruption, run: run,
                    joinSeconds: startConvergence?.connectedAfter.map { $0 + startAt },
                    steady: figures(true), steadyLatencies: chosen(true).compactMap(\.latencyToLast), afterKill: figures(false),
                    deadRemovalSeconds: evaluation.convergence.first { $0.label.hasPrefix(disruption.kind.rawValue) }?.repairedAfter,
                    thawedBackSeconds: evaluation.convergence.first { $0.label.hasPrefix("thaw") }?.connectedAfter,
                    cost: stats, events: evaluation.messages.count)
    }
}
