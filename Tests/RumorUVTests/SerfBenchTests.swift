import Foundation
import Testing

@Suite("rumor bench serf: the harness end to end at a small size", .serialized)
struct SerfBenchTests {
    @Test("4 Serf agents and 4 Rumor nodes: every cell measured, Rumor's events reach every member")
    func smallBenchmark() throws {
        let workDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("rumor-bench-serf-test-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: workDirectory) }
        let (status, output) = try RumorBinary.run(["bench", "serf", "--nodes", "4", "--events", "5", "--kill", "0.5", "--runs", "1",
                                                    "--work-dir", workDirectory, "--json"])
        #expect(status == 0, "\(output)")
        let start = output.firstIndex(of: "[") ?? output.startIndex
        let cells = try JSONSerialization.jsonObject(with: Data(output[start...].utf8)) as? [[String: Any]] ?? []
        #expect(cells.map { $0["system"] as? String } == ["serf", "rumor"])
        for cell in cells {
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
