import Foundation
import Glibc
import RumorCore
import RumorUV
import Testing

/// The topology files under `topologies/`.
private let topologies = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("topologies").path

/// Whether a `rumor node` process with this text in its command line is running.
private func nodeProcessesRunning(matching text: String) -> Int {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.filter { Int($0) != nil }.filter { pid in
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        let line = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
        return (line.contains("rumor-node ") || line.contains(" node ")) && line.contains(text)
    }.count
}

/// What the nodes logged about the members a failed run names as falsely failed ("node-2 by node-5 at 30.94 s"):
/// reports sent, verdicts and their causes, links lost, and the member's own refutations and warnings. The
/// report goes with the test's cleanup and CI keeps only its output, so a rare failure must explain itself here.
private func failureTrail(_ output: String, logsIn report: String, limit: Int = 300) -> String {
    let subjects = Set(output.matches(of: /(node-\d+) by node-\d+ at/).map { String($0.1) })
    guard !subjects.isEmpty else { return "" }
    let logs = (try? FileManager.default.contentsOfDirectory(atPath: "\(report)/logs"))?.sorted() ?? []
    let signs = ["member marked failed", "reporting a member's failure", "by another node's verdict", "active peer lost"]
    var lines: [String] = []
    for log in logs {
        guard let text = try? String(contentsOfFile: "\(report)/logs/\(log)", encoding: .utf8) else { continue }
        let own = subjects.contains(log.replacingOccurrences(of: ".log", with: ""))
        for line in text.split(separator: "\n") {
            let aboutSubject = signs.contains(where: line.contains) && subjects.contains { line.contains("\($0)@") }
            let fromSubject = own && ["refuting", "warning", "error", "active peer lost"].contains(where: line.contains)
            if aboutSubject || fromSubject { lines.append("\(log): \(line)") }
        }
    }
    return "failure trail of \(subjects.sorted().joined(separator: ", ")) (\(lines.count) log lines"
        + (lines.count > limit ? ", first \(limit) shown" : "") + "):\n" + lines.prefix(limit).joined(separator: "\n")
}

@Suite("rumor mesh and rumor churn: real processes on loopback", .serialized)
struct MeshCommandTests {
    // Live here: the kill -9 churn and the hang. partition-32 and upgrade-32 (95 s between them) run in the
    // simulator's tests; a live partition runs on the namespace bench, live mixed versions in their own suite.
    @Test("the shipped churn topologies pass their own checks and leave a full report", arguments: ["churn-64", "freeze-32"])
    func churnTopologyPasses(name: String) throws {
        let report = FileManager.default.temporaryDirectory.appendingPathComponent("rumor-churn-\(name)-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: report) }
        let (status, output) = try RumorBinary.run(["churn", "\(topologies)/\(name).yaml", "--report", report])
        #expect(status == 0, "\(output)\n\(failureTrail(output, logsIn: report))")
        #expect(output.contains("\(name) (live mesh): PASSED"), "\(output)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(report)/report.json"))) as? [String: Any]
        #expect(json?["passed"] as? Bool == true)
        #expect((json?["messages"] as? [Any])?.isEmpty == false)
        let markdown = try String(contentsOfFile: "\(report)/report.md", encoding: .utf8)
        #expect(markdown.contains("# \(name): passed"))
        var expected = ["messages.dat", "overlay.dat", "charts.gp", "overlay-before.dot", "overlay-after.dot"]
        // CI installs gnuplot and Graphviz; elsewhere the report says what to install instead.
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/gnuplot") { expected += ["delivery.png", "delivery.svg", "active-views.png", "active-views.svg"] }
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/neato") { expected += ["overlay-before.png", "overlay-after.svg"] }
        for file in expected { #expect(FileManager.default.fileExists(atPath: "\(report)/\(file)"), "missing \(file)") }
        #expect(nodeProcessesRunning(matching: "--listen 127.0.") == 0)
    }

    @Test("a bad topology file is refused with its file, line and what was expected, before any node starts")
    func badTopologyIsRefused() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(getpid()).yaml").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        try "nodes:\n  count: 4\n  address: 127.0.7.{i}:7000\nduration: 10s\nschedule:\n  - at: 2s\n    kill: 150%\n".write(toFile: file, atomically: true, encoding: .utf8)
        let (status, output) = try RumorBinary.run(["mesh", file])
        #expect(status != 0)
        #expect(output.contains("\(file):7:"), "\(output)")
        #expect(output.contains("expected a share from 1% to 100%"), "\(output)")
        let missing = try RumorBinary.run(["churn", "/nonexistent/topology.yaml", "--report", "/tmp/unused"])
        #expect(missing.status != 0 && missing.output.contains("cannot read the file"), "\(missing.output)")
    }

    @Test("Ctrl-C on rumor mesh stops every node it started")
    func interruptTearsDown() async throws {
        let process = try RumorBinary.start(["mesh"])
        // The default mesh is up once its first node answers.
        let up = await eventually(within: .seconds(30)) {
            (try? await AdminClient.request("GET", "/status", to: PeerAddress(host: "127.0.1.1", port: 8000)))?.status == 200
        }
        #expect(up)
        try? await Task.sleep(for: .seconds(2))
        #expect(nodeProcessesRunning(matching: "--listen 127.0.1.") == 16)
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        #expect(await eventually(within: .seconds(5)) { nodeProcessesRunning(matching: "--listen 127.0.1.") == 0 })
    }
}
