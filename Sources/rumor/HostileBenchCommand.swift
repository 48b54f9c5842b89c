import ArgumentParser
import Foundation
import RumorCommandLine
import RumorCore
import RumorMesh

struct HostileBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hostile",
        abstract: "Attack one node of a live keyed mesh from loopback while the mesh broadcasts; check nothing is lost.",
        discussion: """
            Garbage, 2 GiB length prefixes, half-open connections, a connection storm, slowloris and a key holder
            flooding IHAVEs, oversized payloads, shuffles and digests. Passes when every broadcast reached every node,
            no node exceeded the memory bound, every stranger's connection was closed, and the attacked node's CPU
            went back to idle. Exits 1 when it does not pass.
            """)

    @Option(help: "Nodes in the mesh.")
    var nodes = 8

    @Option(help: "Seconds each timed attack (slowloris, keyed flood) lasts.")
    var attackSeconds = 6.0

    @Option(help: "Connections opened at once in the storm.")
    var storm = 1000

    @Option(help: "Peak resident memory, in MiB, no node may exceed.")
    var memoryBoundMib = 64.0

    @Option(help: "Where node logs and the key go.")
    var workDir: String?

    @Flag(help: "Print the report as JSON.")
    var json = false

    func validate() throws {
        guard (2...64).contains(nodes) else { throw ValidationError("--nodes must be 2 to 64") }
        guard attackSeconds >= 1, attackSeconds <= 600 else { throw ValidationError("--attack-seconds must be 1 to 600") }
        guard (1...10_000).contains(storm) else { throw ValidationError("--storm must be 1 to 10000") }
        guard memoryBoundMib > 0 else { throw ValidationError("--memory-bound-mib must be positive") }
    }

    func run() async throws {
        var options = HostileLoad.Options(executable: MeshLaunch.executable,
                                          workDirectory: workDir ?? "\(NSTemporaryDirectory())rumor-bench-hostile-\(getpid())")
        options.nodes = nodes
        options.attackSeconds = attackSeconds
        options.stormConnections = storm
        options.memoryBoundMiB = memoryBoundMib
        let report: HostileLoad.Report
        do {
            report = try await HostileLoad(options: options).run { FileHandle.standardError.write(Data("  \($0)\n".utf8)) }
        } catch {
            throw CommandFailure("rumor bench hostile: \(error)")
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(Self.table(report))
        }
        if !report.passed { throw ExitCode(1) }
    }

    static func table(_ report: HostileLoad.Report) -> String {
        var lines = ["| attack | connections | closed by the node | bytes sent | messages | seconds |", "|---|---:|---:|---:|---:|---:|"]
        for attack in report.attacks {
            lines.append("| \(attack.name) | \(attack.connections) | \(attack.closedByNode) | \(attack.bytesSent) | \(attack.messagesSent) | "
                + String(format: "%.1f", attack.seconds) + " |")
        }
        lines.append("")
        lines.append(String(format: "broadcasts: %d, reliability %.4f, duplicates %d", report.messages, report.reliability, report.duplicates))
        let peaks = report.peakResidentMiB.sorted { $0.key.localizedStandardCompare($1.key) == .orderedAscending }
        lines.append(String(format: "peak resident memory per node: max %.1f MiB (bound %.0f MiB); %@", report.peakResidentMiB.values.max() ?? 0,
                            report.memoryBoundMiB, peaks.map { String(format: "%@ %.1f", $0.key, $0.value) }.joined(separator: ", ")))
        lines.append(String(format: "attacked node CPU: %.0f%% of a core during the attacks, %.1f%% after (idle under %.0f%%)",
                            report.targetCPUShareDuringAttacks * 100, report.targetCPUShareAfter * 100, report.idleCPUShare * 100))
        for (name, value) in report.targetCounters.sorted(by: { $0.key < $1.key }) { lines.append("  \(name) \(Int(value))") }
        lines.append(report.passed ? "PASSED" : "FAILED:\n" + report.problems.map { "  - \($0)" }.joined(separator: "\n"))
        return lines.joined(separator: "\n")
    }
}
