import Foundation
import Testing

@Suite("rumor bench directory: the member list live", .serialized)
struct DirectoryBenchTests {
    @Test("8 nodes: every tag change reaches every member, a killed member and half the members are failed everywhere, a 2 s SIGSTOP is never failed, a long one is and comes back, no survivor is marked")
    func liveDirectory() throws {
        let workDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("rumor-bench-directory-test-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: workDirectory) }
        let (status, output) = try RumorBinary.run(["bench", "directory", "--nodes", "8", "--tag-changes", "10", "--no-serf", "--steady-seconds", "2",
                                                    "--work-dir", workDirectory, "--json"])
        #expect(status == 0, "\(output)")
        let start = output.firstIndex(of: "[") ?? output.startIndex
        let reports = try JSONSerialization.jsonObject(with: Data(output[start...].utf8)) as? [[String: Any]] ?? []
        #expect(reports.map { $0["system"] as? String } == ["rumor"], "\(output)")
        let report = reports.first ?? [:]
        #expect(report["joinSeconds"] is Double, "every member listed every member: \(report)")
        // Keyed links, counted per channel: the directory's steady share is there and part of all traffic.
        let directoryTraffic = report["steadyDirectoryBytesPerMemberPerSecond"] as? Double ?? -1
        let allTraffic = report["steadyAllBytesPerMemberPerSecond"] as? Double ?? -1
        #expect(directoryTraffic >= 0 && allTraffic > 0 && directoryTraffic <= allTraffic, "\(report)")
        #expect(report["tagChanges"] as? Int == 10 && report["tagChangeReach"] as? Double == 1, "\(report)")
        // The spread: the first other member, then half of them, then the last.
        let first = report["tagChangeFirstMemberP50Milliseconds"] as? Double ?? -1
        let half = report["tagChangeHalfMembersP50Milliseconds"] as? Double ?? -1
        let last = report["tagChangeP50Milliseconds"] as? Double ?? -1
        #expect(first > 0 && first <= half && half <= last, "\(report)")
        #expect(report["killMarkedAllMilliseconds"] is Double, "\(report)")
        #expect(report["shortFreezeFailedBy"] as? Int == 0, "\(report)")
        #expect(report["freezeFailedAllSeconds"] is Double && report["freezeAliveAgainSeconds"] is Double, "\(report)")
        #expect(report["massKillMarked"] as? Double == 1 && report["survivorsMarkedFailed"] as? Int == 0, "\(report)")
    }

    @Test("a member count out of range is refused with the reason")
    func badFlags() throws {
        let tooMany = try RumorBinary.run(["bench", "directory", "--nodes", "999"])
        #expect(tooMany.status != 0 && tooMany.output.contains("--nodes must be 3 to 250"), "\(tooMany.output)")
    }
}
