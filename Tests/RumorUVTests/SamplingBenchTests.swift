import Foundation
import Testing

@Suite("rumor bench sampling: /sample over live nodes", .serialized)
struct SamplingBenchTests {
    @Test("16 nodes: every node's every draw is answered, the draws pass chi-square at 99.9%, and 5 s after half are killed or frozen no survivor draws a failed node")
    func liveSamplesAreUniformAndFresh() throws {
        let workDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("rumor-bench-sampling-test-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: workDirectory) }
        let (status, output) = try RumorBinary.run(["bench", "sampling", "--nodes", "16", "--rounds", "10", "--shuffle-interval-ms", "500",
                                                    "--work-dir", workDirectory, "--json"])
        #expect(status == 0, "\(output)")
        let start = output.firstIndex(of: "[") ?? output.startIndex
        let rows = try JSONSerialization.jsonObject(with: Data(output[start...].utf8)) as? [[String: Any]] ?? []
        #expect(rows.map { $0["failure"] as? String } == ["kill", "freeze"], "\(output)")
        for row in rows {
            #expect(row["draws"] as? Int == 160, "every node answered every draw: \(row)")
            let chiSquare = row["chiSquare"] as? Double ?? .infinity
            #expect(chiSquare <= row["chiSquareQuantile999"] as? Double ?? 0, "\(row)")
            #expect(row["unanswered"] as? [Int] == [0, 0], "every survivor answers: \(row)")
            #expect((row["deadShare"] as? [Double])?.last == 0, "no dead sample 5 s after the failure: \(row)")
        }
    }

    @Test("a failure it does not know, or a node count out of range, is refused with the reason")
    func badFlags() throws {
        let unknown = try RumorBinary.run(["bench", "sampling", "--failures", "kill,melt"])
        #expect(unknown.status != 0 && unknown.output.contains("--failures must be a comma-separated list of kill and freeze"), "\(unknown.output)")
        let tooMany = try RumorBinary.run(["bench", "sampling", "--nodes", "999"])
        #expect(tooMany.status != 0 && tooMany.output.contains("--nodes must be 4 to 250"), "\(tooMany.output)")
    }
}
