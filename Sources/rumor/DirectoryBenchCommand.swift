import ArgumentParser
import Foundation
import RumorCommandLine
import RumorMesh

/// `rumor bench directory`: the member list live on loopback, with the figures.
struct DirectoryBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "directory",
        abstract: "The cluster directory live: join, tag changes, kill -9 of one and of half, a 2 s and a long SIGSTOP, all timed from the nodes' own member events.",
        discussion: "Runs rumor-node processes on 127.0.14.0/24 (ports 7000 and 8000)."
    )

    @Option(help: "Members.")
    var nodes = 64

    @Option(help: "Tag changes, each on a random member.")
    var tagChanges = 100

    @Option(help: "Where node logs go.")
    var workDir: String?

    @Flag(help: "Print the report as JSON instead of the table.")
    var json = false

    func validate() throws {
        guard (3...250).contains(nodes) else { throw ValidationError("--nodes must be 3 to 250") }
        guard (1...10_000).contains(tagChanges) else { throw ValidationError("--tag-changes must be 1 to 10000") }
    }

    func run() async throws {
        var options = DirectoryBenchmark.Options(executable: MeshLaunch.executable,
                                                 workDirectory: workDir ?? "\(NSTemporaryDirectory())rumor-bench-directory-\(getpid())")
        options.nodes = nodes
        options.tagChanges = tagChanges
        let report: DirectoryBenchmark.Report
        do {
            report = try await DirectoryBenchmark(options: options).run { FileHandle.standardError.write(Data("  \($0)\n".utf8)) }
        } catch {
            throw CommandFailure("rumor bench directory: \(error)")
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        print(Self.render(report))
    }

    static func render(_ report: DirectoryBenchmark.Report) -> String {
        func seconds(_ value: Double?) -> String { value.map { String(format: "%.3f s", $0) } ?? "not all" }
        func ms(_ value: Double?) -> String { value.map { String(format: "%.1f ms", $0) } ?? "not all" }
        return [
            "cluster directory, \(report.nodes) rumor-node processes on loopback",
            "join (started together): every member lists all \(report.nodes) alive \(seconds(report.joinSeconds)) after the last start (goal <= 1.5 s)",
            String(format: "tag change (%d): p50 %.1f ms, p99 %.1f ms to the last member (goal p99 <= 10 ms), reach %.4f",
                   report.tagChanges, report.tagChangeP50Milliseconds, report.tagChangeP99Milliseconds, report.tagChangeReach),
            "kill -9 of one: failed at every survivor p99 \(ms(report.killMarkedP99Milliseconds)), last \(ms(report.killMarkedAllMilliseconds)) (goal p99 <= 100 ms)",
            "SIGSTOP for 2 s: marked failed by \(report.shortFreezeFailedBy) members (goal none)",
            "SIGSTOP until failed: failed everywhere after \(seconds(report.freezeFailedAllSeconds)) (goal <= 5 s), alive everywhere \(seconds(report.freezeAliveAgainSeconds)) after SIGCONT",
            String(format: "kill -9 of half: %.4f of (survivor, dead) pairs marked within 1 s (goal 0.95), %.4f in all, all after %@ (goal <= 15 s); survivors marked failed: %d",
                   report.massKillWithinOneSecond, report.massKillMarked, seconds(report.massKillAllSeconds), report.survivorsMarkedFailed),
        ].joined(separator: "\n")
    }
}
