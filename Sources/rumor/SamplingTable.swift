import Foundation
import RumorExperiments
import RumorMesh

/// The sampling experiment as a table, CSV files and gnuplot charts.
struct SamplingTable: ExperimentTable {
    let report: SamplingExperiment.Report

    func render() -> String {
        let options = report.options
        var lines = ["peer sampling: \(options.nodes) nodes, \(options.rounds) draws per node (one a shuffle period), seed \(options.seed)"]
        lines.append("sampler     chi-square / dof       most/e  least/e  seed/e  in-degree")
        for row in report.uniformity {
            lines.append(row.sampler.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)
                + String(format: "  %9.0f / %-6d %6.2f  %7.2f  %6.2f  %d–%d", row.chiSquare, row.degreesOfFreedom,
                         row.maxOverExpected, row.minOverExpected, row.seedOverExpected, row.inDegreeMin, row.inDegreeMax))
        }
        lines.append("dead share of one draw per live node after a failure, at " + options.checkpointSeconds.map { "+\(Self.seconds($0))" }.joined(separator: ", "))
        for row in report.afterFailure {
            lines.append(String(format: "%3.0f%% ", row.failure * 100) + row.sampler.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)
                + row.deadShare.map { String(format: " %6.2f%%", $0 * 100) }.joined())
        }
        for row in report.overAdvertisers {
            lines.append("over-advertisers (\(row.attack.rawValue), \(row.adversaries)), \(row.sampler.rawValue): "
                + String(format: "%.3f%% of draws, %.1f× their fair share", row.share * 100, row.fairShare > 0 ? row.share / row.fairShare : 0))
        }
        return lines.joined(separator: "\n")
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : String(format: "%.1f s", value)
    }

    func writeCSV(into directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var uniformity = "sampler,draws,chi_square,degrees_of_freedom,max_over_expected,min_over_expected,seed_over_expected,in_degree_min,in_degree_max\n"
        for row in report.uniformity {
            uniformity += "\(row.sampler.rawValue),\(row.draws),\(row.chiSquare),\(row.degreesOfFreedom),\(row.maxOverExpected),"
            uniformity += "\(row.minOverExpected),\(row.seedOverExpected),\(row.inDegreeMin),\(row.inDegreeMax)\n"
        }
        try uniformity.write(toFile: "\(directory)/sampling-uniformity.csv", atomically: true, encoding: .utf8)
        var dead = "sampler,failure,seconds_after,dead_share\n"
        for row in report.afterFailure {
            for (seconds, share) in zip(report.options.checkpointSeconds, row.deadShare) {
                dead += "\(row.sampler.rawValue),\(row.failure),\(seconds),\(share)\n"
            }
        }
        try dead.write(toFile: "\(directory)/sampling-dead.csv", atomically: true, encoding: .utf8)
        var attacks = "attack,sampler,adversaries,share,fair_share\n"
        for row in report.overAdvertisers {
            attacks += "\(row.attack.rawValue),\(row.sampler.rawValue),\(row.adversaries),\(row.share),\(row.fairShare)\n"
        }
        try attacks.write(toFile: "\(directory)/sampling-attacks.csv", atomically: true, encoding: .utf8)
    }

    /// The dead share over time after each failure level, one chart a sampler.
    func writeCharts(into directory: String) throws -> [String] {
        var script = "# regenerate with: gnuplot sampling.gp (in this directory)\nset datafile separator ','\n"
        script += "set key top right\nset grid\nset logscale x\nset xlabel 'seconds after the failure'\nset ylabel 'dead share of draws (%)'\n"
        for sampler in SamplingExperiment.Sampler.allCases {
            for format in ["png", "svg"] {
                script += format == "png" ? "set terminal png size 900,500\n" : "set terminal svg size 900,500 dynamic\n"
                script += "set output 'sampling-dead-\(sampler.rawValue).\(format)'\n"
                script += "set title '\(report.options.nodes) nodes, \(sampler.rawValue): dead samples after a failure'\n"
                script += "plot " + report.options.failures.map { failure in
                    "'< grep \"^\(sampler.rawValue),\(failure),\" sampling-dead.csv' using 3:($4*100) with linespoints linewidth 2 title '\(Int(failure * 100))% failed'"
                }.joined(separator: ", \\\n     ") + "\n"
            }
        }
        return try ExternalTool.gnuplot(script, named: "sampling.gp", in: directory)
    }
}
