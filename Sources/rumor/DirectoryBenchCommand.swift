import ArgumentParser
import Foundation
import RumorCommandLine
import RumorMesh

/// `rumor bench directory`: the member list live on loopback, with the issue's figures.
struct DirectoryBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "directory",
        abstract: "The cluster directory live beside Serf's member list: join, tag changes, kill -9 of one and of half, a 2 s and a long SIGSTOP, all timed from the members' own event records.",
        discussion: "Runs rumor-node processes on 127.0.14.0/24 (ports 7000 and 8000) with a cluster key made for the run (steady traffic is counted per channel, sealing included), then Serf agents (LAN profile) on 127.0.12.0/24 when serf is installed (apt-get install -y serf); without it Serf's side is skipped and said so."
    )

    @Flag(help: "Leave Serf out.")
    var noSerf = false

    @Option(help: "Members.")
    var nodes = 64

    @Option(help: "Tag changes, each on a random member.")
    var tagChanges = 100

    @Flag(help: "Run Rumor's members without a cluster key (open links).")
    var open = false

    @Option(help: "Seconds of quiet after the join over which steady traffic is measured.")
    var steadySeconds = 30

    @Option(help: "Where node logs go.")
    var workDir: String?

    @Flag(help: "Print the report as JSON instead of the table.")
    var json = false

    func validate() throws {
        guard (3...250).contains(nodes) else { throw ValidationError("--nodes must be 3 to 250") }
        guard (1...10_000).contains(tagChanges) else { throw ValidationError("--tag-changes must be 1 to 10000") }
        guard (1...3_600).contains(steadySeconds) else { throw ValidationError("--steady-seconds must be 1 to 3600") }
    }

    func run() async throws {
        var options = DirectoryBenchmark.Options(executable: MeshLaunch.executable,
                                                 workDirectory: workDir ?? "\(NSTemporaryDirectory())rumor-bench-directory-\(getpid())")
        options.nodes = nodes
        options.tagChanges = tagChanges
        options.steadyTime = .seconds(steadySeconds)
        options.clusterKey = !open
        if noSerf { options.systems = ["rumor"] }
        let reports: [DirectoryBenchmark.Report]
        do {
            let outcome = try await DirectoryBenchmark(options: options).run { FileHandle.standardError.write(Data("  \($0)\n".utf8)) }
            reports = outcome.reports
            for skipped in outcome.skipped { FileHandle.standardError.write(Data("skipped \(skipped.system): \(skipped.reason)\n".utf8)) }
        } catch {
            throw CommandFailure("rumor bench directory: \(error)")
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            print(String(decoding: try encoder.encode(reports), as: UTF8.self))
            return
        }
        print(reports.map(Self.render).joined(separator: "\n\n"))
    }

    static func render(_ report: DirectoryBenchmark.Report) -> String {
        func seconds(_ value: Double?) -> String { value.map { String(format: "%.3f s", $0) } ?? "not all" }
        func ms(_ value: Double?) -> String { value.map { String(format: "%.1f ms", $0) } ?? "not all" }
        return [
            "cluster directory: \(report.system), \(report.nodes) members on loopback, cluster key \(report.clusterKey ? "on" : "off")",
            "join (started together): every member lists all \(report.nodes) alive \(seconds(report.joinSeconds)) after the last start (goal <= 1.5 s)",
            report.steadyDirectoryBytesPerMemberPerSecond.map { String(format: "steady traffic: directory %.1f B/s per member (goal <= 64), all channels %.0f B/s", $0, report.steadyAllBytesPerMemberPerSecond ?? 0) }
                ?? "steady traffic: not counted by channel",
            "tag change (\(report.tagChanges)): p50 \(ms(report.tagChangeP50Milliseconds)), p99 \(ms(report.tagChangeP99Milliseconds)) to the last member (goal p99 <= 10 ms), reach \(String(format: "%.4f", report.tagChangeReach)); medians to the first other member \(ms(report.tagChangeFirstMemberP50Milliseconds)), to half \(ms(report.tagChangeHalfMembersP50Milliseconds))",
            "kill -9 of one: failed at every survivor p99 \(ms(report.killMarkedP99Milliseconds)), last \(ms(report.killMarkedAllMilliseconds)) (goal p99 <= 100 ms)",
            "SIGSTOP for 2 s: marked failed by \(report.shortFreezeFailedBy) members (goal none)",
            "SIGSTOP until failed: failed everywhere after \(seconds(report.freezeFailedAllSeconds)) (goal <= 5 s), alive everywhere \(seconds(report.freezeAliveAgainSeconds)) after SIGCONT",
            String(format: "kill -9 of half: %.4f of (survivor, dead) pairs marked within 1 s (goal 0.95), %.4f in all, all after %@ (goal <= 15 s); survivors marked failed: %d",
                   report.massKillWithinOneSecond, report.massKillMarked, seconds(report.massKillAllSeconds), report.survivorsMarkedFailed),
        ].joined(separator: "\n")
    }
}
