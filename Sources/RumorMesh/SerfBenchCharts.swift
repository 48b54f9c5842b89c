import Foundation

/// The Serf benchmark's files: every cell as JSON, and the latency CDFs (time from publish to the last member,
/// all runs of a system at one N pooled) as data and a gnuplot chart, PNG and SVG.
public enum SerfBenchCharts {
    /// Writes into `directory`; returns notes about what could not be drawn.
    public static func write(_ cells: [SerfBenchmark.Cell], to directory: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        try encoder.encode(cells).write(to: URL(fileURLWithPath: directory).appendingPathComponent("cells.json"))

        let titles = ["rumor": "Rumor", "serf": "Serf", "floor": "plain libuv relay tree"]
        var curves: [(file: String, title: String, system: String, nodes: Int)] = []
        for nodes in Set(cells.map(\.nodes)).sorted() {
            for system in ["rumor", "serf", "floor"] {
                let latencies = cells.filter { $0.system == system && $0.nodes == nodes }.flatMap(\.steadyLatencies).sorted()
                guard !latencies.isEmpty else { continue }
                let file = "latency-\(system)-\(nodes).dat"
                var text = "# time to the last member (ms)\tshare of events\n"
                for (position, latency) in latencies.enumerated() {
                    text += String(format: "%.4f\t%.5f\n", latency * 1000, Double(position + 1) / Double(latencies.count))
                }
                try text.write(toFile: "\(directory)/\(file)", atomically: true, encoding: .utf8)
                curves.append((file, titles[system] ?? system, system, nodes))
            }
        }
        guard !curves.isEmpty else { return ["no complete events, so no latency chart"] }
        return try ExternalTool.gnuplot(script(curves), named: "latency-cdf.gp", in: directory)
    }

    /// One panel per N, each with the three systems: on one panel the 3 × 3 curves were hard to tell apart.
    static func script(_ curves: [(file: String, title: String, system: String, nodes: Int)]) -> String {
        let colours = ["rumor": "#1b7837", "serf": "#b2182b", "floor": "#555555"]
        let sizes = Array(Set(curves.map(\.nodes))).sorted()
        var text = """
            # Latency CDFs of the Serf benchmark: time from publish to the last member, per event, one panel per N.
            set logscale x
            set xrange [0.1:10000]
            set yrange [0:1.02]
            set grid
            set key center center

            """
        for (terminal, file) in [("pngcairo size \(500 * sizes.count),480", "latency-cdf.png"), ("svg size \(500 * sizes.count),480", "latency-cdf.svg")] {
            text += "set terminal \(terminal)\nset output '\(file)'\nset multiplot layout 1,\(sizes.count)\n"
            for nodes in sizes {
                let plots = curves.filter { $0.nodes == nodes }.map { curve in
                    "'\(curve.file)' using 1:2 with steps lw 2 lc rgb '\(colours[curve.system] ?? "#000000")' title '\(curve.title)'"
                }.joined(separator: ", \\\n     ")
                text += "set title 'N = \(nodes)'\nset xlabel 'time to the last member (ms, log scale)'\nset ylabel 'share of events'\n"
                text += "plot \(plots)\n"
            }
            text += "unset multiplot\n"
        }
        return text
    }
}
