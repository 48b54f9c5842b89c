import Foundation

/// What a process has cost so far, from `/proc`: CPU seconds, peak resident memory, and bytes through
/// read/write system calls (sockets included; both Serf and Rumor move their traffic with them).
struct ProcessStats: Sendable {
    /// The mesh node the process runs, when known.
    var node = ""
    var cpuSeconds: Double
    var peakResidentBytes: Int
    /// Proportional set size now: private memory plus this process's share of pages it shares with others
    /// (the shared libraries that every `rumor node` maps count once across them, not once per node).
    var proportionalBytes: Int
    var bytesRead: Int
    var bytesWritten: Int

    static func read(pid: Int32) -> ProcessStats? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let io = try? String(contentsOfFile: "/proc/\(pid)/io", encoding: .utf8) else { return nil }
        // Fields after the command name (which may hold spaces) start after the last ')'.
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        func value(_ key: String, in text: String) -> Int? {
            text.split(separator: "\n").first { $0.hasPrefix(key) }
                .flatMap { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first }.flatMap { Int($0) }
        }
        let rollup = (try? String(contentsOfFile: "/proc/\(pid)/smaps_rollup", encoding: .utf8)) ?? ""
        return ProcessStats(node: "", cpuSeconds: (user + system) / ticks, peakResidentBytes: (value("VmHWM:", in: status) ?? 0) * 1024,
                            proportionalBytes: (value("Pss:", in: rollup) ?? 0) * 1024,
                            bytesRead: value("rchar:", in: io) ?? 0, bytesWritten: value("wchar:", in: io) ?? 0)
    }
}
