import Foundation
import RumorCore
import RumorTopology

/// Writes a run's report into a directory: `report.json` for machines, `report.md` for people, the data
/// behind the charts, and the charts themselves (gnuplot and Graphviz, PNG and SVG) when those tools are
/// installed.
public struct MeshReport {
    let result: MeshResult
    let engine: String
    let command: String
    let directory: String

    public init(result: MeshResult, engine: String, command: String, directory: String) {
        self.result = result
        self.engine = engine
        self.command = command
        self.directory = directory
    }

    /// Writes everything; returns notes about what could not be drawn (a missing tool).
    public func write() throws -> [String] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try writeJSON()
        try writeData()
        let charts = ReportCharts(result: result, directory: directory)
        let notes = try charts.draw()
        try markdown(chartNotes: notes).write(toFile: path("report.md"), atomically: true, encoding: .utf8)
        return notes
    }

    private func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }

    // MARK: JSON

    struct ReportJSON: Encodable {
        struct TopologyFacts: Encodable {
            var name: String
            var source: String
            var description: String
            var nodes: Int
            var nodesEver: Int
            var seeds: String
            var links: String
            var durationSeconds: Double
        }
        struct Step: Encodable {
            var at: Double
            var label: String
        }
        var engine: String
        var command: String
        var passed: Bool
        var interrupted: Bool
        var topology: TopologyFacts
        var checks: [RunEvaluation.CheckResult]
        var reliability: Double
        var duplicates: Int
        var latencyP50Seconds: Double?
        var latencyP99Seconds: Double?
        var latencyMaximumSeconds: Double?
        var finalAveragePath: Double?
        var finalClustering: Double?
        var convergence: [RunEvaluation.Convergence]
        var schedule: [Step]
        var problems: [String]
        /// Namespace meshes: how the network was made and which layer did each fault.
        var network: [String]
        var messages: [RunEvaluation.MessageFigures]
        var overlay: [RunEvaluation.OverlayFigures]
    }

    private func writeJSON() throws {
        let topology = result.topology
        let evaluation = result.evaluation
        let report = ReportJSON(
            engine: engine, command: command, passed: evaluation.passed && !result.interrupted, interrupted: result.interrupted,
            topology: .init(name: topology.name, source: topology.source, description: topology.summary, nodes: topology.nodes.count,
                            nodesEver: result.plan.nodes.count, seeds: topology.seedRule.description,
                            links: topology.links.description, durationSeconds: topology.duration.seconds),
            checks: evaluation.checks, reliability: evaluation.reliability, duplicates: evaluation.duplicates,
            latencyP50Seconds: evaluation.latencyP50, latencyP99Seconds: evaluation.latencyP99,
            latencyMaximumSeconds: evaluation.latencyMaximum, finalAveragePath: evaluation.finalAveragePath,
            finalClustering: evaluation.finalClustering, convergence: evaluation.convergence,
            schedule: result.observation.events.map { .init(at: $0.at.seconds, label: $0.label) },
            problems: result.problems, network: result.networkNotes, messages: evaluation.messages, overlay: evaluation.overlay)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        try encoder.encode(report).write(to: URL(fileURLWithPath: path("report.json")))
    }

    // MARK: Data for the charts

    private func writeData() throws {
        var messages = "# published_s reliability latency_to_last_ms latency_to_last_delivered_ms\n"
        for message in result.evaluation.messages {
            let latency = message.latencyToLast.map { String(format: "%.3f", $0 * 1000) } ?? "NaN"
            let delivered = message.latencyToLastDelivered.map { String(format: "%.3f", $0 * 1000) } ?? "NaN"
            messages += String(format: "%.3f %.4f ", message.publishedAt, message.reliability) + "\(latency) \(delivered)\n"
        }
        try messages.write(toFile: path("messages.dat"), atomically: true, encoding: .utf8)
        var overlay = "# at_s live answered components active_min active_mean active_max dead_entries\n"
        for item in result.evaluation.overlay {
            overlay += String(format: "%.3f %d %d %d %d %.3f %d %d\n", item.at, item.liveNodes, item.answered, item.components,
                              item.activeMinimum, item.activeMean, item.activeMaximum, item.deadEntries)
        }
        try overlay.write(toFile: path("overlay.dat"), atomically: true, encoding: .utf8)
    }

    // MARK: Markdown

    private func markdown(chartNotes: [String]) -> String {
        let topology = result.topology
        let evaluation = result.evaluation
        var text = "# \(topology.name): \(result.interrupted ? "interrupted" : (evaluation.passed ? "passed" : "failed"))\n\n"
        if !topology.summary.isEmpty { text += "\(topology.summary)\n\n" }
        text += "Engine: \(engine). Command: `\(command)`. Topology: `\(topology.source)`; \(topology.nodes.count) nodes"
        text += " (\(result.plan.nodes.count) over the run), seeds \(topology.seedRule), links \(topology.links), \(DurationText.format(topology.duration)).\n\n"
        text += "## Checks\n\n| | check | measured |\n|---|---|---|\n"
        for check in evaluation.checks {
            text += "| \(check.passed ? "pass" : "**FAIL**") | `\(check.check)` (line \(check.line)) | \(check.measured) |\n"
        }
        if evaluation.checks.isEmpty { text += "| | (no checks in the topology) | |\n" }
        let delivered = evaluation.messages.reduce(0) { $0 + $1.delivered }
        let expected = evaluation.messages.reduce(0) { $0 + $1.expected }
        text += "\n## Broadcast\n\n| figure | value |\n|---|---|\n"
        text += "| messages published | \(evaluation.messages.count) |\n"
        text += "| deliveries / expected | \(delivered) / \(expected) |\n"
        text += "| reliability | \(RunEvaluation.format(evaluation.reliability)) |\n"
        text += "| duplicate deliveries | \(evaluation.duplicates) |\n"
        if let p50 = evaluation.latencyP50, let p99 = evaluation.latencyP99, let maximum = evaluation.latencyMaximum {
            text += "| latency to the last node, p50 / p99 / max | \(RunSummary.milliseconds(p50)) / \(RunSummary.milliseconds(p99)) / \(RunSummary.milliseconds(maximum)) |\n"
        }
        text += "\n## Overlay after each change\n\n| change | at (s) | connected after (s) | no dead entries after (s) |\n|---|---|---|---|\n"
        for item in evaluation.convergence {
            text += "| \(item.label) | \(String(format: "%.1f", item.at)) | \(item.connectedAfter.map(RunEvaluation.format) ?? "never") | \(item.repairedAfter.map(RunEvaluation.format) ?? "never") |\n"
        }
        if let path = evaluation.finalAveragePath, let clustering = evaluation.finalClustering {
            text += "\nFinal overlay: average shortest path \(RunEvaluation.format(path)), clustering coefficient \(RunEvaluation.format(clustering)).\n"
        }
        text += "\n## Charts\n\n"
        text += "![Reliability and latency per message, churn marked](delivery.png)\n\n"
        text += "![Active-view sizes and nodes up over time](active-views.png)\n\n"
        text += "Overlay before the first change and at the end: ![before](overlay-before.png) ![after](overlay-after.png)\n"
        for note in chartNotes { text += "\nNote: \(note)\n" }
        if !result.networkNotes.isEmpty {
            text += "\n## Network\n\n" + result.networkNotes.map { "- \($0)\n" }.joined()
        }
        if !result.problems.isEmpty {
            text += "\n## Notes from the run\n\n" + result.problems.map { "- \($0)\n" }.joined()
        }
        return text
    }
}
