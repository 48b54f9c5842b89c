import Foundation
import RumorExperiments

/// The directory experiment as a table and a CSV file: one row of figures, each beside the goal.
struct DirectoryTable: ExperimentTable {
    let report: DirectoryExperiment.Report

    func render() -> String {
        let options = report.options
        func ms(_ value: Double?) -> String { value.map { String(format: "%.1f ms", $0) } ?? "not all" }
        return [
            "cluster directory: \(options.nodes) nodes, links \(options.latencyMilliseconds.lowerBound)-\(options.latencyMilliseconds.upperBound) ms, seed \(options.seed)",
            options.warmStart ?? (options.nodes > 2_000)
                ? "join: a warm start (every node starts from a filled directory), not measured"
                : "join: every node lists every node alive \(ms(report.joinConvergenceMilliseconds)) after the last start",
            String(format: "steady directory traffic: %.1f B/s per member (goal <= 64)", report.steadyBytesPerMemberPerSecond),
            String(format: "tag change (%d): p50 %.1f ms, p99 %.1f ms (goal p99 <= 400 ms at 10,000), reach %.4f", options.tagChanges,
                   report.tagChangeP50Milliseconds, report.tagChangeP99Milliseconds, report.tagChangeReach),
            "one crash: marked failed by every survivor \(ms(report.crashMarkedAllMilliseconds)), p99 \(ms(report.crashMarkedP99Milliseconds)) (goal <= 1 s)",
            options.massCrash == 0 ? "mass crash: left out (--mass-crash 0)" : String(format: "%.0f%% crash: %.4f of (survivor, dead) pairs marked within 1 s, %.4f after %d s, all at %@; survivors marked failed: %d (goal all <= 30 s, none)",
                   options.massCrash * 100, report.massCrashMarkedWithinOneSecond, report.massCrashMarkedByEnd, options.massCrashSeconds,
                   ms(report.massCrashAllMarkedMilliseconds), report.survivorsMarkedFailed),
            String(format: "false failures: %d in %d s of steady state and the tag changes, %d around the one crash, %d in the mass crash (goal none)",
                   report.falseFailuresBeforeCrashes, options.steadySeconds, report.falseFailuresAroundOneCrash, report.survivorsMarkedFailed),
            String(format: "peak resident memory %.0f MiB (%.0f MiB before the mass crash)", report.peakResidentMiB, report.peakResidentBeforeMassCrashMiB),
        ].joined(separator: "\n")
    }

    func writeCSV(into directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        func cell(_ value: Double?) -> String { value.map { "\($0)" } ?? "" }
        var text = "seed,nodes,join_ms,steady_bytes_per_member_s,tag_p50_ms,tag_p99_ms,tag_reach,crash_all_ms,crash_p99_ms,"
        text += "mass_within_1s,mass_by_end,mass_all_ms,survivors_marked,false_failures_steady,false_failures_one_crash,steady_s,peak_mib\n"
        text += "\(report.options.seed),\(report.options.nodes),\(cell(report.joinConvergenceMilliseconds)),\(report.steadyBytesPerMemberPerSecond),"
        text += "\(report.tagChangeP50Milliseconds),\(report.tagChangeP99Milliseconds),\(report.tagChangeReach),\(cell(report.crashMarkedAllMilliseconds)),"
        text += "\(cell(report.crashMarkedP99Milliseconds)),\(report.massCrashMarkedWithinOneSecond),\(report.massCrashMarkedByEnd),"
        text += "\(cell(report.massCrashAllMarkedMilliseconds)),\(report.survivorsMarkedFailed),\(report.falseFailuresBeforeCrashes),"
        text += "\(report.falseFailuresAroundOneCrash),\(report.options.steadySeconds),\(report.peakResidentMiB)\n"
        try text.write(toFile: "\(directory)/directory.csv", atomically: true, encoding: .utf8)
    }

    func writeCharts(into directory: String) throws -> [String] { [] }
}
