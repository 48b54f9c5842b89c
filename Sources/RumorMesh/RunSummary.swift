import Foundation
import RumorTopology

/// The end-of-run summary for the terminal: the verdict on each check, the broadcast figures, and how
/// fast the overlay was whole again after each change.
public enum RunSummary {
    public static func text(_ result: MeshResult, engine: String) -> String {
        let evaluation = result.evaluation
        var lines: [String] = []
        let verdict = result.interrupted ? "INTERRUPTED" : (evaluation.passed ? "PASSED" : "FAILED")
        lines.append("\(result.topology.name) (\(engine)): \(verdict)")
        let delivered = evaluation.messages.reduce(0) { $0 + $1.delivered }
        let expected = evaluation.messages.reduce(0) { $0 + $1.expected }
        lines.append("  messages \(evaluation.messages.count), deliveries \(delivered) of \(expected) expected, reliability \(RunEvaluation.format(evaluation.reliability)), duplicates \(evaluation.duplicates)")
        if let p50 = evaluation.latencyP50, let p99 = evaluation.latencyP99, let maximum = evaluation.latencyMaximum {
            lines.append("  latency to the last node: p50 \(milliseconds(p50)), p99 \(milliseconds(p99)), max \(milliseconds(maximum))")
        }
        for item in evaluation.convergence {
            let connected = item.connectedAfter.map { "\(RunEvaluation.format($0)) s" } ?? "never"
            let repaired = item.repairedAfter.map { "\(RunEvaluation.format($0)) s" } ?? "never"
            lines.append("  after \(item.label) at \(String(format: "%.1f", item.at)) s: connected in \(connected), no dead entries in \(repaired)")
        }
        if let path = evaluation.finalAveragePath, let clustering = evaluation.finalClustering {
            lines.append("  final overlay: average path \(RunEvaluation.format(path)), clustering \(RunEvaluation.format(clustering))")
        }
        lines.append("  checks:")
        for check in evaluation.checks {
            lines.append("    \(check.passed ? "pass" : "FAIL")  \(check.check)  — \(check.measured)")
        }
        if evaluation.checks.isEmpty { lines.append("    (none in the topology)") }
        for note in result.networkNotes { lines.append("  \(note)") }
        for problem in result.problems { lines.append("  note: \(problem)") }
        return lines.joined(separator: "\n")
    }

    static func milliseconds(_ seconds: Double) -> String {
        seconds < 0.01 ? String(format: "%.2f ms", seconds * 1000) : String(format: "%.0f ms", seconds * 1000)
    }
}
