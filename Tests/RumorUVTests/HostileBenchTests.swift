import Foundation
import Testing

@Suite("rumor bench hostile: a live keyed mesh under attack", .serialized)
struct HostileBenchTests {
    @Test("8 keyed nodes: every broadcast reaches every node through every attack, strangers are all cut off, memory stays bounded, the target goes back to idle")
    func meshSurvivesAttacks() throws {
        let workDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("rumor-bench-hostile-test-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: workDirectory) }
        let (status, output) = try RumorBinary.run(["bench", "hostile", "--nodes", "8", "--attack-seconds", "2", "--storm", "500",
                                                    "--work-dir", workDirectory, "--json"])
        let start = output.firstIndex(of: "{") ?? output.startIndex
        let report = try JSONSerialization.jsonObject(with: Data(output[start...].utf8)) as? [String: Any] ?? [:]
        #expect(status == 0, "\(output)")
        #expect(report["problems"] as? [String] == [], "\(report["problems"] ?? output)")
        #expect(report["reliability"] as? Double == 1)
        #expect((report["messages"] as? Int ?? 0) > 100)
        let attacks = report["attacks"] as? [[String: Any]] ?? []
        #expect(attacks.count == 6)
        for attack in attacks where attack["name"] as? String != "key holder flooding" {
            #expect(attack["closedByNode"] as? Int == attack["connections"] as? Int, "\(attack)")
        }
        let peaks = report["peakResidentMiB"] as? [String: Double] ?? [:]
        #expect(peaks.count == 8 && peaks.values.allSatisfy { $0 < 64 }, "\(peaks)")
        let counters = report["targetCounters"] as? [String: Double] ?? [:]
        #expect(counters[#"rumor_security_failures_total{reason="handshake_timeout"}"#] ?? 0 > 0, "\(counters)")
        #expect(counters[#"rumor_limit_reached_total{limit="ihave_announcements"}"#] ?? 0 > 0, "\(counters)")
    }
}
