import Glibc
import RumorCore
import RumorSim
import RumorTopology

/// The cluster directory in the simulator (issue 20's figures): how fast every member lists every member
/// after a join, what the directory costs in steady state, how fast a tag change reaches everyone, and how
/// fast a crash and a mass crash are marked failed, with no survivor marked. Times come from the member
/// events each node records as it applies them.
public enum DirectoryExperiment {
    public struct Options: Codable, Sendable {
        public var nodes = 1000
        public var seed: UInt64 = 1
        public var latencyMilliseconds: ClosedRange<Double> = 1...10
        public var tagChanges = 100
        public var tagChangeIntervalMilliseconds = 100.0
        /// Steady state watched for the traffic figure.
        public var steadySeconds = 60
        /// Share crashed at once in the mass-crash phase (0: no such phase).
        public var massCrash = 0.5
        /// How long the mass crash is watched.
        public var massCrashSeconds = 30
        /// Start every node from a filled directory (every node's first entry), so that a large run measures
        /// changes and not the mass join (whose figure it then leaves out); nil: above 2,000 nodes.
        public var warmStart: Bool?
        /// See `ScenarioOptions.checksInvariants`.
        public var checksInvariants = true
        public init() {}
    }

    public struct Report: Codable, Sendable {
        public var options: Options
        /// From the last node's start until every node listed every node alive; nil if some never did.
        public var joinConvergenceMilliseconds: Double?
        /// Directory frames (entries, reports, summaries, buckets) sent per member per second, steady.
        public var steadyBytesPerMemberPerSecond: Double
        public var tagChangeP50Milliseconds: Double
        public var tagChangeP99Milliseconds: Double
        /// Share of (change, node) pairs applied by the end.
        public var tagChangeReach: Double
        /// One crash: the last survivor to mark it failed, and the 99th percentile over survivors.
        public var crashMarkedAllMilliseconds: Double?
        public var crashMarkedP99Milliseconds: Double?
        /// A mass crash: shares of (survivor, dead) pairs marked within 1 s and by the end, the time until all
        /// were marked, and survivors marked failed by anyone (false failures).
        public var massCrashMarkedWithinOneSecond: Double
        public var massCrashMarkedByEnd: Double
        public var massCrashAllMarkedMilliseconds: Double?
        public var survivorsMarkedFailed: Int
        /// Members marked failed by anyone while nobody had crashed (the steady state and the tag changes), and
        /// members other than the victim marked failed around the one crash: false failures, all of them.
        public var falseFailuresBeforeCrashes: Int
        public var falseFailuresAroundOneCrash: Int
        public var peakResidentMiB: Double
        /// The peak before the mass crash: the reports of a mass crash each reach every survivor's payload cache.
        public var peakResidentBeforeMassCrashMiB: Double
    }

    public static func run(_ options: Options, threads: Int = 1, progress: (Double) -> Void = { _ in }) -> Report {
        let scenario = ScenarioOptions.experiment(nodes: options.nodes, seed: options.seed,
                                                  latencyMilliseconds: options.latencyMilliseconds, checksInvariants: options.checksInvariants)
        let warmStart = options.warmStart ?? (options.nodes > 2_000)
        var network = Scenario.joinedNetwork(scenario, threads: threads, directory: true, preloadsDirectory: warmStart,
                                             recordsMemberEvents: true) { progress(0.3 * $0) }
        let nodes = network.nodeCount
        var random = SeededRandom(seed: options.seed &* 0xD1EC)

        // Join: a node lists each member once, with a `joined` event (its own entry's at its start), so the
        // last of those is when the last pair was listed.
        let lastStart = network.memberEventLog.filter { $0.event.kind == .joined && $0.event.entry.id == network.node(index: nodes - 1).identity.id }
            .map(\.at).min() ?? network.now
        let latestListing = network.memberEventLog.filter { $0.event.kind == .joined }.map(\.at).max() ?? lastStart
        let everyoneListed = (0..<nodes).allSatisfy { network.node(index: $0).memberCount == nodes }
        let joinConvergence = everyoneListed && !warmStart ? milliseconds(latestListing.since(lastStart)) : nil
        network.clearMemberEventLog()
        progress(0.35)
        let steadyStart = network.now

        // Steady state.
        let bytesBefore = network.directoryBytesSent
        // Long runs (an hour, for the false-failure figure) in slices, so the progress bar moves.
        while network.now.since(steadyStart) < .seconds(options.steadySeconds) {
            let left = Duration.seconds(options.steadySeconds) - network.now.since(steadyStart)
            network.run(for: min(left, .seconds(60)))
            progress(0.35 + 0.15 * Double(network.now.since(steadyStart).nanosecondsRounded) / (Double(options.steadySeconds) * 1e9))
        }
        let steadyBytes = Double(network.directoryBytesSent - bytesBefore) / Double(nodes) / Double(options.steadySeconds)
        progress(0.5)

        // Tag changes from random nodes.
        var changes: [(id: NodeID, version: UInt64, at: Timestamp)] = []
        for change in 0..<options.tagChanges {
            let index = Int.random(in: 0..<nodes, using: &random)
            let address = network.address(of: index)
            if (try? network.setTags(["change": "\(change)"], at: address)) != nil, let entry = network.node(index: index).ownEntry {
                changes.append((entry.id, entry.version, network.now))
            }
            network.run(for: .microseconds(Int64(options.tagChangeIntervalMilliseconds * 1000)))
        }
        network.run(for: .seconds(2))
        let falseFailuresBeforeCrashes = network.memberEventLog.filter { $0.event.kind == .failed }.count
        var changeLatencies: [Double] = []
        var applied = 0
        var firstApplied: [String: Timestamp] = [:]
        for (index, event, at) in network.memberEventLog where event.kind == .updated {
            let key = "\(index)/\(event.entry.id)/\(event.entry.version)"
            if firstApplied[key] == nil { firstApplied[key] = at }
        }
        for change in changes {
            var last = Timestamp.zero
            for index in 0..<nodes {
                // A later change by the same member carries this one too.
                let at = (change.version...(change.version + 100)).lazy.compactMap { firstApplied["\(index)/\(change.id)/\($0)"] }.first
                guard let at else { continue }
                applied += 1
                last = max(last, at)
            }
            changeLatencies.append(milliseconds(last.since(change.at)))
        }
        network.clearMemberEventLog()
        progress(0.6)

        // One crash.
        let victim = Int.random(in: 1..<nodes, using: &random)
        let victimID = network.node(index: victim).identity.id
        let crashedAt = network.now
        network.crash(network.address(of: victim))
        network.run(for: .seconds(5))
        let markTimes = firstFailed(in: network, about: [victimID], since: crashedAt)
        let survivorsOfOne = nodes - 1
        let crashMarks = markTimes.values.map { milliseconds($0.since(crashedAt)) }.sorted()
        let falseFailuresAroundOneCrash = network.memberEventLog.filter { $0.event.kind == .failed && $0.event.entry.id != victimID }.count
        network.clearMemberEventLog()
        progress(0.7)

        // A mass crash.
        let peakBeforeMassCrash = peakResidentMiB()
        var live = (0..<nodes).filter { !network.isDown(index: $0) }
        live.shuffle(using: &random)
        let dead = Array(live.prefix(Int(Double(live.count) * options.massCrash)))
        let deadIDs = Set(dead.map { network.node(index: $0).identity.id })
        let massAt = network.now
        for index in dead { network.crash(network.address(of: index)) }
        if !dead.isEmpty { network.run(for: .seconds(options.massCrashSeconds)) }
        let survivors = (0..<nodes).filter { !network.isDown(index: $0) }
        let marks = firstFailed(in: network, about: deadIDs, since: massAt)
        let pairs = survivors.count * dead.count
        let survivorSet = Set(survivors)
        let survivorMarks = marks.filter { survivorSet.contains($0.key.observer) }
        let withinSecond = survivorMarks.values.filter { $0.since(massAt) <= .seconds(1) }.count
        let allMarked = survivorMarks.count == pairs ? survivorMarks.values.max().map { milliseconds($0.since(massAt)) } : nil
        let survivorIDs = Set(survivors.map { network.node(index: $0).identity.id })
        let falseMarks = network.memberEventLog.filter { $0.event.kind == .failed && survivorIDs.contains($0.event.entry.id) }.count
        progress(1)

        return Report(
            options: options, joinConvergenceMilliseconds: joinConvergence, steadyBytesPerMemberPerSecond: steadyBytes,
            tagChangeP50Milliseconds: percentile(changeLatencies, 0.5), tagChangeP99Milliseconds: percentile(changeLatencies, 0.99),
            tagChangeReach: changes.isEmpty ? 0 : Double(applied) / Double(changes.count * nodes),
            crashMarkedAllMilliseconds: crashMarks.count == survivorsOfOne ? crashMarks.last : nil,
            crashMarkedP99Milliseconds: crashMarks.isEmpty ? nil : percentile(crashMarks, 0.99),
            massCrashMarkedWithinOneSecond: pairs == 0 ? 0 : Double(withinSecond) / Double(pairs),
            massCrashMarkedByEnd: pairs == 0 ? 0 : Double(survivorMarks.count) / Double(pairs),
            massCrashAllMarkedMilliseconds: allMarked, survivorsMarkedFailed: falseMarks,
            falseFailuresBeforeCrashes: falseFailuresBeforeCrashes, falseFailuresAroundOneCrash: falseFailuresAroundOneCrash,
            peakResidentMiB: peakResidentMiB(), peakResidentBeforeMassCrashMiB: peakBeforeMassCrash)
    }

    private static func peakResidentMiB() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }

    /// When each (observer, member) pair was first marked failed after `since`.
    private static func firstFailed(in network: SimulatedNetwork, about ids: Set<NodeID>,
                                    since: Timestamp) -> [Pair: Timestamp] {
        var firsts: [Pair: Timestamp] = [:]
        for (index, event, at) in network.memberEventLog where at >= since && event.kind == .failed && ids.contains(event.entry.id) {
            let pair = Pair(observer: index, member: event.entry.id)
            if firsts[pair] == nil { firsts[pair] = at }
        }
        return firsts
    }

    private struct Pair: Hashable {
        var observer: Int
        var member: NodeID
    }

    private static func milliseconds(_ duration: Duration) -> Double { Double(duration.nanosecondsRounded) / 1e6 }

    private static func percentile(_ values: [Double], _ share: Double) -> Double { RunEvaluation.percentile(values.sorted(), share) ?? 0 }
}
