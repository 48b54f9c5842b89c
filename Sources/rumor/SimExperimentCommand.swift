import ArgumentParser
import Foundation
import RumorCore
import RumorExperiments
import RumorMesh
import RumorSim

/// The papers' experiments, run from `rumor sim --experiment NAME`.
enum SimExperiment: String, ExpressibleByArgument, CaseIterable {
    /// HyParView: broadcast reliability after 10–95% of the nodes fail at once, and after healing rounds.
    case failures
    /// Plumtree: reliability, RMR, LDH and latency message after message, one sender and many, steady and
    /// after 20%, 40% and 60% failures.
    case broadcast
    /// Peer sampling: the sampling service beside the old view draw and a Cyclon view: uniformity, dead
    /// samples over time after 10–80% failures, over-advertisers' share.
    case sampling
    /// Plumtree's tree beside flooding from the same origins on the same overlay: random one-shot senders,
    /// one sender, 16 repeat senders; latency, LDH and RMR against the broadcast issue's goals.
    case trees
    /// The cluster directory: join convergence, steady traffic, tag changes, a crash and a mass crash marked
    /// failed (docs/directory.md).
    case directory
}

/// What an experiment's results offer: a table for people, series as CSV, charts through gnuplot.
protocol ExperimentTable {
    associatedtype Report: Encodable
    var report: Report { get }
    func render() -> String
    func writeCSV(into directory: String) throws
    /// Draws the charts; returns notes about what was not drawn.
    func writeCharts(into directory: String) throws -> [String]
}

extension SimCommand {
    func runExperiment(_ experiment: SimExperiment) throws {
        let started = ContinuousClock.now
        switch experiment {
        case .failures:
            var options = FailureExperiment.Options()
            options.nodes = nodes
            options.seed = seed
            options.broadcasts = broadcasts
            options.latencyMilliseconds = try latencyRange()
            try emit(FailureTable(report: FailureExperiment.run(options, threads: effectiveThreads, progress: Self.progressBar)), started: started)
        case .broadcast:
            var options = BroadcastExperiment.Options()
            options.nodes = nodes
            options.seed = seed
            options.messages = broadcasts
            options.latencyMilliseconds = try latencyRange()
            try emit(BroadcastTable(report: BroadcastExperiment.run(options, threads: effectiveThreads, progress: Self.progressBar)), started: started)
        case .sampling:
            var options = SamplingExperiment.Options()
            options.nodes = nodes
            options.seed = seed
            options.rounds = samplingRounds
            options.latencyMilliseconds = try latencyRange()
            try emit(SamplingTable(report: SamplingExperiment.run(options, threads: effectiveThreads, progress: Self.progressBar)), started: started)
        case .trees:
            var options = TreeShapeExperiment.Options()
            options.nodes = nodes
            options.seed = seed
            options.latencyMilliseconds = try latencyRange()
            try emit(TreeShapeTable(report: TreeShapeExperiment.run(options, threads: effectiveThreads, progress: Self.progressBar)), started: started)
        case .directory:
            var options = DirectoryExperiment.Options()
            options.nodes = nodes
            options.seed = seed
            if let steadySeconds { options.steadySeconds = steadySeconds }
            if let massCrash { options.massCrash = massCrash }
            options.latencyMilliseconds = try latencyRange()
            try emit(DirectoryTable(report: DirectoryExperiment.run(options, threads: effectiveThreads, progress: Self.progressBar)), started: started)
        }
    }

    /// The table (or JSON) on standard output; `--csv` and `--plot` into their directories.
    private func emit<Table: ExperimentTable>(_ table: Table, started: ContinuousClock.Instant) throws {
        Self.progressBar(1)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(table.report), as: UTF8.self))
        } else {
            print(table.render())
            print(String(format: "wall time %.1f s", (ContinuousClock.now - started).seconds))
        }
        if let csv { try table.writeCSV(into: csv) }
        if let plot {
            try table.writeCSV(into: plot)
            for note in try table.writeCharts(into: plot) { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
        }
    }
}

/// The failure experiment as a table, a CSV file and gnuplot charts.
struct FailureTable: ExperimentTable {
    let report: FailureExperiment.Report

    func render() -> String {
        let options = report.options
        let rounds = report.rows.first?.rounds ?? []
        var lines = ["reliability after a mass failure: \(options.nodes) nodes, \(options.broadcasts) messages per cell, seed \(options.seed)"]
        lines.append("columns: right after, then after " + rounds.dropFirst().map { "\($0)" }.joined(separator: ", ") + " healing rounds (shuffle periods)")
        let protocols = BroadcastProtocol.allCases
        lines.append("failed  " + protocols.map { $0.rawValue.padding(toLength: 7 * rounds.count + 2, withPad: " ", startingAt: 0) }.joined())
        for failure in options.failures {
            var line = String(format: "%5.0f%%  ", failure * 100)
            for protocolName in protocols {
                let row = report.rows.first { $0.protocolName == protocolName && $0.failure == failure }
                line += (row?.reliability ?? []).map { String(format: "%6.3f ", $0) }.joined() + "  "
            }
            lines.append(line)
        }
        lines.append(String(format: "steady overlay, Rumor: in-degree %.2f (%d–%d), clustering %.4f, path %.2f",
                            report.steadyRumor.inDegreeMean, report.steadyRumor.inDegreeMin, report.steadyRumor.inDegreeMax,
                            report.steadyRumor.clusteringCoefficient, report.steadyRumor.averageShortestPath))
        lines.append(String(format: "steady overlay, Cyclon: in-degree %.2f (%d–%d), clustering %.4f, path %.2f",
                            report.steadyCyclon.inDegreeMean, report.steadyCyclon.inDegreeMin, report.steadyCyclon.inDegreeMax,
                            report.steadyCyclon.clusteringCoefficient, report.steadyCyclon.averageShortestPath))
        return lines.joined(separator: "\n")
    }

    func writeCSV(into directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var text = "protocol,failure,healing_rounds,reliability\n"
        for row in report.rows {
            for (rounds, reliability) in zip(row.rounds, row.reliability) {
                text += "\(row.protocolName.rawValue),\(row.failure),\(rounds),\(reliability)\n"
            }
        }
        try text.write(toFile: "\(directory)/failures.csv", atomically: true, encoding: .utf8)
    }

    /// failures-right-after and failures-after-1-round, PNG and SVG; returns notes about what was not drawn.
    func writeCharts(into directory: String) throws -> [String] {
        var script = "# regenerate with: gnuplot failures.gp (in this directory)\nset datafile separator ','\n"
        script += "set key bottom left\nset grid\nset xlabel 'nodes failed at once (%)'\nset ylabel 'mean reliability'\nset yrange [0:1.05]\n"
        for (name, rounds, title) in [("failures-right-after", 0, "right after the failure"), ("failures-after-1-round", 1, "after one healing round")] {
            for format in ["png", "svg"] {
                script += format == "png" ? "set terminal png size 900,500\n" : "set terminal svg size 900,500 dynamic\n"
                script += "set output '\(name).\(format)'\nset title '\(report.options.nodes) nodes: broadcast reliability \(title)'\n"
                // One filtered stream per line: gnuplot would break a line at every row of another protocol.
                script += "plot " + BroadcastProtocol.allCases.map { protocolName in
                    "'< grep \"^\(protocolName.rawValue),[^,]*,\(rounds),\" failures.csv' using ($2*100):4 with linespoints linewidth 2 title '\(protocolName.rawValue)'"
                }.joined(separator: ", \\\n     ") + "\n"
            }
        }
        return try ExternalTool.gnuplot(script, named: "failures.gp", in: directory)
    }
}

/// The broadcast experiment as a table, a CSV file and gnuplot charts.
struct BroadcastTable: ExperimentTable {
    let report: BroadcastExperiment.Report

    func render() -> String {
        let options = report.options
        var lines = ["broadcast series: \(options.nodes) nodes, \(options.messages) messages per series, seed \(options.seed)"]
        lines.append("failed  senders  protocol  reliability  RMR     LDH  latency p50 (ms, mean of messages)")
        for series in report.series {
            let mean = series.mean
            let names = series.senders.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)
                + series.protocolName.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)
            lines.append(String(format: "%5.0f%%  ", series.failure * 100) + names
                + String(format: "%11.4f  %6.3f  %3d  %8.1f", mean.reliability, mean.relativeMessageRedundancy,
                         mean.lastDeliveryHop, mean.latencyMilliseconds))
        }
        return lines.joined(separator: "\n")
    }

    func writeCSV(into directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var text = "protocol,senders,failure,message,reliability,rmr,ldh,latency_ms\n"
        for series in report.series {
            for (index, point) in series.points.enumerated() {
                text += "\(series.protocolName.rawValue),\(series.senders.rawValue),\(series.failure),\(index + 1),"
                text += "\(point.reliability),\(point.relativeMessageRedundancy),\(point.lastDeliveryHop),\(point.latencyMilliseconds)\n"
            }
        }
        try text.write(toFile: "\(directory)/broadcast.csv", atomically: true, encoding: .utf8)
    }

    /// RMR message after message for one sender in steady state, for each protocol.
    func writeCharts(into directory: String) throws -> [String] {
        var script = "# regenerate with: gnuplot broadcast.gp (in this directory)\nset datafile separator ','\n"
        script += "set key top right\nset grid\nset xlabel 'message'\n"
        for (name, column, label, senders) in [("broadcast-rmr-one-sender", 6, "RMR", "one"), ("broadcast-rmr-many-senders", 6, "RMR", "many"),
                                               ("broadcast-ldh-many-senders", 7, "last delivery hop", "many")] {
            for format in ["png", "svg"] {
                script += format == "png" ? "set terminal png size 900,500\n" : "set terminal svg size 900,500 dynamic\n"
                script += "set output '\(name).\(format)'\nset ylabel '\(label)'\n"
                script += "set title '\(report.options.nodes) nodes, steady state, \(senders) sender(s): \(label) per message'\n"
                script += "plot " + BroadcastProtocol.allCases.map { protocolName in
                    "'< grep \"^\(protocolName.rawValue),\(senders),0[.0]*,\" broadcast.csv' using 4:\(column) with linespoints title '\(protocolName.rawValue)'"
                }.joined(separator: ", \\\n     ") + "\n"
            }
        }
        return try ExternalTool.gnuplot(script, named: "broadcast.gp", in: directory)
    }
}
