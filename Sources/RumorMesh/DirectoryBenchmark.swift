import Foundation
import Glibc
import RumorCore
import RumorTopology
import RumorUV

/// The cluster directory live (issue 20's figures): Rumor's `rumor-node` processes, and Serf's agents in the
/// same run when Serf is installed, each started together on loopback; tag changes; kill -9 of one member,
/// then of half; SIGSTOP of one member for 2 s and for long. Every latency comes from the wall-clock time each
/// member records as it applies a member event (Rumor's `/member-events`, Serf's event handler: one host
/// clock), read after each phase, never by polling during it.
public struct DirectoryBenchmark {
    public struct Options: Sendable {
        public var executable: String
        public var workDirectory: String
        public var nodes = 64
        public var tagChanges = 100
        public var tagSpacing: Duration = .milliseconds(50)
        public var massKill = 0.5
        /// Rumor's members prove a cluster key made for the run (a deployment's setting); off, links are open.
        public var clusterKey = true
        /// Quiet time after the join, measured for the steady traffic figure.
        public var steadyTime: Duration = .seconds(30)
        /// Which systems run, in order: "rumor", "serf".
        public var systems = ["rumor", "serf"]

        public init(executable: String, workDirectory: String) {
            self.executable = executable
            self.workDirectory = workDirectory
        }
    }

    public struct Report: Codable, Sendable {
        public var system: String
        public var nodes: Int
        /// Whether links proved a cluster key (Serf runs unencrypted here).
        public var clusterKey: Bool
        /// From the last start until every member listed every member alive; nil if some pair never was.
        public var joinSeconds: Double?
        /// Bytes per member per second while nothing changes, as on the wire (cluster key on, sealing
        /// included): the directory's own frames, and all frames for scale; nil where not counted (Serf).
        public var steadyDirectoryBytesPerMemberPerSecond: Double?
        public var steadyAllBytesPerMemberPerSecond: Double?
        public var tagChanges: Int
        public var tagChangeP50Milliseconds: Double?
        public var tagChangeP99Milliseconds: Double?
        /// How the change spreads, medians over the changes applied everywhere: the first other member to
        /// apply it (the admin request and one hop) and half the members. Far below the last member's time,
        /// they show the tree's depth rather than the per-hop cost as the tail.
        public var tagChangeFirstMemberP50Milliseconds: Double?
        public var tagChangeHalfMembersP50Milliseconds: Double?
        /// Share of (change, other member) pairs applied.
        public var tagChangeReach: Double
        /// One kill -9: the 99th percentile and the last survivor to mark it failed.
        public var killMarkedP99Milliseconds: Double?
        public var killMarkedAllMilliseconds: Double?
        /// A 2 s SIGSTOP: how many members marked it failed (should be none).
        public var shortFreezeFailedBy: Int
        /// A long SIGSTOP: until every other member marked it failed, then from SIGCONT until every member lists
        /// it alive again.
        public var freezeFailedAllSeconds: Double?
        public var freezeAliveAgainSeconds: Double?
        /// A mass kill -9: shares of (survivor, dead) pairs marked within 1 s and at all, the time until all
        /// were, and survivors marked failed by anyone.
        public var massKillWithinOneSecond: Double
        public var massKillMarked: Double
        public var massKillAllSeconds: Double?
        public var survivorsMarkedFailed: Int
    }

    /// A system that could not run, and why (Serf not installed).
    public struct Skipped: Sendable {
        public var system: String
        public var reason: String
    }

    let options: Options
    public init(options: Options) { self.options = options }

    public func run(progress: (String) -> Void) async throws -> (reports: [Report], skipped: [Skipped]) {
        var reports: [Report] = []
        var skipped: [Skipped] = []
        for system in options.systems {
            let cluster: any DirectoryCluster
            switch system {
            case "rumor":
                cluster = try RumorDirectoryCluster(size: options.nodes, executable: options.executable,
                                                    workDirectory: "\(options.workDirectory)/rumor-\(options.nodes)", keyed: options.clusterKey)
            case "serf":
                do {
                    cluster = try SerfDirectoryCluster(size: options.nodes, workDirectory: "\(options.workDirectory)/serf-\(options.nodes)")
                } catch let missing as SerfCluster.Missing {
                    skipped.append(Skipped(system: "serf", reason: missing.description))
                    continue
                }
            default:
                throw MeshLaunchError(description: "unknown system '\(system)' (rumor or serf)")
            }
            do {
                reports.append(try await measure(cluster) { progress("\(system): \($0)") })
            } catch {
                await cluster.stop()
                throw error
            }
            await cluster.stop()
        }
        return (reports, skipped)
    }

    private func measure(_ cluster: any DirectoryCluster, progress: (String) -> Void) async throws -> Report {
        var random = SeededRandom(seed: UInt64(options.nodes) &* 31)
        let all = Array(0..<cluster.size)
        let everyone = Set(all.map(cluster.memberID))
        progress("starting \(cluster.size) members together")
        let lastStart = try await cluster.start()
        _ = await waitUntil(timeout: .seconds(90)) { await cluster.pairs(listing: everyone, as: "alive", seenBy: all) == all.count * all.count }
        try? await Task.sleep(for: cluster.eventSettle)
        var seen = await cluster.newEvents(from: all)
        // A member is listed from its first event (Serf's coalescing may report a join as an update); its
        // own entry counts from its start.
        let listings = Self.firstMarks(seen.map { record in
            var record = record
            if record.event == "updated" { record.event = "joined" }
            return record
        }, event: "joined", about: everyone, since: 0).filter { key, _ in
            let parts = key.split(separator: "/")
            guard let observer = Int(parts[0]) else { return false }
            return cluster.memberID(observer) != parts[1]
        }
        let joinSeconds = listings.count == all.count * (all.count - 1) ? listings.values.max().map { max(0, Double($0 - lastStart) / 1e9) } : nil

        // Steady traffic: after the join's exchanges have settled, counters read before and after a quiet spell.
        try? await Task.sleep(for: .seconds(5))
        let steadyStart = ContinuousClock.now
        let before = await cluster.bytesSent(by: all)
        if before != nil { progress("steady traffic for \(options.steadyTime)") }
        if before != nil { try? await Task.sleep(for: options.steadyTime) }
        let after = await cluster.bytesSent(by: all)
        let steadyElapsed = (ContinuousClock.now - steadyStart).components
        let steadySeconds = Double(steadyElapsed.seconds) + Double(steadyElapsed.attoseconds) / 1e18
        var steady: (directory: Double, all: Double)?
        if let before, let after, steadySeconds > 0 {
            let perMemberSecond = Double(all.count) * steadySeconds
            steady = (Double(after.directory - before.directory) / perMemberSecond, Double(after.all - before.all) / perMemberSecond)
        }

        progress("\(options.tagChanges) tag changes")
        var changes: [(member: Int, version: UInt64?, at: Int64)] = []
        for change in 0..<options.tagChanges {
            let index = Int.random(in: 0..<all.count, using: &random)
            let at = Int64(WallClock.nanoseconds())
            let result = await cluster.setTag(index, value: "\(change)")
            if result.done { changes.append((index, result.version, at)) }
            try? await Task.sleep(for: options.tagSpacing)
        }
        try? await Task.sleep(for: .seconds(cluster.system == "serf" ? 5 : 1))
        seen = await cluster.newEvents(from: all)
        let updates = seen.filter { $0.event == "updated" }
        var tagLatencies: [Double] = []
        var firstMemberLatencies: [Double] = []
        var halfMembersLatencies: [Double] = []
        var reached = 0
        for change in changes {
            let member = cluster.memberID(change.member)
            var complete = true
            var applied: [Int64] = []
            for observer in all where observer != change.member {
                // With versions (Rumor), the first update at or above the change's own; without (Serf), the
                // first update of the member after the change. A later change of the same member carries it.
                let at = updates.filter { update in
                    update.observer == observer && update.member == member
                        && (change.version.map { update.version >= $0 } ?? (update.appliedNanoseconds >= change.at))
                }.map(\.appliedNanoseconds).min()
                guard let at else { complete = false; continue }
                reached += 1
                applied.append(at)
            }
            if complete, !applied.isEmpty {
                applied.sort()
                tagLatencies.append(Double(max(change.at, applied[applied.count - 1]) - change.at) / 1e6)
                firstMemberLatencies.append(Double(applied[0] - change.at) / 1e6)
                halfMembersLatencies.append(Double(applied[(applied.count - 1) / 2] - change.at) / 1e6)
            }
        }

        progress("kill -9 of one member")
        var live = all
        let victim = live.remove(at: Int.random(in: 0..<live.count, using: &random))
        let killedAt = Int64(WallClock.nanoseconds())
        cluster.kill([victim])
        _ = await waitUntil(timeout: .seconds(30)) { await cluster.pairs(listing: [cluster.memberID(victim)], as: "failed", seenBy: live) == live.count }
        try? await Task.sleep(for: cluster.eventSettle)
        seen = await cluster.newEvents(from: live)
        let killMarks = Self.firstMarks(seen, event: "failed", about: [cluster.memberID(victim)], since: killedAt)
            .map { Double($0.value - killedAt) / 1e6 }.sorted()

        progress("SIGSTOP of one member for 2 s")
        let brief = live[Int.random(in: 0..<live.count, using: &random)]
        let briefAt = Int64(WallClock.nanoseconds())
        cluster.pause(brief)
        try? await Task.sleep(for: .seconds(2))
        cluster.resume(brief)
        try? await Task.sleep(for: .seconds(5))
        seen = await cluster.newEvents(from: live)
        let briefFailedBy = Self.firstMarks(seen, event: "failed", about: [cluster.memberID(brief)], since: briefAt).count
        _ = await waitUntil(timeout: .seconds(60)) {
            await cluster.pairs(listing: [cluster.memberID(brief)], as: "alive", seenBy: live) == live.count
        }

        progress("SIGSTOP of one member until it is failed everywhere, then SIGCONT")
        let hung = live[Int.random(in: 0..<live.count, using: &random)]
        let others = live.filter { $0 != hung }
        let hungID = cluster.memberID(hung)
        let hungAt = Int64(WallClock.nanoseconds())
        cluster.pause(hung)
        _ = await waitUntil(timeout: .seconds(60)) { await cluster.pairs(listing: [hungID], as: "failed", seenBy: others) == others.count }
        let thawedAt = Int64(WallClock.nanoseconds())
        cluster.resume(hung)
        _ = await waitUntil(timeout: .seconds(60)) { await cluster.pairs(listing: [hungID], as: "alive", seenBy: others) == others.count }
        try? await Task.sleep(for: cluster.eventSettle)
        seen = await cluster.newEvents(from: live)
        let hungMarks = Self.firstMarks(seen, event: "failed", about: [hungID], since: hungAt)
        // Back alive at the others: Rumor says `alive` (or `updated`, the refutation), Serf `member-join`.
        let aliveAgain = Self.firstMarks(seen.filter { $0.observer != hung }.map { record in
            var record = record
            if record.event == "joined" || record.event == "updated" { record.event = "alive" }
            return record
        }, event: "alive", about: [hungID], since: thawedAt)

        progress("kill -9 of \(Int(options.massKill * 100))% of the members")
        live.shuffle(using: &random)
        let dead = Array(live.prefix(Int((Double(live.count) * options.massKill).rounded())))
        let survivors = Array(live.dropFirst(dead.count))
        let deadIDs = Set(dead.map(cluster.memberID))
        let massAt = Int64(WallClock.nanoseconds())
        cluster.kill(dead)
        _ = await waitUntil(timeout: .seconds(60)) { await cluster.pairs(listing: deadIDs, as: "failed", seenBy: survivors) == survivors.count * dead.count }
        try? await Task.sleep(for: cluster.eventSettle)
        seen = await cluster.newEvents(from: survivors)
        let massMarks = Self.firstMarks(seen, event: "failed", about: deadIDs, since: massAt)
        let massPairs = survivors.count * dead.count
        let survivorIDs = Set(survivors.map(cluster.memberID))
        let falseMarks = seen.filter { $0.event == "failed" && survivorIDs.contains($0.member) && $0.appliedNanoseconds >= massAt }.count

        func percentile(_ values: [Double], _ share: Double) -> Double? { RunEvaluation.percentile(values.sorted(), share) }
        return Report(
            system: cluster.system, nodes: cluster.size, clusterKey: cluster.system == "rumor" && options.clusterKey, joinSeconds: joinSeconds,
            steadyDirectoryBytesPerMemberPerSecond: steady?.directory, steadyAllBytesPerMemberPerSecond: steady?.all, tagChanges: changes.count,
            tagChangeP50Milliseconds: percentile(tagLatencies, 0.5), tagChangeP99Milliseconds: percentile(tagLatencies, 0.99),
            tagChangeFirstMemberP50Milliseconds: percentile(firstMemberLatencies, 0.5),
            tagChangeHalfMembersP50Milliseconds: percentile(halfMembersLatencies, 0.5),
            tagChangeReach: changes.isEmpty ? 0 : Double(reached) / Double(changes.count * (all.count - 1)),
            killMarkedP99Milliseconds: percentile(killMarks, 0.99), killMarkedAllMilliseconds: killMarks.count == live.count ? killMarks.last : nil,
            shortFreezeFailedBy: briefFailedBy,
            freezeFailedAllSeconds: hungMarks.count == others.count ? hungMarks.values.max().map { Double($0 - hungAt) / 1e9 } : nil,
            freezeAliveAgainSeconds: aliveAgain.count == others.count ? aliveAgain.values.max().map { Double($0 - thawedAt) / 1e9 } : nil,
            massKillWithinOneSecond: massPairs == 0 ? 0 : Double(massMarks.values.filter { $0 - massAt <= 1_000_000_000 }.count) / Double(massPairs),
            massKillMarked: massPairs == 0 ? 0 : Double(massMarks.count) / Double(massPairs),
            massKillAllSeconds: massMarks.count == massPairs ? massMarks.values.max().map { Double($0 - massAt) / 1e9 } : nil,
            survivorsMarkedFailed: falseMarks)
    }

    /// The first `event` each observer applied about each of `ids` after `since`.
    static func firstMarks(_ seen: [SeenMemberEvent], event: String, about ids: Set<String>, since: Int64) -> [String: Int64] {
        var firsts: [String: Int64] = [:]
        for record in seen where record.event == event && ids.contains(record.member) && record.appliedNanoseconds >= since {
            let key = "\(record.observer)/\(record.member)"
            firsts[key] = min(firsts[key] ?? .max, record.appliedNanoseconds)
        }
        return firsts
    }

    private func waitUntil(timeout: Duration, _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(250))
        }
        return await condition()
    }
}
