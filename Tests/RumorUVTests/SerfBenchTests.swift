import Foundation
import Testing

@Suite("rumor bench serf: the harness end to end at a small size", .serialized)
struct SerfBenchTests {
    /// One run of the harness with both disruptions (a kill cell and a freeze cell per system), so the tests
    /// pay for Serf's slow failure detection once.
    @Test("4 Serf agents, 4 Rumor nodes and a 4-process libuv relay tree, half killed and then half frozen with SIGSTOP: every cell measured, Rumor's events reach every member through both, the frozen are dropped and back after the thaw, the CDF chart is drawn")
    func smallBenchmark() throws {
        let workDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("rumor-bench-serf-test-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: workDirectory) }
        let report = "\(workDirectory)/report"
        let (status, output) = try RumorBinary.run(["bench", "serf", "--nodes", "4", "--events", "5", "--kill", "0.5", "--freeze", "0.5",
                                                    "--runs", "1", "--work-dir", workDirectory, "--report", report, "--json"])
        #expect(status == 0, "\(output)")
        let start = output.firstIndex(of: "[") ?? output.startIndex
        let cells = try JSONSerialization.jsonObject(with: Data(output[start...].utf8)) as? [[String: Any]] ?? []
        #expect(cells.map { "\($0["system"] ?? "") \($0["disruption"] ?? "")" } == ["serf kill", "rumor kill", "floor kill", "serf freeze", "rumor freeze"])
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
            #expect((cell["dead_removal_seconds"] as? Double) != nil, "dead or frozen members never removed: \(cell)")
            #expect((cell["bytes_per_event_per_member"] as? Double ?? 0) > 0)
            if cell["disruption"] as? String == "freeze" {
                #expect((cell["thawed_back_seconds"] as? Double) != nil, "thawed members never back: \(cell)")
            }
        }
        for rumor in cells where rumor["system"] as? String == "rumor" {
            #expect((rumor["steady"] as? [String: Any])?["reliability"] as? Double == 1, "\(rumor)")
            #expect((rumor["after_kill"] as? [String: Any])?["reliability"] as? Double == 1, "\(rumor)")
        }
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
