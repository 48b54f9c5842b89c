import Foundation
import Glibc
import RumorCore
import RumorTopology
import RumorUV

/// The cluster directory live (issue 20's figures, Rumor's side): `rumor-node` processes on loopback, started
/// together; tag changes through `POST /tags`; kill -9 of one member, then of half; SIGSTOP of one member for
/// 2 s and for long. Every latency comes from the wall-clock time each node records as it applies a member
/// event (`/member-events`, one host clock), read after each phase, never by polling during it.
public struct DirectoryBenchmark {
    public struct Options: Sendable {
        public var executable: String
        public var workDirectory: String
        public var nodes = 64
        public var tagChanges = 100
        public var tagSpacing: Duration = .milliseconds(50)
        public var massKill = 0.5

        public init(executable: String, workDirectory: String) {
            self.executable = executable
            self.workDirectory = workDirectory
        }
    }

    public struct Report: Codable, Sendable {
        public var nodes: Int
        /// From the last start until every node listed every node alive; nil if some pair never was.
        public var joinSeconds: Double?
        public var tagChanges: Int
        public var tagChangeP50Milliseconds: Double
        public var tagChangeP99Milliseconds: Double
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

    struct Member {
        var id: String
        var admin: PeerAddress
        var process: NodeProcess?
        var cursor: UInt64 = 0
    }

    /// One recorded member event: who saw what about whom, when.
    struct Seen {
        var observer: Int
        var event: String
        var member: String
        var version: UInt64
        var appliedNanoseconds: Int64
    }

    let options: Options
    public init(options: Options) { self.options = options }

    public func run(progress: (String) -> Void) async throws -> Report {
        let nodeExecutable = try NodeExecutable.locate(beside: options.executable)
        try FileManager.default.createDirectory(atPath: options.workDirectory + "/logs", withIntermediateDirectories: true)
        var random = SeededRandom(seed: UInt64(options.nodes))
        var members = (1...options.nodes).map { index in
            Member(id: "node-\(index)", admin: PeerAddress(host: "127.0.14.\(index)", port: 8000))
        }
        defer { for member in members { member.process?.kill() } }
        progress("starting \(options.nodes) nodes together")
        var lastStart: Int64 = 0
        for index in members.indices {
            let peers = (0..<members.count).filter { $0 != index }.shuffled(using: &random).prefix(3)
            var arguments = ["--listen", "127.0.14.\(index + 1):7000", "--admin", members[index].admin.description, "--id", members[index].id,
                             "--log-level", "warning", "--exit-with-parent"]
            for peer in peers { arguments += ["--seed", "127.0.14.\(peer + 1):7000"] }
            members[index].process = try NodeProcess(executable: nodeExecutable, arguments: arguments,
                                                     logFile: "\(options.workDirectory)/logs/\(members[index].id).log", node: members[index].id)
            lastStart = Int64(WallClock.nanoseconds())
        }
        let everyone = Set(members.map(\.id))
        _ = await waitUntil(timeout: .seconds(30)) { await self.aliveCount(members, at: Array(members.indices)) == members.count * members.count }
        var seen = await collect(&members, from: Array(members.indices))
        let joined = seen.filter { $0.event == "joined" }
        let pairs = Set(joined.map { "\($0.observer)/\($0.member)" })
        let joinSeconds = pairs.count == members.count * everyone.count ? joined.map(\.appliedNanoseconds).max().map { Double($0 - lastStart) / 1e9 } : nil

        progress("\(options.tagChanges) tag changes")
        var changes: [(member: Int, version: UInt64, at: Int64)] = []
        for change in 0..<options.tagChanges {
            let index = Int.random(in: 0..<members.count, using: &random)
            let at = Int64(WallClock.nanoseconds())
            let body = Array("{\"set\": {\"bench\": \"\(change)\"}}".utf8)
            if let reply = try? await AdminClient.request("POST", "/tags", to: members[index].admin, body: body), reply.status == 200,
               let version = Self.version(in: reply.text) {
                changes.append((index, version, at))
            }
            try? await Task.sleep(for: options.tagSpacing)
        }
        try? await Task.sleep(for: .seconds(1))
        seen = await collect(&members, from: Array(members.indices))
        var firstApplied: [String: Int64] = [:]
        for event in seen where event.event == "updated" {
            let key = "\(event.observer)/\(event.member)/\(event.version)"
            firstApplied[key] = min(firstApplied[key] ?? .max, event.appliedNanoseconds)
        }
        var tagLatencies: [Double] = []
        var reached = 0
        for change in changes {
            var last: Int64 = change.at
            var complete = true
            for observer in members.indices where observer != change.member {
                // A later change of the same member carries this one: the first version at or above it counts.
                let at = (change.version..<(change.version + UInt64(options.tagChanges) + 1)).lazy
                    .compactMap { firstApplied["\(observer)/\(members[change.member].id)/\($0)"] }.first
                guard let at else { complete = false; continue }
                reached += 1
                last = max(last, at)
            }
            if complete { tagLatencies.append(Double(last - change.at) / 1e6) }
        }

        progress("kill -9 of one member")
        var live = Array(members.indices)
        let victim = live.remove(at: Int.random(in: 0..<live.count, using: &random))
        let killedAt = Int64(WallClock.nanoseconds())
        members[victim].process?.kill()
        try? await Task.sleep(for: .seconds(2))
        seen = await collect(&members, from: live)
        let killMarks = Self.firstMarks(seen, event: "failed", about: [members[victim].id], since: killedAt)
            .map { Double($0.value - killedAt) / 1e6 }.sorted()

        progress("SIGSTOP of one member for 2 s")
        let brief = live[Int.random(in: 0..<live.count, using: &random)]
        let briefAt = Int64(WallClock.nanoseconds())
        members[brief].process?.pause()
        try? await Task.sleep(for: .seconds(2))
        members[brief].process?.resume()
        try? await Task.sleep(for: .seconds(5))
        seen = await collect(&members, from: live)
        let briefFailedBy = Self.firstMarks(seen, event: "failed", about: [members[brief].id], since: briefAt).count

        progress("SIGSTOP of one member until it is failed everywhere, then SIGCONT")
        let hung = live[Int.random(in: 0..<live.count, using: &random)]
        let others = live.filter { $0 != hung }
        let hungAt = Int64(WallClock.nanoseconds())
        members[hung].process?.pause()
        _ = await waitUntil(timeout: .seconds(15)) { await self.statusCount(members, at: others, of: members[hung].id, status: "failed") == others.count }
        let thawedAt = Int64(WallClock.nanoseconds())
        members[hung].process?.resume()
        _ = await waitUntil(timeout: .seconds(15)) { await self.statusCount(members, at: others, of: members[hung].id, status: "alive") == others.count }
        seen = await collect(&members, from: live)
        let hungMarks = Self.firstMarks(seen, event: "failed", about: [members[hung].id], since: hungAt)
        let aliveAgain = Self.firstMarks(seen, event: "alive", about: [members[hung].id], since: thawedAt)

        progress("kill -9 of \(Int(options.massKill * 100))% of the members")
        live.shuffle(using: &random)
        let dead = Array(live.prefix(Int((Double(live.count) * options.massKill).rounded())))
        let survivors = Array(live.dropFirst(dead.count))
        let deadIDs = Set(dead.map { members[$0].id })
        let massAt = Int64(WallClock.nanoseconds())
        for index in dead { members[index].process?.kill() }
        _ = await waitUntil(timeout: .seconds(30)) { await self.failedPairs(members, at: survivors, of: deadIDs) == survivors.count * dead.count }
        seen = await collect(&members, from: survivors)
        let massMarks = Self.firstMarks(seen, event: "failed", about: deadIDs, since: massAt)
        let massPairs = survivors.count * dead.count
        let survivorIDs = Set(survivors.map { members[$0].id })
        let falseMarks = seen.filter { $0.event == "failed" && survivorIDs.contains($0.member) && $0.appliedNanoseconds >= massAt }.count

        func percentile(_ values: [Double], _ share: Double) -> Double? { RunEvaluation.percentile(values.sorted(), share) }
        return Report(
            nodes: options.nodes, joinSeconds: joinSeconds, tagChanges: changes.count,
            tagChangeP50Milliseconds: percentile(tagLatencies, 0.5) ?? .nan, tagChangeP99Milliseconds: percentile(tagLatencies, 0.99) ?? .nan,
            tagChangeReach: changes.isEmpty ? 0 : Double(reached) / Double(changes.count * (members.count - 1)),
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
    static func firstMarks(_ seen: [Seen], event: String, about ids: Set<String>, since: Int64) -> [String: Int64] {
        var firsts: [String: Int64] = [:]
        for record in seen where record.event == event && ids.contains(record.member) && record.appliedNanoseconds >= since {
            let key = "\(record.observer)/\(record.member)"
            firsts[key] = min(firsts[key] ?? .max, record.appliedNanoseconds)
        }
        return firsts
    }

    static func version(in text: String) -> UInt64? {
        guard let range = text.range(of: "\"version\":") else { return nil }
        return UInt64(text[range.upperBound...].prefix { $0.isNumber })
    }

    /// Reads every new member event from the nodes named, advancing each one's cursor.
    private func collect(_ members: inout [Member], from indices: [Int]) async -> [Seen] {
        var seen: [Seen] = []
        for index in indices {
            guard let reply = try? await AdminClient.request("GET", "/member-events?after=\(members[index].cursor)", to: members[index].admin) else { continue }
            for line in reply.text.split(separator: "\n") {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      let sequence = object["seq"] as? Int, let event = object["event"] as? String, let id = object["id"] as? String,
                      let version = object["version"] as? Int, let applied = object["applied_ns"] as? Int else { continue }
                members[index].cursor = max(members[index].cursor, UInt64(sequence))
                seen.append(Seen(observer: index, event: event, member: id, version: UInt64(version), appliedNanoseconds: Int64(applied)))
            }
        }
        return seen
    }

    private func members(of member: Member) async -> [[String: Any]] {
        guard let reply = try? await AdminClient.request("GET", "/members", to: member.admin),
              let object = try? JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any] else { return [] }
        return object["members"] as? [[String: Any]] ?? []
    }

    private func aliveCount(_ members: [Member], at indices: [Int]) async -> Int {
        var count = 0
        for index in indices { count += await self.members(of: members[index]).filter { $0["status"] as? String == "alive" }.count }
        return count
    }

    private func statusCount(_ members: [Member], at indices: [Int], of id: String, status: String) async -> Int {
        var count = 0
        for index in indices where await self.members(of: members[index]).contains(where: { $0["id"] as? String == id && $0["status"] as? String == status }) {
            count += 1
        }
        return count
    }

    private func failedPairs(_ members: [Member], at indices: [Int], of ids: Set<String>) async -> Int {
        var count = 0
        for index in indices {
            count += await self.members(of: members[index]).filter { ids.contains($0["id"] as? String ?? "") && $0["status"] as? String == "failed" }.count
        }
        return count
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
