import ArgumentParser
import Foundation
import RumorCommandLine
import RumorMesh

struct SamplingBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sampling",
        abstract: "Peer sampling live: uniformity of /sample over real nodes on loopback, and dead samples after half fail (kill -9, then SIGSTOP).",
        discussion: "Every node asks its own /sample?k=1 once a shuffle period; the table gives chi-square beside its 99.9% quantile and the dead share of the survivors' draws after the failure (docs/sampling.md)."
    )

    @Option(help: "Nodes on loopback (127.0.15.1 up).")
    var nodes = 128

    @Option(help: "Draws per node before the failure, one a shuffle period.")
    var rounds = 20

    @Option(help: "The nodes' shuffle interval in milliseconds (a draw a period).")
    var shuffleIntervalMs = 1000

    @Option(help: "Failures to measure, comma-separated: kill (kill -9) and freeze (SIGSTOP).")
    var failures = "kill,freeze"

    @Option(help: "Where node logs go.")
    var workDir: String?

    @Flag(help: "Print the figures as JSON instead of the table.")
    var json = false

    func parsedFailures() throws -> [SamplingBenchmark.Failure] {
        let values = failures.split(separator: ",").map { SamplingBenchmark.Failure(rawValue: String($0)) }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else {
            throw ValidationError("--failures must be a comma-separated list of kill and freeze, got '\(failures)'")
        }
        return values.map { $0! }
    }

    func validate() throws {
        guard (4...250).contains(nodes) else { throw ValidationError("--nodes must be 4 to 250") }
        guard (1...1000).contains(rounds) else { throw ValidationError("--rounds must be 1 to 1000") }
        guard (100...60_000).contains(shuffleIntervalMs) else { throw ValidationError("--shuffle-interval-ms must be 100 to 60000") }
        _ = try parsedFailures()
    }

    func run() async throws {
        var options = SamplingBenchmark.Options(executable: MeshLaunch.executable,
                                                workDirectory: workDir ?? "\(NSTemporaryDirectory())rumor-bench-sampling-\(getpid())")
        options.nodes = nodes
        options.rounds = rounds
        options.shuffleInterval = .milliseconds(shuffleIntervalMs)
        options.failures = try parsedFailures()
        let figures: [SamplingBenchmark.Figures]
        do {
            figures = try await SamplingBenchmark(options).run { FileHandle.standardError.write(Data("  \($0)\n".utf8)) }
        } catch {
            throw CommandFailure("rumor bench sampling: \(error)")
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(figures), as: UTF8.self))
            return
        }
        print("| failure | nodes | draws (e) | chi-square | 99.9% quantile | most/e | stand-ins | " + options.checkpoints.map { "dead at +\(Int($0)) s" }.joined(separator: " | ") + " |")
        print("|---|---:|---:|---:|---:|---:|---:|" + options.checkpoints.map { _ in "---:|" }.joined())
        for row in figures {
            print(String(format: "| %@ | %d | %d (%.1f) | %.1f on %d | %.1f | %.2f | %.1f%% | ", row.failure.rawValue, row.nodes, row.draws,
                         row.expectedPerNode, row.chiSquare, row.degreesOfFreedom, row.chiSquareQuantile999, row.maxOverExpected, row.standInShare * 100)
                  + zip(row.deadShare, row.unanswered).map { String(format: "%.2f%%", $0 * 100) + ($1 > 0 ? " (\($1) unanswered)" : "") }.joined(separator: " | ") + " |")
        }
    }
}
