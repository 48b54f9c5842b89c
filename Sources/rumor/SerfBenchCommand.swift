import ArgumentParser
import RumorCommandLine
import Foundation
import RumorMesh
import RumorTopology

struct SerfBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serf",
        abstract: "Serf agents and Rumor nodes side by side: join, event latency and reliability, repair after kill -9, cost.",
        discussion: "Needs serf from Debian's packages (apt-get install -y serf). Cells alternate between the two systems."
    )

    @Option(help: "Member counts, comma-separated.")
    var nodes = "16,32,64"

    @Option(help: "Events published in steady state, and again right after the kill.")
    var events = 100

    @Option(help: "Shares killed with kill -9, comma-separated.")
    var kill = "0.25,0.5"

    @Option(help: "Shares frozen with SIGSTOP instead (a hung host: sockets open, nothing answers), comma-separated; each a cell of its own, thawed after the events. None by default.")
    var freeze: String?

    @Option(help: "Runs of each cell; the table shows the median with min–max.")
    var runs = 3

    @Option(help: "Milliseconds between two events.")
    var spacingMs = 100

    @Option(help: "Where agent and node logs go.")
    var workDir: String?

    @Option(help: "Also write every cell (cells.json) and the latency CDF chart (PNG and SVG through gnuplot) into this directory.")
    var report: String?

    @Flag(help: "Leave out the plain-libuv relay tree (the latency floor measured beside both systems).")
    var noFloor = false

    @Flag(help: "Print every cell as JSON instead of the table.")
    var json = false

    private func list<T>(_ text: String, _ name: String, _ parse: (Substring) -> T?) throws -> [T] {
        let values = text.split(separator: ",").map(parse)
        guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else { throw ValidationError("--\(name) must be a comma-separated list, got '\(text)'") }
        return values.map { $0! }
    }

    func validate() throws {
        let counts: [Int] = try list(nodes, "nodes") { Int($0) }
        guard counts.allSatisfy({ (2...200).contains($0) }) else { throw ValidationError("--nodes: each count must be 2 to 200") }
        let shares: [Double] = try list(kill, "kill") { Double($0) }
        guard shares.allSatisfy({ $0 > 0 && $0 < 1 }) else { throw ValidationError("--kill: each share must be above 0 and below 1") }
        if let freeze {
            let frozen: [Double] = try list(freeze, "freeze") { Double($0) }
            guard frozen.allSatisfy({ $0 > 0 && $0 < 1 }) else { throw ValidationError("--freeze: each share must be above 0 and below 1") }
        }
        guard (1...10_000).contains(events) else { throw ValidationError("--events must be 1 to 10000") }
        guard (1...20).contains(runs) else { throw ValidationError("--runs must be 1 to 20") }
        guard (1...10_000).contains(spacingMs) else { throw ValidationError("--spacing-ms must be 1 to 10000") }
    }

    func run() async throws {
        var options = SerfBenchmark.Options(executable: MeshLaunch.executable,
                                            workDirectory: workDir ?? "\(NSTemporaryDirectory())rumor-bench-serf-\(getpid())")
        options.nodes = try list(nodes, "nodes") { Int($0) }
        options.kill = try list(kill, "kill") { Double($0) }
        options.freeze = try freeze.map { try list($0, "freeze") { Double($0) } } ?? []
        options.events = events
        options.runs = runs
        options.spacing = .milliseconds(spacingMs)
        options.floor = !noFloor
        let cells: [SerfBenchmark.Cell]
        do {
            cells = try await SerfBenchmark(options: options).run { FileHandle.standardError.write(Data("  \($0)\n".utf8)) }
        } catch {
            throw CommandFailure("rumor bench serf: \(error)")
        }
        if let report {
            for note in try SerfBenchCharts.write(cells, to: report) { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            print(String(decoding: try encoder.encode(cells), as: UTF8.self))
        } else {
            print(SerfBenchTable(cells: cells).render())
        }
    }
}

/// Medians with min–max per system, and Rumor/Serf ratios.
struct SerfBenchTable {
    let cells: [SerfBenchmark.Cell]

    func render() -> String {
        let latencyColumns: Set<String> = ["p50 steady", "p99 steady"]
        let columns: [(String, (SerfBenchmark.Cell) -> Double?, (Double) -> String)] = [
            ("join", { $0.joinSeconds }, seconds),
            ("p50 steady", { $0.steady.latencyP50 }, seconds),
            ("p99 steady", { $0.steady.latencyP99 }, seconds),
            ("reliability steady", { $0.steady.reliability }, share),
            ("p99 after", { $0.afterKill.latencyP99 }, seconds),
            ("reliability after", { $0.afterKill.reliability }, share),
            ("dead removed", { $0.deadRemovalSeconds }, seconds),
            ("thawed back", { $0.thawedBackSeconds }, seconds),
            ("bytes/event/member", { $0.bytesPerEventPerMember }, { String(format: "%.0f", $0) }),
            ("CPU s/member", { $0.cpuSecondsPerMember }, { String(format: "%.2f", $0) }),
            ("peak RSS MiB/member", { $0.peakResidentMiBPerMember }, { String(format: "%.1f", $0) }),
            ("PSS MiB/member", { $0.proportionalMiBPerMember }, { String(format: "%.1f", $0) }),
        ]
        var lines: [String] = []
        let floors = Dictionary(grouping: cells.filter { $0.system == "floor" }, by: \.nodes)
        let groups = Dictionary(grouping: cells.filter { $0.system != "floor" }) { "\($0.nodes)|\($0.disruption)|\($0.kill)" }
        for key in groups.keys.sorted(by: { $0.localizedStandardCompare($1) == .orderedAscending }) {
            let group = groups[key]! + (floors[groups[key]![0].nodes] ?? [])
            lines.append("N = \(group[0].nodes), \(group[0].disruption) \(Int(group[0].kill * 100))%, \(group.filter { $0.system == "rumor" }.count) runs each")
            for (name, value, format) in columns where name != "thawed back" || group[0].disruption == "freeze" {
                func summary(_ system: String) -> (median: Double?, text: String) {
                    let values = group.filter { $0.system == system }.compactMap(value).sorted()
                    guard let median = RunEvaluation.percentile(values, 0.5) else { return (nil, "—") }
                    return (median, "\(format(median)) (\(format(values.first!))–\(format(values.last!)))")
                }
                let rumor = summary("rumor")
                let serf = summary("serf")
                func ratio(_ other: Double?) -> String {
                    rumor.median.flatMap { r in other.map { o in o == 0 ? "—" : String(format: "%.3g", r / o) } } ?? "—"
                }
                var line = "  " + name.padding(toLength: 24, withPad: " ", startingAt: 0)
                    + "rumor " + rumor.text.padding(toLength: 32, withPad: " ", startingAt: 0)
                    + "serf " + serf.text.padding(toLength: 32, withPad: " ", startingAt: 0) + "rumor/serf " + ratio(serf.median)
                if latencyColumns.contains(name) {
                    let floor = summary("floor")
                    line += "   floor " + floor.text + " rumor/floor " + ratio(floor.median)
                }
                lines.append(line)
            }
        }
        return lines.joined(separator: "\n")
    }

    private func seconds(_ value: Double) -> String {
        value < 1 ? String(format: "%.1f ms", value * 1000) : String(format: "%.2f s", value)
    }

    private func share(_ value: Double) -> String { String(format: "%.4f", value) }
}
