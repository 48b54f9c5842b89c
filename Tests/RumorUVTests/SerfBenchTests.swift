import Foundation
import Testing

@Suite("rumor bench serf: the harness end to end at a small size", .serialized)
struct SerfBenchTests {
    @Test("4 Serf agents, 4 Rumor nodes and a 4-process libuv relay tree: every cell measured, Rumor's events reach every member, the CDF chart is drawn")
    func smallBenchmark() throws {
        let workDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("rumor-bench-serf-test-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: workDirectory) }
        let report = "\(workDirectory)/report"
        let (status, output) = try RumorBinary.run(["bench", "serf", "--nodes", "4", "--events", "5", "--kill", "0.5", "--runs", "1",
                                                    "--work-dir", workDirectory, "--report", report, "--json"])
        #expect(status == 0, "\(output)")
        let start = output.firstIndex(of: "[") ?? output.startIndex
        let cells = try JSONSerialization.jsonObject(with: Data(output[start...].utf8)) as? [[String: Any]] ?? []
        #expect(cells.map { $0["system"] as? String } == ["serf", "rumor", "floor"])
        let floor = cells.first { $0["system"] as? String == "floor" }
        #expect((floor?["steady_latencies"] as? [Double])?.count == 5, "the relay tree's every frame reaches every process: \(String(describing: floor))")
        #expect(((floor?["steady_latencies"] as? [Double]) ?? []).allSatisfy { $0 > 0 && $0 < 1 })
        for file in ["cells.json", "latency-cdf.gp", "latency-rumor-4.dat", "latency-serf-4.dat", "latency-floor-4.dat", "latency-cdf.png", "latency-cdf.svg"] {
            #expect(FileManager.default.fileExists(atPath: "\(report)/\(file)"), "\(file) missing from the report")
        }
        for cell in cells where cell["system"] as? String != "floor" {
            let steady = cell["steady"] as? [String: Any]
            #expect(steady?["events"] as? Int == 5, "\(cell)")
            #expect((cell["join_seconds"] as? Double ?? 0) > 0, "\(cell)")
            #expect((cell["dead_removal_seconds"] as? Double) != nil, "dead members never removed: \(cell)")
            #expect((cell["bytes_per_event_per_member"] as? Double ?? 0) > 0)
        }
        let rumor = cells.first { $0["system"] as? String == "rumor" }
        #expect((rumor?["steady"] as? [String: Any])?["reliability"] as? Double == 1)
        #expect((rumor?["after_kill"] as? [String: Any])?["reliability"] as? Double == 1)
    }

    @Test("A freeze cell: 4 Serf agents and 4 Rumor nodes, half frozen with SIGSTOP, events from the others; every survivor gets every Rumor event, the frozen are dropped, and after the thaw all are back")
    func freezeCell() throws {
        let workDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("rumor-bench-serf-freeze-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: workDirectory) }
        let (status, output) = try RumorBinary.run(["bench", "serf", "--nodes", "4", "--events", "5", "--kill", "0.5", "--freeze", "0.5",
                                                    "--runs", "1", "--no-floor", "--work-dir", workDirectory, "--json"])
        #expect(status == 0, "\(output)")
        let start = output.firstIndex(of: "[") ?? output.startIndex
        let cells = try JSONSerialization.jsonObject(with: Data(output[start...].utf8)) as? [[String: Any]] ?? []
        #expect(cells.map { "\($0["system"] ?? "") \($0["disruption"] ?? "")" } == ["serf kill", "rumor kill", "serf freeze", "rumor freeze"])
        for cell in cells where cell["disruption"] as? String == "freeze" {
            #expect((cell["dead_removal_seconds"] as? Double) != nil, "frozen members never dropped: \(cell)")
            #expect((cell["thawed_back_seconds"] as? Double) != nil, "thawed members never back: \(cell)")
        }
        let rumor = cells.first { $0["system"] as? String == "rumor" && $0["disruption"] as? String == "freeze" }
        #expect((rumor?["after_kill"] as? [String: Any])?["reliability"] as? Double == 1, "\(String(describing: rumor))")
    }

    @Test("--freeze takes shares above 0 and below 1")
    func freezeShareChecked() throws {
        let (status, output) = try RumorBinary.run(["bench", "serf", "--nodes", "4", "--freeze", "1.5"])
        #expect(status != 0)
        #expect(output.contains("--freeze: each share must be above 0 and below 1"), "\(output)")
    }

    @Test("without serf on the PATH it fails and says what to install")
    func missingSerf() throws {
        let process = Process()
        process.executableURL = RumorBinary.url
        process.arguments = ["bench", "serf", "--nodes", "4", "--events", "1", "--runs", "1"]
        process.environment = ["PATH": "/nonexistent"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus != 0)
        #expect(text.contains("apt-get install -y serf"), "\(text)")
    }
}
