import Foundation
import RumorCore
import RumorTopology

/// The report's pictures: gnuplot charts over `messages.dat` and `overlay.dat` with the churn marked, and
/// the overlay before and after as Graphviz drawings. Scripts and sources are always written; the PNG
/// and SVG files only when gnuplot and Graphviz are installed.
struct ReportCharts {
    let result: MeshResult
    let directory: String

    private func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }

    func draw() throws -> [String] {
        var notes: [String] = []
        notes += try ExternalTool.gnuplot(gnuplotScript(), named: "charts.gp", in: directory)
        let observation = result.observation
        let firstChange = observation.events.first { $0.label != "start" }?.at
        let before = observation.snapshots.last { firstChange == nil || $0.at < firstChange! }
        for (name, snapshot) in [("overlay-before", before), ("overlay-after", observation.snapshots.last)] {
            guard let snapshot else { continue }
            try dot(snapshot, title: name == "overlay-before" ? "before the first change" : "at the end")
                .write(toFile: path("\(name).dot"), atomically: true, encoding: .utf8)
        }
        if let neato = ExternalTool.find("neato") {
            for name in ["overlay-before", "overlay-after"] where FileManager.default.fileExists(atPath: path("\(name).dot")) {
                for format in ["png", "svg"] {
                    if let failure = ExternalTool.run(neato, ["-T\(format)", "-o", "\(name).\(format)", "\(name).dot"], in: directory) {
                        notes.append("neato failed on \(name): \(failure)")
                    }
                }
            }
        } else {
            notes.append("Graphviz is not installed, so the overlay pictures were not drawn (the .dot files are ready): apt-get install -y graphviz")
        }
        return notes
    }

    private func gnuplotScript() -> String {
        let events = result.observation.events.filter { $0.label != "start" }
        var marks = ""
        for (index, event) in events.enumerated() {
            let x = String(format: "%.2f", event.at.seconds)
            marks += "set arrow \(index + 1) from \(x), graph 0 to \(x), graph 1 nohead dashtype 2 linecolor rgb '#888888'\n"
            marks += "set label \(index + 1) '\(event.label.replacingOccurrences(of: "'", with: ""))' at \(x), graph 0.97 rotate by 90 right font ',8' textcolor rgb '#555555'\n"
        }
        let duration = String(format: "%.1f", result.topology.duration.seconds)
        // Quotes and backslashes could end gnuplot's strings early (and a shared file could run commands).
        let name = result.topology.name.filter { $0 != "'" && $0 != "\\" && $0 != "\"" && $0 != "`" }
        return """
        # Charts of one run; regenerate with `gnuplot charts.gp` in this directory.
        set datafile missing 'NaN'
        set key outside bottom center horizontal
        set grid
        set xrange [0:\(duration)]
        set xlabel 'time since start (s)'
        \(marks)
        do for [format in 'png svg'] {
            if (format eq 'png') { set terminal png size 1000,520 } else { set terminal svg size 1000,520 dynamic }
            set output 'delivery.'.format
            set title '\(name): delivery per message (churn marked)'
            set ylabel 'latency to the last node (ms)'
            set logscale y
            set y2label 'reliability'
            set y2range [0:1.05]
            set y2tics
            set ytics nomirror
            plot 'messages.dat' using 1:3 with points pointtype 7 pointsize 0.4 title 'latency to the last node', \\
                 'messages.dat' using 1:2 axes x1y2 with lines linewidth 2 title 'reliability'
            unset logscale y
            unset y2label
            unset y2tics
            set output 'active-views.'.format
            set title '\(name): active views and nodes up'
            set ylabel 'active-view size'
            set y2label 'nodes up'
            set y2tics
            set yrange [0:*]
            set y2range [0:*]
            plot 'overlay.dat' using 1:5 with lines title 'smallest view', \\
                 'overlay.dat' using 1:6 with lines linewidth 2 title 'mean view', \\
                 'overlay.dat' using 1:7 with lines title 'largest view', \\
                 'overlay.dat' using 1:2 axes x1y2 with steps linewidth 2 title 'nodes up', \\
                 'overlay.dat' using 1:4 axes x1y2 with steps title 'components'
            unset y2tics
            unset y2label
            set yrange [*:*]
        }

        """
    }

    /// The overlay as an undirected graph: a link drawn once, dead entries shown as dashed red edges.
    private func dot(_ snapshot: RunObservation.Snapshot, title: String) -> String {
        let live = result.observation.liveNodes(at: snapshot.at)
        var text = "graph overlay {\n  label=\"\(result.topology.name): active views \(title) (\(String(format: "%.1f", snapshot.at.seconds)) s)\";\n"
        text += "  layout=neato; overlap=false; splines=true; node [shape=circle, fontsize=8, width=0.3, style=filled, fillcolor=\"#cfe3ff\"];\n"
        for node in live.sorted() { text += "  \"\(node)\";\n" }
        var drawn: Set<String> = []
        for (node, peers) in snapshot.views.sorted(by: { $0.key < $1.key }) where live.contains(node) {
            for peer in peers {
                let key = [node, peer].sorted().joined(separator: "|")
                guard drawn.insert(key).inserted else { continue }
                if live.contains(peer) {
                    text += "  \"\(node)\" -- \"\(peer)\";\n"
                } else {
                    text += "  \"\(peer)\" [fillcolor=\"#eeeeee\", fontcolor=\"#999999\"];\n"
                    text += "  \"\(node)\" -- \"\(peer)\" [style=dashed, color=red];\n"
                }
            }
        }
        return text + "}\n"
    }
}

/// Finding and running gnuplot and Graphviz.
public enum ExternalTool {
    public static func find(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Writes a gnuplot script into `directory` and runs it there; returns notes about what was not drawn.
    /// The script stays, so the charts can be drawn again (or at all, once gnuplot is installed).
    public static func gnuplot(_ script: String, named name: String, in directory: String) throws -> [String] {
        try script.write(toFile: (directory as NSString).appendingPathComponent(name), atomically: true, encoding: .utf8)
        guard let gnuplot = find("gnuplot") else {
            return ["gnuplot is not installed, so the charts were not drawn (\(name) is ready): apt-get install -y gnuplot-nox"]
        }
        return run(gnuplot, [name], in: directory).map { ["gnuplot failed: \($0)"] } ?? []
    }

    /// Runs a tool to completion; returns what went wrong, or nil.
    public static func run(_ executable: String, _ arguments: [String], in directory: String) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do { try process.run() } catch { return "\(error.localizedDescription)" }
        let output = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            return "exit status \(process.terminationStatus): \(String(decoding: output, as: UTF8.self).prefix(300))"
        }
        return nil
    }
}
