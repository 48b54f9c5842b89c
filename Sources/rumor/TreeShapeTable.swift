import Foundation
import RumorExperiments

/// The tree-shape experiment as a table and a CSV file; its three rows need no chart.
struct TreeShapeTable: ExperimentTable {
    let report: TreeShapeExperiment.Report

    func render() -> String {
        let options = report.options
        var lines = ["tree shape beside flooding: \(options.nodes) nodes, links \(options.latencyMilliseconds.lowerBound)-\(options.latencyMilliseconds.upperBound) ms, seed \(options.seed)"]
        lines.append("workload   protocol  messages  reliability  p50 ms  p99 ms  LDH    RMR    | p50 x  p99 x  LDH x  goal")
        for row in report.rows {
            for (name, figures) in [("rumor", row.rumor), ("flood", row.flood)] {
                var line = row.workload.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)
                    + name.padding(toLength: 10, withPad: " ", startingAt: 0)
                    + String(format: "%8d  %11.4f  %6.1f  %6.1f  %5.1f  %5.3f", figures.messages, figures.reliabilityMin,
                             figures.latencyP50Milliseconds, figures.latencyP99Milliseconds, figures.lastDeliveryHopMean,
                             figures.relativeMessageRedundancy)
                if name == "rumor" {
                    let goal = row.workload.goal
                    let hopGoal = goal.lastDeliveryHop.map { String(format: " LDH<=%.2fx", $0) } ?? ""
                    line += String(format: "  | %5.2f  %5.2f  %5.2f  ", row.latencyP50Ratio, row.latencyP99Ratio, row.lastDeliveryHopRatio)
                    line += (row.meetsGoal ? "met" : "missed")
                        + String(format: " (p50<=%.2fx p99<=%.2fx%@ RMR<=%.2f)", goal.latencyP50, goal.latencyP99, hopGoal, goal.redundancy)
                }
                lines.append(line)
            }
            lines.append(String(format: "           tree: %.2f GRAFT timeouts per 1,000 deliveries, %d optimisations, %d PRUNEs",
                                row.graftTimeoutsPerThousandDeliveries, row.treeOptimizations, row.prunes))
        }
        return lines.joined(separator: "\n")
    }

    func writeCSV(into directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var text = "seed,nodes,workload,protocol,messages,reliability_min,latency_p50_ms,latency_p99_ms,ldh_mean,rmr\n"
        for row in report.rows {
            for (name, figures) in [("rumor", row.rumor), ("flood", row.flood)] {
                text += "\(report.options.seed),\(report.options.nodes),\(row.workload.rawValue),\(name),\(figures.messages),"
                text += "\(figures.reliabilityMin),\(figures.latencyP50Milliseconds),\(figures.latencyP99Milliseconds),"
                text += "\(figures.lastDeliveryHopMean),\(figures.relativeMessageRedundancy)\n"
            }
        }
        try text.write(toFile: "\(directory)/trees.csv", atomically: true, encoding: .utf8)
    }

    func writeCharts(into directory: String) throws -> [String] { [] }
}
